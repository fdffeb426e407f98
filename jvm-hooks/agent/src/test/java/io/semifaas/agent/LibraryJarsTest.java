package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library index over real jars on a real class loader: which jars a function may fetch whole,
 * and which packages each serves.
 */
class LibraryJarsTest {
  @TempDir Path dir;

  /** A jar with the given entries (names → bytes); class entries get a class file's magic. */
  private Path jar(String name, Map<String, String> entries) throws IOException {
    Path path = dir.resolve(name);
    try (OutputStream out = Files.newOutputStream(path);
        JarOutputStream jar = new JarOutputStream(out)) {
      for (Map.Entry<String, String> e : entries.entrySet()) {
        jar.putNextEntry(new JarEntry(e.getKey()));
        jar.write(e.getValue().getBytes());
        jar.closeEntry();
      }
    }
    return path;
  }

  @Test
  void servesPackagesHeldByOneLoadedJarOnlyAndNeverAJarWithWithheldContent() throws Exception {
    Path spring = jar("spring.jar", Map.of(
        "org/lib/core/Core.class", "core",
        "org/lib/core/Util.class", "util",
        "org/lib/split/A.class", "a",
        "META-INF/versions/11/org/lib/multi/M.class", "m11",
        "org/lib/multi/M.class", "m"));
    Path other = jar("other.jar", Map.of(
        "org/lib/split/B.class", "b",
        "org/other/Other.class", "other"));
    Path keys = jar("keys.jar", Map.of(
        "org/keys/Keys.class", "k",
        "server.pem", "-----BEGIN PRIVATE KEY-----"));
    Path agent = jar("agent-like.jar", Map.of("io/semifaas/agent/Fake.class", "x"));
    Path notLoaded = jar("not-loaded.jar", Map.of("org/ghost/Ghost.class", "g"));
    Path classes = Files.createDirectories(dir.resolve("classes/org/app"));
    Files.writeString(classes.resolve("App.class"), "app");

    URL[] urls = {spring.toUri().toURL(), other.toUri().toURL(), keys.toUri().toURL(),
        agent.toUri().toURL(), dir.resolve("classes").toUri().toURL()};
    try (URLClassLoader loader = new URLClassLoader(urls, null)) {
      ApplicationClassLoaders.shared().remember(loader);
      LibraryJars.Index index = LibraryJars.build(List.of(
          spring.toString(), other.toString(), keys.toString(), agent.toString(),
          notLoaded.toString(), dir.resolve("classes").toString()));

      assertEquals(2, index.jars().size(), index.manifestText());
      LibraryJars.Jar springJar = index.byPackage().get("org/lib/core");
      // Split across two jars, or with a multi-release variant: class by class.
      assertEquals(List.of("org.lib.core"), springJar.packages());
      assertEquals(List.of("org.other"), index.byPackage().get("org/other").packages());
      // Withheld content, agent classes, or a jar the loader does not load from: never shipped.
      for (String pkg : List.of("org/lib/split", "org/lib/multi", "org/keys",
          "io/semifaas/agent", "org/ghost", "org/app")) {
        assertNull(index.byPackage().get(pkg), pkg);
      }

      byte[] bytes = Files.readAllBytes(spring);
      assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)),
          springJar.sha256());
      assertEquals(bytes.length, springJar.size());
      assertTrue(index.manifestText().contains(
          springJar.sha256() + " " + bytes.length + " org.lib.core\n"), index.manifestText());
      try (var in = springJar.bytes().open()) {
        in.skipNBytes(10);
        assertArrayEquals(java.util.Arrays.copyOfRange(bytes, 10, 30), in.readNBytes(20));
      }
      assertFalse(index.byPackage().containsKey(""));
    }
  }
}
