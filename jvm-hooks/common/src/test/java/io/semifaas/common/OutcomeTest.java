package io.semifaas.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutcomeTest {
  private static final ClassLoader LOADER = OutcomeTest.class.getClassLoader();

  @Test
  void returnedValueUnwraps() throws Throwable {
    byte[] bytes = Outcome.returned(List.of("a", "b"));
    assertEquals(Outcome.RETURNED, bytes[0]);
    assertEquals(List.of("a", "b"), Outcome.unwrap(bytes, LOADER));
  }

  @Test
  void returnedNullUnwraps() throws Throwable {
    assertNull(Outcome.unwrap(Outcome.returned(null), LOADER));
  }

  @Test
  void thrownExceptionIsRethrownExactly() throws Exception {
    byte[] bytes =
        Outcome.threw(new UncheckedIOException("disk gone", new java.io.IOException("eio")));
    assertEquals(Outcome.THREW, bytes[0]);
    UncheckedIOException e =
        assertThrows(UncheckedIOException.class, () -> Outcome.unwrap(bytes, LOADER));
    assertEquals("disk gone", e.getMessage());
    assertEquals("eio", e.getCause().getMessage());
  }

  @Test
  void failedCarriesItsMessage() throws Exception {
    byte[] bytes = Outcome.failed("class com.example.Missing not found");
    assertEquals(Outcome.FAILED, bytes[0]);
    assertEquals(
        "class com.example.Missing not found",
        new String(bytes, 1, bytes.length - 1, StandardCharsets.UTF_8));
    assertEquals("class com.example.Missing not found", Outcome.body(bytes, LOADER));
    CodecException e = assertThrows(CodecException.class, () -> Outcome.unwrap(bytes, LOADER));
    assertTrue(e.getMessage().contains("com.example.Missing"), e.getMessage());
  }

  @Test
  void badTagsAreRejected() {
    assertThrows(CodecException.class, () -> Outcome.unwrap(new byte[0], LOADER));
    assertThrows(CodecException.class, () -> Outcome.unwrap(null, LOADER));
    CodecException e =
        assertThrows(CodecException.class, () -> Outcome.unwrap(new byte[] {9, 1, 2}, LOADER));
    assertTrue(e.getMessage().contains("unknown tag 9"), e.getMessage());
  }

  @Test
  void thrownOutcomeMustHoldAThrowable() throws Exception {
    byte[] value = ObjectCodec.serialize("not an exception");
    byte[] bytes = new byte[value.length + 1];
    bytes[0] = Outcome.THREW;
    System.arraycopy(value, 0, bytes, 1, value.length);
    CodecException e = assertThrows(CodecException.class, () -> Outcome.unwrap(bytes, LOADER));
    assertTrue(e.getMessage().contains("java.lang.String"), e.getMessage());
  }
}
