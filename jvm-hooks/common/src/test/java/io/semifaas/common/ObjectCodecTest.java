package io.semifaas.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ObjectCodecTest {
  private static final ClassLoader LOADER = ObjectCodecTest.class.getClassLoader();

  record Point(int x, int y, String label) {}

  static final class Node {
    String name;
    Node next;
  }

  static final class OrderRejected extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int orderId;

    OrderRejected(String message, Throwable cause, int orderId) {
      super(message, cause);
      this.orderId = orderId;
    }
  }

  /** Has no no-arg constructor: decoding needs the objenesis fallback. */
  static final class Immutable {
    final String value;

    Immutable(String value) {
      this.value = value;
    }
  }

  static final class Holder {
    final Object inner = new Object() {};
    final Thread thread = Thread.currentThread();
  }

  private static Object roundTrip(Object value) throws CodecException {
    return ObjectCodec.deserialize(ObjectCodec.serialize(value), LOADER);
  }

  @Test
  void byteArrayRoundTrips() throws Exception {
    byte[] bytes = {0, 1, -1, 127, -128};
    assertArrayEquals(bytes, (byte[]) roundTrip(bytes));
  }

  /** Every array kind keeps its length check out of the way of honest arrays. */
  @Test
  void arraysOfEveryKindRoundTrip() throws Exception {
    Object[] arrays = {
      new boolean[] {true, false},
      new char[] {'a', 'é'},
      new short[] {-1, 300},
      new int[] {Integer.MIN_VALUE, 0, Integer.MAX_VALUE},
      new long[] {Long.MIN_VALUE, 1L},
      new float[] {1.5f},
      new double[] {-2.5d},
      new String[] {"a", null, "c"},
      new int[][] {{1}, {}, null},
      new java.time.LocalDate[] {java.time.LocalDate.of(2026, 11, 30)},
      new byte[0],
    };
    Object[] back = (Object[]) roundTrip(arrays);
    assertEquals(java.util.Arrays.deepToString(arrays), java.util.Arrays.deepToString(back));
  }

  @Test
  void boxedPrimitivesRoundTrip() throws Exception {
    for (Object value : new Object[] {42, 7L, 1.5d, 2.5f, (short) 3, (byte) 4, 'c', true}) {
      Object back = roundTrip(value);
      assertEquals(value, back);
      assertSame(value.getClass(), back.getClass());
    }
  }

  @Test
  void recordsRoundTrip() throws Exception {
    assertEquals(new Point(1, -2, "p"), roundTrip(new Point(1, -2, "p")));
  }

  @Test
  void classesWithoutNoArgConstructorRoundTrip() throws Exception {
    assertEquals("kept", ((Immutable) roundTrip(new Immutable("kept"))).value);
  }

  @Test
  void cyclicGraphKeepsItsShape() throws Exception {
    Node a = new Node();
    Node b = new Node();
    a.name = "a";
    b.name = "b";
    a.next = b;
    b.next = a;
    Node back = (Node) roundTrip(a);
    assertEquals("a", back.name);
    assertEquals("b", back.next.name);
    assertSame(back, back.next.next);
  }

  @Test
  void exceptionKeepsTypeMessageCauseAndFields() throws Exception {
    OrderRejected original =
        new OrderRejected("order 7 rejected", new IllegalStateException("stock is empty"), 7);
    Object back = roundTrip(original);
    OrderRejected rejected = assertInstanceOf(OrderRejected.class, back);
    assertEquals("order 7 rejected", rejected.getMessage());
    assertEquals(7, rejected.orderId);
    IllegalStateException cause =
        assertInstanceOf(IllegalStateException.class, rejected.getCause());
    assertEquals("stock is empty", cause.getMessage());
    assertEquals(original.getStackTrace().length, rejected.getStackTrace().length);
  }

  /** An anonymous class reads its outer instance through the synthetic this$0 field. */
  static final class Outer {
    final String prefix = "id-";

    java.util.function.Function<String, String> namer() {
      return new java.util.function.Function<>() {
        @Override
        public String apply(String name) {
          return prefix + name;
        }
      };
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void anonymousClassesKeepTheirOuterInstance() throws Exception {
    Object copy = roundTrip(new Outer().namer());
    assertEquals("id-x", ((java.util.function.Function<String, String>) copy).apply("x"));
  }

  /** Asks Kryo for Java serialization; its readObject records that it ran. */
  @com.esotericsoftware.kryo.DefaultSerializer(
      com.esotericsoftware.kryo.serializers.JavaSerializer.class)
  static final class AsksForJavaSerialization implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    static volatile boolean readObjectRan;
    String value = "v";

    private void readObject(java.io.ObjectInputStream in)
        throws java.io.IOException, ClassNotFoundException {
      readObjectRan = true;
      in.defaultReadObject();
    }
  }

  @Test
  void nothingIsDecodedThroughObjectInputStream() throws Exception {
    AsksForJavaSerialization back =
        (AsksForJavaSerialization) roundTrip(new AsksForJavaSerialization());
    assertEquals("v", back.value);
    assertTrue(!AsksForJavaSerialization.readObjectRan, "copied field by field instead");
  }

  @Test
  void nullRoundTrips() throws Exception {
    assertNull(roundTrip(null));
  }

  @Test
  void mixedArgumentArrayRoundTrips() throws Exception {
    List<String> list = new ArrayList<>(List.of("x", "y"));
    Map<String, Integer> map = new HashMap<>(Map.of("k", 1));
    Point shared = new Point(3, 4, "shared");
    Object[] args = {"text", 5, null, list, map, shared, shared, new int[] {1, 2}};
    Object[] back = (Object[]) roundTrip(args);
    assertEquals(args.length, back.length);
    assertEquals("text", back[0]);
    assertEquals(5, back[1]);
    assertNull(back[2]);
    assertEquals(list, back[3]);
    assertEquals(map, back[4]);
    assertEquals(shared, back[5]);
    assertSame(back[5], back[6], "references are kept");
    assertArrayEquals(new int[] {1, 2}, (int[]) back[7]);
  }

  @Test
  void garbageGivesClearError() {
    byte[] garbage = {0x7f, 0x13, 0x55, -1, -1, -1, -1, 0x0f, 0x41, 0x42};
    CodecException e =
        assertThrows(CodecException.class, () -> ObjectCodec.deserialize(garbage, LOADER));
    assertTrue(e.getMessage().startsWith("cannot deserialize"), e.getMessage());
  }

  @Test
  void unknownClassIsNamed() throws Exception {
    byte[] bytes = ObjectCodec.serialize(new Point(1, 2, "p"));
    // Same length, so only the class name changes (Kryo marks the last ASCII char, so match
    // a prefix): it now names a class no loader has.
    replaceAscii(bytes, "$Poin", "$Pxin");
    CodecException e =
        assertThrows(CodecException.class, () -> ObjectCodec.deserialize(bytes, LOADER));
    assertTrue(e.getMessage().contains("ObjectCodecTest$Pxint"), e.getMessage());
  }

  private static void replaceAscii(byte[] bytes, String from, String to) {
    byte[] needle = from.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    byte[] replacement = to.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    for (int i = 0; i + needle.length <= bytes.length; i++) {
      if (java.util.Arrays.equals(bytes, i, i + needle.length, needle, 0, needle.length)) {
        System.arraycopy(replacement, 0, bytes, i, replacement.length);
        return;
      }
    }
    throw new AssertionError(from + " not found in the encoded bytes");
  }

  @Test
  void truncatedInputIsRejected() throws Exception {
    byte[] bytes = ObjectCodec.serialize("a string long enough to truncate");
    byte[] truncated = java.util.Arrays.copyOf(bytes, bytes.length / 2);
    assertThrows(CodecException.class, () -> ObjectCodec.deserialize(truncated, LOADER));
  }

  @Test
  void trailingBytesAreRejected() throws Exception {
    byte[] bytes = ObjectCodec.serialize(12);
    byte[] longer = java.util.Arrays.copyOf(bytes, bytes.length + 3);
    CodecException e =
        assertThrows(CodecException.class, () -> ObjectCodec.deserialize(longer, LOADER));
    assertTrue(e.getMessage().contains("trailing"), e.getMessage());
  }

  @Test
  void emptyAndNullInputAreRejected() {
    assertThrows(CodecException.class, () -> ObjectCodec.deserialize(new byte[0], LOADER));
    assertThrows(CodecException.class, () -> ObjectCodec.deserialize(null, LOADER));
  }

  @Test
  void unserializableValueNamesItsClass() {
    CodecException e =
        assertThrows(CodecException.class, () -> ObjectCodec.serialize(new Holder()));
    assertTrue(e.getMessage().contains(Holder.class.getName()), e.getMessage());
  }

  static final class Connected {
    final String name = "db";
    final java.io.InputStream in = new java.io.ByteArrayInputStream(new byte[] {1});
  }

  @Test
  void serverBoundObjectsAreRefusedByName() {
    CodecException e =
        assertThrows(CodecException.class, () -> ObjectCodec.serialize(new Connected()));
    assertTrue(e.getMessage().contains(Connected.class.getName()), e.getMessage());
    assertTrue(
        e.getMessage().contains("java.io.ByteArrayInputStream (java.io.InputStream)"),
        e.getMessage());
    CodecException thread =
        assertThrows(
            CodecException.class, () -> ObjectCodec.serialize(new Object[] {new Thread()}));
    assertTrue(thread.getMessage().contains("java.lang.Thread"), thread.getMessage());
  }

  @Test
  void failuresLeaveTheCodecUsable() throws Exception {
    for (int i = 0; i < 3; i++) {
      assertThrows(CodecException.class, () -> ObjectCodec.serialize(new Holder()));
      assertThrows(
          CodecException.class, () -> ObjectCodec.deserialize(new byte[] {0x7f, 1, 2}, LOADER));
      assertEquals(new Point(i, i, "ok"), roundTrip(new Point(i, i, "ok")));
    }
  }

  @Test
  void usableFromManyThreads() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Object>> results = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        Point p = new Point(i, -i, "p" + i);
        results.add(pool.submit(() -> roundTrip(p)));
      }
      for (int i = 0; i < results.size(); i++) {
        assertEquals(new Point(i, -i, "p" + i), results.get(i).get());
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
