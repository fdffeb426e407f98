package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.example.shop.Order;
import com.example.shop.OutOfStock;
import com.example.shop.Receipt;
import com.example.shop.ShopController;
import io.semifaas.common.Outcome;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.web.method.support.InvocableHandlerMethod;

/**
 * The advice on Spring's real {@code InvocableHandlerMethod}: its class file is rewritten by the
 * agent's transformation and defined in a child loader, then {@code doInvoke} is called as Spring
 * calls it.
 */
class AdviceTest {
  private static Class<?> instrumented;

  private RecordingBackend backend;
  private int bodyRunsBefore;

  @BeforeAll
  static void instrument() throws Exception {
    ClassLoader parent = AdviceTest.class.getClassLoader();
    byte[] original;
    try (InputStream in =
        parent.getResourceAsStream(
            HandlerInstrumentation.TARGET_CLASS.replace('.', '/') + ".class")) {
      original = in.readAllBytes();
    }
    byte[] rewritten = HandlerInstrumentation.instrument(parent, original);
    instrumented =
        new SingleClassLoader(parent, HandlerInstrumentation.TARGET_CLASS, rewritten)
            .loadClass(HandlerInstrumentation.TARGET_CLASS);
  }

  /** Defines one class from given bytes and delegates everything else to its parent. */
  private static final class SingleClassLoader extends ClassLoader {
    private final String name;
    private final byte[] bytes;

    SingleClassLoader(ClassLoader parent, String name, byte[] bytes) {
      super(parent);
      this.name = name;
      this.bytes = bytes;
    }

    @Override
    protected Class<?> loadClass(String className, boolean resolve) throws ClassNotFoundException {
      if (!className.equals(name)) {
        return super.loadClass(className, resolve);
      }
      synchronized (getClassLoadingLock(className)) {
        Class<?> loaded = findLoadedClass(className);
        return loaded != null ? loaded : defineClass(className, bytes, 0, bytes.length);
      }
    }
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
        assertThrows(
            OutOfStock.class, () -> doInvoke(new ShopController(), "buy", new Order("fig", 0)));
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
        assertThrows(
            OutOfStock.class, () -> doInvoke(new ShopController(), "buy", new Order("kiwi", 0)));
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
