package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.shop.Order;
import com.example.shop.OutOfStock;
import com.example.shop.Receipt;
import com.example.shop.ShopController;
import com.example.shop.ShopController$$SpringCGLIB$$0;
import com.example.shop.SocketController;
import io.semifaas.common.Outcome;
import java.io.ByteArrayInputStream;
import java.lang.reflect.Method;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DispatcherTest {
  private static final String BUY = "com.example.shop.ShopController#buy";

  private RecordingBackend backend;
  private int bodyRunsBefore;

  @BeforeEach
  void install() {
    backend = new RecordingBackend();
    Dispatcher.install(backend);
    bodyRunsBefore = ShopController.BODY_RUNS.get();
  }

  @AfterEach
  void uninstall() {
    Dispatcher.uninstall();
  }

  private static Method method(Class<?> type, String name) {
    for (Method m : type.getMethods()) {
      if (m.getName().equals(name)) {
        return m;
      }
    }
    throw new AssertionError(name);
  }

  /** What the advice does: enter, and on a local run, exit once the body finished. */
  private static OffloadedCall call(Object bean, String name, Object... args) {
    OffloadedCall call = Dispatcher.onEnter(method(bean.getClass(), name), bean, args);
    Dispatcher.onExit(call);
    return call;
  }

  @Test
  void offloadedCallReturnsTheFunctionsResult() {
    OffloadedCall call = call(new ShopController(), "buy", new Order("apple", 3));
    assertNotNull(call);
    assertNull(call.thrown);
    assertEquals(new Receipt("apple", 90, "eu"), call.value);
    assertEquals(bodyRunsBefore, ShopController.BODY_RUNS.get(), "the body ran in the function");
    assertEquals(List.of(BUY), backend.shouldOffloadCalls);
    assertEquals(List.of(), backend.local);
    assertEquals(
        List.of(
            "com.example.shop.ShopController#buy"
                + "(Lcom/example/shop/Order;)Lcom/example/shop/Receipt;"),
        backend.descriptors);
  }

  @Test
  void aHandlerWithoutAnIdRunsLocallyWithoutNativeCalls() {
    backend.noIds = true;
    assertNull(call(new ShopController(), "buy", new Order("apple", 3)), "runs locally");
    assertEquals(List.of(), backend.shouldOffloadCalls);
    assertEquals(List.of(), backend.local);
    assertEquals(0, backend.offloads);
  }

  @Test
  void theCodeSectionCarriesWhatTheReceiverAndSignatureNeed() {
    call(new ShopController(), "buy", new Order("apple", 1));
    List<String> shipped = List.of(backend.registeredNames.get(0));
    for (String name :
        List.of(
            "com.example.shop.ShopController",
            "com.example.shop.BaseController",
            "com.example.shop.PriceList",
            "com.example.shop.Item",
            "com.example.shop.Discount",
            "com.example.shop.Order",
            "com.example.shop.Receipt",
            "com.example.shop.OutOfStock")) {
      assertTrue(shipped.contains(name), name + " in " + shipped);
    }
    assertEquals(List.of(), List.copyOf(backend.closures.get(0).fetched()));
  }

  @Test
  void theClosureIsBuiltOncePerHandlerAndBean() {
    ShopController bean = new ShopController();
    call(bean, "buy", new Order("apple", 1));
    call(bean, "buy", new Order("apple", 2));
    assertEquals(1, backend.registeredKeys.size());
    assertEquals(2, backend.offloads);
    call(new ShopController(), "buy", new Order("apple", 2));
    assertEquals(2, backend.registeredKeys.size(), "another bean instance has its own closure");
  }

  @Test
  void anExceptionFromTheFunctionIsRethrownExactly() {
    OffloadedCall call = call(new ShopController(), "buy", new Order("pear", 0));
    assertNotNull(call);
    OutOfStock thrown = assertInstanceOf(OutOfStock.class, call.thrown);
    assertEquals("no pear left", thrown.getMessage());
  }

  @Test
  void classesMissingFromTheCodeSectionComeThroughTheFallback() {
    OffloadedCall call = call(new ShopController(), "greet", new com.example.shop.Gift("tea"));
    assertNotNull(call);
    assertEquals("hello Gift[name=tea]", call.value);
    assertEquals(List.of("com.example.shop.Gift"), List.copyOf(backend.closures.get(0).fetched()));
  }

  @Test
  void primitiveResultsArriveBoxed() {
    OffloadedCall call = call(new ShopController(), "count", 2, 3);
    assertNotNull(call);
    assertEquals(5, call.value);
  }

  @Test
  void thePolicyCanKeepACallLocal() {
    backend.offload = false;
    assertNull(call(new ShopController(), "buy", new Order("apple", 1)));
    assertEquals(List.of(BUY), backend.local);
    assertEquals(0, backend.offloads);
    // The first local runs record shadow samples, which needs the closure registered.
    assertEquals(List.of(BUY), backend.registeredKeys);
    assertEquals(1, backend.samples.size(), backend.samples.toString());
  }

  @Test
  void aFailedOffloadRunsLocally() {
    backend.outcomeOverride = outcome -> null;
    assertNull(call(new ShopController(), "buy", new Order("apple", 1)));
    assertEquals(List.of(BUY), backend.local);
  }

  @Test
  void anUndecodableResultIsAFailureAndRunsLocally() {
    backend.outcomeOverride = outcome -> new byte[] {Outcome.RETURNED, 0x7f, 1, 2};
    assertNull(call(new ShopController(), "buy", new Order("apple", 1)));
    assertEquals(1, backend.failures.size());
    assertTrue(
        backend.failures.get(0).startsWith(BUY + ": result unusable"), backend.failures.toString());
    assertEquals(List.of(BUY), backend.local);
  }

  @Test
  void aFailedOutcomeIsAFailureAndRunsLocally() {
    backend.outcomeOverride = outcome -> Outcome.failed("class com.example.Gone not found");
    assertNull(call(new ShopController(), "buy", new Order("apple", 1)));
    assertTrue(backend.failures.get(0).contains("com.example.Gone"), backend.failures.toString());
    assertEquals(List.of(BUY), backend.local);
  }

  @Test
  void aResultOfTheWrongTypeIsAFailure() throws Exception {
    byte[] wrong = Outcome.returned("not a receipt");
    backend.outcomeOverride = outcome -> wrong;
    assertNull(call(new ShopController(), "buy", new Order("apple", 1)));
    assertTrue(backend.failures.get(0).contains("java.lang.String"), backend.failures.toString());
  }

  @Test
  void backendErrorsFailOpen() {
    backend.offloadThrows = new IllegalStateException("dispatcher is down");
    assertNull(call(new ShopController(), "buy", new Order("apple", 1)));
    assertTrue(backend.failures.get(0).contains("dispatcher is down"), backend.failures.toString());
    assertEquals(List.of(BUY), backend.local);
  }

  @Test
  void asynchronousHandlersAreIneligibleAndReportedOnce() {
    ShopController bean = new ShopController();
    assertNull(call(bean, "later"));
    assertNull(call(bean, "later"));
    assertEquals(1, backend.ineligible.size(), backend.ineligible.toString());
    assertTrue(
        backend
            .ineligible
            .get(0)
            .startsWith("com.example.shop.ShopController#later: asynchronous result"),
        backend.ineligible.toString());
    assertEquals(List.of(), backend.shouldOffloadCalls);
  }

  @Test
  void exceptionHandlersRunLocally() {
    assertNull(call(new ShopController(), "outOfStock", new OutOfStock("x")));
    assertEquals(
        List.of("com.example.shop.ShopController#outOfStock: " + Eligibility.NOT_A_REQUEST_HANDLER),
        backend.ineligible);
    assertEquals(List.of(), backend.shouldOffloadCalls);
  }

  @Test
  void proxiedControllersAreIneligible() {
    assertNull(call(new ShopController$$SpringCGLIB$$0(), "greet", "ann"));
    assertEquals(
        List.of("com.example.shop.ShopController#greet: " + Eligibility.PROXIED_CONTROLLER),
        backend.ineligible);
    assertEquals(List.of(), backend.shouldOffloadCalls);
  }

  @Test
  void serverBoundArgumentsCrossAsRemoteReferences() {
    OffloadedCall call =
        call(new ShopController(), "greet", new ByteArrayInputStream(new byte[1]));
    assertNotNull(call);
    // This test function decodes without proxies: it sees the reference itself.
    assertTrue(
        String.valueOf(call.value).startsWith("hello RemoteRef#"), String.valueOf(call.value));
    assertTrue(
        String.valueOf(call.value).contains("java.io.ByteArrayInputStream"),
        String.valueOf(call.value));
    assertEquals(List.of(), backend.ineligible);
    assertTrue(backend.scopeIds.get(0) > 0);
    assertNull(RemoteScopes.get(backend.scopeIds.get(0)), "the invocation scope was closed");
  }

  @Test
  void argumentsTheCodecCannotEncodeKeepTheCallLocal() {
    Object[] deep = new Object[0];
    for (int i = 0; i < 200_000; i++) {
      deep = new Object[] {deep};
    }
    assertNull(call(new ShopController(), "greet", (Object) deep));
    assertEquals(1, backend.ineligible.size());
    assertTrue(
        backend.ineligible.get(0).contains("argument cannot be serialized"),
        backend.ineligible.toString());
    assertEquals(List.of("com.example.shop.ShopController#greet"), backend.local);
  }

  @Test
  void aReceiverThatCannotBeSerializedIsIneligible() {
    SocketController bean = new SocketController();
    assertNull(call(bean, "ping"));
    assertNull(call(bean, "ping"));
    assertEquals(1, backend.ineligible.size(), backend.ineligible.toString());
    assertTrue(
        backend
            .ineligible
            .get(0)
            .startsWith("com.example.shop.SocketController#ping: receiver cannot be serialized"),
        backend.ineligible.toString());
    assertEquals(List.of(), backend.registeredKeys);
  }

  @Test
  void withoutADispatcherEveryCallRunsLocally() {
    Dispatcher.uninstall();
    assertNull(call(new ShopController(), "buy", new Order("apple", 1)));
    assertEquals(List.of(), backend.shouldOffloadCalls);
  }

  @Test
  void fallbackCallbacksServeTheApplicationsClasses() throws Exception {
    call(new ShopController(), "greet", "ann");
    byte[] expected;
    try (var in = getClass().getClassLoader().getResourceAsStream("com/example/shop/Item.class")) {
      expected = in.readAllBytes();
    }
    assertArrayEquals(expected, (byte[]) NativeBridge.classBytes("com.example.shop.Item"));
    assertArrayEquals(
        expected, (byte[]) NativeBridge.resourceBytes("com/example/shop/Item.class"));
    assertNull(NativeBridge.classBytes("com.example.shop.Absent"));
    assertNull(NativeBridge.classBytes("com/example/shop/Item"));
    assertNull(NativeBridge.classBytes(null));
    assertNull(NativeBridge.resourceBytes("x".repeat(5000)));
  }

  @Test
  void fallbackCallbacksWithholdWhatIsNotTheApplicationsOwnCode() {
    call(new ShopController(), "greet", "ann");
    assertEquals(
        "class io.semifaas.agent.NativeBridge is the agent's, not the application's code",
        NativeBridge.classBytes("io.semifaas.agent.NativeBridge"));
    String jdk = (String) NativeBridge.classBytes("java.lang.String");
    assertEquals("class java.lang.String is withheld: it is not the application's code", jdk);
    // By resource name too: the agent's own classes, wherever they sit on the class path.
    String agent = (String) NativeBridge.resourceBytes("io/semifaas/agent/NativeBridge.class");
    assertTrue(agent.contains("is withheld: it is not the application's code"), agent);
    assertInstanceOf(
        String.class, NativeBridge.resourceBytes("java/lang/Object.class"), "the JDK's");
  }

  @Test
  void deniedResourcesAreWithheldEvenWhenTheApplicationHasThem() {
    call(new ShopController(), "greet", "ann");
    assertInstanceOf(byte[].class, NativeBridge.resourceBytes("com/example/shop/prices.txt"));
    for (String denied :
        List.of(
            "application.properties",
            "/config/application-prod.yml",
            "bootstrap.yaml",
            "certs/server.P12",
            "tls/server.pem",
            "id.key",
            "trust.truststore")) {
      Object answer = NativeBridge.resourceBytes(denied);
      assertInstanceOf(String.class, answer, denied);
      assertTrue(
          ((String) answer).contains("is withheld: it matches")
              && ((String) answer).contains(DeniedResources.KEY),
          (String) answer);
    }
    assertEquals(
        "resource application.properties is withheld: it matches 'application*.properties', which"
            + " the server never serves (configuration and key material; see "
            + DeniedResources.KEY
            + ")",
        NativeBridge.resourceBytes("application.properties"));
    try {
      DeniedResources.configure("com/example/shop/*.txt, secrets.json");
      assertInstanceOf(String.class, NativeBridge.resourceBytes("com/example/shop/prices.txt"));
      assertInstanceOf(String.class, NativeBridge.resourceBytes("a/b/SECRETS.json"));
      assertNull(NativeBridge.resourceBytes("a/b/other.json"), "absent, not withheld");
    } finally {
      DeniedResources.configure(null);
    }
  }
}
