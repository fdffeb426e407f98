package io.semifaas.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.instrument.Instrumentation;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Opens the java.base packages whose private fields the object codec reads (collections, boxed
 * values, time, I/O types) to the agent's own module, so the application needs no --add-opens.
 */
final class JavaBaseOpener {
  /** The shared list's resource: bootstrap reads the same file for the function's JVM. */
  static final String PACKAGES_RESOURCE = "/io/semifaas/common/java-base-opens.txt";

  /** The packages, from {@link #PACKAGES_RESOURCE}. */
  static final List<String> PACKAGES = readPackages();

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

  private static List<String> readPackages() {
    try (InputStream in = JavaBaseOpener.class.getResourceAsStream(PACKAGES_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(PACKAGES_RESOURCE + " is missing from the agent jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8)
          .lines()
          .map(String::strip)
          .filter(line -> !line.isEmpty() && !line.startsWith("#"))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + PACKAGES_RESOURCE, e);
    }
  }
}
