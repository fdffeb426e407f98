package io.semifaas.agent;

import io.semifaas.common.CodecException;
import io.semifaas.common.ObjectCodec;
import io.semifaas.common.Outcome;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decides, for one handler call, whether it runs here or in a function, and carries out the
 * offload. Every failure falls back to running the handler locally.
 */
final class HandlerDispatcher {
  private static final System.Logger LOG = System.getLogger("io.semifaas.agent");

  /** Distinct (handler, reason) pairs remembered; bounds memory when reasons vary per call. */
  private static final int MAX_REPORTED = 10_000;

  /** What {@link #enter} decided: the offloaded result, or a local run (possibly counted). */
  sealed interface Decision permits Offloaded, Local {}

  record Offloaded(OffloadedCall call) implements Decision {}

  /** A local run; {@code handlerKey} is null when the call was not counted by the policy. */
  record Local(String handlerKey) implements Decision {
    static final Local UNCOUNTED = new Local(null);
  }

  private final OffloadBackend backend;
  private final ApplicationClassLoaders classLoaders;
  private final ClosureRegistry closures;
  private final Map<Method, Map<Class<?>, Handler>> handlers = new ConcurrentHashMap<>();
  private final Set<String> reported = ConcurrentHashMap.newKeySet();

  /** The per-handler facts that do not change between calls. */
  private record Handler(String key, String problem) {}

  HandlerDispatcher(
      OffloadBackend backend,
      ApplicationClassLoaders classLoaders,
      CodeSectionCollector collector) {
    this.backend = backend;
    this.classLoaders = classLoaders;
    this.closures = new ClosureRegistry(backend, collector);
  }

  Decision enter(Method method, Object bean, Object[] args) {
    if (method == null || bean == null) {
      return Local.UNCOUNTED;
    }
    Class<?> beanClass = bean.getClass();
    classLoaders.remember(beanClass.getClassLoader());
    Handler handler =
        handlers
            .computeIfAbsent(method, m -> new ConcurrentHashMap<>())
            .computeIfAbsent(beanClass, c -> describe(method, c));
    if (handler.problem != null) {
      reportIneligible(handler.key, handler.problem);
      return Local.UNCOUNTED;
    }
    String argumentProblem = Eligibility.argumentProblem(args);
    if (argumentProblem != null) {
      reportIneligible(handler.key, argumentProblem);
      return Local.UNCOUNTED;
    }
    if (!backend.shouldOffload(handler.key)) {
      return new Local(handler.key);
    }
    try {
      return offload(handler.key, method, bean, args);
    } catch (Throwable t) {
      // Fail open, and keep the count: the policy already counted this invocation.
      reportFailure(handler.key, "agent error: " + t);
      return new Local(handler.key);
    }
  }

  private Decision offload(String key, Method method, Object bean, Object[] args) {
    ClosureRegistry.Entry closure = closures.obtain(key, method, bean);
    if (closure.problem() != null) {
      reportIneligible(key, closure.problem());
      return new Local(key);
    }
    byte[] argBytes;
    try {
      argBytes = ObjectCodec.serialize(args == null ? new Object[0] : args);
    } catch (CodecException e) {
      reportIneligible(key, "argument cannot be serialized: " + e.getMessage());
      return new Local(key);
    }
    byte[] outcome = backend.offload(key, closure.closureId(), argBytes);
    if (outcome == null) {
      return new Local(key);
    }
    ClassLoader loader = bean.getClass().getClassLoader();
    try {
      byte tag = Outcome.tag(outcome);
      Object body = Outcome.body(outcome, loader);
      if (tag == Outcome.THREW) {
        return new Offloaded(OffloadedCall.threw((Throwable) body));
      }
      if (tag == Outcome.FAILED) {
        backend.recordOffloadFailure(key, "the function could not run the handler: " + body);
        return new Local(key);
      }
      if (!fitsReturnType(method, body)) {
        backend.recordOffloadFailure(
            key,
            "the function returned a "
                + body.getClass().getName()
                + ", not a "
                + method.getReturnType().getName());
        return new Local(key);
      }
      return new Offloaded(OffloadedCall.returned(body));
    } catch (CodecException e) {
      backend.recordOffloadFailure(key, "result unusable: " + e.getMessage());
      return new Local(key);
    }
  }

  /** Records a finished local run that the policy counted. */
  void exitLocal(String handlerKey, long wallNanos, long cpuNanos) {
    backend.recordLocal(handlerKey, wallNanos, cpuNanos);
  }

  private static Handler describe(Method method, Class<?> beanClass) {
    return new Handler(
        HandlerKeys.of(beanClass, method), Eligibility.handlerProblem(method, beanClass));
  }

  /** True when {@code value} can be what {@code method} returned through Method.invoke. */
  private static boolean fitsReturnType(Method method, Object value) {
    Class<?> type = method.getReturnType();
    if (value == null) {
      return true;
    }
    if (type.isPrimitive()) {
      // void has no value; other primitives arrive boxed, as Method.invoke returns them.
      return type != void.class
          && MethodType.methodType(type).wrap().returnType() == value.getClass();
    }
    return type.isInstance(value);
  }

  /** Ineligibility reasons go to the native stats once per handler and reason. */
  private void reportIneligible(String key, String reason) {
    if (reported.size() < MAX_REPORTED && reported.add(key + '\n' + reason)) {
      LOG.log(System.Logger.Level.INFO, "semifaas: {0} runs locally: {1}", key, reason);
      backend.recordIneligible(key, reason);
    }
  }

  private void reportFailure(String key, String reason) {
    if (reported.size() < MAX_REPORTED && reported.add(key + "\nfailure\n" + reason)) {
      LOG.log(System.Logger.Level.WARNING, "semifaas: offloading {0} failed: {1}", key, reason);
    }
    backend.recordOffloadFailure(key, reason);
  }
}
