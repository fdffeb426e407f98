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

/**
 * Collects the agent's {@code semifaas.*} configuration as javaagent users expect: system
 * properties, then {@code SEMIFAAS_*} environment variables, then the properties file named by
 * {@code semifaas.config}. Values are not checked here: the native side validates every key and
 * rejects unknown ones by name.
 */
final class AgentConfig {
  static final String PREFIX = "semifaas.";
  static final String ENV_PREFIX = "SEMIFAAS_";
  static final String CONFIG_KEY = "semifaas.config";

  /** Keys whose names contain separators an environment variable cannot spell. */
  static final List<String> KNOWN_KEYS =
      List.of(
          "semifaas.ratio",
          "semifaas.platform",
          "semifaas.lambda.endpoint",
          "semifaas.function",
          "semifaas.admin.port",
          "semifaas.admin.host",
          "semifaas.fallback.port",
          "semifaas.fallback.host",
          "semifaas.timeout-ms",
          "semifaas.config",
          "semifaas.log",
          "semifaas.mode",
          "semifaas.auto.capacity",
          "semifaas.auto.max-ratio",
          "semifaas.auto.interval-ms",
          "semifaas.min-cpu-ms",
          "semifaas.profile.samples",
          "semifaas.include",
          "semifaas.exclude",
          "semifaas.shadow.samples",
          "semifaas.remote-classes",
          "semifaas.copy-classes",
          "semifaas.read-only-methods");

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

  /** The merged configuration of this JVM, sorted by key. */
  static Map<String, String> collect(Properties systemProperties, Map<String, String> environment)
      throws ConfigException {
    Map<String, String> fromSystem = fromSystemProperties(systemProperties);
    Map<String, String> fromEnvironment = fromEnvironment(environment);
    String file = fromSystem.getOrDefault(CONFIG_KEY, fromEnvironment.get(CONFIG_KEY));
    Map<String, String> fromFile = file == null ? Map.of() : readFile(Path.of(file));
    return merge(fromSystem, fromEnvironment, fromFile);
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

  static Map<String, String> fromEnvironment(Map<String, String> environment) {
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<String, String> entry : environment.entrySet()) {
      String key = keyForEnvironmentVariable(entry.getKey());
      if (key != null) {
        out.put(key, entry.getValue());
      }
    }
    return out;
  }

  /**
   * The configuration key of an environment variable, or null if it is not a {@code SEMIFAAS_}
   * variable. Known keys match by normalising both sides ({@code SEMIFAAS_TIMEOUT_MS} is {@code
   * semifaas.timeout-ms}); others become lower case with {@code _} as {@code .}, so the native side
   * can name them when it rejects them.
   */
  static String keyForEnvironmentVariable(String name) {
    if (name == null
        || !name.toUpperCase(Locale.ROOT).startsWith(ENV_PREFIX)
        || OTHER_TOOLS_VARIABLES.contains(name.toUpperCase(Locale.ROOT))) {
      return null;
    }
    String normalised = normalise(name);
    for (String known : KNOWN_KEYS) {
      if (normalise(known).equals(normalised)) {
        return known;
      }
    }
    return name.toLowerCase(Locale.ROOT).replace('_', '.');
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
