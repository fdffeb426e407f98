package io.semifaas.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/** Loads {@code libsemifaas_agent.so} from inside the agent jar. */
final class NativeLibrary {
  static final String RESOURCE = "native/linux-x86_64/libsemifaas_agent.so";

  private static boolean loaded;

  private NativeLibrary() {}

  /**
   * Extracts the library to a private temporary file and loads it (System.load wants a path), once
   * per JVM; throws IllegalStateException naming the problem.
   */
  static synchronized void load() {
    if (loaded) {
      return;
    }
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
      throw new IllegalStateException(
          "the agent's native library is built for linux-x86_64; this JVM runs on "
              + os
              + "-"
              + arch);
    }
    Path file;
    try (InputStream in = NativeLibrary.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(
            "the agent jar has no native library at "
                + RESOURCE
                + "; build it with `cargo build --release -p semifaas-agent` before packaging the"
                + " jar");
      }
      // createTempFile makes the file readable by its owner only.
      file = Files.createTempFile("libsemifaas_agent", ".so");
      file.toFile().deleteOnExit();
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new IllegalStateException(
          "cannot extract the agent's native library to a temporary file: " + e.getMessage(), e);
    }
    try {
      System.load(file.toAbsolutePath().toString());
    } catch (UnsatisfiedLinkError e) {
      throw new IllegalStateException(
          "cannot load the agent's native library: " + e.getMessage(), e);
    }
    loaded = true;
  }

  /** The configuration keys of the native side, the one list of them; loads the library first. */
  static List<String> configKeys() {
    load();
    String[] keys;
    try {
      keys = NativeBridge.configKeys();
    } catch (UnsatisfiedLinkError e) {
      throw missingExports(e);
    }
    if (keys == null) {
      throw new IllegalStateException("the agent's native library could not list its keys");
    }
    return List.of(keys);
  }

  /** The library is not the one this jar was built for. */
  static IllegalStateException missingExports(UnsatisfiedLinkError e) {
    return new IllegalStateException(
        "the agent's native library does not export the JNI functions of "
            + NativeBridge.class.getName()
            + " ("
            + e.getMessage()
            + "); rebuild it with `cargo build --release -p semifaas-agent` and repackage the"
            + " jar",
        e);
  }
}
