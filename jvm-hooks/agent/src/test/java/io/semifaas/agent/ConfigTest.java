package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigTest {
  @TempDir Path dir;

  private static Properties properties(String... keyValues) {
    Properties properties = new Properties();
    for (int i = 0; i < keyValues.length; i += 2) {
      properties.setProperty(keyValues[i], keyValues[i + 1]);
    }
    return properties;
  }

  private Path file(String text) throws Exception {
    Path path = dir.resolve("semifaas.properties");
    Files.writeString(path, text, StandardCharsets.UTF_8);
    return path;
  }

  @Test
  void environmentVariablesMapToKnownMultiWordKeys() {
    assertEquals(
        "semifaas.timeout-ms", AgentConfig.keyForEnvironmentVariable("SEMIFAAS_TIMEOUT_MS"));
    assertEquals(
        "semifaas.lambda.endpoint",
        AgentConfig.keyForEnvironmentVariable("SEMIFAAS_LAMBDA_ENDPOINT"));
    assertEquals(
        "semifaas.admin.port", AgentConfig.keyForEnvironmentVariable("SEMIFAAS_ADMIN_PORT"));
    assertEquals("semifaas.ratio", AgentConfig.keyForEnvironmentVariable("SEMIFAAS_RATIO"));
    assertEquals("semifaas.config", AgentConfig.keyForEnvironmentVariable("SEMIFAAS_CONFIG"));
  }

  @Test
  void otherSemifaasProgramsVariablesAreNotAgentSettings() {
    for (String name : AgentConfig.OTHER_TOOLS_VARIABLES) {
      assertEquals(null, AgentConfig.keyForEnvironmentVariable(name), name);
    }
  }

  @Test
  void unknownEnvironmentVariablesPassThroughSoTheyCanBeRejectedByName() {
    assertEquals(
        "semifaas.no.such.key", AgentConfig.keyForEnvironmentVariable("SEMIFAAS_NO_SUCH_KEY"));
  }

  @Test
  void otherEnvironmentVariablesAreIgnored() {
    assertNull(AgentConfig.keyForEnvironmentVariable("PATH"));
    assertNull(AgentConfig.keyForEnvironmentVariable("SEMIFAASX"));
    Map<String, String> mapped =
        AgentConfig.fromEnvironment(Map.of("HOME", "/root", "SEMIFAAS_RATIO", "0.5"));
    assertEquals(Map.of("semifaas.ratio", "0.5"), mapped);
  }

  @Test
  void onlySemifaasSystemPropertiesAreTaken() {
    Map<String, String> taken =
        AgentConfig.fromSystemProperties(
            properties("semifaas.ratio", "1", "java.home", "/jdk", "semifaasx", "no"));
    assertEquals(Map.of("semifaas.ratio", "1"), taken);
  }

  @Test
  void systemPropertiesBeatEnvironmentWhichBeatsTheFile() throws Exception {
    Path file = file("semifaas.ratio=0.1\nsemifaas.function=from-file\nsemifaas.log=debug\n");
    Map<String, String> merged =
        AgentConfig.collect(
            properties("semifaas.ratio", "0.9"),
            Map.of(
                "SEMIFAAS_RATIO", "0.5",
                "SEMIFAAS_FUNCTION", "from-env",
                "SEMIFAAS_CONFIG", file.toString()));
    assertEquals("0.9", merged.get("semifaas.ratio"));
    assertEquals("from-env", merged.get("semifaas.function"));
    assertEquals("debug", merged.get("semifaas.log"));
    assertEquals(file.toString(), merged.get("semifaas.config"));
    assertEquals(
        List.of("semifaas.config", "semifaas.function", "semifaas.log", "semifaas.ratio"),
        List.copyOf(merged.keySet()),
        "keys are passed in a stable order");
  }

  @Test
  void configFileNamedBySystemPropertyWinsOverEnvironment() throws Exception {
    Path file = file("semifaas.function=chosen\n");
    Map<String, String> merged =
        AgentConfig.collect(
            properties("semifaas.config", file.toString()),
            Map.of("SEMIFAAS_CONFIG", dir.resolve("absent.properties").toString()));
    assertEquals("chosen", merged.get("semifaas.function"));
  }

  @Test
  void missingConfigFileIsNamed() {
    Path missing = dir.resolve("absent.properties");
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> AgentConfig.collect(properties("semifaas.config", missing.toString()), Map.of()));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
  }

  @Test
  void fileKeysWithoutThePrefixAreRejectedByName() throws Exception {
    Path file = file("ratio=0.5\n");
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> AgentConfig.collect(properties("semifaas.config", file.toString()), Map.of()));
    assertTrue(e.getMessage().contains("'ratio'"), e.getMessage());
    assertTrue(e.getMessage().contains("semifaas.ratio"), e.getMessage());
  }

  @Test
  void noSourcesGiveAnEmptyConfiguration() throws Exception {
    assertTrue(AgentConfig.collect(new Properties(), Map.of()).isEmpty());
  }
}
