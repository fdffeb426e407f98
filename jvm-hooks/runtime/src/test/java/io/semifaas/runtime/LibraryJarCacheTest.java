package io.semifaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
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
  void useTempCache() throws IOException {
    LibraryJarCache.forgetAll();
    System.setProperty(LibraryJarCache.DIRECTORY_KEY, cache.toString());
  }

  @AfterEach
  void restore() throws IOException {
    LibraryJarCache.forgetAll();
    System.clearProperty(LibraryJarCache.DIRECTORY_KEY);
    System.clearProperty(LibraryJarDirectory.CACHE_MAX_BYTES_KEY);
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
    assertEquals(List.of(sha256(jar) + ".jar", sha256(jar) + ".ok"), names(cache),
        "the jar and its sidecar, no partial file");

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

  @Test
  void aManifestHashThatIsNoSha256IsIgnored() throws Exception {
    byte[] jar = jarWith(HELPER);
    // Upper case: the jar would be fetched, then not match; a path would name a file elsewhere.
    JarServer server = new JarServer(jar, sha256(jar).toUpperCase(java.util.Locale.ROOT));
    server.classes.put(HELPER, FunctionRuntimeTest.classFile(HELPER));

    new ClosureClassLoader("c12", Map.of(), Map.of(), server).loadClass(HELPER);
    assertEquals(List.of("class " + HELPER), server.asked, "no jar asked for, by load_class");
    assertEquals(List.of(), names(cache));
  }

  private static List<String> names(Path dir) throws IOException {
    try (var files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  /** Fetches the helper's jar into the cache, then starts afresh as a new instance would. */
  private JarServer cachedThenNewInstance() throws Exception {
    byte[] jar = jarWith(HELPER);
    JarServer server = new JarServer(jar, sha256(jar));
    new ClosureClassLoader("first", Map.of(), Map.of(), server).loadClass(HELPER);
    assertTrue(server.asked.size() > 1, server.asked.toString());
    LibraryJarCache.forgetAll();
    server.asked.clear();
    return server;
  }

  @Test
  void aNewInstanceReusesTheCachedJarWithoutHashingIt() throws Exception {
    JarServer server = cachedThenNewInstance();
    Path file = cache.resolve(server.advertised + ".jar");
    assertEquals("r--------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
    int hashed = LibraryJarCache.hashedJars();

    Class<?> helper = new ClosureClassLoader("c4", Map.of(), Map.of(), server).loadClass(HELPER);
    assertEquals(HELPER, helper.getName());
    assertEquals(List.of(), server.asked, "nothing fetched");
    assertEquals(hashed, LibraryJarCache.hashedJars(), "the jar is not hashed again");
  }

  @Test
  void aJarTouchedSinceItWasHashedIsHashedAgainAndATamperedOneFetchedAgain() throws Exception {
    JarServer server = cachedThenNewInstance();
    Path file = cache.resolve(server.advertised + ".jar");
    FileTime modified = Files.getLastModifiedTime(file);

    // Only its time changed: hashed again, still good, recorded again.
    Files.setLastModifiedTime(file, FileTime.fromMillis(modified.toMillis() - 60_000));
    int hashed = LibraryJarCache.hashedJars();
    new ClosureClassLoader("c5", Map.of(), Map.of(), server).loadClass(HELPER);
    assertEquals(hashed + 1, LibraryJarCache.hashedJars());
    assertEquals(List.of(), server.asked, "its content still matches: nothing fetched");

    // Same size and modification time, other bytes: the change time gives it away.
    LibraryJarCache.forgetAll();
    modified = Files.getLastModifiedTime(file);
    byte[] tampered = Files.readAllBytes(file);
    tampered[tampered.length / 2] ^= 1;
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    Files.write(file, tampered);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--------"));
    Files.setLastModifiedTime(file, modified);
    new ClosureClassLoader("c6", Map.of(), Map.of(), server).loadClass(HELPER);
    assertTrue(server.asked.size() > 1, "fetched again: " + server.asked);
    assertEquals(server.advertised, sha256(Files.readAllBytes(file)), "the good jar is back");
  }

  @Test
  void aCacheDirectoryOthersCanWriteToIsNotUsed() throws Exception {
    JarServer server = cachedThenNewInstance();
    Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxrwxrwx"));
    List<String> before = names(cache);

    Class<?> helper = new ClosureClassLoader("c7", Map.of(), Map.of(), server).loadClass(HELPER);
    assertEquals(HELPER, helper.getName());
    assertTrue(server.asked.size() > 1, "fetched into a private directory: " + server.asked);
    assertEquals(before, names(cache), "nothing read from or written to the shared one");
  }

  @Test
  void aSymbolicLinkAsTheCacheDirectoryIsNotUsed() throws Exception {
    JarServer server = cachedThenNewInstance();
    Path link = Files.createSymbolicLink(cache.resolveSibling(cache.getFileName() + "-link"), cache);
    try {
      System.setProperty(LibraryJarCache.DIRECTORY_KEY, link.toString());
      new ClosureClassLoader("c8", Map.of(), Map.of(), server).loadClass(HELPER);
      assertTrue(server.asked.size() > 1, "fetched into a private directory: " + server.asked);
    } finally {
      Files.delete(link);
    }
  }

  @Test
  void theCacheKeepsItsCapByRemovingTheLeastRecentlyUsedJarsNeverAnOpenOne() throws Exception {
    byte[] jar = jarWith(HELPER);
    long now = System.currentTimeMillis();
    // Two jars of earlier instances: the older file was used more recently (its sidecar).
    Path usedLately = fakeJar("a", 1000, now - 7_200_000);
    Files.writeString(cache.resolve("a".repeat(64) + ".ok"), "stale");
    Path usedLongAgo = fakeJar("b", 1000, now - 3_600_000);
    Path orphanSidecar = Files.writeString(cache.resolve("c".repeat(64) + ".ok"), "no jar");
    Path stalePart = Files.write(cache.resolve("d".repeat(64) + "123.part"), new byte[10]);
    Files.setLastModifiedTime(stalePart, FileTime.fromMillis(now - 3_600_000));
    Path livePart = Files.write(cache.resolve("e".repeat(64) + "456.part"), new byte[10]);
    System.setProperty(LibraryJarDirectory.CACHE_MAX_BYTES_KEY, String.valueOf(jar.length + 1000));

    JarServer server = new JarServer(jar, sha256(jar));
    new ClosureClassLoader("c9", Map.of(), Map.of(), server).loadClass(HELPER);
    assertTrue(Files.exists(usedLately), "within the cap once the older one is gone");
    assertFalse(Files.exists(usedLongAgo), "the least recently used goes");
    assertFalse(Files.exists(orphanSidecar));
    assertFalse(Files.exists(stalePart), "a partial download of a dead instance goes");
    assertTrue(Files.exists(livePart), "one being written stays");

    // A cap below the open jar's size: everything else goes, the open jar stays and is used.
    System.setProperty(LibraryJarDirectory.CACHE_MAX_BYTES_KEY, "0");
    LibraryJarDirectory dir = LibraryJarDirectory.open(cache);
    assertEquals(jar.length, dir.evict(0, java.util.Set.of(server.advertised)));
    assertEquals(java.util.stream.Stream.of(sha256(jar) + ".jar", sha256(jar) + ".ok",
        livePart.getFileName().toString()).sorted().toList(), names(cache));
    server.asked.clear();
    new ClosureClassLoader("c10", Map.of(), Map.of(), server).loadClass(HELPER);
    assertEquals(List.of(), server.asked, "the open jar serves on");
  }

  private Path fakeJar(String digit, int size, long modifiedMillis) throws IOException {
    Path file = Files.write(cache.resolve(digit.repeat(64) + ".jar"), new byte[size]);
    Files.setLastModifiedTime(file, FileTime.fromMillis(modifiedMillis));
    return file;
  }

  @Test
  void aBadCapIsRefusedNamingItsKey() throws Exception {
    byte[] jar = jarWith(HELPER);
    JarServer server = new JarServer(jar, sha256(jar));
    server.classes.put(HELPER, FunctionRuntimeTest.classFile(HELPER));
    System.setProperty(LibraryJarDirectory.CACHE_MAX_BYTES_KEY, "512MB");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, LibraryJarDirectory::cacheMaxBytes);
    assertEquals("semifaas.library-jars.cache-max-bytes must be a whole number of bytes, 0 or"
        + " more, not '512MB'", e.getMessage());
    System.setProperty(LibraryJarDirectory.CACHE_MAX_BYTES_KEY, "-1");
    assertThrows(IllegalArgumentException.class, LibraryJarDirectory::cacheMaxBytes);

    new ClosureClassLoader("c11", Map.of(), Map.of(), server).loadClass(HELPER);
    assertTrue(server.asked.contains("class " + HELPER), "no jar is used: " + server.asked);
    assertEquals(List.of(), names(cache));
  }
}
