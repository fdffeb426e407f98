package io.semifaas.agent;

import java.lang.instrument.Instrumentation;
import java.util.Map;

/**
 * The javaagent entry point ({@code -javaagent:semifaas-agent.jar}). A configuration or native
 * library problem stops the JVM with a message naming it, rather than running unprotected.
 */
public final class Premain {
  private Premain() {}

  public static void premain(String agentArgs, Instrumentation instrumentation) {
    try {
      Map<String, String> config = AgentConfig.collect(System.getProperties(), System.getenv());
      NativeLibrary.load();
      String error = initNative(config);
      if (error != null) {
        throw new IllegalStateException(error);
      }
      JavaSettings settings = JavaSettings.from(config);
      JavaBaseOpener.open(instrumentation);
      Dispatcher.install(new NativeBridgeBackend(), settings);
      ClassLoadRecorder.install(instrumentation, Dispatcher.LEARNED);
      HandlerInstrumentation.install(instrumentation);
    } catch (ConfigException | RuntimeException | LinkageError e) {
      System.err.println("semifaas: " + e.getMessage());
      throw new IllegalStateException("semifaas: " + e.getMessage(), e);
    }
  }

  private static String initNative(Map<String, String> config) {
    try {
      return NativeBridge.init(
          config.keySet().toArray(new String[0]), config.values().toArray(new String[0]));
    } catch (UnsatisfiedLinkError e) {
      throw new IllegalStateException(
          "the agent's native library does not export the JNI functions of "
              + NativeBridge.class.getName()
              + " ("
              + e.getMessage()
              + "); rebuild it with `cargo build --release -p semifaas-agent` and repackage the"
              + " jar",
          e);
    }
  }
}
