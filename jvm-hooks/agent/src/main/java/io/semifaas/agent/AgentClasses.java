package io.semifaas.agent;

import java.util.List;

/**
 * The agent's own classes (and the runtime's and shaded libraries'), which sit on the system class
 * path next to a plain application's but are never application code. Only these packages: an
 * application may itself live under {@code io.semifaas.} (the samples do).
 */
final class AgentClasses {
  private AgentClasses() {}

  private static final List<String> PACKAGES =
      List.of(
          "io.semifaas.agent.",
          "io.semifaas.common.",
          "io.semifaas.runtime.",
          "io.semifaas.shaded.");

  /** The class {@link ClassLoadRecorder} defines to warm itself up. */
  static final String WARMUP = "io.semifaas.Warmup";

  /** {@code name} is a binary ({@code a.b.C}) or internal ({@code a/b/C}) class name. */
  static boolean isAgentClass(String name) {
    String binary = name.replace('/', '.');
    return binary.equals(WARMUP) || PACKAGES.stream().anyMatch(binary::startsWith);
  }
}
