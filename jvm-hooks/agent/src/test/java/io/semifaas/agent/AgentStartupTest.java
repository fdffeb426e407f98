package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Starts real JVMs with {@code -javaagent}. The agent classes come from the test class path; the
 * jar given to {@code -javaagent} holds only the manifest naming the premain class.
 */
class AgentStartupTest {
  private static final Path TEMURIN_25 = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");

  @TempDir Path dir;

  record Run(int exitCode, String stdout, String stderr) {}

  /** The JVMs to start: this one, and Java 25 where it is installed. */
  static Stream<Path> javas() {
    Path current = Path.of(System.getProperty("java.home"), "bin", "java");
    return Files.isExecutable(TEMURIN_25) ? Stream.of(current, TEMURIN_25) : Stream.of(current);
  }

  private Path agentJar(String premainClass) throws IOException {
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().putValue("Premain-Class", premainClass);
    manifest.getMainAttributes().putValue("Can-Retransform-Classes", "true");
    Path jar = dir.resolve(premainClass + ".jar");
    try (OutputStream out = Files.newOutputStream(jar);
        JarOutputStream ignored = new JarOutputStream(out, manifest)) {
      // Manifest only.
    }
    return jar;
  }

  /** This JVM's class path, without ({@code false}) or only ({@code true}) Spring's jars. */
  private static List<String> classPath(boolean spring) {
    List<String> entries = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (entry.contains("springframework") == spring) {
        entries.add(entry);
      }
    }
    return entries;
  }

  private Run run(Path java, List<String> arguments) throws Exception {
    return run(java, String.join(File.pathSeparator, classPath(false)), arguments);
  }

  private Run run(Path java, String classPath, List<String> arguments) throws Exception {
    return run(java, classPath, arguments, Map.of());
  }

  private Run run(
      Path java, String classPath, List<String> arguments, Map<String, String> environment)
      throws Exception {
    List<String> command = new ArrayList<>();
    command.add(java.toString());
    command.add("-cp");
    command.add(classPath);
    command.addAll(arguments);
    Path out = dir.resolve("stdout");
    Path err = dir.resolve("stderr");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    builder
        .environment()
        .keySet()
        .removeIf(name -> name.toUpperCase(Locale.ROOT).startsWith("SEMIFAAS_"));
    builder.environment().putAll(environment);
    Process process = builder.start();
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("the JVM did not exit: " + command);
    }
    return new Run(
        process.exitValue(),
        Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  private Run runWithAgent(Path java, Map<String, String> environment, String... options)
      throws Exception {
    List<String> arguments = new ArrayList<>();
    arguments.add("-javaagent:" + agentJar(Premain.class.getName()));
    arguments.addAll(List.of(options));
    arguments.add("-version");
    return run(java, String.join(File.pathSeparator, classPath(false)), arguments, environment);
  }

  /** The lines of stderr that start with {@code semifaas:}. */
  private static List<String> agentLines(Run run) {
    return run.stderr().lines().filter(line -> line.startsWith("semifaas:")).toList();
  }

  private static void assertRunsWithOneLine(Run run, String... parts) {
    assertEquals(0, run.exitCode(), run.stderr());
    List<String> lines = agentLines(run);
    assertEquals(1, lines.size(), run.stderr());
    for (String part : parts) {
      assertTrue(lines.get(0).contains(part), lines.get(0));
    }
  }

  @ParameterizedTest
  @MethodSource("javas")
  void aMissingConfigurationFileIsNamedAndTheJvmRunsOn(Path java) throws Exception {
    Path missing = dir.resolve("missing.properties");
    Run run = runWithAgent(java, Map.of(), "-Dsemifaas.config=" + missing);
    assertRunsWithOneLine(
        run,
        "semifaas: semifaas.config names " + missing + ", which does not exist",
        "; the application runs without offloading");
  }

  @Test
  void aConfigurationFileWithAForeignKeyIsNamedAndTheJvmRunsOn() throws Exception {
    Path file = dir.resolve("semifaas.properties");
    Files.writeString(file, "timeout-ms=5\n");
    Run run =
        runWithAgent(javas().findFirst().orElseThrow(), Map.of(), "-Dsemifaas.config=" + file);
    assertRunsWithOneLine(run, "'timeout-ms'", "runs without offloading");
  }

  @ParameterizedTest
  @MethodSource("javas")
  void aMistypedKeyIsNamedWithASuggestionAndTheJvmRunsOn(Path java) throws Exception {
    Run run = runWithAgent(java, Map.of(), "-Dsemifaas.ration=1");
    assertRunsWithOneLine(
        run,
        "\"semifaas.ration\"",
        "did you mean semifaas.ratio?",
        "; the application runs without offloading");
  }

  @Test
  void aBadValueIsNamedAndTheJvmRunsOn() throws Exception {
    Run run = runWithAgent(javas().findFirst().orElseThrow(), Map.of(), "-Dsemifaas.ratio=2");
    assertRunsWithOneLine(run, "semifaas.ratio", "[0, 1]", "runs without offloading");
  }

  @Test
  void anUnknownEnvironmentVariableIsAWarning() throws Exception {
    // The agent starts (on a free admin port), so the only agent line is the warning.
    Run run =
        runWithAgent(
            javas().findFirst().orElseThrow(),
            Map.of("SEMIFAAS_FOO", "1", "SEMIFAAS_ADMIN_PORT", "0", "SEMIFAAS_LOG", "warn"));
    assertRunsWithOneLine(run, "semifaas: warning:", "SEMIFAAS_FOO");
    assertFalse(run.stderr().contains("without offloading"), run.stderr());
  }

  @Test
  void enabledFalseTurnsTheAgentOff() throws Exception {
    Run run =
        runWithAgent(
            javas().findFirst().orElseThrow(),
            Map.of("SEMIFAAS_ENABLED", "false"),
            "-Dsemifaas.ration=1");
    assertRunsWithOneLine(run, "semifaas.enabled=false", "runs without offloading");
  }

  @ParameterizedTest
  @MethodSource("javas")
  void theInstrumentationOffloadsSpringHandlerCalls(Path java) throws Exception {
    List<String> arguments = new ArrayList<>();
    arguments.add("-javaagent:" + agentJar(InstrumentationProbe.class.getName()));
    arguments.add(InstrumentationProbe.class.getName());
    arguments.addAll(classPath(true));
    Run run = run(java, arguments);
    assertEquals(0, run.exitCode(), run.stdout() + run.stderr());
    assertTrue(run.stdout().contains("java.util open to agent: true"), run.stdout());
    assertTrue(run.stdout().contains("spring on the system class path: false"), run.stdout());
    assertTrue(
        run.stdout().contains("result: Receipt[sku=apple, totalCents=120, region=eu]"),
        run.stdout() + run.stderr());
    assertTrue(run.stdout().contains("offloads: 1"), run.stdout());
    assertTrue(run.stdout().contains("local body runs: 0"), run.stdout());
  }
}
