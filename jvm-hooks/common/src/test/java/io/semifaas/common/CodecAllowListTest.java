package io.semifaas.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.Month;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The server decodes a function's bytes through an export scope, which builds only what the
 * closure expects back (docs/internals.md, "Object bytes"). Bytes are written as a function writes
 * them: without the server's scope.
 */
class CodecAllowListTest {
  private static final ClassLoader LOADER = CodecAllowListTest.class.getClassLoader();

  record Point(int x, int y, String label) {}

  enum Colour {
    RED,
    GREEN
  }

  static final class Order {
    String id;
    Line firstLine;
    List<Object> notes = new ArrayList<>();
  }

  /** Not listed anywhere; reachable only as the declared type of {@link Order#firstLine}. */
  static final class Line {
    int quantity;
  }

  /** What an attacker sends under {@link EvilProbe}'s name (same length, see the test). */
  static final class SafeProbe {
    int value = 1;
  }

  /** Where {@link EvilProbe} records that it was initialized: reading it leaves EvilProbe be. */
  static final class Witness {
    static volatile boolean evilProbeInitialized;
  }

  /** Marked forbidden; its initializer records that it ran, which must never happen. */
  @CodecForbidden
  static final class EvilProbe {
    static {
      Witness.evilProbeInitialized = true;
    }

    int value;
  }

  static final class OrderRejected extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int orderId;

    OrderRejected(String message, Throwable cause, int orderId) {
      super(message, cause);
      this.orderId = orderId;
    }
  }

  @AfterEach
  void resetConfiguration() {
    CodecAllowList.configure(null);
  }

  /** A closure scope that expects {@code names}, as the agent builds one. */
  private static ExportScope closureScope(Class<?>... names) {
    ExportScope scope = new ExportScope(null);
    List<String> list = new ArrayList<>();
    for (Class<?> name : names) {
      list.add(name.getName());
    }
    scope.allow(CodecAllowList.of(list));
    return scope;
  }

  private static Object fromFunction(Object value, ExportScope scope) throws CodecException {
    return ObjectCodec.deserialize(ObjectCodec.serialize(value), LOADER, scope);
  }

  private static CodecException refused(Object value, ExportScope scope) {
    return assertThrows(CodecException.class, () -> fromFunction(value, scope));
  }

  @Test
  void aProcessBuilderIsNeverDecodedWhateverTheLists() {
    CodecAllowList.configure("java.lang.ProcessBuilder, java.lang.");
    Object[] args = {new ProcessBuilder("touch", "/tmp/semifaas-pwned")};
    CodecException e = refused(args, closureScope(ProcessBuilder.class));
    assertEquals(
        "cannot deserialize: the input holds a java.lang.ProcessBuilder, which is never decoded",
        e.getMessage().lines().findFirst().orElseThrow());
  }

  @Test
  void denyListCoversSubtypesReflectionAndFiles() {
    CodecAllowList.configure("java.");
    ExportScope scope = closureScope(java.io.File.class, java.io.ByteArrayInputStream.class);
    assertEquals(
        "the input holds a java.io.File, which is never decoded",
        scope.refusal(java.io.File.class));
    assertEquals(
        "the input holds a java.io.ByteArrayInputStream (a java.io.InputStream), which is never"
            + " decoded",
        scope.refusal(java.io.ByteArrayInputStream.class));
    assertEquals(
        " (a java.io.InputStream)", CodecAllowList.denial(java.io.ByteArrayInputStream.class));
    assertEquals("", CodecAllowList.denial(java.lang.reflect.Method.class));
    assertEquals("", CodecAllowList.denial(java.lang.invoke.MethodHandle.class));
    assertEquals("", CodecAllowList.denial(ClassLoader[].class));
    assertNull(CodecAllowList.denial(java.net.URI.class), "an immutable value naming a resource");
    assertNull(CodecAllowList.denial(Class.class), "its named class is checked when decoded");
  }

  @Test
  void aClassMarkedForbiddenIsRefusedBeforeItIsInitialized() throws Exception {
    byte[] bytes = ObjectCodec.serialize(new Object[] {new SafeProbe()});
    // Same length, so only the class name changes (Kryo marks the last ASCII character).
    replaceAscii(bytes, "$SafeProb", "$EvilProb");
    CodecAllowList.configure(EvilProbe.class.getName());
    CodecException e =
        assertThrows(
            CodecException.class,
            () -> ObjectCodec.deserialize(bytes, LOADER, closureScope(EvilProbe.class)));
    assertTrue(
        e.getMessage()
            .startsWith(
                "cannot deserialize: the input holds a "
                    + EvilProbe.class.getName()
                    + " (marked @CodecForbidden), which is never decoded"),
        e.getMessage());
    assertFalse(Witness.evilProbeInitialized, "the class was never initialized");
  }

  @Test
  void anUnlistedClassIsRefusedNamingHowToAllowIt() throws Exception {
    Point point = new Point(1, 2, "p");
    CodecException e = refused(new Object[] {point}, closureScope());
    assertEquals(
        "cannot deserialize: the input holds a "
            + Point.class.getName()
            + ", which this closure never expects back; if the function may send it, add the"
            + " class (or its package followed by '.') to semifaas.codec.allow",
        e.getMessage().lines().findFirst().orElseThrow());

    CodecAllowList.configure(Point.class.getName());
    assertEquals(point, ((Object[]) fromFunction(new Object[] {point}, closureScope()))[0]);
    CodecAllowList.configure("io.semifaas.");
    assertEquals(point, fromFunction(point, closureScope()));
  }

  @Test
  void theClosuresClassesAndWhatTheServerSentAreDecoded() throws Exception {
    Point point = new Point(3, 4, "q");
    assertEquals(point, fromFunction(point, closureScope(Point.class)));

    ExportScope closure = closureScope();
    ExportScope invocation = new ExportScope(closure);
    ObjectCodec.serialize(new Object[] {point}, invocation);
    assertEquals(point, fromFunction(point, invocation), "the server sent a Point: it may return");
    ExportScope other = new ExportScope(closure);
    refused(point, other);
  }

  @Test
  void fieldTypesOfAnAllowedClassAndItsEnumsAreDecoded() throws Exception {
    Order order = new Order();
    order.id = "o-1";
    order.firstLine = new Line();
    order.firstLine.quantity = 3;
    order.notes.add(Colour.GREEN);
    Order back = (Order) fromFunction(order, closureScope(Order.class));
    assertEquals(3, back.firstLine.quantity);
    assertEquals(List.of(Colour.GREEN), back.notes);
    // Only once a class that declares it is decoded.
    refused(new Object[] {new Line()}, closureScope(Order.class));
  }

  @Test
  void nestedGraphsOfJdkValuesAndCollectionsAreDecoded() throws Exception {
    Map<String, Object> graph = new LinkedHashMap<>();
    graph.put("points", new ArrayList<>(List.of(new Point(1, 1, "a"), new Point(2, 2, "b"))));
    graph.put("ids", new HashSet<>(Set.of(UUID.randomUUID(), UUID.randomUUID())));
    graph.put("sorted", new TreeMap<>(Map.of("b", BigDecimal.TEN, "a", BigDecimal.ONE)));
    graph.put("immutable", List.of(LocalDate.of(2026, Month.NOVEMBER, 29), 7L, "s", true));
    graph.put("map", Map.of("k", List.of(1, 2, 3)));
    graph.put("array", new Point[] {new Point(5, 5, "c")});
    graph.put("bytes", new byte[] {1, 2});
    @SuppressWarnings("unchecked")
    Map<String, Object> back = (Map<String, Object>) fromFunction(graph, closureScope(Point.class));
    assertEquals(graph.keySet(), back.keySet());
    for (String key : List.of("points", "ids", "sorted", "immutable", "map")) {
      assertEquals(graph.get(key), back.get(key), key);
    }
    assertArrayEquals((Point[]) graph.get("array"), (Point[]) back.get("array"));
    assertArrayEquals((byte[]) graph.get("bytes"), (byte[]) back.get("bytes"));
  }

  @Test
  void anAllowedExceptionIsRebuiltExactly() throws Exception {
    OrderRejected original =
        new OrderRejected("order 7 rejected", new IllegalStateException("stock is empty"), 7);
    original.addSuppressed(new IllegalArgumentException("closing"));
    Throwable back = (Throwable) fromFunction(original, closureScope(OrderRejected.class));
    OrderRejected rejected = assertInstanceOf(OrderRejected.class, back);
    assertEquals("order 7 rejected", rejected.getMessage());
    assertEquals(7, rejected.orderId);
    assertArrayEquals(original.getStackTrace(), rejected.getStackTrace());
    IllegalStateException cause = assertInstanceOf(IllegalStateException.class, back.getCause());
    assertEquals("stock is empty", cause.getMessage());
    assertArrayEquals(original.getCause().getStackTrace(), cause.getStackTrace());
    assertEquals(1, back.getSuppressed().length);
    assertEquals("closing", back.getSuppressed()[0].getMessage());
    assertEquals(original.toString(), back.toString());
  }

  @Test
  void anUnallowedExceptionArrivesAsDataUnderItsOriginalName() throws Exception {
    OrderRejected original =
        new OrderRejected("order 8 rejected", new IllegalStateException("stock is empty"), 8);
    Throwable back = (Throwable) fromFunction(original, closureScope());
    OffloadedThrowable offloaded = assertInstanceOf(OffloadedThrowable.class, back);
    assertEquals(OrderRejected.class.getName(), offloaded.originalType());
    assertEquals("order 8 rejected", offloaded.getMessage());
    assertEquals(original.toString(), offloaded.toString(), "it prints as the original");
    assertArrayEquals(original.getStackTrace(), offloaded.getStackTrace());
    IllegalStateException cause =
        assertInstanceOf(IllegalStateException.class, offloaded.getCause(), "JDK exceptions are");
    assertEquals("stock is empty", cause.getMessage());
  }

  @Test
  void aDeniedExceptionTypeArrivesAsData() throws Exception {
    Throwable original =
        new java.lang.reflect.InvocationTargetException(new IllegalStateException("inner"), "m");
    Throwable back = (Throwable) fromFunction(original, closureScope());
    OffloadedThrowable offloaded = assertInstanceOf(OffloadedThrowable.class, back);
    assertEquals("java.lang.reflect.InvocationTargetException", offloaded.originalType());
    assertEquals("inner", offloaded.getCause().getMessage());
  }

  @Test
  void causeChainsAreBounded() throws Exception {
    Throwable chain = new IllegalStateException("root");
    for (int i = 0; i < 40; i++) {
      chain = new IllegalStateException("level " + i, chain);
    }
    Throwable back = (Throwable) fromFunction(chain, closureScope());
    int depth = 0;
    for (Throwable t = back; t != null; t = t.getCause()) {
      depth++;
    }
    assertEquals(ThrowableSerializer.MAX_DEPTH, depth);
    assertSame(IllegalStateException.class, back.getClass());
  }

  static void replaceAscii(byte[] bytes, String from, String to) {
    byte[] needle = from.getBytes(StandardCharsets.US_ASCII);
    byte[] replacement = to.getBytes(StandardCharsets.US_ASCII);
    outer:
    for (int i = 0; i + needle.length <= bytes.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (bytes[i + j] != needle[j]) {
          continue outer;
        }
      }
      System.arraycopy(replacement, 0, bytes, i, replacement.length);
      return;
    }
    throw new AssertionError(from + " not found in the bytes");
  }
}
