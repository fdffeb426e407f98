package io.semifaas.agent;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayDeque;
import java.util.Map;

/**
 * The one entry point of the advice inlined into Spring's {@code InvocableHandlerMethod#doInvoke}.
 * It lives on the system class path, which Spring Boot's nested-jar class loader delegates to.
 * Nothing here throws into the application: on any failure the original method runs.
 */
public final class Dispatcher {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  /** Local runs in progress on this thread (a stack: handler calls may nest). */
  private static final ThreadLocal<ArrayDeque<LocalRun>> LOCAL_RUNS =
      ThreadLocal.withInitial(ArrayDeque::new);

  private static volatile HandlerDispatcher current;

  private Dispatcher() {}

  /** Classes handlers loaded during local runs (filled by {@link ClassLoadRecorder}). */
  static final LearnedClasses LEARNED = new LearnedClasses();
  static final ServedClasses SERVED = new ServedClasses();

  /** Installs the dispatcher the advice calls; before this every call runs locally. */
  static void install(OffloadBackend backend) {
    install(backend, JavaSettings.DEFAULTS);
  }

  static void install(OffloadBackend backend, JavaSettings settings) {
    current =
        new HandlerDispatcher(
            backend,
            ApplicationClassLoaders.shared(),
            new CodeSectionCollector(),
            LEARNED,
            settings);
  }

  /** The handler running locally on this thread (innermost), or null. */
  static String currentLocalHandler() {
    LocalRun run = LOCAL_RUNS.get().peek();
    return run == null ? null : run.handlerKey;
  }

  /**
   * An instance running {@code handlerKey} fetched {@code binaryName} by fallback: learned for the
   * handler's next closure when its closure's code names it (see {@link
   * HandlerDispatcher#learnFetched}).
   */
  static void learnFetched(String handlerKey, String binaryName) {
    HandlerDispatcher dispatcher = current;
    if (dispatcher != null) {
      dispatcher.learnFetched(handlerKey, binaryName);
    }
  }

  /** Removes the dispatcher (tests). */
  static void uninstall() {
    current = null;
  }

  /**
   * Called on entry of {@code doInvoke}: null runs the handler locally, an {@link OffloadedCall}
   * skips it and supplies its result.
   */
  public static OffloadedCall onEnter(Method method, Object bean, Object[] args) {
    LocalRun run = LocalRun.UNCOUNTED;
    boolean handler = true;
    try {
      HandlerDispatcher dispatcher = current;
      if (dispatcher != null) {
        HandlerDispatcher.Decision decision = dispatcher.enter(method, bean, args);
        if (decision instanceof HandlerDispatcher.Offloaded offloaded) {
          OffloadedCall call = offloaded.call();
          PlacementHeader.mark(bean, offloaded.placement());
          return call;
        }
        HandlerDispatcher.Local local = (HandlerDispatcher.Local) decision;
        handler = local != HandlerDispatcher.Local.NOT_A_HANDLER;
        if (local.handlerKey() != null) {
          run =
              new LocalRun(
                  local.handlerKey(),
                  local.handlerId(),
                  System.nanoTime(),
                  local.timed() ? cpuTime() : UNTIMED,
                  local.bean(),
                  local.fingerprint());
        }
      }
    } catch (Throwable t) {
      // Fail open: the handler runs locally.
    }
    if (handler) {
      PlacementHeader.mark(bean, PlacementHeader.LOCAL);
    }
    LOCAL_RUNS.get().push(run);
    return null;
  }

  /**
   * Called on exit of {@code doInvoke}; records the time of a counted local run (its CPU time
   * {@link #UNTIMED} when not measured).
   */
  public static void onExit(OffloadedCall call) {
    if (call != null) {
      return;
    }
    try {
      LocalRun run = LOCAL_RUNS.get().poll();
      HandlerDispatcher dispatcher = current;
      if (run != null && run.handlerKey != null && dispatcher != null) {
        long cpu = run.cpuStart < 0 ? UNTIMED : Math.max(0, cpuTime() - run.cpuStart);
        dispatcher.exitLocal(
            run.handlerKey,
            run.handlerId,
            System.nanoTime() - run.wallStart,
            cpu,
            run.bean,
            run.fingerprint);
      }
    } catch (Throwable t) {
      // Statistics must never break the application's call.
    }
  }

  /** The CPU time of a run that was not measured ({@link CpuSampling}), or could not be. */
  static final long UNTIMED = -1;

  private static long cpuTime() {
    try {
      return THREADS.isCurrentThreadCpuTimeSupported() ? THREADS.getCurrentThreadCpuTime() : UNTIMED;
    } catch (UnsupportedOperationException e) {
      return UNTIMED;
    }
  }

  private record LocalRun(
      String handlerKey,
      long handlerId,
      long wallStart,
      long cpuStart,
      Object bean,
      Map<Field, MutationWatch.FieldState> fingerprint) {
    static final LocalRun UNCOUNTED = new LocalRun(null, 0, 0, -1, null, null);
  }
}
