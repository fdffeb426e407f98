package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
    List<String> command = new ArrayList<>();
    command.add(java.toString());
    command.add("-cp");
    command.add(classPath);
    command.addAll(arguments);
    Path out = dir.resolve("stdout");
    Path err = dir.resolve("stderr");
    Process process =
        new ProcessBuilder(command)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .start();
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("the JVM did not exit: " + command);
    }
    return new Run(
        process.exitValue(),
        Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @MethodSource("javas")
  void aMissingConfigurationFileStopsTheJvmNamingIt(Path java) throws Exception {
    Path missing = dir.resolve("missing.properties");
    Run run =
        run(
            java,
            List.of(
                "-javaagent:" + agentJar(Premain.class.getName()),
                "-Dsemifaas.config=" + missing,
                "-version"));
    assertNotEquals(0, run.exitCode());
    assertTrue(
        run.stderr()
            .contains("semifaas: semifaas.config names " + missing + ", which does not exist"),
        run.stderr());
  }

  @Test
  void aConfigurationFileWithAForeignKeyStopsTheJvm() throws Exception {
    Path file = dir.resolve("semifaas.properties");
    Files.writeString(file, "timeout-ms=5\n");
    Run bad =
        run(
            javas().findFirst().orElseThrow(),
            List.of(
                "-javaagent:" + agentJar(Premain.class.getName()),
                "-Dsemifaas.config=" + file,
                "-version"));
    assertNotEquals(0, bad.exitCode());
    assertTrue(bad.stderr().contains("'timeout-ms'"), bad.stderr());
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
