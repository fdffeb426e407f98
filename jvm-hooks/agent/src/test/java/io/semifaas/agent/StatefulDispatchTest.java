package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.blog.BlogController;
import com.example.blog.Tally;
import io.semifaas.common.ExportScope;
import io.semifaas.common.InvocationContext;
import io.semifaas.common.ObjectCodec;
import io.semifaas.common.Outcome;
import io.semifaas.common.RemoteClasses;
import io.semifaas.common.RemoteRef;
import java.io.ByteArrayInputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** In/out arguments, shadow samples and mutation safety through the dispatcher. */
class StatefulDispatchTest {
  private RecordingBackend backend;

  @BeforeEach
  void install() {
    backend = new RecordingBackend();
    Dispatcher.install(backend, new JavaSettings(2, 0.0));
  }

  @AfterEach
  void uninstall() {
    Dispatcher.uninstall();
    RemoteClasses.configure(null, null);
  }

  private static Method method(String name) {
    for (Method m : BlogController.class.getMethods()) {
      if (m.getName().equals(name)) {
        return m;
      }
    }
    throw new AssertionError(name);
  }

  /** The advice's sequence; on a local run the body really runs between enter and exit. */
  private static Object run(BlogController bean, String name, Object... args) throws Exception {
    Method m = method(name);
    OffloadedCall call = Dispatcher.onEnter(m, bean, args);
    if (call != null) {
      Dispatcher.onExit(call);
      return call.value;
    }
    Object value = m.invoke(bean, args);
    Dispatcher.onExit(null);
    return value;
  }

  @Test
  void aFunctionThatChangedItsReceiverDemotesTheHandlerWithoutProfiling() throws Exception {
    BlogController bean = new BlogController();
    backend.functionOverride =
        scope -> io.semifaas.common.Outcome.failed(
            "the function could not run the handler: "
                + io.semifaas.common.Outcome.RECEIVER_CHANGED
                + BlogController.class.getName());
    // The first call's offload failed without remote writes: it runs here, once.
    assertEquals(1, run(bean, "hit"));
    assertEquals(1, backend.offloads);
    backend.functionOverride = null;
    // Demoted: every later call runs here, on the real receiver, and never offloads again.
    assertEquals(2, run(bean, "hit"));
    assertEquals(1, backend.offloads, "no second offload");
    assertTrue(
        backend.ineligible.stream()
            .anyMatch(r -> r.contains(io.semifaas.common.Outcome.RECEIVER_CHANGED)),
        backend.ineligible.toString());
  }

  @Test
  void inOutArgumentsAreCopiedBackIntoTheOriginals() throws Exception {
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("stale", "old");
    Object value = run(new BlogController(), "post", model, "hello");
    assertEquals(1, backend.offloads, "the handler ran in the function");
    assertEquals("post", value);
    assertEquals(Map.of("title", "HELLO"), model);
  }

  @Test
  void aFunctionThatDropsTheInOutArgumentsRunsLocally() throws Exception {
    backend.outcomeOverride = outcome -> outcome(new Object[] {"post"});
    Map<String, Object> model = new LinkedHashMap<>();
    Object value = run(new BlogController(), "post", model, "x");
    assertEquals("post", value);
    assertEquals(Map.of("title", "X"), model, "the local run filled the model once");
    assertTrue(backend.failures.get(0).contains("in/out arguments"), backend.failures.toString());

    backend.outcomeOverride = outcome -> outcome("post");
    Map<String, Object> other = new LinkedHashMap<>();
    run(new BlogController(), "post", other, "y");
    assertEquals(Map.of("title", "Y"), other);
    assertTrue(backend.failures.get(1).contains("expected an Object[]"), backend.failures.toString());
  }

  private static byte[] outcome(Object value) {
    try {
      return Outcome.returned(value);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void theFirstLocalRunsRecordSamplesWithoutReferences() throws Exception {
    backend.offload = false;
    BlogController bean = new BlogController();
    run(bean, "echo", "one");
    run(bean, "echo", new ByteArrayInputStream(new byte[1]).toString());
    run(bean, "echo", "three");
    assertEquals(2, backend.samples.size(), "semifaas.shadow.samples is 2 here");
    Object[] first =
        (Object[]) ObjectCodec.deserialize(backend.sampleArgs.get(0), getClass().getClassLoader());
    assertEquals(List.of("one"), List.of(InvocationContext.without(first)));
    assertNotNull(InvocationContext.at(first), "a sample replays with the thread's context");
    assertTrue(backend.samples.get(0).startsWith("com.example.blog.BlogController#echo "));
  }

  @Test
  void samplesSkipArgumentsThatCrossByReference() throws Exception {
    backend.offload = false;
    Method echo = method("echo");
    OffloadedCall call =
        Dispatcher.onEnter(
            echo, new BlogController(), new Object[] {new ByteArrayInputStream(new byte[1])});
    Dispatcher.onExit(call);
    assertNull(call);
    assertEquals(List.of(), backend.samples);
  }

  @Test
  void anApplicationObjectMutatedInPlaceIsDemotedAndTheClosureRebuilt() throws Exception {
    BlogController bean = new BlogController();
    backend.offload = false;
    run(bean, "visit", "ann");
    assertEquals(1, backend.registeredKeys.size());
    Object before = receiverField(backend.receivers.get(0), "tally");
    assertInstanceOf(Tally.class, before, "by value before the mutation was seen");
    assertTrue(RemoteClasses.demoted().contains(Tally.class.getName()));

    backend.offload = true;
    run(bean, "visit", "bob");
    assertEquals(2, backend.registeredKeys.size(), "the closure was rebuilt");
    Object after = receiverField(backend.receivers.get(1), "tally");
    RemoteRef ref = assertInstanceOf(RemoteRef.class, after);
    assertEquals(Tally.class.getName(), ref.className());
    Field tally = BlogController.class.getDeclaredField("tally");
    tally.setAccessible(true);
    assertEquals(List.of("ann"), ((Tally) tally.get(bean)).getNames());
  }

  /**
   * Offloads {@code visit} with its Tally remote ({@code semifaas.remote-classes}); the "function"
   * calls {@code method} on the Tally through the fallback callback, then fails (no outcome).
   */
  private BlogController failAfterRemoteCall(String method, String descriptor, Object... args) {
    RemoteClasses.configure(Tally.class.getName(), null);
    BlogController bean = new BlogController();
    backend.functionOverride =
        scopeId -> {
          try {
            byte[] receiver = backend.receivers.get(backend.receivers.size() - 1);
            RemoteRef tally = (RemoteRef) receiverField(receiver, "tally");
            byte[] outcome =
                RemoteCallsTest.outcome(
                    NativeBridge.invokeRemote(
                        scopeId, tally.id(), method, descriptor, ObjectCodec.serialize(args),
                        false, 0));
            assertEquals(Outcome.RETURNED, Outcome.tag(outcome), new String(outcome));
          } catch (Exception e) {
            throw new AssertionError(e);
          }
          return null; // then the function times out, crashes or is throttled
        };
    return bean;
  }

  private static List<String> names(BlogController bean) throws Exception {
    Field tally = BlogController.class.getDeclaredField("tally");
    tally.setAccessible(true);
    return ((Tally) tally.get(bean)).getNames();
  }

  @Test
  void anOffloadThatFailsAfterARemoteWriteIsNotRunAgain() throws Exception {
    BlogController bean = failAfterRemoteCall("add", "(Ljava/lang/String;)V", "bob");
    OffloadedCall call = Dispatcher.onEnter(method("visit"), bean, new Object[] {"bob"});
    assertNotNull(call, "not run locally");
    OffloadAbandonedException thrown =
        assertInstanceOf(OffloadAbandonedException.class, call.thrown);
    assertTrue(thrown.getMessage().contains("1 remote call that may write"), thrown.getMessage());
    assertEquals(List.of("bob"), names(bean), "the write happened once");
    assertEquals(1, backend.abandoned.size(), backend.abandoned.toString());
    assertEquals(List.of(), backend.local);
  }

  @Test
  void anOffloadThatFailsAfterOnlyReadsRunsLocally() throws Exception {
    BlogController bean = failAfterRemoteCall("getNames", "()Ljava/util/List;");
    assertEquals("visited", run(bean, "visit", "bob"));
    assertEquals(List.of("bob"), names(bean), "the local run wrote once");
    assertEquals(List.of(), backend.abandoned);
    assertEquals(1, backend.local.size());
  }

  @Test
  void aRemoteWriteArrivingAfterTheOffloadFailedIsRefused() throws Exception {
    ExportScope scope = new ExportScope(null);
    assertTrue(scope.beginWrite());
    assertEquals(1, scope.seal());
    assertFalse(scope.beginWrite(), "sealed: the write must not run");
    assertEquals(1, scope.seal());
  }

  @Test
  void aLibraryObjectChangedInPlaceMakesTheHandlerIneligible() throws Exception {
    BlogController bean = new BlogController();
    backend.offload = false;
    run(bean, "see", "ann");
    backend.offload = true;
    run(bean, "see", "bob");
    assertEquals(0, backend.offloads);
    assertEquals(
        List.of(
            "com.example.blog.BlogController#see: the handler changes its receiver's"
                + " java.util.ArrayList in field com.example.blog.BlogController.seen"),
        backend.ineligible);
  }

  @Test
  void aReassignedFieldMakesTheHandlerIneligible() throws Exception {
    BlogController bean = new BlogController();
    backend.offload = false;
    assertEquals(1, run(bean, "hit"));
    backend.offload = true;
    assertEquals(2, run(bean, "hit"), "ran locally: a copy would lose the count");
    assertEquals(0, backend.offloads);
    assertEquals(
        List.of(
            "com.example.blog.BlogController#hit: the handler reassigns its receiver's field"
                + " com.example.blog.BlogController.hits"),
        backend.ineligible);
  }

  @Test
  void handlersThatLeaveTheReceiverAloneStayEligible() throws Exception {
    BlogController bean = new BlogController();
    backend.offload = false;
    run(bean, "echo", "a");
    backend.offload = true;
    assertEquals("b", run(bean, "echo", "b"));
    assertEquals(1, backend.offloads);
    assertFalse(backend.ineligible.stream().anyMatch(s -> s.contains("echo")));
  }

  private static Object receiverField(byte[] receiver, String name) throws Exception {
    Object decoded = ObjectCodec.deserialize(receiver, StatefulDispatchTest.class.getClassLoader());
    assertNotNull(decoded);
    Field field = decoded.getClass().getDeclaredField(name);
    field.setAccessible(true);
    return field.get(decoded);
  }
}
