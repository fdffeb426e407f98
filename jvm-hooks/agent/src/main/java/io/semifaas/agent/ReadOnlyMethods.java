package io.semifaas.agent;

import java.util.List;
import java.util.Set;

/**
 * Remote calls a shadow execution may make: method names the contract knows to be read-only, plus
 * {@code semifaas.read-only-methods} ({@code Class#method} or {@code method}, comma-separated).
 */
final class ReadOnlyMethods {
  private static final List<String> PREFIXES =
      List.of("get", "find", "is", "has", "count", "exists", "list", "read");
  private static final Set<String> NAMES = Set.of("toString", "hashCode", "equals");

  private static volatile Set<String> configured = Set.of();

  private ReadOnlyMethods() {}

  static void configure(String list) {
    if (list == null || list.isBlank()) {
      configured = Set.of();
      return;
    }
    java.util.Set<String> names = new java.util.HashSet<>();
    for (String part : list.split(",")) {
      if (!part.isBlank()) {
        names.add(part.strip());
      }
    }
    configured = Set.copyOf(names);
  }

  static boolean isReadOnly(String className, String method) {
    if (NAMES.contains(method) || configured.contains(method)) {
      return true;
    }
    if (configured.contains(className + "#" + method)) {
      return true;
    }
    for (String prefix : PREFIXES) {
      if (method.startsWith(prefix)
          && (method.length() == prefix.length()
              || !Character.isLowerCase(method.charAt(prefix.length())))) {
        return true;
      }
    }
    return false;
  }
}
