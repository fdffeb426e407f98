package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CallLogTest {
  private static final byte[] ARGS = {1, 2, 3};
  private static final byte[] ANSWER = {0, 42};
  private static final Predicate<byte[]> NEVER_EQUIVALENT = logged -> false;

  private final List<CallLog> logs = new ArrayList<>();

  @AfterEach
  void release() {
    logs.forEach(CallLog::release);
    assertEquals(0, CallLog.bytesInUse(), "released logs hold nothing");
  }

  private CallLog log(long perInvocation, long total) {
    CallLog log = new CallLog(new CallLog.Limits(perInvocation, total));
    logs.add(log);
    return log;
  }

  private static CallLog.Lookup lookup(CallLog log, int seq, String method, byte[] args) {
    return log.lookup(seq, 7, method, "()V", args, NEVER_EQUIVALENT);
  }

  @Test
  void aCallSentAgainUnderItsNumberGetsTheLoggedAnswerAndDoesNotRun() {
    CallLog log = log(1 << 20, 1 << 20);
    assertInstanceOf(CallLog.Miss.class, lookup(log, 1, "save", ARGS));
    log.record(1, 7, "save", "()V", ARGS, true, ANSWER);

    CallLog.Logged again = assertInstanceOf(CallLog.Logged.class, lookup(log, 1, "save", ARGS));
    assertArrayEquals(ANSWER, again.outcome());
    // A second answer for a logged number is ignored: the first one stands.
    log.record(1, 7, "save", "()V", ARGS, true, new byte[] {0, 9});
    assertArrayEquals(ANSWER, ((CallLog.Logged) lookup(log, 1, "save", ARGS)).outcome());
    assertEquals(1, log.size());
    assertInstanceOf(CallLog.Miss.class, lookup(log, 2, "findAll", ARGS));
  }

  @Test
  void anotherMethodReferenceOrArgumentsUnderALoggedNumberDiverges() {
    CallLog otherMethod = log(1 << 20, 1 << 20);
    otherMethod.record(1, 7, "save", "()V", ARGS, true, ANSWER);
    CallLog.Diverged diverged =
        assertInstanceOf(CallLog.Diverged.class, lookup(otherMethod, 1, "delete", ARGS));
    assertTrue(diverged.reason().contains("call #1 was save()V"), diverged.reason());
    // From then on every call is refused, so a different path never writes.
    assertInstanceOf(CallLog.Diverged.class, lookup(otherMethod, 2, "save", ARGS));
    assertEquals(diverged.reason(), otherMethod.divergence());

    CallLog otherReference = log(1 << 20, 1 << 20);
    otherReference.record(1, 8, "save", "()V", ARGS, true, ANSWER);
    assertInstanceOf(CallLog.Diverged.class, lookup(otherReference, 1, "save", ARGS));

    CallLog otherArguments = log(1 << 20, 1 << 20);
    otherArguments.record(1, 7, "save", "()V", ARGS, true, ANSWER);
    assertInstanceOf(
        CallLog.Diverged.class, lookup(otherArguments, 1, "save", new byte[] {1, 2, 4}));
    // Bytes that differ but the caller finds equivalent (a clock reading) are the same call.
    CallLog equivalent = log(1 << 20, 1 << 20);
    equivalent.record(1, 7, "save", "()V", ARGS, true, ANSWER);
    assertInstanceOf(
        CallLog.Logged.class,
        equivalent.lookup(1, 7, "save", "()V", new byte[] {1, 2, 4}, logged -> true));
  }

  @Test
  void aReExecutionThatSkipsALoggedWriteDivergesOneThatSkipsAReadDoesNot() {
    CallLog log = log(1 << 20, 1 << 20);
    log.record(1, 7, "find", "()V", ARGS, false, ANSWER);
    log.record(2, 7, "save", "()V", ARGS, true, ANSWER);
    log.record(3, 7, "count", "()V", ARGS, false, ANSWER);

    log.beginAttempt();
    lookup(log, 1, "find", ARGS);
    lookup(log, 2, "save", ARGS);
    assertNull(log.divergence(), "only a read was left out");

    log.beginAttempt();
    lookup(log, 1, "find", ARGS);
    String divergence = log.divergence();
    assertTrue(divergence.contains("without making call #2 (save)"), divergence);
  }

  @Test
  void overItsOwnCapALogGivesUpAndFreesItsBytes() {
    long entry = ARGS.length + ANSWER.length + CallLog.ENTRY_OVERHEAD;
    CallLog log = log(2 * entry, 1 << 20);
    log.record(1, 7, "save", "()V", ARGS, true, ANSWER);
    log.record(2, 7, "save", "()V", ARGS, true, ANSWER);
    assertTrue(log.complete());
    assertEquals(2 * entry, CallLog.bytesInUse());

    log.record(3, 7, "save", "()V", ARGS, true, ANSWER);
    assertTrue(log.overCap());
    assertFalse(log.complete(), "a re-execution could not tell what ran");
    assertEquals(0, log.size());
    assertEquals(0, CallLog.bytesInUse());
    assertInstanceOf(CallLog.Miss.class, lookup(log, 1, "save", ARGS));
  }

  @Test
  void overTheTotalCapTheLogThatWouldPassItGivesUp() {
    long entry = ARGS.length + ANSWER.length + CallLog.ENTRY_OVERHEAD;
    CallLog first = log(1 << 20, entry);
    CallLog second = log(1 << 20, entry);
    first.record(1, 7, "save", "()V", ARGS, true, ANSWER);
    second.record(1, 7, "save", "()V", ARGS, true, ANSWER);
    assertTrue(first.complete());
    assertTrue(second.overCap());
    assertEquals(entry, CallLog.bytesInUse(), "the refused reservation was given back");
  }

  @Test
  void anUnnumberedCallLeavesTheLogIncomplete() {
    CallLog log = log(1 << 20, 1 << 20);
    log.unnumberedCall();
    assertFalse(log.complete());
    assertFalse(log.overCap());
  }

  /** A re-execution reads the clock again: its new entity's time is no other call. */
  @Test
  void argumentsThatDifferOnlyInClockReadingsAreEquivalent() {
    Object[] first = {new Post("hello", Instant.ofEpochSecond(1)), 5L};
    Object[] again = {new Post("hello", Instant.ofEpochSecond(2)), 5L};
    Object[] other = {new Post("bye", Instant.ofEpochSecond(1)), 5L};
    assertTrue(EquivalentArguments.equivalent(first, again, new IdentityHashMap<>()));
    assertFalse(EquivalentArguments.equivalent(first, other, new IdentityHashMap<>()));
    assertFalse(
        EquivalentArguments.equivalent(first, new Object[] {first[0], 6L}, new IdentityHashMap<>()));
  }

  static final class Post {
    final String title;
    final Instant created;

    Post(String title, Instant created) {
      this.title = title;
      this.created = created;
    }
  }
}
