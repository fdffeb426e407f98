package io.semifaas.agent;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Collects the agent's {@code semifaas.*} configuration as javaagent users expect: system
 * properties, then {@code SEMIFAAS_*} environment variables, then the properties file named by
 * {@code semifaas.config}. Values are not checked here: the native side validates every key and
 * rejects unknown ones by name. The list of keys is the native side's ({@code
 * NativeBridge.configKeys}); this class keeps none of its own.
 */
final class AgentConfig {
  static final String PREFIX = "semifaas.";
  static final String ENV_PREFIX = "SEMIFAAS_";
  static final String CONFIG_KEY = "semifaas.config";
  static final String ENABLED_KEY = "semifaas.enabled";

  /**
   * Variables of the other semifaas programs (the CLI, the test harness, the function shim): they
   * may be set in the environment a service is started from and are not agent settings.
   */
  static final List<String> OTHER_TOOLS_VARIABLES =
      List.of(
          "SEMIFAAS_DIST",
          "SEMIFAAS_JAVA",
          "SEMIFAAS_ADMIN",
          "SEMIFAAS_JAVA_HOME",
          "SEMIFAAS_RUNTIME_JAR",
          "SEMIFAAS_JVM_OPTS");

  private AgentConfig() {}

  /**
   * The three sources, before environment variables are matched to keys.
   *
   * @param system the {@code semifaas.*} system properties
   * @param environment the {@code SEMIFAAS_*} environment variables by name, other tools' left out
   * @param file the properties file's keys, or nothing when there is none
   */
  record Sources(
      Map<String, String> system, Map<String, String> environment, Map<String, String> file) {

    /** False when {@code semifaas.enabled} is {@code false} in the first source that sets it. */
    boolean enabled() {
      String value = system.get(ENABLED_KEY);
      if (value == null) {
        value = variable(environment, ENABLED_KEY);
      }
      if (value == null) {
        value = file.get(ENABLED_KEY);
      }
      return !isFalse(value);
    }

    /**
     * The merged configuration, sorted by key. Environment variables are matched to {@code keys};
     * one that names no key is reported to {@code warnings} and ignored.
     */
    Map<String, String> merge(List<String> keys, Consumer<String> warnings) {
      Map<String, String> fromEnvironment = new TreeMap<>();
      for (Map.Entry<String, String> entry : environment.entrySet()) {
        String key = keyForEnvironmentVariable(entry.getKey(), keys);
        if (key == null) {
          warnings.accept(
              "the environment variable "
                  + entry.getKey()
                  + " names no configuration key and is ignored (variables are the keys in upper"
                  + " case with '.' and '-' as '_', e.g. SEMIFAAS_RATIO for semifaas.ratio)");
        } else {
          fromEnvironment.put(key, entry.getValue());
        }
      }
      return AgentConfig.merge(system, fromEnvironment, file);
    }
  }

  /**
   * Reads the sources of this JVM's configuration. The properties file is not read when a system
   * property or environment variable already turns the agent off.
   */
  static Sources read(Properties systemProperties, Map<String, String> environment)
      throws ConfigException {
    Map<String, String> fromSystem = fromSystemProperties(systemProperties);
    Map<String, String> variables = agentVariables(environment);
    Sources withoutFile = new Sources(fromSystem, variables, Map.of());
    String file = fromSystem.getOrDefault(CONFIG_KEY, variable(variables, CONFIG_KEY));
    if (file == null || !withoutFile.enabled()) {
      return withoutFile;
    }
    return new Sources(fromSystem, variables, readFile(Path.of(file)));
  }

  /** The merged configuration of this JVM, sorted by key (see {@link Sources#merge}). */
  static Map<String, String> collect(
      Properties systemProperties,
      Map<String, String> environment,
      List<String> keys,
      Consumer<String> warnings)
      throws ConfigException {
    return read(systemProperties, environment).merge(keys, warnings);
  }

  /** Precedence: system properties over environment over file. */
  static Map<String, String> merge(
      Map<String, String> fromSystem,
      Map<String, String> fromEnvironment,
      Map<String, String> fromFile) {
    Map<String, String> merged = new TreeMap<>(fromFile);
    merged.putAll(fromEnvironment);
    merged.putAll(fromSystem);
    return merged;
  }

  static Map<String, String> fromSystemProperties(Properties properties) {
    Map<String, String> out = new TreeMap<>();
    for (String name : properties.stringPropertyNames()) {
      if (name.startsWith(PREFIX)) {
        out.put(name, properties.getProperty(name));
      }
    }
    return out;
  }

  /** The {@code SEMIFAAS_*} variables meant for the agent, by name. */
  static Map<String, String> agentVariables(Map<String, String> environment) {
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<String, String> entry : environment.entrySet()) {
      String name = entry.getKey();
      if (name != null
          && name.toUpperCase(Locale.ROOT).startsWith(ENV_PREFIX)
          && !OTHER_TOOLS_VARIABLES.contains(name.toUpperCase(Locale.ROOT))) {
        out.put(name, entry.getValue());
      }
    }
    return out;
  }

  /**
   * The configuration key of an environment variable: the key of {@code keys} it spells once both
   * are normalised (upper case, {@code .} and {@code -} as {@code _}: {@code SEMIFAAS_TIMEOUT_MS}
   * is {@code semifaas.timeout-ms}), or null when there is none.
   */
  static String keyForEnvironmentVariable(String name, List<String> keys) {
    if (name == null) {
      return null;
    }
    String normalised = normalise(name);
    for (String key : keys) {
      if (normalise(key).equals(normalised)) {
        return key;
      }
    }
    return null;
  }

  /** The environment variable of a key, e.g. {@code SEMIFAAS_TIMEOUT_MS}. */
  static String environmentVariable(String key) {
    return normalise(key);
  }

  /** The value of the variable that spells {@code key}, or null. */
  private static String variable(Map<String, String> variables, String key) {
    String wanted = normalise(key);
    for (Map.Entry<String, String> entry : variables.entrySet()) {
      if (normalise(entry.getKey()).equals(wanted)) {
        return entry.getValue();
      }
    }
    return null;
  }

  private static boolean isFalse(String value) {
    return value != null && value.strip().equalsIgnoreCase("false");
  }

  /** Reads a properties file; every key in it must start with {@code semifaas.}. */
  static Map<String, String> readFile(Path path) throws ConfigException {
    Properties properties = new Properties();
    try (Reader reader = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
      properties.load(reader);
    } catch (NoSuchFileException e) {
      throw new ConfigException(CONFIG_KEY + " names " + path + ", which does not exist", e);
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigException(
          CONFIG_KEY + " names " + path + ", which cannot be read: " + e.getMessage(), e);
    }
    Map<String, String> out = new TreeMap<>();
    for (String name : properties.stringPropertyNames()) {
      if (!name.startsWith(PREFIX)) {
        throw new ConfigException(
            "the configuration file "
                + path
                + " has the key '"
                + name
                + "'; keys must start with "
                + PREFIX
                + " (e.g. "
                + PREFIX
                + name
                + ")");
      }
      out.put(name, properties.getProperty(name));
    }
    return out;
  }

  private static String normalise(String key) {
    return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }
}
