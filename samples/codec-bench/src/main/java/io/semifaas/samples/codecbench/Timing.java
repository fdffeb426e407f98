package io.semifaas.samples.codecbench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * Warms operations up, then times batches of them and reports the median CPU nanoseconds per call
 * of each. Batches of the operations alternate and time is the calling thread's CPU time, so load
 * from other processes on a shared machine hits every operation alike and is not counted. The
 * median resists GC pauses and JIT recompilation better than the mean.
 */
final class Timing {

  private static final long WARMUP_NANOS = 1_500_000_000L;
  private static final long SAMPLE_NANOS = 2_000_000L;
  private static final int SAMPLES = 101;
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  /** Keeps results alive so the JIT cannot drop the timed work. */
  static volatile Object sink;

  private Timing() {}

  static long[] medianCpuNanos(List<Supplier<?>> operations) {
    int n = operations.size();
    long[] batch = new long[n];
    for (int op = 0; op < n; op++) {
      batch[op] = batchSize(operations.get(op));
    }
    long[][] perCall = new long[n][SAMPLES];
    for (int s = 0; s < SAMPLES; s++) {
      for (int op = 0; op < n; op++) {
        Supplier<?> operation = operations.get(op);
        long t0 = THREADS.getCurrentThreadCpuTime();
        for (long i = 0; i < batch[op]; i++) {
          sink = operation.get();
        }
        perCall[op][s] = (THREADS.getCurrentThreadCpuTime() - t0) / batch[op];
      }
    }
    long[] medians = new long[n];
    for (int op = 0; op < n; op++) {
      Arrays.sort(perCall[op]);
      medians[op] = perCall[op][SAMPLES / 2];
    }
    return medians;
  }

  /** Runs the warm-up and returns how many calls fill one sample. */
  private static long batchSize(Supplier<?> operation) {
    long start = THREADS.getCurrentThreadCpuTime();
    long calls = 0;
    long elapsed;
    do {
      sink = operation.get();
      calls++;
      elapsed = THREADS.getCurrentThreadCpuTime() - start;
    } while (elapsed < WARMUP_NANOS || calls < 1_000);
    return Math.max(1, SAMPLE_NANOS * calls / elapsed);
  }
}
