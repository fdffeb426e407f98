package io.semifaas.agent;

import java.lang.instrument.Instrumentation;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Opens the java.base packages whose private fields the object codec reads (collections, boxed
 * values, time, I/O types) to the agent's own module, so the application needs no --add-opens.
 */
final class JavaBaseOpener {
  /** Keep in step with {@code JAVA_BASE_OPENS} in lambda-shim/src/jvm.rs: what the server encodes,
   * the function must be able to decode. */
  static final List<String> PACKAGES =
      List.of(
          "java.lang",
          "java.lang.reflect",
          "java.math",
          "java.net",
          "java.nio",
          "java.nio.charset",
          "java.io",
          "java.text",
          "java.time",
          "java.time.chrono",
          "java.time.zone",
          "java.util",
          "java.util.concurrent",
          "java.util.concurrent.atomic",
          "java.util.concurrent.locks",
          "java.util.regex");

  private JavaBaseOpener() {}

  static void open(Instrumentation instrumentation) {
    Module javaBase = Object.class.getModule();
    Module agent = JavaBaseOpener.class.getModule();
    Map<String, Set<Module>> opens = new HashMap<>();
    for (String name : PACKAGES) {
      opens.put(name, Set.of(agent));
    }
    instrumentation.redefineModule(javaBase, Set.of(), Map.of(), opens, Set.of(), Map.of());
  }
}
