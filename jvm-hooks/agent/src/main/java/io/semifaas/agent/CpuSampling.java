package io.semifaas.agent;

/**
 * Which local runs of a handler have their CPU time measured. Reading a thread's CPU time is a
 * system call on each side of the run, so only a sample of runs pays it: every run until the
 * handler has a profile, then one in {@link #EVERY}. The candidate rule takes the median of the
 * recent samples (agent/src/candidates.rs), which a regular sample follows as well as every run.
 */
final class CpuSampling {
  /** Runs always timed: enough for the profile the candidate rule keeps. */
  static final int PROFILED_RUNS = 64;

  /** Past the profile, one run in this many is timed. */
  static final int EVERY = 16;

  private CpuSampling() {}

  /** Whether the handler's {@code run}-th local run (from 1) is timed. */
  static boolean timed(int run) {
    return run <= PROFILED_RUNS || run % EVERY == 0;
  }
}
