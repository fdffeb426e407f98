package io.semifaas.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.semifaas.common.ObjectCodec;
import io.semifaas.common.Outcome;
import io.semifaas.runtime.fixture.Greeter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class FunctionRuntimeTest {

  private static final String GREETER = "io.semifaas.runtime.fixture.Greeter";
  private static final String HELPER = "io.semifaas.runtime.fixture.Helper";
  private static final byte RETURNED = 0;
  private static final byte THREW = 1;
  private static final byte FAILED = 2;

  /** A server stand-in: serves what its maps hold and records what was asked. */
  static class MapFallback implements FallbackSource {
    final Map<String, byte[]> classes = new HashMap<>();
    final Map<String, byte[]> resources = new HashMap<>();
    final List<String> asked = new ArrayList<>();

    @Override
    public synchronized byte[] loadClass(String binaryName) {
      asked.add("class " + binaryName);
      return classes.get(binaryName);
    }

    @Override
    public synchronized byte[] getResource(String path) {
      asked.add("resource " + path);
      return resources.get(path);
    }

    @Override
    public byte[] invokeRemote(long refId, String method, String descriptor, byte[] args) {
      asked.add("invoke " + refId + " " + method);
      return io.semifaas.common.Outcome.failed("no server objects here");
    }
  }

  static byte[] classFile(String binaryName) {
    String path = "/" + binaryName.replace('.', '/') + ".class";
    try (InputStream in = FunctionRuntimeTest.class.getResourceAsStream(path)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String install(String method, String descriptor, MapFallback fallback, String... resources)
      throws Exception {
    String id = UUID.randomUUID().toString();
    String[] resourceNames = new String[resources.length / 2];
    byte[][] resourceBytes = new byte[resources.length / 2][];
    for (int i = 0; i < resourceNames.length; i++) {
      resourceNames[i] = resources[2 * i];
      resourceBytes[i] = resources[2 * i + 1].getBytes(StandardCharsets.UTF_8);
    }
    FunctionRuntime.install(id, GREETER, method, descriptor,
        ObjectCodec.serialize(new Greeter("Hello")),
        new String[] {GREETER}, new byte[][] {classFile(GREETER)},
        resourceNames, resourceBytes, fallback);
    return id;
  }

  static byte tag(byte[] outcome) {
    return outcome[0];
  }

  static Object body(byte[] outcome) throws Exception {
    return ObjectCodec.deserialize(Arrays.copyOfRange(outcome, 1, outcome.length),
        FunctionRuntimeTest.class.getClassLoader());
  }

  static String failure(byte[] outcome) {
    assertEquals(FAILED, tag(outcome), "expected a failed outcome");
    return new String(outcome, 1, outcome.length - 1, StandardCharsets.UTF_8);
  }

  static byte[] args(Object... values) throws Exception {
    return ObjectCodec.serialize(values);
  }

  @Test
  void closureLoaderDefinesClassesFromTheClosureAndHidesTheRuntime() throws Exception {
    ClosureClassLoader loader = new ClosureClassLoader("c1",
        Map.of(GREETER, classFile(GREETER)), Map.of(), new MapFallback());
    Class<?> greeter = loader.loadClass(GREETER);
    assertSame(loader, greeter.getClassLoader());
    assertNotSame(Greeter.class, greeter);
    assertSame(greeter, loader.loadClass(GREETER), "a class is defined once");
    assertThrows(
        ClassNotFoundException.class, () -> loader.loadClass(FunctionRuntime.class.getName()));
    assertSame(String.class, loader.loadClass("java.lang.String"));
  }

  @Test
  void invokeReturnsTheHandlersValue() throws Exception {
    String id = install("greet", "(Ljava/lang/String;)Ljava/lang/String;", new MapFallback());
    byte[] outcome = FunctionRuntime.invoke(id, args("Ann"));
    assertEquals(RETURNED, tag(outcome));
    assertEquals("Hello, Ann", body(outcome));
    assertEquals(
        "Hello, Bob",
        body(FunctionRuntime.invoke(id, args("Bob"))),
        "installed once, invoked twice");
  }

  @Test
  void invokeReportsTheHandlersException() throws Exception {
    String id = install("refuse", "(Ljava/lang/String;)Ljava/lang/String;", new MapFallback());
    byte[] outcome = FunctionRuntime.invoke(id, args("Ann"));
    assertEquals(THREW, tag(outcome));
    IllegalArgumentException thrown =
        assertInstanceOf(IllegalArgumentException.class, body(outcome));
    assertEquals("no greeting for Ann", thrown.getMessage());
  }

  @Test
  void theContextClassLoaderIsTheClosureLoaderDuringTheCall() throws Exception {
    String id = install("contextLoaderName", "()Ljava/lang/String;", new MapFallback());
    String name = (String) body(FunctionRuntime.invoke(id, args()));
    assertTrue(name.startsWith("semifaas-closure-"), name);
  }

  @Test
  void missingClassesComeFromTheFallback() throws Exception {
    MapFallback fallback = new MapFallback();
    fallback.classes.put(HELPER, classFile(HELPER));
    String id = install("helped", "(I)I", fallback);
    byte[] outcome = FunctionRuntime.invoke(id, args(21));
    assertEquals(RETURNED, tag(outcome));
    assertEquals(42, body(outcome));
    assertTrue(fallback.asked.contains("class " + HELPER), fallback.asked.toString());
  }

  @Test
  void aHandlerThatChangesItsReceiverFailsItsOffload() throws Exception {
    String id = install("greetAndCount", "(Ljava/lang/String;)Ljava/lang/String;",
        new MapFallback());
    String reason = failure(FunctionRuntime.invoke(id, args("Ada")));
    assertTrue(reason.startsWith(Outcome.RECEIVER_CHANGED), reason);
    assertTrue(reason.endsWith("Greeter"), reason);
  }

  @Test
  void aClassNobodyHasFailsTheHandlerWithItsName() throws Exception {
    String id = install("helped", "(I)I", new MapFallback());
    byte[] outcome = FunctionRuntime.invoke(id, args(21));
    // NoClassDefFoundError inside the handler is the offload's failure, not the application's
    // outcome: the server runs the handler itself.
    String reason = failure(outcome);
    assertTrue(reason.startsWith("a class could not be loaded on the function"), reason);
    assertTrue(reason.contains("Helper"), reason);
  }

  /** Installs a Greeter closure of {@code method} with {@code classes} as its code section. */
  static void installWith(String id, String method, FallbackSource fallback, String greeting,
      Map<String, byte[]> classes) throws Exception {
    FunctionRuntime.install(id, GREETER, method, "(I)I",
        ObjectCodec.serialize(new Greeter(greeting)),
        classes.keySet().toArray(new String[0]), classes.values().toArray(new byte[0][]),
        new String[0], new byte[0][], fallback);
  }

  @Test
  void aGrownClosureRunsOnTheLoaderItsPredecessorWarmed() throws Exception {
    MapFallback fallback = new MapFallback();
    fallback.classes.put(HELPER, classFile(HELPER));
    String first = UUID.randomUUID().toString();
    installWith(first, "helped", fallback, "Hello", Map.of(GREETER, classFile(GREETER)));
    assertEquals(42, body(FunctionRuntime.invoke(first, args(21))));
    assertEquals(List.of("class " + HELPER), fallback.asked, "the first closure lacks Helper");

    // The server learned Helper: the same handler and receiver, one class more.
    String grown = UUID.randomUUID().toString();
    installWith(grown, "helped", fallback, "Hello",
        Map.of(GREETER, classFile(GREETER), HELPER, classFile(HELPER)));
    assertEquals(42, body(FunctionRuntime.invoke(grown, args(21))));
    assertEquals(loaderName(first), loaderName(grown),
        "the grown closure runs on the first one's loader");
    assertEquals(1, fallback.asked.size(), "nothing fetched again: " + fallback.asked);

    // Retiring the first keeps the grown one running.
    assertTrue(FunctionRuntime.uninstall(first));
    assertEquals(42, body(FunctionRuntime.invoke(grown, args(21))));
    assertTrue(FunctionRuntime.uninstall(grown));
  }

  @Test
  void aClosureWithOtherBytesOrAnotherReceiverGetsALoaderOfItsOwn() throws Exception {
    MapFallback fallback = new MapFallback();
    fallback.classes.put(HELPER, classFile(HELPER));
    String first = UUID.randomUUID().toString();
    installWith(first, "helped", fallback, "Hello", Map.of(GREETER, classFile(GREETER)));
    FunctionRuntime.invoke(first, args(21));

    // Helper was defined from the server's bytes; a closure shipping other bytes for it is code
    // that changed on the server.
    byte[] changed = classFile(HELPER).clone();
    changed[changed.length - 1] ^= 1;
    String otherCode = UUID.randomUUID().toString();
    installWith(otherCode, "helped", fallback, "Hello",
        Map.of(GREETER, classFile(GREETER), HELPER, changed));
    assertTrue(loaderName(otherCode).endsWith(otherCode.substring(0, 12)), loaderName(otherCode));

    String otherReceiver = UUID.randomUUID().toString();
    installWith(otherReceiver, "helped", fallback, "Bonjour", Map.of(GREETER, classFile(GREETER)));
    assertTrue(loaderName(otherReceiver).endsWith(otherReceiver.substring(0, 12)));
  }

  @Test
  void theSameClosureOfAnotherServerGetsALoaderOfItsOwn() throws Exception {
    // Two servers running the same application ship the same closure; what its loader fetched
    // and its classes' static fields hold came from the server whose invocations ran it.
    Map<String, byte[]> code = Map.of(GREETER, classFile(GREETER), HELPER, classFile(HELPER));
    String closure = UUID.randomUUID().toString().replace("-", "");
    String serverA = "a".repeat(64);
    String serverB = "b".repeat(64);
    assertEquals(FallbackNative.of(serverA), FallbackNative.of(serverA));
    assertNotEquals(FallbackNative.of(serverA), FallbackNative.of(serverB));

    String onA = closure + "@" + serverA;
    installWith(onA, "helped", FallbackNative.of(serverA), "Hello", code);
    assertEquals(42, body(FunctionRuntime.invoke(onA, args(21))));
    String onB = closure + "@" + serverB;
    installWith(onB, "helped", FallbackNative.of(serverB), "Hello", code);
    assertEquals(42, body(FunctionRuntime.invoke(onB, args(21))));
    assertNotEquals(loaderName(onA), loaderName(onB), "one loader per server");
    assertTrue(loaderName(onB).endsWith(closure.substring(0, 12) + "@bbbbbbbbbbbb"),
        loaderName(onB));

    // A grown closure of server A still reuses A's loader, never B's.
    String grownOnA = UUID.randomUUID().toString().replace("-", "") + "@" + serverA;
    installWith(grownOnA, "helped", FallbackNative.of(serverA), "Hello", code);
    assertEquals(loaderName(onA), loaderName(grownOnA));
    for (String id : List.of(onA, onB, grownOnA)) {
      assertTrue(FunctionRuntime.uninstall(id));
    }
  }

  private static String loaderName(String closureId) {
    return FunctionRuntime.loaderName(closureId);
  }

  @Test
  void resourcesComeFromTheClosureThenTheFallback() throws Exception {
    MapFallback fallback = new MapFallback();
    fallback.resources.put("remote.txt", "from the server".getBytes(StandardCharsets.UTF_8));
    String stream = install("readResource", "(Ljava/lang/String;)Ljava/lang/String;", fallback,
        "local.txt", "from the closure");
    String url = install("readResourceUrl", "(Ljava/lang/String;)Ljava/lang/String;", fallback,
        "local.txt", "from the closure");
    for (String id : List.of(stream, url)) {
      assertEquals("from the closure", body(FunctionRuntime.invoke(id, args("local.txt"))));
      assertEquals("from the server", body(FunctionRuntime.invoke(id, args("remote.txt"))));
      assertEquals(null, body(FunctionRuntime.invoke(id, args("absent.txt"))));
    }
  }

  @Test
  void undecodableArgumentsFailWithoutRunningTheHandler() throws Exception {
    String id = install("greet", "(Ljava/lang/String;)Ljava/lang/String;", new MapFallback());
    assertTrue(
        failure(FunctionRuntime.invoke(id, new byte[] {1, 2, 3}))
            .startsWith("decoding the arguments"));
    assertTrue(failure(FunctionRuntime.invoke(id, ObjectCodec.serialize("not an array")))
        .contains("expected an Object[]"));
    assertTrue(failure(FunctionRuntime.invoke(id, args(1, 2))).startsWith("calling "),
        "wrong argument count is a failure, not a handler exception");
    assertEquals(
        "Hello, Ann", body(FunctionRuntime.invoke(id, args("Ann"))), "the closure stays usable");
  }

  @Test
  void invokingAnUnknownClosureFails() throws Exception {
    assertTrue(
        failure(FunctionRuntime.invoke("nope", args())).contains("closure nope is not installed"));
  }

  @Test
  void installNamesWhatFailed() throws Exception {
    MapFallback fallback = new MapFallback();
    IllegalStateException noMethod = assertThrows(IllegalStateException.class,
        () -> install("greet", "(I)Ljava/lang/String;", fallback));
    assertTrue(noMethod.getMessage().contains("Greeter#greet(I)Ljava/lang/String; does not exist"),
        noMethod.getMessage());

    IllegalStateException noClass = assertThrows(IllegalStateException.class,
        () -> FunctionRuntime.install("x", "com.example.Absent", "m", "()V", args(),
            new String[0], new byte[0][], new String[0], new byte[0][], fallback));
    assertTrue(noClass.getMessage().contains("com.example.Absent"), noClass.getMessage());

    IllegalStateException badReceiver = assertThrows(IllegalStateException.class,
        () -> FunctionRuntime.install(
            "y", GREETER, "greet", "(Ljava/lang/String;)Ljava/lang/String;",
            ObjectCodec.serialize("a string"), new String[] {GREETER},
            new byte[][] {classFile(GREETER)}, new String[0], new byte[0][], fallback));
    assertTrue(badReceiver.getMessage().contains("not a " + GREETER), badReceiver.getMessage());

    assertThrows(IllegalArgumentException.class,
        () -> FunctionRuntime.install("z", GREETER, "greet", "()V", args(),
            new String[] {GREETER}, new byte[0][], new String[0], new byte[0][], fallback));
  }

  @Test
  void descriptorsMatchTheJvmsSpelling() throws Exception {
    assertEquals("(Ljava/lang/String;)Ljava/lang/String;",
        Descriptors.of(Greeter.class.getMethod("greet", String.class)));
    assertEquals("([I[[Ljava/lang/String;JZ)V",
        Descriptors.of(Sample.class.getDeclaredMethod(
            "m", int[].class, String[][].class, long.class, boolean.class)));
    assertArrayEquals(new byte[] {(byte) 0xCA, (byte) 0xFE}, Arrays.copyOf(classFile(GREETER), 2));
  }

  static final class Sample {
    void m(int[] a, String[][] b, long c, boolean d) {}
  }
}
