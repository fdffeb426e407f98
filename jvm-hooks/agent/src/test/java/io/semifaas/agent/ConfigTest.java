package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
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

  /** The native library's key list, the one the agent uses. */
  private static final List<String> KEYS = NativeLibrary.configKeys();

  private static Map<String, String> collect(Properties system, Map<String, String> environment)
      throws ConfigException {
    return AgentConfig.collect(system, environment, KEYS, warning -> {});
  }

  @Test
  void theKeyListComesFromTheNativeLibrary() {
    assertTrue(KEYS.contains("semifaas.ratio"), KEYS.toString());
    assertTrue(KEYS.contains(AgentConfig.ENABLED_KEY), KEYS.toString());
    assertTrue(KEYS.contains(AgentConfig.CONFIG_KEY), KEYS.toString());
    assertTrue(KEYS.contains("semifaas.placement-header"), KEYS.toString());
    assertTrue(KEYS.contains("semifaas.offload.max-in-flight"), KEYS.toString());
    assertTrue(KEYS.contains("semifaas.shadow.rounds"), KEYS.toString());
    for (String key :
        List.of(JavaSettings.SHADOW_SAMPLES, JavaSettings.VERIFY, PlacementHeader.KEY)) {
      assertTrue(KEYS.contains(key), key);
    }
  }

  @Test
  void everyKeyHasItsOwnEnvironmentVariable() {
    Set<String> variables = new HashSet<>();
    for (String key : KEYS) {
      String variable = AgentConfig.environmentVariable(key);
      assertTrue(variable.startsWith(AgentConfig.ENV_PREFIX), variable);
      assertTrue(variables.add(variable), "two keys share " + variable);
      assertEquals(key, AgentConfig.keyForEnvironmentVariable(variable, KEYS), variable);
      assertFalse(AgentConfig.OTHER_TOOLS_VARIABLES.contains(variable), variable);
    }
  }

  @Test
  void everyKeySetThroughTheEnvironmentIsTaken() {
    Map<String, String> environment = new HashMap<>();
    for (String key : KEYS) {
      environment.put(AgentConfig.environmentVariable(key), "value of " + key);
    }
    List<String> warnings = new ArrayList<>();
    Map<String, String> merged =
        new AgentConfig.Sources(Map.of(), environment, Map.of()).merge(KEYS, warnings::add);
    assertEquals(List.of(), warnings);
    assertEquals(KEYS.size(), merged.size(), merged.toString());
    for (String key : merged.keySet()) {
      assertEquals("value of " + key, merged.get(key));
    }
  }

  @Test
  void environmentVariablesMapToMultiWordKeys() {
    assertEquals(
        "semifaas.timeout-ms", AgentConfig.keyForEnvironmentVariable("SEMIFAAS_TIMEOUT_MS", KEYS));
    assertEquals(
        "semifaas.lambda.endpoint",
        AgentConfig.keyForEnvironmentVariable("SEMIFAAS_LAMBDA_ENDPOINT", KEYS));
    assertEquals(
        "semifaas.placement-header",
        AgentConfig.keyForEnvironmentVariable("SEMIFAAS_PLACEMENT_HEADER", KEYS));
    assertEquals(
        "semifaas.offload.max-in-flight",
        AgentConfig.keyForEnvironmentVariable("SEMIFAAS_OFFLOAD_MAX_IN_FLIGHT", KEYS));
    assertEquals(
        "semifaas.shadow.rounds",
        AgentConfig.keyForEnvironmentVariable("SEMIFAAS_SHADOW_ROUNDS", KEYS));
    assertEquals("semifaas.ratio", AgentConfig.keyForEnvironmentVariable("semifaas_ratio", KEYS));
  }

  @Test
  void otherSemifaasProgramsVariablesAreNotAgentSettings() {
    Map<String, String> environment = new HashMap<>();
    for (String name : AgentConfig.OTHER_TOOLS_VARIABLES) {
      environment.put(name, "x");
    }
    assertEquals(Map.of(), AgentConfig.agentVariables(environment));
  }

  @Test
  void unknownEnvironmentVariablesAreAWarningAndIgnored() throws Exception {
    List<String> warnings = new ArrayList<>();
    Map<String, String> merged =
        AgentConfig.collect(
            new Properties(),
            Map.of("SEMIFAAS_NO_SUCH_KEY", "1", "SEMIFAAS_RATIO", "0.5"),
            KEYS,
            warnings::add);
    assertEquals(Map.of("semifaas.ratio", "0.5"), merged);
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("SEMIFAAS_NO_SUCH_KEY"), warnings.get(0));
    assertNull(AgentConfig.keyForEnvironmentVariable("SEMIFAAS_NO_SUCH_KEY", KEYS));
  }

  @Test
  void otherEnvironmentVariablesAreIgnored() throws Exception {
    assertEquals(
        Map.of("SEMIFAAS_RATIO", "0.5"),
        AgentConfig.agentVariables(
            Map.of("HOME", "/root", "SEMIFAASX", "1", "PATH", "/bin", "SEMIFAAS_RATIO", "0.5")));
    List<String> warnings = new ArrayList<>();
    Map<String, String> merged =
        AgentConfig.collect(
            new Properties(),
            Map.of("HOME", "/root", "SEMIFAAS_RATIO", "0.5"),
            KEYS,
            warnings::add);
    assertEquals(Map.of("semifaas.ratio", "0.5"), merged);
    assertEquals(List.of(), warnings);
  }

  @Test
  void enabledFalseInAnySourceTurnsTheAgentOff() throws Exception {
    Path missing = dir.resolve("absent.properties");
    AgentConfig.Sources off =
        AgentConfig.read(
            properties("semifaas.enabled", "false", "semifaas.config", missing.toString()),
            Map.of());
    assertFalse(off.enabled(), "and the missing file is not read");
    assertFalse(AgentConfig.read(new Properties(), Map.of("SEMIFAAS_ENABLED", " FALSE")).enabled());
    Path file = file("semifaas.enabled=false\n");
    assertFalse(
        AgentConfig.read(properties("semifaas.config", file.toString()), Map.of()).enabled());
    assertTrue(
        AgentConfig.read(
                properties("semifaas.enabled", "true", "semifaas.config", file.toString()),
                Map.of())
            .enabled(),
        "system properties beat the file");
    assertTrue(AgentConfig.read(new Properties(), Map.of()).enabled(), "on by default");
    assertTrue(
        AgentConfig.read(properties("semifaas.enabled", "yes"), Map.of()).enabled(),
        "the native side rejects other values by name");
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
        collect(
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
        collect(
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
            () -> collect(properties("semifaas.config", missing.toString()), Map.of()));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
  }

  @Test
  void fileKeysWithoutThePrefixAreRejectedByName() throws Exception {
    Path file = file("ratio=0.5\n");
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> collect(properties("semifaas.config", file.toString()), Map.of()));
    assertTrue(e.getMessage().contains("'ratio'"), e.getMessage());
    assertTrue(e.getMessage().contains("semifaas.ratio"), e.getMessage());
  }

  @Test
  void noSourcesGiveAnEmptyConfiguration() throws Exception {
    assertTrue(collect(new Properties(), Map.of()).isEmpty());
  }
}
