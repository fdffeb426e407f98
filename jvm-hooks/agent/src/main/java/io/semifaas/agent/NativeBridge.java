package io.semifaas.agent;

import java.nio.charset.StandardCharsets;

/**
 * The JNI boundary with {@code libsemifaas_agent.so} (docs/internals.md, "JNI: agent"). The natives
 * are implemented in {@code agent/src/jni_exports.rs}; the two static callbacks serve the
 * function's {@code LoadClass} and {@code GetResource} fallbacks from the application class loaders
 * seen.
 */
public final class NativeBridge {
  private NativeBridge() {}

  /** Every configuration key ({@code semifaas.*}) the agent knows, or null on failure. */
  static native String[] configKeys();

  /** Validates the merged configuration and starts the native agent; null, or an error message. */
  static native String init(String[] keys, String[] values);

  /** The handler key's id for the two calls below; 0 when none could be given. */
  static native long handlerId(String handlerKey);

  /** Counts one invocation of the handler and applies the offload ratio. */
  static native boolean shouldOffload(long handlerId);

  /** Stores a closure and returns its id; throws IllegalArgumentException when it is invalid. */
  static native String registerClosure(
      String handlerKey,
      String className,
      String methodName,
      String descriptor,
      byte[] receiver,
      String[] classNames,
      byte[][] classBytes);

  /**
   * Outcome bytes (tag 0 or 1), or null: the offload failed and the caller runs locally. Remote
   * calls of the invocation are answered in export scope {@code scopeId}.
   */
  static native byte[] offload(String handlerKey, String closureId, byte[] args, long scopeId);

  /** The arguments of a real local run (no remote references), kept for shadow execution. */
  static native void recordSample(String handlerKey, String closureId, byte[] args);

  /** One counted local run; {@code cpuNanos} is negative when its CPU time was not measured. */
  static native void recordLocal(long handlerId, long wallNanos, long cpuNanos);

  static native void recordIneligible(String handlerKey, String reason);

  static native void recordOffloadFailure(String handlerKey, String reason);

  static native void recordAbandoned(String handlerKey, String reason);

  static native void recordReexecuted(String handlerKey);

  static native void recordDiverged(String handlerKey, String reason);

  static native void recordCallLog(int entries, long bytes, boolean overCap, long bytesInUse);

  static native void recordVerified(String handlerKey, String mismatch);

  /**
   * Called by the native side: the class file of {@code binaryName} (a {@code byte[]}), null when
   * the application has no such class, or a {@code String} saying why it is withheld (not the
   * application's code). Never throws. What it serves, the server may decode and call from then on
   * (ServedClasses).
   */
  static Object classBytes(String binaryName) {
    try {
      byte[] classFile = ApplicationClassLoaders.shared().classBytes(binaryName);
      if (classFile != null) {
        Dispatcher.SERVED.add(binaryName, classFile);
      }
      return classFile;
    } catch (ApplicationClassLoaders.Withheld e) {
      return e.getMessage();
    } catch (Throwable t) {
      return null;
    }
  }

  /**
   * Called by the native side after an instance running {@code handlerKey} fetched {@code
   * binaryName} by fallback: the handler's next closure carries it if its closure's code names it.
   * Never throws.
   */
  static void learnClass(String handlerKey, String binaryName) {
    try {
      Dispatcher.learnFetched(handlerKey, binaryName);
    } catch (Throwable t) {
      // Learning is an optimisation; the class is fetched again next time.
    }
  }

  /**
   * Called by the native side for a function's {@code InvokeRemote} fallback: outcome bytes (0
   * returned, 1 threw, 2 failed), or a {@code String} saying why the call is refused (a method the
   * closure's code does not call). Never throws. {@code seq} numbers the invocation's calls from 1
   * (0: unnumbered): see {@link CallLog}.
   */
  static Object invokeRemote(
      long scopeId,
      long refId,
      String methodName,
      String descriptor,
      byte[] args,
      boolean shadow,
      int seq) {
    try {
      return RemoteCalls.invoke(scopeId, refId, methodName, descriptor, args, shadow, seq);
    } catch (Throwable t) {
      return io.semifaas.common.Outcome.failed("the server failed the remote call: " + t);
    }
  }

  /**
   * Called by the native side: the resource at {@code path} (a {@code byte[]}), null when the
   * application has none, or a {@code String} saying why it is withheld (the deny list, or not the
   * application's code). Never throws.
   */
  static Object resourceBytes(String path) {
    try {
      return ApplicationClassLoaders.shared().resourceBytes(path);
    } catch (ApplicationClassLoaders.Withheld e) {
      return e.getMessage();
    } catch (Throwable t) {
      return null;
    }
  }

  /**
   * Called by the native side for a function's {@code LibraryManifest} fallback: the manifest's
   * text (a {@code byte[]}, see {@link LibraryJars.Index#manifestText}), or a {@code String} saying
   * why there is none. Never throws.
   */
  static Object libraryManifest() {
    try {
      return LibraryJars.shared().index().manifestText().getBytes(StandardCharsets.UTF_8);
    } catch (Throwable t) {
      return "the library jars could not be indexed: " + t;
    }
  }

  /**
   * Called by the native side: up to {@code max} bytes of manifest jar {@code sha256} from {@code
   * offset}, null for a jar the manifest does not list, or a {@code String} saying what failed.
   */
  static Object libraryJarChunk(String sha256, long offset, int max) {
    try {
      return LibraryJars.shared().chunk(sha256, offset, max);
    } catch (Throwable t) {
      return "reading library jar " + sha256 + " failed: " + t;
    }
  }

  /**
   * Called by the native side after a function defined {@code names} from library jars: each
   * class of a manifest package is recorded as served, as {@link #classBytes} records it. Returns
   * how many were. Never throws.
   */
  static int libraryClassesDefined(String[] names) {
    int recorded = 0;
    for (String name : names) {
      try {
        if (LibraryJars.shared().servesClass(name)) {
          byte[] classFile = ApplicationClassLoaders.shared().classBytes(name);
          if (classFile != null) {
            Dispatcher.SERVED.add(name, classFile);
            recorded++;
          }
        }
      } catch (Throwable t) {
        // Not recorded: what the class builds or calls is refused, as for any unserved class.
      }
    }
    return recorded;
  }
}
