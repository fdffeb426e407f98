package io.semifaas.agent;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;

/**
 * Notes every class an application class loader defines while a handler runs locally on the same
 * thread (see {@link Dispatcher#currentLocalHandler}). It never changes a class file.
 */
final class ClassLoadRecorder implements ClassFileTransformer {
  private final LearnedClasses learned;

  ClassLoadRecorder(LearnedClasses learned) {
    this.learned = learned;
  }

  /** Registers a recorder; what it calls is loaded first, so it never recurses into itself. */
  static void install(Instrumentation instrumentation, LearnedClasses learned) {
    ClassLoadRecorder recorder = new ClassLoadRecorder(learned);
    recorder.transform(
        ClassLoader.getSystemClassLoader(), "io/semifaas/Warmup", null, null, new byte[0]);
    Dispatcher.currentLocalHandler();
    ApplicationClassLoaders.isApplicationLoader(ClassLoader.getSystemClassLoader());
    learned.record("", "");
    learned.count("");
    instrumentation.addTransformer(recorder, false);
  }

  @Override
  public byte[] transform(
      ClassLoader loader,
      String className,
      Class<?> classBeingRedefined,
      ProtectionDomain protectionDomain,
      byte[] classFile) {
    try {
      if (className == null
          || classBeingRedefined != null
          || className.contains("$$")
          || AgentClasses.isAgentClass(className)
          || !ApplicationClassLoaders.isApplicationLoader(loader)) {
        return null;
      }
      String handlerKey = Dispatcher.currentLocalHandler();
      if (handlerKey != null) {
        learned.record(handlerKey, className.replace('/', '.'));
      }
    } catch (Throwable t) {
      // Recording is best effort; class loading must never fail because of it.
    }
    return null;
  }
}
