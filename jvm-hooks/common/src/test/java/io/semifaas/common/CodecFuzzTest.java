package io.semifaas.common;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * Coverage-guided fuzzing (Jazzer) of the decoders that read bytes from the other side of the
 * boundary. A plain build replays the committed inputs in {@code CodecFuzzTestInputs/<method>}
 * (seeds from {@link CodecFuzzSeedsTest}, minimized corpora, every finding); {@code JAZZER_FUZZ=1}
 * fuzzes one method per run ({@code fuzz/run.sh}).
 *
 * <p>Refusals the decoders document are expected: {@link CodecException}, and {@link
 * IllegalArgumentException} from {@link ArgumentUpdates#apply}. Anything else escaping them (a
 * runtime exception, an error such as OutOfMemoryError or StackOverflowError) is a finding, and so
 * is building an arbitrary class from the bytes, which Jazzer's sanitizers detect, and allocating
 * more than {@link #ALLOCATION_MAX} for one input: a few bytes from the network must not claim the
 * server's memory.
 */
class CodecFuzzTest {
  private static final ClassLoader LOADER = CodecFuzzTest.class.getClassLoader();

  /** Most bytes decoding one fuzz input (at most a few KB) may allocate. */
  static final long ALLOCATION_MAX = 64 << 20;

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  /**
   * Runs {@code decode} on {@code data}, failing when it allocates more than allowed. An input over
   * the bound is decoded once more and measured again: loading (and instrumenting) the classes it
   * names happens once and is not the input's doing.
   */
  static void boundedAllocation(byte[] data, Runnable decode) {
    if (allocatedBy(decode) <= ALLOCATION_MAX) {
      return;
    }
    long used = allocatedBy(decode);
    if (used > ALLOCATION_MAX) {
      throw new AssertionError("decoding " + data.length + " bytes allocated " + used + " bytes");
    }
  }

  private static long allocatedBy(Runnable decode) {
    long before = THREADS.getCurrentThreadAllocatedBytes();
    decode.run();
    return THREADS.getCurrentThreadAllocatedBytes() - before;
  }

  /** A by-value argument of a remote call, as the function holds it. */
  static final class Post {
    Long id;
    String title;
    List<String> tags = new ArrayList<>();

    Post(String title) {
      this.title = title;
    }
  }

  /** The arguments a function sent with the remote call whose outcome it decodes. */
  static Object[] sentArguments() {
    return new Object[] {new Post("hello"), "by reference", 7L};
  }

  /**
   * How a function decodes its own server's bytes: without an allow-list, as the server is
   * authenticated by its pinned certificate and already supplies the function's code. Jazzer's
   * canary class (which any decoder without an allow-list can be made to build) is refused here
   * only, so these targets keep hunting crashes and unbounded allocation; {@link #serverDecode}
   * fuzzes the allow-list itself, where building the canary is a finding.
   */
  private static final CodecHooks FROM_OWN_SERVER =
      new CodecHooks() {
        @Override
        public Class<?> substituteClass(Class<?> type) {
          return null;
        }

        @Override
        public Object substitute(Object value) {
          return value;
        }

        @Override
        public Object onRead(Object value) {
          return value;
        }

        @Override
        public String refusal(Class<?> type) {
          return type.getName().startsWith("jaz.") ? "Jazzer's canary" : null;
        }
      };

  /** Receivers, arguments, return values: {@link ObjectCodec#deserialize} alone. */
  @FuzzTest
  void objectCodec(byte[] data) {
    boundedAllocation(
        data,
        () -> {
          try {
            ObjectCodec.deserialize(data, LOADER, FROM_OWN_SERVER);
          } catch (CodecException expected) {
            // A refusal that names what is wrong.
          }
        });
  }

  /**
   * A remote call's outcome as the function reads it: the tagged bytes ({@link Outcome#body}),
   * then the server's state of by-value arguments merged into the function's ({@link
   * ArgumentUpdates#apply}, which runs {@link StateMerge}).
   */
  @FuzzTest
  void outcome(byte[] data) {
    boundedAllocation(
        data,
        () -> {
          try {
            Object body = Outcome.body(data, LOADER, FROM_OWN_SERVER);
            if (Outcome.tag(data) == Outcome.RETURNED) {
              ArgumentUpdates.apply(body, sentArguments());
            }
          } catch (CodecException | IllegalArgumentException expected) {
            // A refusal that names what is wrong.
          }
        });
  }

  /**
   * A function's outcome as the server decodes it (a return value or a thrown exception), with a
   * closure's allow-list: the untrusted direction. Building any class the list does not admit
   * (Jazzer's canary among them) is a finding.
   */
  @FuzzTest
  void serverDecode(byte[] data) {
    boundedAllocation(
        data,
        () -> {
          ExportScope scope = new ExportScope(null);
          scope.allow(CodecAllowList.of(List.of(Post.class.getName())));
          try {
            Outcome.body(data, LOADER, scope);
          } catch (CodecException expected) {
            // A refusal that names what is wrong.
          }
        });
  }
}
