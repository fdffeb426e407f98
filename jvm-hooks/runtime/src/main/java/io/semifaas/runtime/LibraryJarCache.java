package io.semifaas.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * The application's library jars on this instance (docs/internals.md, "Library jars"): a class
 * whose package the server's manifest lists is read from that jar, fetched once by its SHA-256
 * into {@code $TMPDIR/semifaas-libs/<sha256>.jar} and checked against the hash, instead of class
 * by class. One per server (its manifest); the jar files are shared, since their names are their
 * content. A jar an earlier instance hashed is reused without hashing it again, and the directory
 * is bounded ({@link LibraryJarDirectory}). Classes defined from jars are reported to the server before it sees what they built.
 */
final class LibraryJarCache {
  private static final System.Logger LOG = System.getLogger("io.semifaas.runtime");

  /** Servers whose manifests an instance keeps at once (as the native side keeps connections). */
  private static final int SERVERS_MAX = 16;

  private static final Map<FallbackSource, LibraryJarCache> BY_SERVER = new ConcurrentHashMap<>();

  /** Open jars by SHA-256, for every server. */
  private static final Map<String, JarFile> OPEN = new ConcurrentHashMap<>();

  /** Jars that could not be fetched or verified: their classes come one by one. */
  private static final Set<String> FAILED = ConcurrentHashMap.newKeySet();

  private static final Map<String, Object> LOCKS = new ConcurrentHashMap<>();

  /** The checked cache directory, by the path it was configured as (one entry). */
  private static final Map<Path, LibraryJarDirectory> DIRECTORY = new HashMap<>();

  private static final AtomicInteger HASHED = new AtomicInteger();

  private record JarRef(String sha256, long size) {}

  private final FallbackSource source;
  /** Package (with dots) → its jar; null until the manifest is fetched. */
  private volatile Map<String, JarRef> byPackage;
  private final Set<String> defined = ConcurrentHashMap.newKeySet();

  private LibraryJarCache(FallbackSource source) {
    this.source = source;
  }

  static LibraryJarCache of(FallbackSource source) {
    LibraryJarCache cache = BY_SERVER.get(source);
    if (cache != null) {
      return cache;
    }
    if (BY_SERVER.size() >= SERVERS_MAX) {
      BY_SERVER.clear();
    }
    return BY_SERVER.computeIfAbsent(source, LibraryJarCache::new);
  }

  /** Where the cache directory is, when not under {@code $TMPDIR}. */
  static final String DIRECTORY_KEY = "semifaas.library-jars.dir";

  /** The directory jars are cached in: {@code $TMPDIR/semifaas-libs}, or {@value #DIRECTORY_KEY}. */
  static Path directory() {
    String configured = System.getProperty(DIRECTORY_KEY);
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured);
    }
    String tmp = System.getenv("TMPDIR");
    if (tmp == null || tmp.isBlank()) {
      tmp = System.getProperty("java.io.tmpdir");
    }
    return Path.of(tmp, "semifaas-libs");
  }

  /**
   * The class file of {@code binaryName} from its library jar, or null when no manifest jar
   * serves its package (or the jar could not be had): the caller then asks by {@code load_class}.
   */
  byte[] classBytes(String binaryName) {
    int dot = binaryName.lastIndexOf('.');
    if (dot <= 0) {
      return null;
    }
    JarRef ref = manifest().get(binaryName.substring(0, dot));
    if (ref == null) {
      return null;
    }
    JarFile jar = open(ref);
    if (jar == null) {
      return null;
    }
    JarEntry entry = jar.getJarEntry(binaryName.replace('.', '/') + ".class");
    if (entry == null) {
      return null;
    }
    try (InputStream in = jar.getInputStream(entry)) {
      return in.readAllBytes();
    } catch (IOException e) {
      return null;
    }
  }

  /** {@code binaryName}, read by {@link #classBytes}, is now defined. */
  void defined(String binaryName) {
    defined.add(binaryName);
  }

  /**
   * Reports the classes defined from jars since the last report. Throws {@link
   * UncheckedIOException} when the server cannot be told (it would refuse what they built).
   */
  void reportDefined() {
    if (defined.isEmpty()) {
      return;
    }
    List<String> names = new ArrayList<>(defined);
    source.libraryClassesDefined(names.toArray(String[]::new));
    names.forEach(defined::remove);
  }

  private Map<String, JarRef> manifest() {
    Map<String, JarRef> known = byPackage;
    if (known != null) {
      return known;
    }
    synchronized (this) {
      if (byPackage == null) {
        byPackage = fetchManifest();
      }
      return byPackage;
    }
  }

  /** The manifest by package; empty when the server has none or cannot send it. */
  private Map<String, JarRef> fetchManifest() {
    byte[] text;
    try {
      text = source.libraryManifest();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING,
          "semifaas: no library manifest, classes come one by one: " + e.getMessage());
      return Map.of();
    }
    if (text == null) {
      return Map.of();
    }
    Map<String, JarRef> packages = new HashMap<>();
    for (String line : new String(text, StandardCharsets.UTF_8).split("\n")) {
      String[] fields = line.split(" ", -1);
      if (fields.length != 3) {
        continue;
      }
      JarRef ref;
      try {
        ref = new JarRef(fields[0], Long.parseLong(fields[1]));
      } catch (NumberFormatException e) {
        continue;
      }
      if (!LibraryJarDirectory.isSha256(ref.sha256) || ref.size <= 0) {
        continue; // Its hash names a file: nothing else may.
      }
      for (String pkg : fields[2].split(",")) {
        if (!pkg.isEmpty()) {
          packages.put(pkg, ref);
        }
      }
    }
    return Map.copyOf(packages);
  }

  /** The jar, from the cache directory or fetched into it; null when it cannot be had. */
  private JarFile open(JarRef ref) {
    JarFile jar = OPEN.get(ref.sha256);
    if (jar != null || FAILED.contains(ref.sha256)) {
      return jar;
    }
    synchronized (LOCKS.computeIfAbsent(ref.sha256, k -> new Object())) {
      jar = OPEN.get(ref.sha256);
      if (jar != null || FAILED.contains(ref.sha256)) {
        return jar;
      }
      LibraryJarDirectory dir;
      long maxBytes;
      boolean fetched;
      long started = System.nanoTime();
      int hashedBefore = HASHED.get();
      try {
        // A bad cap is named in the warning below and no jar is used: the operator sees it.
        maxBytes = LibraryJarDirectory.cacheMaxBytes();
        dir = cacheDirectory();
        jar = cached(dir, ref);
        fetched = jar == null;
        if (fetched) {
          jar = new JarFile(fetch(dir, ref).toFile());
        }
        OPEN.put(ref.sha256, jar);
        long micros = (System.nanoTime() - started) / 1000;
        if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
          String how = fetched ? "fetched" : HASHED.get() > hashedBefore ? "hashed" : "reused";
          LOG.log(System.Logger.Level.DEBUG, "semifaas: library jar " + ref.sha256 + " ("
              + ref.size + " bytes) " + how + " and opened in " + micros + " µs");
        }
      } catch (IOException | RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "semifaas: library jar " + ref.sha256
            + " not used, its classes come one by one: " + e.getMessage());
        FAILED.add(ref.sha256);
        return null;
      }
      if (fetched) {
        try {
          dir.evict(maxBytes, OPEN.keySet());
        } catch (IOException | RuntimeException e) {
          LOG.log(System.Logger.Level.WARNING,
              "semifaas: library jar cache " + dir.path + " not trimmed: " + e);
        }
      }
      return jar;
    }
  }

  /** The cache directory of {@link #directory()}, checked once per configured path. */
  private static LibraryJarDirectory cacheDirectory() throws IOException {
    Path configured = directory();
    synchronized (DIRECTORY) {
      LibraryJarDirectory dir = DIRECTORY.get(configured);
      if (dir == null) {
        dir = LibraryJarDirectory.open(configured);
        DIRECTORY.clear();
        DIRECTORY.put(configured, dir);
      }
      return dir;
    }
  }

  /**
   * The cached jar, opened, when it is there and its content matches its name: known from its
   * sidecar ({@link LibraryJarDirectory}), or hashed (then recorded for the next instance); null
   * otherwise.
   */
  private static JarFile cached(LibraryJarDirectory dir, JarRef ref) throws IOException {
    Path file = dir.jar(ref.sha256);
    if (!dir.verifiedBefore(ref.sha256, ref.size)) {
      if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || Files.size(file) != ref.size
          || !hashOf(file).equals(ref.sha256)) {
        return null;
      }
      dir.recordVerified(ref.sha256, ref.size);
    }
    try {
      return new JarFile(file.toFile());
    } catch (NoSuchFileException e) {
      return null; // Another instance's eviction removed it meanwhile: fetched again.
    }
  }

  private static String hashOf(Path file) throws IOException {
    HASHED.incrementAndGet();
    MessageDigest digest = sha256();
    try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
      byte[] buffer = new byte[1 << 16];
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /**
   * Fetches the jar chunk by chunk, checks its hash, makes it read-only and moves it into place
   * atomically, then records it verified.
   */
  private Path fetch(LibraryJarDirectory dir, JarRef ref) throws IOException {
    Path part = Files.createTempFile(dir.path, ref.sha256, ".part");
    try {
      MessageDigest digest = sha256();
      try (OutputStream out = Files.newOutputStream(part)) {
        long offset = 0;
        while (offset < ref.size) {
          byte[] chunk = source.libraryJarChunk(ref.sha256, offset);
          if (chunk == null || chunk.length == 0 || offset + chunk.length > ref.size) {
            throw new IOException("the server sent "
                + (chunk == null ? "nothing" : chunk.length + " bytes") + " at byte " + offset
                + " of " + ref.size);
          }
          digest.update(chunk);
          out.write(chunk);
          offset += chunk.length;
        }
      }
      String actual = HexFormat.of().formatHex(digest.digest());
      if (!actual.equals(ref.sha256)) {
        throw new IOException("the fetched jar's SHA-256 is " + actual);
      }
      Files.setPosixFilePermissions(part, PosixFilePermissions.fromString("r--------"));
      dir.forgetVerified(ref.sha256);
      Path file = dir.jar(ref.sha256);
      Files.move(part, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      dir.added(file);
      dir.recordVerified(ref.sha256, ref.size);
      return file;
    } finally {
      Files.deleteIfExists(part);
    }
  }

  /** Jar files hashed on this instance (in the cache, not as fetched): a cost of its cold start. */
  static int hashedJars() {
    return HASHED.get();
  }

  /** Closes and forgets every jar and manifest, as a new instance starts without them. */
  static void forgetAll() throws IOException {
    for (JarFile jar : OPEN.values()) {
      jar.close();
    }
    OPEN.clear();
    FAILED.clear();
    BY_SERVER.clear();
    synchronized (DIRECTORY) {
      DIRECTORY.clear();
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
