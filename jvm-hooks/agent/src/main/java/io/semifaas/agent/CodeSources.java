package io.semifaas.agent;

import io.semifaas.common.ExportScope;
import java.net.URL;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a class or resource comes from: the application's own code (its jars and directories,
 * e.g. a Spring Boot jar's {@code BOOT-INF/classes} and {@code BOOT-INF/lib}), or the JDK's
 * modules ({@code jrt:}) and the agent's own jar, which a function is never served from.
 */
final class CodeSources {
  /** The agent's code locations as URL prefixes (its jar, or its class directories in tests). */
  private static final List<String> AGENT = agentLocations();

  private CodeSources() {}

  /** True when {@code url} (a class loader's resource URL) lies in the application's own code. */
  static boolean isApplicationCode(URL url) {
    String protocol = url.getProtocol();
    if ("jrt".equals(protocol)) {
      return false;
    }
    String location = url.toString();
    for (String agent : AGENT) {
      if (location.startsWith(agent)) {
        return false;
      }
    }
    return true;
  }

  private static List<String> agentLocations() {
    List<String> prefixes = new ArrayList<>();
    // The agent's jar shades the common module; as separate modules (tests) both count.
    for (Class<?> type : List.of(CodeSources.class, ExportScope.class)) {
      CodeSource source = type.getProtectionDomain().getCodeSource();
      URL location = source == null ? null : source.getLocation();
      if (location == null) {
        continue;
      }
      String text = location.toString();
      // A jar's entries are jar:<location>!/...; a directory's are <location>... .
      prefixes.add(text.endsWith("/") ? text : "jar:" + text + "!/");
    }
    return List.copyOf(prefixes);
  }
}
