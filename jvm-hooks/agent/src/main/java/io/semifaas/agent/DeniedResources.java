package io.semifaas.agent;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Resources the server never serves to a function, whatever capability asks: the application's
 * configuration (which holds its credentials) and key material. Glob patterns ({@code *} any run
 * of characters but {@code /}, {@code ?} one), matched without regard to case against the
 * resource's file name, or against its whole path when the pattern has a {@code /}; extended with
 * {@value #KEY} (comma-separated).
 */
final class DeniedResources {
  static final String KEY = "semifaas.fallback.deny-resources";

  static final List<String> DEFAULTS =
      List.of(
          "application*.properties",
          "application*.yml",
          "application*.yaml",
          "bootstrap*.properties",
          "bootstrap*.yml",
          "bootstrap*.yaml",
          "*.jks",
          "*.p12",
          "*.pfx",
          "*.keystore",
          "*.truststore",
          "*.pem",
          "*.key");

  private record Glob(String text, Pattern pattern, boolean wholePath) {}

  private static volatile List<Glob> globs = compile(List.of());

  private DeniedResources() {}

  /** The defaults plus the patterns of {@value #KEY} (null: none). */
  static void configure(String list) {
    List<String> extra = new ArrayList<>();
    if (list != null) {
      for (String part : list.split(",")) {
        if (!part.isBlank()) {
          extra.add(part.strip());
        }
      }
    }
    globs = compile(extra);
  }

  /** The pattern {@code path} matches, or null when it may be served. */
  static String deniedBy(String path) {
    String normalized = path.replace('\\', '/');
    while (normalized.endsWith("/")) {
      normalized = normalized.substring(0, normalized.length() - 1);
    }
    while (normalized.startsWith("/")) {
      normalized = normalized.substring(1);
    }
    String fileName = normalized.substring(normalized.lastIndexOf('/') + 1);
    for (Glob glob : globs) {
      if (glob.pattern.matcher(glob.wholePath ? normalized : fileName).matches()) {
        return glob.text;
      }
    }
    return null;
  }

  private static List<Glob> compile(List<String> extra) {
    List<Glob> compiled = new ArrayList<>();
    for (String text : DEFAULTS) {
      compiled.add(glob(text));
    }
    for (String text : extra) {
      compiled.add(glob(text));
    }
    return List.copyOf(compiled);
  }

  private static Glob glob(String text) {
    String stripped = text.startsWith("/") ? text.substring(1) : text;
    StringBuilder regex = new StringBuilder();
    for (char c : stripped.toCharArray()) {
      switch (c) {
        case '*' -> regex.append("[^/]*");
        case '?' -> regex.append("[^/]");
        default -> regex.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return new Glob(
        text,
        Pattern.compile(regex.toString(), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE),
        stripped.indexOf('/') >= 0);
  }
}
