package io.semifaas.runtime;

import io.semifaas.common.InOutArguments;
import io.semifaas.common.InvocationContext;
import io.semifaas.common.ObjectCodec;
import io.semifaas.common.Outcome;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The function-side entry points the {@code bootstrap} process calls through JNI: install a
 * closure once, then invoke it for each offloaded call. See "JNI: function runtime" in
 * docs/internals.md.
 */
public final class FunctionRuntime {

  private static final Map<String, InstalledClosure> CLOSURES = new ConcurrentHashMap<>();

  private FunctionRuntime() {}

  /**
   * Creates the closure's class loader, decodes its receiver and resolves its handler, using
   * server {@code server} for what the closure lacks. {@code closureId} names the installation
   * (the closure's id and its server: the same closure of two servers is installed twice). Throws
   * an exception whose message names what failed.
   */
  public static void install(
      String closureId,
      String server,
      String className,
      String methodName,
      String descriptor,
      byte[] receiver,
      String[] classNames,
      byte[][] classBytes,
      String[] resourceNames,
      byte[][] resourceBytes) {
    install(closureId, className, methodName, descriptor, receiver, classNames, classBytes,
        resourceNames, resourceBytes, FallbackNative.of(server));
  }

  /** {@link #install} with the given fallback source instead of the server. */
  public static void install(
      String closureId,
      String className,
      String methodName,
      String descriptor,
      byte[] receiver,
      String[] classNames,
      byte[][] classBytes,
      String[] resourceNames,
      byte[][] resourceBytes,
      FallbackSource fallback) {
    Map<String, byte[]> classes = named("class", classNames, classBytes);
    Map<String, byte[]> resources = named("resource", resourceNames, resourceBytes);
    String handlerKey = InstalledClosure.handlerKey(className, methodName, descriptor);
    // A closure rebuilt because the server learned classes keeps the handler and the receiver:
    // reusing the installed one keeps its defined classes and its JIT-compiled code, where a new
    // loader would start cold again (measured: 0.15 s warm, 0.5-0.7 s on a new loader). Only a
    // closure of the same server: a loader holds what that server's invocations fetched and set.
    for (InstalledClosure installed : CLOSURES.values()) {
      if (installed.runs(handlerKey, receiver, fallback)
          && installed.loader().adopt(classes, resources)) {
        CLOSURES.put(closureId, installed);
        return;
      }
    }
    ClosureClassLoader loader = new ClosureClassLoader(closureId, classes, resources, fallback);
    try {
      CLOSURES.put(closureId,
          prepare(loader, className, methodName, descriptor, receiver, fallback, handlerKey));
    } catch (RuntimeException e) {
      // The codec keeps per-loader state: drop it so the failed loader can be collected.
      ObjectCodec.release(loader);
      throw e;
    }
  }

  private static InstalledClosure prepare(
      ClosureClassLoader loader,
      String className,
      String methodName,
      String descriptor,
      byte[] receiver,
      FallbackSource fallback,
      String handlerKey) {
    Class<?> handlerClass;
    try {
      handlerClass = Class.forName(className, false, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalStateException("loading handler class " + className + ": " + e, e);
    }
    Method handler = Descriptors.find(handlerClass, methodName, descriptor);
    if (handler == null) {
      throw new IllegalStateException(
          "handler " + className + "#" + methodName + descriptor + " does not exist");
    }
    try {
      handler.setAccessible(true);
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "making handler " + className + "#" + methodName + " accessible: " + e, e);
    }
    Object decoded;
    // The receiver's server-bound fields arrive as references: they become proxies here.
    RemoteProxies proxies = new RemoteProxies(loader, fallback);
    try {
      decoded = withContextLoader(loader, () -> ObjectCodec.deserialize(receiver, loader, proxies));
    } catch (Exception | LinkageError e) {
      throw new IllegalStateException("decoding the receiver of " + className + ": " + e, e);
    }
    if (!Modifier.isStatic(handler.getModifiers()) && !handlerClass.isInstance(decoded)) {
      throw new IllegalStateException("the receiver is "
          + (decoded == null ? "null" : "a " + decoded.getClass().getName())
          + ", not a " + className);
    }
    return new InstalledClosure(loader, decoded, handler, fallback, handlerKey, receiver.clone());
  }

  /**
   * Runs the installed closure's handler on {@code args} (codec bytes of an {@code Object[]}).
   * Returns outcome bytes: returned, threw, or failed when the handler could not be run. A handler
   * with in/out arguments returns {@code Object[] {returnValue, inOutArgs...}}.
   */
  public static byte[] invoke(String closureId, byte[] args) {
    InstalledClosure closure = CLOSURES.get(closureId);
    if (closure == null) {
      return Outcome.failed("closure " + closureId + " is not installed");
    }
    Object[] arguments;
    InvocationContext context;
    RemoteProxies proxies = new RemoteProxies(closure.loader(), closure.fallback());
    try {
      Object decoded = withContextLoader(
          closure.loader(), () -> ObjectCodec.deserialize(args, closure.loader(), proxies));
      if (!(decoded instanceof Object[] array)) {
        return Outcome.failed("decoding the arguments: expected an Object[], got "
            + (decoded == null ? "null" : decoded.getClass().getName()));
      }
      context = InvocationContext.at(array);
      arguments = InvocationContext.without(array);
    } catch (Exception | LinkageError e) {
      return Outcome.failed("decoding the arguments: " + e);
    }
    int[] inOut = InOutArguments.positions(arguments, arg -> !RemoteProxies.isProxy(arg));
    Runnable clearContext;
    try {
      clearContext = context == null ? () -> { } : context.install(closure.loader());
    } catch (IllegalStateException e) {
      return Outcome.failed(e.getMessage());
    }
    ReceiverState receiverBefore =
        closure.receiver() == null ? null : ReceiverState.of(closure.receiver());
    Object result;
    try {
      result = withContextLoader(
          closure.loader(), () -> closure.handler().invoke(closure.receiver(), arguments));
    } catch (InvocationTargetException e) {
      String machinery = OffloadMachinery.failureIn(e.getCause());
      if (machinery != null) {
        return Outcome.failed(machinery);
      }
      String unreported = reportLibraryClasses(closure);
      return unreported != null
          ? Outcome.failed(unreported)
          : encode("encoding the exception", () -> Outcome.threw(e.getCause()));
    } catch (Exception | LinkageError e) {
      return Outcome.failed("calling " + closure.handler() + ": " + e);
    } finally {
      clearContext.run();
    }
    if (receiverBefore != null
        && receiverBefore.differsFrom(ReceiverState.of(closure.receiver()))) {
      // Shared state never forks: the server runs the handler itself and demotes it.
      return Outcome.failed(
          Outcome.RECEIVER_CHANGED + closure.handler().getDeclaringClass().getName());
    }
    String unreported = reportLibraryClasses(closure);
    if (unreported != null) {
      return Outcome.failed(unreported);
    }
    Object value = inOut.length == 0 ? result : InOutArguments.wrap(result, arguments, inOut);
    return encode("encoding the return value", () -> Outcome.returned(value, proxies));
  }

  /**
   * Tells the server which classes the invocation defined from library jars, before it decodes
   * what they built; null when told, else why not.
   */
  private static String reportLibraryClasses(InstalledClosure closure) {
    try {
      LibraryJarCache.of(closure.fallback()).reportDefined();
      return null;
    } catch (RuntimeException e) {
      return "reporting the classes defined from library jars: " + e.getMessage();
    }
  }

  /** Forgets an installed closure (its classes go when nothing else holds them). */
  public static boolean uninstall(String closureId) {
    InstalledClosure removed = CLOSURES.remove(closureId);
    if (removed == null) {
      return false;
    }
    // A grown closure may still run on the same installed one.
    if (CLOSURES.values().stream().noneMatch(other -> other == removed)) {
      ObjectCodec.release(removed.loader());
    }
    return true;
  }

  /** The name of the class loader closure {@code closureId} runs in, or null (tests, logs). */
  static String loaderName(String closureId) {
    InstalledClosure closure = CLOSURES.get(closureId);
    return closure == null ? null : closure.loader().getName();
  }

  private static byte[] encode(String what, Action<byte[]> encoding) {
    try {
      return encoding.run();
    } catch (Exception | LinkageError e) {
      return Outcome.failed(what + ": " + e);
    }
  }

  private static Map<String, byte[]> named(String what, String[] names, byte[][] bytes) {
    if (names == null || bytes == null || names.length != bytes.length) {
      throw new IllegalArgumentException(what + " names and " + what
          + " bytes must be non-null arrays of the same length");
    }
    Map<String, byte[]> map = new HashMap<>();
    for (int i = 0; i < names.length; i++) {
      if (names[i] == null || bytes[i] == null) {
        throw new IllegalArgumentException(what + " #" + i + " has a null name or null bytes");
      }
      map.put(names[i], bytes[i]);
    }
    return map;
  }

  @FunctionalInterface
  private interface Action<T> {
    T run() throws Exception;
  }

  private static <T> T withContextLoader(ClassLoader loader, Action<T> action) throws Exception {
    Thread thread = Thread.currentThread();
    ClassLoader previous = thread.getContextClassLoader();
    thread.setContextClassLoader(loader);
    try {
      return action.run();
    } finally {
      thread.setContextClassLoader(previous);
    }
  }
}
