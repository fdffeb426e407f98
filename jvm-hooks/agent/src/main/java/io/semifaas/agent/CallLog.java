package io.semifaas.agent;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * The remote calls of one offloaded invocation, by sequence number, with the answers the server
 * gave (docs/internals.md, "Failed offloads"). A call that arrives again under a logged number
 * gets the logged answer and does not run again: a retried stream, or a re-execution of the
 * invocation after its offload failed. A re-execution must make the same calls: the same method
 * on the same reference with equivalent arguments; one that does not has diverged, and from then
 * on every call of the invocation is refused, so a different path never writes.
 *
 * <p>Bounded: an invocation's log holds at most {@link Limits#perInvocation} bytes and all logs
 * together {@link Limits#total}. Over either cap the log drops its entries and stops logging: the
 * invocation falls back to the rule without a log (a failed offload after a write is abandoned).
 *
 * <p>No I/O and no codec here: callers say how arguments compare ({@link #lookup}).
 */
final class CallLog {
  /** The caps on logged bytes (arguments and answers), per invocation and over all of them. */
  record Limits(long perInvocation, long total) {
    static final Limits DEFAULTS = new Limits(4L << 20, 64L << 20);
  }

  static final String MAX_BYTES = "semifaas.call-log.max-bytes";
  static final String TOTAL_MAX_BYTES = "semifaas.call-log.total-max-bytes";

  private static volatile Limits limits = Limits.DEFAULTS;

  /** Bytes held by all open logs of this JVM. */
  private static final AtomicLong IN_USE = new AtomicLong();

  /** Bytes an entry costs beyond its arrays: the record, its strings, the map's node. */
  static final int ENTRY_OVERHEAD = 128;

  static void configure(Limits configured) {
    limits = configured;
  }

  static Limits limits() {
    return limits;
  }

  static long bytesInUse() {
    return IN_USE.get();
  }

  /** One logged call: what was called and what the server answered. */
  record Entry(
      long refId, String method, String descriptor, byte[] args, boolean write, byte[] outcome) {
    long size() {
      return (long) args.length + outcome.length + ENTRY_OVERHEAD;
    }
  }

  /** What the log knows of a call about to run. */
  sealed interface Lookup permits Miss, Logged, Diverged {}

  /** Not logged: run it, then {@link #record} its answer. */
  record Miss() implements Lookup {}

  /** Already answered: send this answer again, do not run the call. */
  record Logged(byte[] outcome) implements Lookup {}

  /** The invocation left its log: refuse the call, with this reason. */
  record Diverged(String reason) implements Lookup {}

  private static final Miss MISS = new Miss();

  private final Limits caps;
  private final Map<Integer, Entry> entries = new HashMap<>();
  private long bytes;
  private boolean overCap;
  private boolean unnumbered;
  private String divergence;

  /** Calls the current attempt made (the highest sequence number it reached). */
  private int attemptCalls;

  CallLog() {
    this(limits);
  }

  CallLog(Limits caps) {
    this.caps = caps;
  }

  /**
   * Call {@code seq} is about to run. {@code sameArguments} says whether a logged call's argument
   * bytes are equivalent to these (called only when the bytes differ).
   */
  synchronized Lookup lookup(
      int seq,
      long refId,
      String method,
      String descriptor,
      byte[] args,
      Predicate<byte[]> sameArguments) {
    if (divergence != null) {
      return new Diverged(divergence);
    }
    attemptCalls = Math.max(attemptCalls, seq);
    Entry logged = entries.get(seq);
    if (logged == null) {
      return MISS;
    }
    String difference = difference(logged, refId, method, descriptor, args, sameArguments);
    if (difference != null) {
      divergence = "call #" + seq + " " + difference;
      return new Diverged(divergence);
    }
    return new Logged(logged.outcome);
  }

  private static String difference(
      Entry logged,
      long refId,
      String method,
      String descriptor,
      byte[] args,
      Predicate<byte[]> sameArguments) {
    if (logged.refId != refId
        || !logged.method.equals(method)
        || !logged.descriptor.equals(descriptor)) {
      return "was "
          + logged.method
          + logged.descriptor
          + " on reference "
          + logged.refId
          + ", the re-execution called "
          + method
          + descriptor
          + " on reference "
          + refId;
    }
    if (!Arrays.equals(logged.args, args) && !sameArguments.test(logged.args)) {
      return "called " + method + descriptor + " with other arguments than the first time";
    }
    return null;
  }

  /** Logs call {@code seq}'s answer; over a cap, the log gives up (see the class comment). */
  synchronized void record(
      int seq,
      long refId,
      String method,
      String descriptor,
      byte[] args,
      boolean write,
      byte[] outcome) {
    if (overCap || entries.containsKey(seq)) {
      return;
    }
    Entry entry = new Entry(refId, method, descriptor, args, write, outcome);
    long size = entry.size();
    boolean fits = bytes + size <= caps.perInvocation;
    if (fits && IN_USE.addAndGet(size) <= caps.total) {
      entries.put(seq, entry);
      bytes += size;
      return;
    }
    if (fits) {
      // Reserved, but over the total: give the reservation back.
      IN_USE.addAndGet(-size);
    }
    overCap = true;
    release();
  }

  /** A re-execution starts: it numbers its calls from 1 again. */
  synchronized void beginAttempt() {
    attemptCalls = 0;
  }

  /**
   * Why the attempt that just ended does not match the log, or null: it diverged, or it ended
   * before making a logged call that may have written (that write would be in no response).
   */
  synchronized String divergence() {
    if (divergence != null) {
      return divergence;
    }
    for (Map.Entry<Integer, Entry> e : entries.entrySet()) {
      if (e.getKey() > attemptCalls && e.getValue().write) {
        divergence =
            "the re-execution ended after "
                + attemptCalls
                + " remote calls without making call #"
                + e.getKey()
                + " ("
                + e.getValue().method
                + "), which the first run made";
        return divergence;
      }
    }
    return null;
  }

  /** True once the log went over a cap and gave up. */
  synchronized boolean overCap() {
    return overCap;
  }

  /** A call without a sequence number ran in the invocation: it is in no log. */
  synchronized void unnumberedCall() {
    unnumbered = true;
  }

  /**
   * True when every remote call of the invocation is logged with its answer, so a re-execution
   * can tell what already ran.
   */
  synchronized boolean complete() {
    return !overCap && !unnumbered;
  }

  synchronized int size() {
    return entries.size();
  }

  synchronized long bytes() {
    return bytes;
  }

  /** The invocation's response is sent: the log's bytes are free. */
  synchronized void release() {
    IN_USE.addAndGet(-bytes);
    bytes = 0;
    entries.clear();
  }
}
