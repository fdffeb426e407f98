package io.semifaas.agent;

import io.semifaas.common.ArgumentUpdates;
import io.semifaas.common.CodecException;
import io.semifaas.common.ExportScope;
import io.semifaas.common.LazyData;
import io.semifaas.common.ObjectCodec;
import io.semifaas.common.Outcome;
import io.semifaas.common.Packageables;
import io.semifaas.common.RemoteClasses;
import io.semifaas.common.RemoteRef;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Answers a function's call on a remote reference (docs/internals.md, "Remote references"): finds
 * the exported object in the invocation's scope or its closure's, refuses a method the closure's
 * code does not call ({@link RemoteCallAllowList}), decodes the arguments (turning
 * references back into the real objects), calls the real object (so Spring's proxies, transactions
 * and caches apply) and encodes the result in the same scope. Returns outcome bytes, or the
 * refusal's text for a method the closure's code does not call (the native side counts those).
 *
 * <p>A numbered call ({@code seq} > 0) of an invocation goes through the invocation's {@link
 * CallLog}: one already answered gets the logged answer and does not run again; a new one runs and
 * its answer is logged before it is sent.
 */
final class RemoteCalls {
  private static final System.Logger LOG = System.getLogger("io.semifaas.agent");

  private RemoteCalls() {}

  static Object invoke(
      long scopeId,
      long refId,
      String methodName,
      String descriptor,
      byte[] args,
      boolean shadow,
      int seq) {
    RemoteScopes.Open open =
        scopeId == 0 ? RemoteScopes.closureScopeOf(refId) : RemoteScopes.get(scopeId);
    ExportScope scope = open == null ? null : open.exports();
    Object target = scope == null ? null : scope.resolve(refId);
    if (target == null) {
      return Outcome.failed("reference " + refId + " was not exported to this invocation");
    }
    String presented = RemoteClasses.presentedName(target);
    String refusal =
        RemoteCallAllowList.refusal(
            open.code(), Dispatcher.SERVED, target.getClass(), presented, methodName, descriptor);
    if (refusal != null) {
      logRefusal(presented, methodName, refusal);
      return refusal;
    }
    LOG.log(
        System.Logger.Level.DEBUG,
        "semifaas: remote call {0}#{1} (scope {2}, call {3})",
        presented,
        methodName,
        scopeId,
        seq);
    CallLog log = shadow ? null : open.log();
    if (log != null && seq <= 0) {
      log.unnumberedCall();
      log = null;
    }
    if (log == null) {
      return run(target, presented, methodName, descriptor, args, shadow, scope);
    }
    ClassLoader loader = loaderOf(target);
    CallLog.Lookup found =
        log.lookup(
            seq,
            refId,
            methodName,
            descriptor,
            args,
            logged -> EquivalentArguments.same(logged, args, loader, scope));
    if (found instanceof CallLog.Logged logged) {
      return logged.outcome();
    }
    if (found instanceof CallLog.Diverged diverged) {
      return Outcome.failed("the re-execution diverged from the first run: " + diverged.reason());
    }
    Object outcome = run(target, presented, methodName, descriptor, args, false, scope);
    if (outcome instanceof byte[] answer) {
      boolean write =
          !LazyData.MATERIALIZE.equals(methodName)
              && !ReadOnlyMethods.isReadOnly(presented, methodName);
      log.record(seq, refId, methodName, descriptor, args, write, answer);
    }
    return outcome;
  }

  /** Runs one remote call on {@code target}: outcome bytes, or a refusal's text. */
  private static Object run(
      Object target,
      String presented,
      String methodName,
      String descriptor,
      byte[] args,
      boolean shadow,
      ExportScope scope) {
    if (LazyData.MATERIALIZE.equals(methodName)) {
      // Lazy data, loaded here in the request's persistence context: a read.
      return materialize(target, scope);
    }
    if (shadow && !ReadOnlyMethods.isReadOnly(presented, methodName)) {
      return Outcome.failed("shadow execution refused a write: " + presented + "#" + methodName);
    }
    Method method = find(target.getClass(), methodName, descriptor);
    if (method == null) {
      return Outcome.failed(
          presented + " has no method " + methodName + descriptor + " that can be called remotely");
    }
    ClassLoader loader = loaderOf(target);
    Object[] arguments;
    try {
      Object decoded = ObjectCodec.deserialize(args, loader, scope);
      if (!(decoded instanceof Object[] array)) {
        return Outcome.failed("the arguments of " + methodName + " are not an Object[]");
      }
      arguments = array;
    } catch (CodecException e) {
      return Outcome.failed("decoding the arguments of " + methodName + ": " + e.getMessage());
    }
    // Counted before it runs, so an offload that fails meanwhile knows not to run the handler
    // again (docs/internals.md, "Failed offloads").
    if (!ReadOnlyMethods.isReadOnly(presented, methodName) && !scope.beginWrite()) {
      return Outcome.failed(
          "the offload of this invocation already failed: "
              + presented
              + "#"
              + methodName
              + " was not run");
    }
    Thread thread = Thread.currentThread();
    ClassLoader previous = thread.getContextClassLoader();
    thread.setContextClassLoader(loader);
    try {
      Object result = method.invoke(target, arguments);
      if (result != null
          && method.getReturnType() != void.class
          && RemoteClasses.isServerBound(result.getClass())) {
        result = scope.export(result);
      }
      return returned(result, arguments, scope);
    } catch (InvocationTargetException e) {
      return threw(e.getCause(), scope);
    } catch (IllegalAccessException | IllegalArgumentException e) {
      return Outcome.failed("calling " + presented + "#" + methodName + ": " + e);
    } catch (CodecException e) {
      return Outcome.failed("encoding the result of " + methodName + ": " + e.getMessage());
    } catch (RuntimeException | LinkageError e) {
      return Outcome.failed("calling " + presented + "#" + methodName + ": " + e);
    } finally {
      thread.setContextClassLoader(previous);
    }
  }

  /** Refusals logged, by class and method: once each, so a flood of calls is no flood of logs. */
  private static final Set<String> LOGGED_REFUSALS = ConcurrentHashMap.newKeySet();

  private static final int MAX_LOGGED_REFUSALS = 1000;

  private static void logRefusal(String presented, String methodName, String refusal) {
    if (LOGGED_REFUSALS.size() < MAX_LOGGED_REFUSALS
        && LOGGED_REFUSALS.add(presented + "#" + methodName)) {
      LOG.log(System.Logger.Level.WARNING, "semifaas: {0}", refusal);
    }
  }

  /**
   * The result, with the server's state of the arguments the function holds copies of, so that
   * what the call assigned to them (a generated id) reaches the function. Arguments that cannot
   * be encoded back (a persistent collection the call attached) leave the result alone.
   */
  private static byte[] returned(Object value, Object[] arguments, ExportScope scope)
      throws CodecException {
    // The codec never substitutes the top-level object: lazy data returned itself (a
    // repository's getReferenceById) is loaded here, as a local run would on first use.
    Object result = value == null ? null : LazyData.materialize(value);
    Object withArguments =
        ArgumentUpdates.of(result, arguments, arg -> sentByValue(arg, scope));
    if (withArguments != result) {
      try {
        return Outcome.returned(withArguments, scope);
      } catch (CodecException e) {
        LOG.log(
            System.Logger.Level.DEBUG,
            "semifaas: the arguments of a remote call cannot be sent back: {0}",
            e.getMessage());
      }
    }
    try {
      return Outcome.returned(result, scope);
    } catch (CodecException e) {
      if (result == null || result instanceof RemoteRef) {
        throw e;
      }
      // What cannot be copied (an application context's environment) is called where it is.
      return Outcome.returned(scope.export(result), scope);
    }
  }

  private static byte[] materialize(Object target, ExportScope scope) {
    try {
      return Outcome.returned(LazyData.materialize(target), scope);
    } catch (CodecException | RuntimeException e) {
      return Outcome.failed(
          "materializing lazy data " + RemoteClasses.presentedName(target) + ": " + e);
    }
  }

  /** An argument the function sent by value: it holds a copy that the call may have changed. */
  private static boolean sentByValue(Object arg, ExportScope scope) {
    Class<?> type = arg.getClass();
    return CodeSectionCollector.isApplicationClass(type)
        && !RemoteClasses.isServerBound(type)
        && Packageables.packerFor(type) == null
        && !scope.isExported(arg);
  }

  private static byte[] threw(Throwable thrown, ExportScope scope) {
    try {
      // In the scope, so the function may throw it on: what the server sent, it takes back.
      return Outcome.threw(thrown, scope);
    } catch (CodecException e) {
      return Outcome.failed(
          "the call threw " + thrown + ", which cannot be sent: " + e.getMessage());
    }
  }

  /**
   * The instance method with that name and descriptor, made callable; or null. Of the methods the
   * closure's code calls, any it could call locally can be called remotely: public ones, and the
   * package-private and protected ones of the application's classes (a package-private {@code
   * @Transactional} service). The most derived declaration wins, so a Spring proxy's override
   * (which applies the transaction) is the one called.
   */
  static Method find(Class<?> type, String name, String descriptor) {
    for (Method m : type.getMethods()) {
      if (m.getName().equals(name) && MethodDescriptors.of(m).equals(descriptor)) {
        try {
          m.setAccessible(true);
        } catch (RuntimeException e) {
          // Public method of a public type: callable without it.
        }
        return m;
      }
    }
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      for (Method m : c.getDeclaredMethods()) {
        if (m.getName().equals(name)
            && !Modifier.isStatic(m.getModifiers())
            && !Modifier.isPrivate(m.getModifiers())
            && MethodDescriptors.of(m).equals(descriptor)) {
          try {
            m.setAccessible(true);
            return m;
          } catch (RuntimeException e) {
            // A JDK class's non-public method: no application code calls it either.
            return null;
          }
        }
      }
    }
    return null;
  }

  private static ClassLoader loaderOf(Object target) {
    ClassLoader loader = target.getClass().getClassLoader();
    return loader != null ? loader : ClassLoader.getSystemClassLoader();
  }
}
