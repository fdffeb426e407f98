package io.semifaas.agent;

import io.semifaas.common.Outcome;
import io.semifaas.runtime.FallbackSource;
import io.semifaas.runtime.FunctionRuntime;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs a closure here, on the request thread, exactly as a function runs it: the function
 * runtime's closure class loader, its copies of the receiver and the arguments, remote references
 * as proxies. Only its fallbacks differ: classes and resources come straight from the application's
 * class loaders, and each remote call goes, numbered, through the invocation's {@link CallLog} and
 * {@link RemoteCalls} on this thread. So a failed offload's re-execution replays the calls its
 * first run already made (their logged answers) instead of making them twice
 * (docs/internals.md, "Failed offloads").
 */
final class ServerReexecution {
  /**
   * Installed closures kept at most; beyond that all are forgotten and installed again on use.
   * Each holds its own copies of the classes its handler needs (tens of MB of metaspace at most).
   */
  static final int MAX_INSTALLED = 16;

  /** What a closure is made of, as the native side stores it. */
  record Parts(
      String className,
      String methodName,
      String descriptor,
      byte[] receiver,
      String[] classNames,
      byte[][] classBytes) {}

  /** The remote calls of the re-execution running on this thread: its scope and call count. */
  private static final class Calls {
    final long scopeId;
    int seq;

    Calls(long scopeId) {
      this.scopeId = scopeId;
    }
  }

  private static final ThreadLocal<Calls> CURRENT = new ThreadLocal<>();

  /** Installation names (closure id + "@server") installed here. */
  private static final Map<String, Boolean> INSTALLED = new ConcurrentHashMap<>();

  private ServerReexecution() {}

  /**
   * Runs closure {@code closureId} on {@code args} (the bytes the offload sent) in invocation scope
   * {@code scopeId}; returns outcome bytes, as a function would.
   */
  static byte[] run(String closureId, Parts parts, byte[] args, long scopeId) {
    String installation = closureId + "@server";
    try {
      install(installation, parts);
    } catch (RuntimeException | LinkageError e) {
      return Outcome.failed("installing the closure on the server: " + e.getMessage());
    }
    Calls previous = CURRENT.get();
    CURRENT.set(new Calls(scopeId));
    try {
      return FunctionRuntime.invoke(installation, args);
    } finally {
      if (previous == null) {
        CURRENT.remove();
      } else {
        CURRENT.set(previous);
      }
    }
  }

  private static void install(String installation, Parts parts) {
    if (INSTALLED.containsKey(installation)) {
      return;
    }
    synchronized (INSTALLED) {
      if (INSTALLED.containsKey(installation)) {
        return;
      }
      if (INSTALLED.size() >= MAX_INSTALLED) {
        INSTALLED.keySet().forEach(FunctionRuntime::uninstall);
        INSTALLED.clear();
      }
      FunctionRuntime.install(
          installation,
          parts.className(),
          parts.methodName(),
          parts.descriptor(),
          parts.receiver(),
          parts.classNames(),
          parts.classBytes(),
          new String[0],
          new byte[0][],
          SOURCE);
      INSTALLED.put(installation, Boolean.TRUE);
    }
  }

  /** The fallbacks of closures run here. */
  private static final FallbackSource SOURCE =
      new FallbackSource() {
        @Override
        public byte[] loadClass(String binaryName) {
          return served("class " + binaryName, NativeBridge.classBytes(binaryName));
        }

        @Override
        public byte[] getResource(String path) {
          return served("resource " + path, NativeBridge.resourceBytes(path));
        }

        @Override
        public byte[] invokeRemote(long refId, String method, String descriptor, byte[] args) {
          Calls calls = CURRENT.get();
          if (calls == null) {
            return Outcome.failed("a closure run on the server called " + method + " outside a"
                + " re-execution");
          }
          Object answer =
              RemoteCalls.invoke(calls.scopeId, refId, method, descriptor, args, false, ++calls.seq);
          return answer instanceof byte[] outcome ? outcome : Outcome.failed(String.valueOf(answer));
        }
      };

  /** A fallback's answer as a function gets it: bytes, null, or the reason it is withheld. */
  private static byte[] served(String what, Object answer) {
    if (answer instanceof String withheld) {
      throw new UncheckedIOException(new IOException(what + ": " + withheld));
    }
    return (byte[]) answer;
  }
}
