package io.semifaas.agent;

import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.asm.AsmVisitorWrapper;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.implementation.Implementation;
import net.bytebuddy.matcher.ElementMatcher;
import net.bytebuddy.pool.TypePool;

/**
 * Installs {@link DoInvokeAdvice} on Spring MVC's {@code InvocableHandlerMethod#doInvoke}: the one
 * place where handler arguments are resolved and the return value is not yet handled. Spring's own
 * class is instrumented, never CGLIB proxies, and the advice is inlined so no members or classes
 * are added. A plain transformer over one class is all that takes, so none of Byte Buddy's class
 * injection machinery (and its use of {@code sun.misc.Unsafe}) is started.
 */
final class HandlerInstrumentation {
  static final String TARGET_CLASS =
      "org.springframework.web.method.support.InvocableHandlerMethod";
  static final String TARGET_METHOD = "doInvoke";

  /** By name: loading the advice class would link it against Spring on the wrong loader. */
  static final String ADVICE_CLASS = "io.semifaas.agent.DoInvokeAdvice";

  private static final System.Logger LOG = System.getLogger("io.semifaas.agent");

  private HandlerInstrumentation() {}

  static void install(Instrumentation instrumentation) {
    instrumentation.addTransformer(new DoInvokeTransformer(), false);
    for (Class<?> loaded : instrumentation.getAllLoadedClasses()) {
      if (loaded.getName().equals(TARGET_CLASS)) {
        LOG.log(
            System.Logger.Level.WARNING,
            "semifaas: {0} was loaded before the agent started; load the agent with -javaagent"
                + " so handlers can be offloaded",
            TARGET_CLASS);
      }
    }
  }

  /**
   * The advice for {@code doInvoke(Object[])}, described from class files found through {@code
   * pool} and {@code locator}. The advice is compiled against Spring's {@code HandlerMethod}, which
   * only the application's loader can see (Spring Boot keeps Spring in nested jars), so it must not
   * be described by reflection on the agent's loader.
   */
  static AsmVisitorWrapper advice(TypePool pool, ClassFileLocator locator) {
    TypeDescription advice = pool.describe(ADVICE_CLASS).resolve();
    return Advice.to(advice, locator).on(targetMethod());
  }

  static ElementMatcher<MethodDescription> targetMethod() {
    return named(TARGET_METHOD).and(takesArguments(Object[].class));
  }

  /**
   * The class file of {@link #TARGET_CLASS}, defined by {@code loader}, with the advice inlined
   * into {@code doInvoke}.
   */
  static byte[] instrument(ClassLoader loader, byte[] classFile) {
    ClassFileLocator locator =
        new ClassFileLocator.Compound(
            ClassFileLocator.Simple.of(TARGET_CLASS, classFile),
            loader == null
                ? ClassFileLocator.ForClassLoader.ofBootLoader()
                : ClassFileLocator.ForClassLoader.of(loader),
            ClassFileLocator.ForClassLoader.of(HandlerInstrumentation.class.getClassLoader()));
    TypePool pool = TypePool.Default.of(locator);
    return new ByteBuddy()
        .with(Implementation.Context.Disabled.Factory.INSTANCE)
        .redefine(pool.describe(TARGET_CLASS).resolve(), locator)
        .visit(advice(pool, locator))
        .make()
        .getBytes();
  }

  /** Rewrites Spring's class as it is loaded; a failure leaves it unchanged and is reported. */
  private static final class DoInvokeTransformer implements ClassFileTransformer {
    private static final String INTERNAL_NAME = TARGET_CLASS.replace('.', '/');

    @Override
    public byte[] transform(
        ClassLoader loader,
        String className,
        Class<?> classBeingRedefined,
        ProtectionDomain protectionDomain,
        byte[] classFile) {
      if (!INTERNAL_NAME.equals(className)) {
        return null;
      }
      try {
        return instrument(loader, classFile);
      } catch (Throwable t) {
        LOG.log(
            System.Logger.Level.WARNING,
            "semifaas: cannot instrument " + TARGET_CLASS + "; handlers run locally",
            t);
        return null;
      }
    }
  }
}
