package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.example.shop.Order;
import com.example.shop.OutOfStock;
import com.example.shop.Receipt;
import com.example.shop.ShopController;
import io.semifaas.common.Outcome;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.dynamic.loading.ClassLoadingStrategy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.web.method.support.InvocableHandlerMethod;

/**
 * The advice on Spring's real {@code InvocableHandlerMethod}: the class is redefined with exactly
 * the advice the agent installs and loaded child-first, then {@code doInvoke} is called as Spring
 * calls it.
 */
class AdviceTest {
  private static Class<?> instrumented;

  private RecordingBackend backend;
  private int bodyRunsBefore;

  @BeforeAll
  static void instrument() {
    ClassLoader parent = AdviceTest.class.getClassLoader();
    instrumented =
        new ByteBuddy()
            .redefine(InvocableHandlerMethod.class, ClassFileLocator.ForClassLoader.of(parent))
            .visit(HandlerInstrumentation.advice())
            .make()
            .load(parent, ClassLoadingStrategy.Default.CHILD_FIRST)
            .getLoaded();
  }

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

  /** Calls {@code doInvoke(args)} on the instrumented class for {@code bean.name}. */
  private static Object doInvoke(Object bean, String name, Object... args) throws Throwable {
    Method handler = null;
    for (Method m : bean.getClass().getMethods()) {
      if (m.getName().equals(name)) {
        handler = m;
      }
    }
    Constructor<?> constructor = instrumented.getConstructor(Object.class, Method.class);
    Object handlerMethod = constructor.newInstance(bean, handler);
    Method doInvoke = instrumented.getDeclaredMethod("doInvoke", Object[].class);
    doInvoke.setAccessible(true);
    try {
      return doInvoke.invoke(handlerMethod, (Object) args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  @Test
  void theRealSpringClassIsInstrumented() {
    assertNotSame(InvocableHandlerMethod.class, instrumented);
    assertEquals(InvocableHandlerMethod.class.getName(), instrumented.getName());
  }

  @Test
  void anOffloadedCallSkipsTheBodyAndReturnsTheSuppliedValue() throws Throwable {
    Object result = doInvoke(new ShopController(), "buy", new Order("apple", 2));
    assertEquals(new Receipt("apple", 60, "eu"), result);
    assertEquals(bodyRunsBefore, ShopController.BODY_RUNS.get(), "the local body did not run");
    assertEquals(1, backend.offloads);
  }

  @Test
  void anOffloadedCallRethrowsTheSuppliedException() {
    OutOfStock thrown =
        assertThrows(OutOfStock.class, () -> doInvoke(new ShopController(), "buy", new Order("fig", 0)));
    assertEquals("no fig left", thrown.getMessage());
    assertEquals(bodyRunsBefore, ShopController.BODY_RUNS.get());
  }

  @Test
  void aLocalCallRunsTheBodyAndIsTimed() throws Throwable {
    backend.offload = false;
    Object result = doInvoke(new ShopController(), "greet", "ann");
    assertEquals("hello ann", result);
    assertEquals(bodyRunsBefore + 1, ShopController.BODY_RUNS.get());
    assertEquals(List.of("com.example.shop.ShopController#greet"), backend.local);
  }

  @Test
  void aLocalCallThatThrowsKeepsItsExceptionAndIsTimed() {
    backend.offload = false;
    OutOfStock thrown =
        assertThrows(OutOfStock.class, () -> doInvoke(new ShopController(), "buy", new Order("kiwi", 0)));
    assertEquals("no kiwi left", thrown.getMessage());
    assertEquals(bodyRunsBefore + 1, ShopController.BODY_RUNS.get());
    assertEquals(List.of("com.example.shop.ShopController#buy"), backend.local);
  }

  @Test
  void errorsInTheAgentPathRunTheOriginalMethod() throws Throwable {
    backend.outcomeOverride =
        outcome -> {
          throw new OutOfMemoryError("simulated");
        };
    assertEquals("hello bo", doInvoke(new ShopController(), "greet", "bo"));
    assertEquals(bodyRunsBefore + 1, ShopController.BODY_RUNS.get());
  }

  @Test
  void aFailedOutcomeRunsTheOriginalMethod() throws Throwable {
    backend.outcomeOverride = outcome -> Outcome.failed("function crashed");
    assertEquals("hello cy", doInvoke(new ShopController(), "greet", "cy"));
    assertEquals(bodyRunsBefore + 1, ShopController.BODY_RUNS.get());
  }
}
