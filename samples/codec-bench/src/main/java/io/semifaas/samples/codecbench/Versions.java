package io.semifaas.samples.codecbench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** Library versions as Maven recorded them in the jar (shading drops manifest versions). */
final class Versions {

  private Versions() {}

  static String of(String groupId, String artifactId) {
    String path = "META-INF/maven/" + groupId + "/" + artifactId + "/pom.properties";
    try (InputStream in = Versions.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        return "?";
      }
      Properties properties = new Properties();
      properties.load(in);
      return properties.getProperty("version", "?");
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + path, e);
    }
  }
}
