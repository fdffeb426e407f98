package io.semifaas.agent;

import io.semifaas.common.CodecException;
import io.semifaas.common.ExportScope;
import io.semifaas.common.InOutArguments;
import io.semifaas.common.InvocationContext;
import io.semifaas.common.ObjectCodec;
import io.semifaas.common.Outcome;
import io.semifaas.common.Packageables;
import io.semifaas.common.RemoteClasses;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Decides, for one handler call, whether it runs here or in a function, and carries out the
 * offload. Every failure falls back to running the handler locally. The first local runs of an
 * eligible handler also feed shadow execution (argument samples) and mutation safety (receiver
 * fingerprints).
 */
final class HandlerDispatcher {
  private static final System.Logger LOG = System.getLogger("io.semifaas.agent");

  /** Distinct (handler, reason) pairs remembered; bounds memory when reasons vary per call. */
  private static final int MAX_REPORTED = 10_000;

  /** Local runs per handler whose receiver is fingerprinted for mutations. */
  static final int MUTATION_SAMPLES = 3;

  /** What {@link #enter} decided: the offloaded result, or a local run (possibly counted). */
  sealed interface Decision permits Offloaded, Local {}

  /**
   * The handler's outcome without running it here; {@code placement} is what the placement header
   * says ({@link PlacementHeader}).
   */
  record Offloaded(OffloadedCall call, String placement) implements Decision {
    Offloaded(OffloadedCall call) {
      this(call, PlacementHeader.OFFLOADED);
    }
  }

  /**
   * A local run; {@code handlerKey} is null when the call was not counted by the policy, {@code
   * handlerId} is the native side's id of the handler ({@link OffloadBackend#handlerId}). {@code
   * fingerprint} is the receiver's state before the run when it is watched for mutations; {@code
   * timed} whether its CPU time is measured ({@link CpuSampling}).
   */
  record Local(
      String handlerKey,
      long handlerId,
      Object bean,
      Map<Field, MutationWatch.FieldState> fingerprint,
      boolean timed)
      implements Decision {
    static final Local UNCOUNTED = new Local(null, 0, null, null, false);

    /**
     * A method Spring calls around the request's handler ({@code @ModelAttribute}, {@code
     * @InitBinder}, {@code @ExceptionHandler}): it says nothing about where the handler ran.
     */
    static final Local NOT_A_HANDLER = new Local(null, 0, null, null, false);
  }

  private final OffloadBackend backend;
  private final ApplicationClassLoaders classLoaders;
  private final ClosureRegistry closures;
  private final LearnedClasses learned;
  private final JavaSettings settings;
  private final Map<Method, Map<Class<?>, Handler>> handlers = new ConcurrentHashMap<>();
  /** Handlers found to change their receiver in a way no closure can carry, with the reason. */
  private final Map<String, String> receiverProblems = new ConcurrentHashMap<>();
  private final Set<String> reported = ConcurrentHashMap.newKeySet();

  /**
   * The per-handler facts that do not change between calls, kept so a request looks nothing up by
   * name: the native id, the local-run counter and the {@link Local} of an untimed run.
   */
  private static final class Handler {
    final String key;
    final String problem;
    final long id;
    final AtomicInteger localRuns = new AtomicInteger();
    final Local untimedRun;
    /** Whether {@link #problem} went to the native stats (once per handler). */
    final AtomicBoolean problemReported = new AtomicBoolean();

    Handler(String key, String problem, long id) {
      this.key = key;
      this.problem = problem;
      this.id = id;
      this.untimedRun = new Local(key, id, null, null, false);
    }
  }

  HandlerDispatcher(
      OffloadBackend backend,
      ApplicationClassLoaders classLoaders,
      CodeSectionCollector collector,
      LearnedClasses learned,
      JavaSettings settings) {
    this.backend = backend;
    this.classLoaders = classLoaders;
    this.closures = new ClosureRegistry(backend, collector, learned);
    this.learned = learned;
    this.settings = settings;
  }

  Decision enter(Method method, Object bean, Object[] args) {
    if (method == null || bean == null) {
      return Local.UNCOUNTED;
    }
    Class<?> beanClass = bean.getClass();
    classLoaders.remember(beanClass.getClassLoader());
    Handler handler = knownHandler(method, beanClass);
    if (handler == null) {
      handler =
          handlers
              .computeIfAbsent(method, m -> new ConcurrentHashMap<>())
              .computeIfAbsent(beanClass, c -> describe(method, c));
    }
    if (handler.problem != null) {
      if (!handler.problemReported.getAndSet(true)) {
        reportIneligible(handler.key, handler.problem);
      }
      return handler.problem.equals(Eligibility.NOT_A_REQUEST_HANDLER)
          ? Local.NOT_A_HANDLER
          : Local.UNCOUNTED;
    }
    if (handler.id <= 0) {
      // The native side gave no id (past its handler limit, or its call failed): no native
      // call could count this handler's requests, and each would log that the id is unknown.
      return Local.UNCOUNTED;
    }
    // Usually empty: a request then skips hashing its key.
    String problem = receiverProblems.isEmpty() ? null : receiverProblems.get(handler.key);
    if (problem != null) {
      reportIneligible(handler.key, problem);
      return Local.UNCOUNTED;
    }
    if (!backend.shouldOffload(handler.id)) {
      return localRun(handler, method, bean, args);
    }
    try {
      return offload(handler, method, bean, args);
    } catch (Throwable t) {
      // Fail open, and keep the count: the policy already counted this invocation.
      reportFailure(handler.key, "agent error: " + t);
      return handler.untimedRun;
    }
  }

  /** The handler already described, or null: plain reads, no lambda made on every request. */
  private Handler knownHandler(Method method, Class<?> beanClass) {
    Map<Class<?>, Handler> byBean = handlers.get(method);
    return byBean == null ? null : byBean.get(beanClass);
  }

  /** A counted local run; the first ones record a sample and watch the receiver. */
  private Local localRun(Handler handler, Method method, Object bean, Object[] args) {
    int run = handler.localRuns.incrementAndGet();
    boolean timed = CpuSampling.timed(run);
    if (run > MUTATION_SAMPLES && run > settings.shadowSamples()) {
      return timed ? new Local(handler.key, handler.id, null, null, true) : handler.untimedRun;
    }
    try {
      if (run <= settings.shadowSamples()) {
        recordSample(handler.key, method, bean, args);
      }
      if (run <= MUTATION_SAMPLES) {
        return new Local(handler.key, handler.id, bean, MutationWatch.fingerprint(bean), timed);
      }
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.DEBUG, "semifaas: sampling {0} failed: {1}", handler.key, e);
    }
    return new Local(handler.key, handler.id, null, null, timed);
  }

  /** Hands the native side the arguments of this run when they hold no remote reference. */
  private void recordSample(String key, Method method, Object bean, Object[] args) {
    ClosureRegistry.Entry closure = closures.obtain(key, method, bean);
    if (closure.problem() != null) {
      return;
    }
    ExportScope probe = new ExportScope(closure.scope().exports());
    try {
      // Replayed with its context, a sample warms the path a real invocation takes.
      Object[] sample =
          InvocationContext.captureForReplay(bean.getClass().getClassLoader())
              .appendTo(args == null ? new Object[0] : args);
      byte[] bytes = ObjectCodec.serialize(sample, probe);
      if (probe.exportedCount() == 0) {
        backend.recordSample(key, closure.closureId(), bytes);
      }
    } catch (CodecException e) {
      // Arguments that cannot cross are no sample.
    }
  }

  private Decision offload(Handler handler, Method method, Object bean, Object[] args) {
    String key = handler.key;
    ClosureRegistry.Entry closure = closures.obtain(key, method, bean);
    if (closure.problem() != null) {
      reportIneligible(key, closure.problem());
      return handler.untimedRun;
    }
    Object[] arguments = args == null ? new Object[0] : args;
    RemoteScopes.Open open = RemoteScopes.openInvocationScope(closure.scope());
    ExportScope scope = open.exports();
    try {
      byte[] argBytes;
      try {
        // The request thread's holders travel after the handler's own arguments.
        Object[] sent =
            InvocationContext.capture(bean.getClass().getClassLoader(), scope)
                .appendTo(arguments);
        argBytes = ObjectCodec.serialize(sent, scope);
      } catch (CodecException e) {
        reportIneligible(key, "argument cannot be serialized: " + e.getMessage());
        return handler.untimedRun;
      }
      int[] inOut = InOutArguments.positions(arguments, HandlerDispatcher::crossesByValue);
      byte[] outcome = backend.offload(key, closure.closureId(), argBytes, scope.id());
      Decision decision =
          outcome == null ? null : result(key, method, bean, arguments, inOut, outcome, scope);
      if (decision == null) {
        return recover(handler, method, bean, arguments, inOut, closure, argBytes, open);
      }
      if (decision instanceof Offloaded offloaded && verifies(scope)) {
        return verify(key, method, bean, arguments, inOut, argBytes, scope, offloaded.call());
      }
      return decision;
    } finally {
      CallLog log = open.log();
      int entries = log.size();
      long bytes = log.bytes();
      // Closing releases the log: the bytes in use reported are those of the other invocations.
      RemoteScopes.close(open);
      if (entries > 0 || log.overCap()) {
        backend.recordCallLog(entries, bytes, log.overCap(), CallLog.bytesInUse());
      }
    }
  }

  /**
   * An offload that gave no usable result. Without a remote call that may write, the handler runs
   * here as usual. After one, running the handler again would repeat the write: the closure runs
   * again on the server instead, on this thread, with the invocation's call log, so the calls its
   * first run made get their logged answers and only new ones run ({@link ServerReexecution}). A
   * re-execution that leaves the log fails the request ({@link OffloadDivergedException}) rather
   * than write differently; without a complete log the request fails as abandoned. Sealing the
   * scope first stops any call of the failed run still on its way.
   */
  private Decision recover(
      Handler handler,
      Method method,
      Object bean,
      Object[] arguments,
      int[] inOut,
      ClosureRegistry.Entry closure,
      byte[] argBytes,
      RemoteScopes.Open open) {
    String key = handler.key;
    ExportScope scope = open.exports();
    int writes = scope.seal();
    if (writes == 0) {
      return handler.untimedRun;
    }
    CallLog log = open.log();
    if (!log.complete()) {
      return abandon(
          key,
          writes,
          log.overCap()
              ? "its call log went over semifaas.call-log.max-bytes or total-max-bytes"
              : "not all of its remote calls were logged");
    }
    scope.reopen();
    log.beginAttempt();
    byte[] again = ServerReexecution.run(closure.closureId(), closure.parts(), argBytes, scope.id());
    String divergence = log.divergence();
    if (divergence != null) {
      scope.seal();
      String reason =
          failedAfter(writes)
              + ", and its re-execution on the server diverged from the first run: "
              + divergence
              + "; the request fails rather than write differently";
      backend.recordDiverged(key, reason);
      return new Offloaded(
          OffloadedCall.threw(new OffloadDivergedException(key, reason)),
          PlacementHeader.DIVERGED);
    }
    Decision decision = result(key, method, bean, arguments, inOut, again, scope);
    if (!(decision instanceof Offloaded answered)) {
      scope.seal();
      return abandon(key, writes, "its re-execution on the server failed too");
    }
    backend.recordReexecuted(key);
    return new Offloaded(answered.call(), PlacementHeader.REEXECUTED);
  }

  private static String failedAfter(int writes) {
    return "the offload failed after the function had started "
        + writes
        + (writes == 1 ? " remote call" : " remote calls")
        + " that may write";
  }

  private Decision result(
      String key,
      Method method,
      Object bean,
      Object[] arguments,
      int[] inOut,
      byte[] outcome,
      ExportScope scope) {
    ClassLoader loader = bean.getClass().getClassLoader();
    try {
      byte tag = Outcome.tag(outcome);
      Object body = Outcome.body(outcome, loader, scope);
      if (tag == Outcome.THREW) {
        return new Offloaded(OffloadedCall.threw((Throwable) body));
      }
      if (tag == Outcome.FAILED) {
        return failed(key, "the function could not run the handler: " + body, scope);
      }
      Object value = body;
      if (inOut.length > 0) {
        if (!(body instanceof Object[] wrapped)) {
          return failed(
              key, "the function returned no in/out arguments (expected an Object[])", scope);
        }
        InOutArguments.copyBack(arguments, inOut, wrapped);
        value = wrapped[0];
      }
      if (!fitsReturnType(method, value)) {
        return failed(
            key,
            "the function returned a "
                + value.getClass().getName()
                + ", not a "
                + method.getReturnType().getName(),
            scope);
      }
      return new Offloaded(OffloadedCall.returned(value));
    } catch (CodecException | IllegalArgumentException e) {
      return failed(key, "result unusable: " + e.getMessage(), scope);
    }
  }

  /** Whether to re-run this offloaded invocation here: its share, and only without remote writes. */
  private boolean verifies(ExportScope scope) {
    double share = settings.verifyShare();
    return share > 0
        && ThreadLocalRandom.current().nextDouble() < share
        && scope.writeCount() == 0;
  }

  /**
   * Verify mode: runs the handler here on fresh copies of what the function got and compares. A
   * mismatch demotes the handler, and the client gets the local run's outcome.
   */
  private Decision verify(
      String key,
      Method method,
      Object bean,
      Object[] arguments,
      int[] inOut,
      byte[] argBytes,
      ExportScope scope,
      OffloadedCall offloaded) {
    Object[] fresh;
    try {
      Object decoded = ObjectCodec.deserialize(argBytes, bean.getClass().getClassLoader(), scope);
      fresh = InvocationContext.without((Object[]) decoded);
    } catch (CodecException | ClassCastException e) {
      backend.recordVerified(key, "the arguments could not be decoded again: " + e.getMessage());
      return new Offloaded(offloaded);
    }
    OffloadVerifier.Verdict verdict =
        OffloadVerifier.verify(
            method, bean, fresh, inOut, offloaded.value, offloaded.thrown, arguments);
    backend.recordVerified(key, verdict.mismatch() == null ? "" : verdict.mismatch());
    if (verdict.mismatch() == null) {
      return new Offloaded(offloaded);
    }
    receiverProblems.putIfAbsent(key, "verify mismatch: " + verdict.mismatch());
    if (verdict.thrown() != null) {
      return new Offloaded(OffloadedCall.threw(verdict.thrown()));
    }
    if (inOut.length > 0) {
      InOutArguments.copyBack(arguments, inOut, InOutArguments.wrap(verdict.value(), fresh, inOut));
    }
    return new Offloaded(OffloadedCall.returned(verdict.value()));
  }

  /** An unusable result: counted as a failure; null, so the caller {@link #recover}s. */
  private Decision failed(String key, String reason, ExportScope scope) {
    backend.recordOffloadFailure(key, reason);
    int changed = reason.indexOf(Outcome.RECEIVER_CHANGED);
    if (changed >= 0) {
      // Shared state must not fork: from now on the handler runs here, on the real receiver.
      receiverProblems.putIfAbsent(key, reason.substring(changed));
      closures.invalidate(key);
    }
    return null;
  }

  /**
   * The request fails with {@link OffloadAbandonedException}: the handler is not run again, so
   * none of the {@code writes} is done twice.
   */
  private Decision abandon(String key, int writes, String why) {
    String reason =
        failedAfter(writes)
            + " and "
            + why
            + "; the handler is not run again here, so none is done twice";
    backend.recordAbandoned(key, reason);
    return new Offloaded(
        OffloadedCall.threw(new OffloadAbandonedException(key, reason)), PlacementHeader.ABANDONED);
  }

  /**
   * An instance running {@code handlerKey} fetched {@code binaryName} (served from the
   * application's own code): it joins the handler's next closure when its closure's code names it.
   */
  void learnFetched(String handlerKey, String binaryName) {
    if (closures.names(handlerKey, binaryName)) {
      learned.record(handlerKey, binaryName);
    }
  }

  /** Arguments the function gets by value (not as references or snapshots). */
  private static boolean crossesByValue(Object arg) {
    return !RemoteClasses.isServerBound(arg.getClass())
        && Packageables.packerFor(arg.getClass()) == null;
  }

  /** Records a finished local run that the policy counted; checks a watched receiver. */
  void exitLocal(
      String handlerKey,
      long handlerId,
      long wallNanos,
      long cpuNanos,
      Object bean,
      Map<Field, MutationWatch.FieldState> before) {
    backend.recordLocal(handlerId, wallNanos, cpuNanos);
    if (before != null && bean != null) {
      List<MutationWatch.Mutation> mutations =
          MutationWatch.compare(before, MutationWatch.fingerprint(bean));
      if (!mutations.isEmpty()) {
        onMutation(handlerKey, mutations);
      }
    }
  }

  /**
   * Demotes the application classes the handler mutates in place and rebuilds its closures. A
   * reassigned field, or a library object (a JDK collection) changed in place, cannot be kept on
   * the server by class: the handler becomes ineligible.
   */
  private void onMutation(String key, List<MutationWatch.Mutation> mutations) {
    for (MutationWatch.Mutation mutation : mutations) {
      Object value = mutation.value();
      boolean demotable =
          mutation.inPlace()
              && value.getClass().getClassLoader() != null
              && !value.getClass().getName().startsWith("java.");
      if (!demotable) {
        receiverProblems.putIfAbsent(
            key,
            mutation.inPlace()
                ? "the handler changes its receiver's "
                    + value.getClass().getName()
                    + " in field "
                    + mutation.field()
                : "the handler reassigns its receiver's field " + mutation.field());
      } else if (RemoteClasses.demote(value.getClass())) {
        LOG.log(
            System.Logger.Level.INFO,
            "semifaas: {0} mutates its receiver''s {1} (field {2}); that class now stays on the"
                + " server, by reference",
            key,
            value.getClass().getName(),
            mutation.field());
      }
    }
    closures.invalidate(key);
  }

  private Handler describe(Method method, Class<?> beanClass) {
    String key = HandlerKeys.of(beanClass, method);
    String problem = Eligibility.handlerProblem(method, beanClass);
    return new Handler(key, problem, problem == null ? backend.handlerId(key) : 0);
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

  /** The native side logs the failure (one line) and counts it. */
  private void reportFailure(String key, String reason) {
    backend.recordOffloadFailure(key, reason);
  }
}
