package io.semifaas.agent;

import java.lang.instrument.Instrumentation;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A javaagent and main class run in a child JVM by {@link AgentStartupTest}: it installs the
 * production instrumentation with a test backend instead of the native library, then calls Spring's
 * {@code InvocableHandlerMethod#doInvoke} and prints what happened. As in a Spring Boot fat jar, the
 * application and Spring are loaded by an application class loader of their own, which the system
 * class loader holding the agent cannot see into.
 */
public final class InstrumentationProbe {
  private static final RecordingBackend BACKEND = new RecordingBackend();

  private InstrumentationProbe() {}

  public static void premain(String args, Instrumentation instrumentation) {
    JavaBaseOpener.open(instrumentation);
    Dispatcher.install(BACKEND);
    HandlerInstrumentation.install(instrumentation);
  }

  /** Arguments: Spring's jars. */
  public static void main(String[] springJars) throws Exception {
    System.out.println(
        "java.util open to agent: "
            + Object.class.getModule().isOpen("java.util", Dispatcher.class.getModule()));
    URL[] urls = new URL[springJars.length + 1];
    urls[0] = InstrumentationProbe.class.getProtectionDomain().getCodeSource().getLocation();
    for (int i = 0; i < springJars.length; i++) {
      urls[i + 1] = Path.of(springJars[i]).toUri().toURL();
    }
    ClassLoader application = new ApplicationLoader(urls);
    Class<?> invocable = application.loadClass(HandlerInstrumentation.TARGET_CLASS);
    System.out.println("spring on the system class path: " + springVisibleToSystemLoader());

    Class<?> controller = application.loadClass("com.example.shop.ShopController");
    Class<?> order = application.loadClass("com.example.shop.Order");
    Object bean = controller.getConstructor().newInstance();
    Method buy = controller.getMethod("buy", order);
    Object handler = invocable.getConstructor(Object.class, Method.class).newInstance(bean, buy);
    Method doInvoke = invocable.getDeclaredMethod("doInvoke", Object[].class);
    doInvoke.setAccessible(true);
    Object argument = order.getConstructor(String.class, int.class).newInstance("apple", 4);
    Object result = doInvoke.invoke(handler, (Object) new Object[] {argument});
    System.out.println("result: " + result);
    System.out.println("offloads: " + BACKEND.offloads);
    System.out.println(
        "local body runs: " + ((AtomicInteger) controller.getField("BODY_RUNS").get(null)).get());
  }

  private static boolean springVisibleToSystemLoader() {
    try {
      Class.forName(HandlerInstrumentation.TARGET_CLASS, false, ClassLoader.getSystemClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  /** Loads the application's and Spring's classes itself, everything else from its parent. */
  private static final class ApplicationLoader extends URLClassLoader {
    ApplicationLoader(URL[] urls) {
      super("application", urls, ClassLoader.getSystemClassLoader());
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      if (!name.startsWith("com.example.shop.") && !name.startsWith("org.springframework.")) {
        return super.loadClass(name, resolve);
      }
      synchronized (getClassLoadingLock(name)) {
        Class<?> loaded = findLoadedClass(name);
        return loaded != null ? loaded : findClass(name);
      }
    }
  }
}
