package io.semifaas.agent;

import com.example.shop.Order;
import com.example.shop.ShopController;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.Method;
import org.springframework.web.method.support.InvocableHandlerMethod;

/**
 * A javaagent and main class run in a child JVM by {@link AgentStartupTest}: it installs the
 * production instrumentation with a test backend instead of the native library, then calls Spring's
 * {@code InvocableHandlerMethod#doInvoke} and prints what happened.
 */
public final class InstrumentationProbe {
  private static final RecordingBackend BACKEND = new RecordingBackend();

  private InstrumentationProbe() {}

  public static void premain(String args, Instrumentation instrumentation) {
    JavaBaseOpener.open(instrumentation);
    Dispatcher.install(BACKEND);
    HandlerInstrumentation.install(instrumentation);
  }

  public static void main(String[] args) throws Exception {
    System.out.println(
        "java.util open to agent: "
            + Object.class.getModule().isOpen("java.util", Dispatcher.class.getModule()));
    ShopController bean = new ShopController();
    Method buy = ShopController.class.getMethod("buy", Order.class);
    InvocableHandlerMethod handler = new InvocableHandlerMethod(bean, buy);
    Method doInvoke = InvocableHandlerMethod.class.getDeclaredMethod("doInvoke", Object[].class);
    doInvoke.setAccessible(true);
    Object result = doInvoke.invoke(handler, (Object) new Object[] {new Order("apple", 4)});
    System.out.println("result: " + result);
    System.out.println("offloads: " + BACKEND.offloads);
    System.out.println("local body runs: " + ShopController.BODY_RUNS.get());
  }
}
