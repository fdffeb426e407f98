package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.blog.Counter;
import com.example.blog.CounterClient;
import com.example.blog.Draft;
import io.semifaas.common.ArgumentUpdates;
import io.semifaas.common.CodecAllowList;
import io.semifaas.common.CodecException;
import io.semifaas.common.ExportScope;
import io.semifaas.common.ObjectCodec;
import io.semifaas.common.Outcome;
import io.semifaas.common.RemoteClasses;
import io.semifaas.common.RemoteRef;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The server side of remote calls, through the callback the native side makes. */
class RemoteCallsTest {
  private static final ClassLoader LOADER = RemoteCallsTest.class.getClassLoader();

  private RemoteScopes.Open closureScope;
  private RemoteScopes.Open invocationScope;
  private ExportScope invocation;
  private Counter counter;
  private RemoteRef ref;

  @BeforeEach
  void open() throws Exception {
    RemoteClasses.configure("com.example.blog.Counter", null);
    closureScope = RemoteScopes.openClosureScope(new ExportScope(null), closureCode());
    invocationScope = RemoteScopes.openInvocationScope(closureScope);
    invocation = invocationScope.exports();
    counter = new Counter();
    ref = invocation.export(counter);
  }

  /** The references of a closure whose code is {@link CounterClient}. */
  private static ClosureReferences closureCode() throws Exception {
    try (InputStream in =
        LOADER.getResourceAsStream(CounterClient.class.getName().replace('.', '/') + ".class")) {
      return ClosureReferences.of(List.of(in.readAllBytes()));
    }
  }

  @AfterEach
  void close() throws Exception {
    RemoteScopes.close(invocationScope);
    RemoteScopes.close(closureScope);
    RemoteClasses.configure(null, null);
    ReadOnlyMethods.configure(null);
    RemoteCallAllowList.configure(null);
    CodecAllowList.configure(null);
  }

  private static String descriptor(String name) {
    for (Method m : Counter.class.getDeclaredMethods()) {
      if (m.getName().equals(name)) {
        return MethodDescriptors.of(m);
      }
    }
    throw new AssertionError(name);
  }

  /** The outcome bytes of an answer that is no refusal. */
  static byte[] outcome(Object answer) {
    assertFalse(answer instanceof String, () -> "refused: " + answer);
    return (byte[]) answer;
  }

  /** The reason of an answer that is a refusal (the native side counts these). */
  static String refusal(Object answer) {
    assertTrue(answer instanceof String, "a refusal, not outcome bytes");
    return (String) answer;
  }

  private Object answer(ExportScope scope, long refId, String name, boolean shadow, Object... args)
      throws CodecException {
    return NativeBridge.invokeRemote(
        scope == null ? 0 : scope.id(),
        refId,
        name,
        descriptor(name),
        ObjectCodec.serialize(args, scope),
        shadow, 0);
  }

  private byte[] call(ExportScope scope, long refId, String name, boolean shadow, Object... args)
      throws CodecException {
    return outcome(answer(scope, refId, name, shadow, args));
  }

  @Test
  void aMethodTheClosuresCodeNeverCallsIsRefusedByName() throws Exception {
    assertEquals(
        "remote call refused: com.example.blog.Counter#wipe()V is not called by the closure's"
            + " code; to allow it, add com.example.blog.Counter#wipe to semifaas.remote.allow",
        refusal(answer(invocation, ref.id(), "wipe", false)));
    assertEquals(0, counter.getCount(), "untouched");
    counter.increment(4);
    // The closure calls size() on a List only: a Counter is no List.
    refusal(answer(invocation, ref.id(), "size", false));
  }

  @Test
  void aMethodTheClosureCallsThroughAnInterfaceIsServed() throws Exception {
    counter.increment(7);
    assertEquals(Outcome.RETURNED, Outcome.tag(call(invocation, ref.id(), "clear", false)));
    assertEquals(0, counter.getCount());
    // The runtime's own calls on any proxy: no closure code names them.
    assertEquals(
        counter.hashCode(),
        Outcome.body(
            outcome(
                NativeBridge.invokeRemote(
                    invocation.id(), ref.id(), "hashCode", "()I",
                    ObjectCodec.serialize(new Object[0]), false, 0)),
            LOADER));
  }

  @Test
  void aMethodThatCodeServedByClassFallbackCallsIsServed() throws Exception {
    refusal(answer(invocation, ref.id(), "drain", false));
    String helper = "com.example.blog.CounterDrainer";
    byte[] classFile;
    try (var in = LOADER.getResourceAsStream(helper.replace('.', '/') + ".class")) {
      classFile = in.readAllBytes();
    }
    Dispatcher.SERVED.add(helper, classFile);
    assertEquals(Outcome.RETURNED, Outcome.tag(call(invocation, ref.id(), "drain", false)));
    assertEquals(-1, counter.getCount());
  }

  @Test
  void configuredAdditionsAreServed() throws Exception {
    RemoteCallAllowList.configure(
        "com.example.blog.Clearable#unrelated, com.example.blog.Counter#wipe");
    assertEquals(Outcome.RETURNED, Outcome.tag(call(invocation, ref.id(), "wipe", false)));
    assertEquals(-100, counter.getCount());
    // With a descriptor, only that overload; naming a supertype covers the object too.
    RemoteCallAllowList.configure("java.lang.Object#size()I");
    assertEquals(-100, Outcome.body(call(invocation, ref.id(), "size", false), LOADER));
    RemoteCallAllowList.configure("com.example.blog.Counter#size(I)I");
    refusal(answer(invocation, ref.id(), "size", false));
  }

  @Test
  void malformedAdditionsAreAConfigurationError() {
    for (String bad : List.of("wipe", "#wipe", "com.example.Counter#", "a.B#(I)V", "a.B#m(I")) {
      ConfigException e =
          assertThrows(ConfigException.class, () -> RemoteCallAllowList.configure(bad), bad);
      assertTrue(e.getMessage().startsWith("semifaas.remote.allow entries are"), e.getMessage());
      assertTrue(e.getMessage().endsWith("not '" + bad + "'"), e.getMessage());
    }
  }

  @Test
  void aCallRunsOnTheRealObjectAndReturnsByValue() throws Exception {
    byte[] outcome = call(invocation, ref.id(), "increment", false, 5);
    assertEquals(Outcome.RETURNED, Outcome.tag(outcome));
    assertEquals(5, Outcome.body(outcome, LOADER));
    assertEquals(5, counter.getCount());
  }

  @Test
  void referencesInTheArgumentsResolveToTheExportedObjects() throws Exception {
    byte[] outcome = call(invocation, ref.id(), "isSame", false, ref);
    assertEquals(true, Outcome.body(outcome, LOADER));
  }

  @Test
  void exceptionsKeepTheirTypeAndMessage() throws Exception {
    byte[] outcome = call(invocation, ref.id(), "fail", false, "no such post");
    assertEquals(Outcome.THREW, Outcome.tag(outcome));
    Object thrown = Outcome.body(outcome, LOADER);
    assertInstanceOf(IllegalStateException.class, thrown);
    assertEquals("no such post", ((Throwable) thrown).getMessage());
  }

  @Test
  void serverBoundResultsComeBackAsNewReferences() throws Exception {
    byte[] outcome = call(invocation, ref.id(), "open", false);
    Object body = Outcome.body(outcome, LOADER);
    RemoteRef stream = assertInstanceOf(RemoteRef.class, body);
    assertInstanceOf(InputStream.class, invocation.resolve(stream.id()));
    assertEquals("java.io.ByteArrayInputStream", stream.className());
  }

  @Test
  void referencesOfOtherInvocationsAreRefused() throws Exception {
    RemoteScopes.Open other = RemoteScopes.openInvocationScope(closureScope);
    try {
      byte[] outcome = call(other.exports(), ref.id(), "getCount", false);
      assertEquals(Outcome.FAILED, Outcome.tag(outcome));
      assertEquals(
          "reference " + ref.id() + " was not exported to this invocation",
          Outcome.body(outcome, LOADER));
    } finally {
      RemoteScopes.close(other);
    }
    RemoteScopes.close(invocationScope);
    byte[] closed = call(invocation, ref.id(), "getCount", false);
    assertEquals(Outcome.FAILED, Outcome.tag(closed));
    assertEquals(0, counter.getCount());
  }

  @Test
  void closureScopeReferencesAnswerEveryInvocationAndShadowCalls() throws Exception {
    Counter shared = new Counter();
    RemoteRef sharedRef = closureScope.exports().export(shared);
    assertEquals(1, Outcome.body(call(invocation, sharedRef.id(), "increment", false, 1), LOADER));
    // Scope 0: a prewarm's shadow call, answered from closure scopes only.
    assertEquals(1, Outcome.body(call(null, sharedRef.id(), "getCount", true), LOADER));
    assertEquals(Outcome.FAILED, Outcome.tag(call(null, ref.id(), "getCount", true)));
  }

  @Test
  void shadowExecutionRefusesWritesAndAllowsReads() throws Exception {
    byte[] refused = call(invocation, ref.id(), "increment", true, 1);
    assertEquals(Outcome.FAILED, Outcome.tag(refused));
    assertEquals(
        "shadow execution refused a write: com.example.blog.Counter#increment",
        Outcome.body(refused, LOADER));
    assertEquals(0, counter.getCount(), "the write did not happen");
    assertEquals(0, Outcome.body(call(invocation, ref.id(), "getCount", true), LOADER));
    assertEquals(true, Outcome.body(call(invocation, ref.id(), "isSame", true, ref), LOADER));

    ReadOnlyMethods.configure("com.example.blog.Counter#increment");
    assertEquals(3, Outcome.body(call(invocation, ref.id(), "increment", true, 3), LOADER));
  }

  @Test
  void badInputGetsAClearFailure() throws Exception {
    byte[] garbage =
        outcome(
            NativeBridge.invokeRemote(
                invocation.id(), ref.id(), "increment", descriptor("increment"), new byte[] {9},
                false, 0));
    assertEquals(Outcome.FAILED, Outcome.tag(garbage));
    assertTrue(
        ((String) Outcome.body(garbage, LOADER)).startsWith("decoding the arguments of increment"));
    String missing =
        refusal(
            NativeBridge.invokeRemote(
                invocation.id(), ref.id(), "explode", "()V", ObjectCodec.serialize(new Object[0]),
                false, 0));
    assertEquals(
        "remote call refused: com.example.blog.Counter#explode()V is not called by the closure's"
            + " code; to allow it, add com.example.blog.Counter#explode to semifaas.remote.allow",
        missing);
    RemoteCallAllowList.configure("com.example.blog.Counter#explode");
    assertEquals(
        "com.example.blog.Counter has no method explode()V that can be called remotely",
        Outcome.body(
            outcome(
                NativeBridge.invokeRemote(
                    invocation.id(), ref.id(), "explode", "()V",
                    ObjectCodec.serialize(new Object[0]), false, 0)),
            LOADER));
    Object hidden =
        NativeBridge.invokeRemote(
            invocation.id(), ref.id(), "secret", "()I", ObjectCodec.serialize(new Object[0]),
            false, 0);
    refusal(hidden); // a private method is no one else's to call, nor does the closure call it
    assertEquals(0, counter.getCount());
    assertNotNull(invocation.resolve(ref.id()), "the export survives bad calls");
  }

  @Test
  void whatTheServerAssignsToByValueArgumentsReachesTheFunctionsCopies() throws Exception {
    Draft draft = new Draft("first");
    Draft child = new Draft("child");
    draft.children.add(child);
    Draft author = new Draft("author");
    draft.parent = author;
    Object[] sent = {draft};
    Object body = Outcome.body(call(invocation, ref.id(), "store", false, draft), LOADER);
    Draft returned = (Draft) ArgumentUpdates.apply(body, sent);
    // The server's copy got the ids; the function's own objects are brought up to date in place.
    assertEquals(101L, draft.id);
    assertEquals(1, draft.version);
    assertEquals(201L, child.id);
    assertSame(child, draft.children.get(0), "the function keeps its objects");
    assertSame(author, draft.parent);
    assertEquals(101L, returned.id);
    assertNotSame(draft, returned, "the result is the server's, decoded");
  }

  @Test
  void argumentsThatCrossedByReferenceAreNotSentBack() throws Exception {
    Counter other = new Counter();
    RemoteRef otherRef = invocation.export(other);
    Object body = Outcome.body(call(invocation, ref.id(), "isSame", false, otherRef), LOADER);
    assertEquals(false, body, "a plain result: the argument stayed on the server");
  }

  @Test
  void packagePrivateMethodsAreCalledAsLocally() throws Exception {
    counter.increment(5);
    assertEquals(2, Outcome.body(call(invocation, ref.id(), "reset", false, 2), LOADER));
    assertEquals(2, counter.getCount());
  }

  /** Arguments as a function writes them: with its own hooks, not the server's scope. */
  private byte[] callAsFunction(String name, Object... args) throws CodecException {
    return outcome(
        NativeBridge.invokeRemote(
            invocation.id(), ref.id(), name, descriptor(name), ObjectCodec.serialize(args), false, 0));
  }

  @Test
  void argumentsOfClassesTheClosureNeverExpectsAreRefusedBeforeTheCall() throws Exception {
    byte[] refused = callAsFunction("store", new Draft("unlisted"));
    assertEquals(Outcome.FAILED, Outcome.tag(refused));
    assertEquals(
        "decoding the arguments of store: cannot deserialize: the input holds a"
            + " com.example.blog.Draft, which this closure never expects back; if the function may"
            + " send it, add the class (or its package followed by '.') to semifaas.codec.allow",
        ((String) Outcome.body(refused, LOADER)).lines().findFirst().orElseThrow());
    assertEquals(0, counter.getCount(), "the call did not run");

    // A remote equals-style call carrying a command: refused by name, whatever the lists say.
    CodecAllowList.configure("java.lang.ProcessBuilder");
    byte[] command = callAsFunction("isSame", new ProcessBuilder("touch", "/tmp/semifaas-pwned"));
    assertEquals(
        "decoding the arguments of isSame: cannot deserialize: the input holds a"
            + " java.lang.ProcessBuilder, which is never decoded",
        ((String) Outcome.body(command, LOADER)).lines().findFirst().orElseThrow());

    // The closure's own classes (its code references Draft) are decoded.
    closureScope.exports().allow(CodecAllowList.of(java.util.Set.of(Draft.class.getName())));
    byte[] stored = callAsFunction("store", new Draft("listed"));
    assertEquals(Outcome.RETURNED, Outcome.tag(stored));
    assertEquals(1, counter.getCount());
  }

  @Test
  void anExportedObjectKeepsOneReference() {
    assertSame(ref, invocation.export(counter));
    ExportScope child = new ExportScope(invocation);
    assertSame(ref, child.export(counter), "a child scope reuses its parent's reference");
    assertEquals(0, child.exportedCount());
  }
}
