package io.semifaas.agent;

import java.lang.instrument.Instrumentation;
import java.util.List;
import java.util.Map;

/**
 * The javaagent entry point ({@code -javaagent:semifaas-agent.jar}). The agent never takes the
 * application down: a configuration mistake, a native library problem, a busy port or any other
 * failure is one line on stderr, and the application runs without offloading (nothing is
 * instrumented). {@code semifaas.enabled=false} turns the agent off before anything is loaded.
 */
public final class Premain {
  static final String RUNS_WITHOUT_OFFLOADING = "; the application runs without offloading";

  private Premain() {}

  public static void premain(String agentArgs, Instrumentation instrumentation) {
    try {
      start(instrumentation);
    } catch (Throwable t) {
      report(t);
    }
  }

  private static void start(Instrumentation instrumentation) throws ConfigException {
    AgentConfig.Sources sources = AgentConfig.read(System.getProperties(), System.getenv());
    if (!sources.enabled()) {
      System.err.println(
          "semifaas: the agent is off ("
              + AgentConfig.ENABLED_KEY
              + "=false)"
              + RUNS_WITHOUT_OFFLOADING);
      return;
    }
    List<String> keys = NativeLibrary.configKeys();
    Map<String, String> config =
        sources.merge(keys, warning -> System.err.println("semifaas: warning: " + warning));
    JavaSettings settings = JavaSettings.from(config);
    String error = initNative(config);
    if (error != null) {
      throw new ConfigException(error);
    }
    try {
      JavaBaseOpener.open(instrumentation);
      Dispatcher.install(new NativeBridgeBackend(), settings);
      ClassLoadRecorder.install(instrumentation, Dispatcher.LEARNED);
      HandlerInstrumentation.install(instrumentation);
    } catch (RuntimeException | LinkageError e) {
      throw new IllegalStateException("could not install the instrumentation: " + e, e);
    }
  }

  private static String initNative(Map<String, String> config) {
    try {
      return NativeBridge.init(
          config.keySet().toArray(new String[0]), config.values().toArray(new String[0]));
    } catch (UnsatisfiedLinkError e) {
      throw NativeLibrary.missingExports(e);
    }
  }

  /** Prints the one line about why the agent does not run. Never throws. */
  private static void report(Throwable t) {
    try {
      System.err.println("semifaas: " + describe(t) + RUNS_WITHOUT_OFFLOADING);
    } catch (Throwable ignored) {
      // Nowhere left to say it.
    }
  }

  /** The agent's own failures carry a message naming the problem; anything else is named. */
  static String describe(Throwable t) {
    if ((t instanceof ConfigException || t instanceof IllegalStateException)
        && t.getMessage() != null) {
      return t.getMessage();
    }
    return "the agent failed to start: " + t;
  }
}
