package io.semifaas.runtime;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.semifaas.common.CodecException;
import org.hibernate.LazyInitializationException;
import org.junit.jupiter.api.Test;

class OffloadMachineryTest {
  private static String reason(Throwable t) {
    return OffloadMachinery.failureIn(t);
  }

  @Test
  void theMachinerysFailuresAreToldApartWhereverTheyAreInTheChain() {
    assertTrue(
        reason(new IllegalStateException("wrapped", new RemoteCallFailed("remote call x", null)))
            .contains("remote call x"));
    assertTrue(reason(new NoClassDefFoundError("com/example/Gone")).contains("com/example/Gone"));
    assertTrue(
        reason(new RuntimeException(new CodecException("bad bytes", null))).contains("bad bytes"));
    assertTrue(
        reason(new LazyInitializationException("failed to lazily initialize loans"))
            .contains("lazy data"));
    assertTrue(
        reason(new IllegalStateException("No thread-bound request found: are you referring"))
            .contains("no request bound"));
  }

  @Test
  void theApplicationsOwnExceptionsAreItsOutcome() {
    assertNull(reason(new IllegalArgumentException("title must not be empty")));
    assertNull(reason(new IllegalStateException("out of stock")));
    assertNull(reason(new UnsupportedOperationException("not in this edition")));
    Throwable cycle = new RuntimeException("cycle");
    assertNull(reason(cycle));
  }
}
