package io.semifaas.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/** Loads {@code libsemifaas_agent.so} from inside the agent jar. */
final class NativeLibrary {
  static final String RESOURCE = "native/linux-x86_64/libsemifaas_agent.so";

  private NativeLibrary() {}

  /** Extracts the library to a private temporary file and loads it (System.load wants a path). */
  static void load() {
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
  }
}
