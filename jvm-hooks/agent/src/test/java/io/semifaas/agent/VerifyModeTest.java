package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.shop.Order;
import com.example.shop.Receipt;
import com.example.shop.ShopController;
import java.lang.reflect.Method;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** semifaas.verify=1: every offloaded invocation without remote writes runs again here. */
class VerifyModeTest {
  private RecordingBackend backend;

  @BeforeEach
  void install() {
    backend = new RecordingBackend();
    Dispatcher.install(backend, new JavaSettings(0, 1.0));
  }

  @AfterEach
  void uninstall() {
    Dispatcher.uninstall();
  }

  private static OffloadedCall call(Object bean, String name, Object... args) {
    for (Method m : bean.getClass().getMethods()) {
      if (m.getName().equals(name)) {
        OffloadedCall call = Dispatcher.onEnter(m, bean, args);
        Dispatcher.onExit(call);
        return call;
      }
    }
    throw new AssertionError(name);
  }

  @Test
  void aDeterministicHandlerIsVerifiedAndKeepsBeingOffloaded() {
    int before = ShopController.BODY_RUNS.get();
    OffloadedCall call = call(new ShopController(), "buy", new Order("apple", 3));
    assertNotNull(call);
    assertEquals(new Receipt("apple", 90, "eu"), call.value);
    assertEquals(before + 1, ShopController.BODY_RUNS.get(), "the body ran here once, to verify");
    assertEquals(
        List.of("com.example.shop.ShopController#buy: "), backend.verified, "no mismatch");
    assertNotNull(call(new ShopController(), "buy", new Order("pear", 1)), "still offloaded");
  }

  @Test
  void aMismatchIsCaughtTheClientGetsTheLocalOutcomeAndTheHandlerIsDemoted() {
    ShopController shop = new ShopController();
    OffloadedCall first = call(shop, "ticket");
    assertNotNull(first, "offloaded, then verified");
    assertEquals(1, backend.verified.size(), backend.verified.toString());
    String verdict = backend.verified.get(0);
    assertTrue(verdict.startsWith("com.example.shop.ShopController#ticket: return value:"), verdict);
    assertNull(call(shop, "ticket"), "demoted: the next call runs here");
    assertTrue(
        backend.ineligible.stream().anyMatch(r -> r.contains("verify mismatch")),
        backend.ineligible.toString());
  }
}
