package io.semifaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Library classes come from their jar: fetched once in chunks, checked against its hash, cached
 * on disk, reported to the server once defined; a jar that does not match its hash is not used.
 */
class LibraryJarCacheTest {
  private static final String HELPER = "io.semifaas.runtime.fixture.Helper";
  private static final String PACKAGE = "io.semifaas.runtime.fixture";
  /** Small chunks, so one jar takes several requests. */
  private static final int CHUNK = 200;

  @TempDir Path cache;

  /** A server stand-in that serves one library jar under a hash it is told. */
  static final class JarServer extends FunctionRuntimeTest.MapFallback {
    final byte[] jar;
    final String advertised;
    final List<String> reported = new ArrayList<>();

    JarServer(byte[] jar, String advertised) {
      this.jar = jar;
      this.advertised = advertised;
    }

    @Override
    public byte[] libraryManifest() {
      return (advertised + " " + jar.length + " " + PACKAGE + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public synchronized byte[] libraryJarChunk(String sha256, long offset) {
      asked.add("chunk " + offset);
      assertEquals(advertised, sha256);
      int start = (int) offset;
      return Arrays.copyOfRange(jar, start, Math.min(jar.length, start + CHUNK));
    }

    @Override
    public synchronized void libraryClassesDefined(String[] names) {
      reported.addAll(List.of(names));
    }
  }

  @BeforeEach
  void useTempCache() {
    System.setProperty(LibraryJarCache.DIRECTORY_KEY, cache.toString());
  }

  @AfterEach
  void restore() {
    System.clearProperty(LibraryJarCache.DIRECTORY_KEY);
  }

  private static byte[] jarWith(String binaryName) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (JarOutputStream jar = new JarOutputStream(bytes)) {
      jar.putNextEntry(new JarEntry(binaryName.replace('.', '/') + ".class"));
      jar.write(FunctionRuntimeTest.classFile(binaryName));
      jar.closeEntry();
    }
    return bytes.toByteArray();
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  @Test
  void aLibraryClassIsDefinedFromItsJarFetchedOnceAndReported() throws Exception {
    byte[] jar = jarWith(HELPER);
    JarServer server = new JarServer(jar, sha256(jar));
    ClosureClassLoader loader = new ClosureClassLoader("c1", Map.of(), Map.of(), server);

    Class<?> helper = loader.loadClass(HELPER);
    assertSame(loader, helper.getClassLoader());
    int chunks = (jar.length + CHUNK - 1) / CHUNK;
    assertTrue(chunks > 1, "the jar takes several chunks");
    assertEquals(chunks, server.asked.size(), server.asked.toString());
    assertTrue(server.asked.stream().allMatch(a -> a.startsWith("chunk ")), server.asked.toString());
    assertTrue(Files.isRegularFile(cache.resolve(sha256(jar) + ".jar")));
    try (var files = Files.list(cache)) {
      assertEquals(1, files.count(), "no partial file is left");
    }

    LibraryJarCache.of(server).reportDefined();
    assertEquals(List.of(HELPER), server.reported);
    LibraryJarCache.of(server).reportDefined();
    assertEquals(List.of(HELPER), server.reported, "each class is reported once");

    // Another loader of the same server reads the jar already there.
    server.asked.clear();
    new ClosureClassLoader("c2", Map.of(), Map.of(), server).loadClass(HELPER);
    assertEquals(List.of(), server.asked);
  }

  @Test
  void aJarWhoseBytesDoNotMatchItsHashIsNotUsed() throws Exception {
    byte[] jar = jarWith(HELPER);
    String wrong = "0".repeat(64);
    JarServer server = new JarServer(jar, wrong);
    server.classes.put(HELPER, FunctionRuntimeTest.classFile(HELPER));

    Class<?> helper = new ClosureClassLoader("c3", Map.of(), Map.of(), server).loadClass(HELPER);
    assertEquals(HELPER, helper.getName());
    assertTrue(server.asked.contains("class " + HELPER), "it came by load_class: " + server.asked);
    assertFalse(Files.exists(cache.resolve(wrong + ".jar")));
    try (var files = Files.list(cache)) {
      assertEquals(0, files.count(), "the mismatching download is deleted");
    }
  }
}
