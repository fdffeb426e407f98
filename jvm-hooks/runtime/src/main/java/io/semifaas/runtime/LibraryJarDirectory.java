package io.semifaas.runtime;

import io.semifaas.common.ByteCountSetting;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The directory an instance caches library jars in (docs/internals.md, "Library jars"), and what
 * in it may be trusted without hashing it again.
 *
 * <p>Trust model, as the class-data-sharing archive's (lambda-shim {@code class_archive.rs}): the
 * directory is created 0700 and used only when it is a real directory (not a symlink) of this
 * process's user that no one else can write to. Then only this user can put a file in it, so a
 * jar this process hashed stays what it hashed until this user changes it. After hashing, a
 * sidecar {@code <sha256>.ok} records the jar's size, modification and change times, device and
 * inode; a later instance trusts the jar without hashing when all of them still match. The change
 * time cannot be set by anyone, so a jar rewritten in place or replaced (by this user's tools) no
 * longer matches and is hashed again. Anyone else can neither write the directory nor a sidecar.
 *
 * <p>A directory that is not private is not used at all: the instance fetches its jars into a
 * fresh private directory of its own (emptied when the JVM exits normally), since a jar hashed in
 * a directory others can write to could be swapped between the hash and the opening.
 *
 * <p>The directory is bounded by {@value #CACHE_MAX_BYTES_KEY}: after a fetch, the least recently
 * used jars not open in this process are removed until the jars fit, as are partial downloads
 * older than {@link #STALE_PART}.
 */
final class LibraryJarDirectory {
  private static final System.Logger LOG = System.getLogger("io.semifaas.runtime");

  /** The most the jars in the directory hold, in bytes (an instance JVM's system property). */
  static final String CACHE_MAX_BYTES_KEY = "semifaas.library-jars.cache-max-bytes";

  static final long CACHE_MAX_BYTES_DEFAULT = 512L << 20;

  /** A partial download untouched this long belongs to an instance that died. */
  static final Duration STALE_PART = Duration.ofMinutes(10);

  /** A sidecar is one short line; anything longer is not ours. */
  private static final int SIDECAR_MAX = 256;


  private static final String ATTRIBUTES =
      "unix:size,lastModifiedTime,ctime,dev,ino,uid,mode,isRegularFile";

  final Path path;
  /** This process's own directory: what it holds goes when the JVM exits normally. */
  private final boolean temporary;
  /** This process's effective uid. */
  private final int uid;

  private LibraryJarDirectory(Path path, boolean temporary, int uid) {
    this.path = path;
    this.temporary = temporary;
    this.uid = uid;
  }

  /**
   * {@code configured}, created 0700 if need be, when it is private to this user; otherwise a
   * new private directory of this process (logged).
   */
  static LibraryJarDirectory open(Path configured) throws IOException {
    int uid = myUid();
    String refused;
    try {
      refused = privateDirectory(configured, uid);
    } catch (IOException | RuntimeException e) {
      refused = e.toString();
    }
    if (refused == null) {
      return new LibraryJarDirectory(configured, false, uid);
    }
    // createTempDirectory makes it 0700 on POSIX file systems.
    Path own = Files.createTempDirectory("semifaas-libs-");
    own.toFile().deleteOnExit();
    LOG.log(System.Logger.Level.WARNING, "semifaas: library jar cache " + configured + " "
        + refused + "; this instance fetches its jars into " + own);
    return new LibraryJarDirectory(own, true, uid);
  }

  /** Null when {@code dir} is (now) a directory of this user that no one else can write to. */
  private static String privateDirectory(Path dir, int uid) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(dir.toAbsolutePath().getParent());
      try {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString("rwx------")));
      } catch (java.nio.file.FileAlreadyExistsException e) {
        // Another instance made it: checked below like any other.
      }
    }
    Map<String, Object> attributes =
        Files.readAttributes(dir, "unix:uid,mode,isDirectory", LinkOption.NOFOLLOW_LINKS);
    if (!(Boolean) attributes.get("isDirectory")) {
      return "is not a directory (or is a symbolic link): not used";
    }
    int owner = (Integer) attributes.get("uid");
    if (owner != uid) {
      return "is owned by uid " + owner + ", not this user (" + uid + "): not used";
    }
    int mode = (Integer) attributes.get("mode") & 0777;
    if ((mode & 0022) != 0) {
      return "is writable by others (mode " + Integer.toOctalString(mode) + "): not used";
    }
    return null;
  }

  /**
   * This process's effective uid: the owner of its {@code /proc} directory (root's when the
   * process is not dumpable: then no directory is trusted and the instance fetches its own jars).
   */
  private static int myUid() throws IOException {
    return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
  }

  /** The cap from {@value #CACHE_MAX_BYTES_KEY}; a bad value is an error naming the key. */
  static long cacheMaxBytes() {
    return ByteCountSetting.parse(
        CACHE_MAX_BYTES_KEY, System.getProperty(CACHE_MAX_BYTES_KEY), CACHE_MAX_BYTES_DEFAULT);
  }

  /** {@code file} was just put in the directory (removed at exit when the directory is ours). */
  void added(Path file) {
    if (temporary) {
      file.toFile().deleteOnExit();
    }
  }

  Path jar(String sha256) {
    return path.resolve(sha256.concat(".jar"));
  }

  private Path sidecar(String sha256) {
    return path.resolve(sha256.concat(".ok"));
  }

  /**
   * True when the jar of {@code sha256} is there, {@code size} bytes, ours, and exactly the file a
   * hash of which its sidecar records: it may be used without hashing. Marks it recently used.
   */
  boolean verifiedBefore(String sha256, long size) {
    try {
      String stamp = stamp(sha256, size);
      if (stamp == null || !stamp.equals(readSidecar(sidecar(sha256)))) {
        return false;
      }
      // The sidecar's own modification time is the jar's last use (eviction's order).
      Files.setLastModifiedTime(sidecar(sha256), FileTime.from(Instant.now()));
      return true;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Records that the jar of {@code sha256}, as it is now, has been hashed and matched. */
  void recordVerified(String sha256, long size) throws IOException {
    String stamp = stamp(sha256, size);
    if (stamp == null) {
      throw new IOException("the jar " + jar(sha256) + " is not ours or not " + size + " bytes");
    }
    Path part = Files.createTempFile(path, sha256, ".part");
    try {
      Files.writeString(part, stamp.concat("\n"), StandardCharsets.US_ASCII);
      Files.move(part, sidecar(sha256), StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
      added(sidecar(sha256));
    } finally {
      Files.deleteIfExists(part);
    }
  }

  /** Forgets that the jar of {@code sha256} was verified (before it is replaced). */
  void forgetVerified(String sha256) throws IOException {
    Files.deleteIfExists(sidecar(sha256));
  }

  /**
   * The sidecar line of the jar of {@code sha256} as it is now: its hash, size, modification and
   * change times, device and inode; null unless it is a regular file of this user, {@code size}
   * bytes, that no one else can write.
   */
  private String stamp(String sha256, long size) throws IOException {
    Map<String, Object> a =
        Files.readAttributes(jar(sha256), ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
    if (!(Boolean) a.get("isRegularFile") || (Long) a.get("size") != size
        || (Integer) a.get("uid") != uid || ((Integer) a.get("mode") & 0022) != 0) {
      return null;
    }
    // A StringBuilder, not `+`: a cold JVM spends milliseconds linking each new concatenation.
    return new StringBuilder(160).append(sha256).append(' ').append(size).append(' ')
        .append(nanos(a.get("lastModifiedTime"))).append(' ').append(nanos(a.get("ctime")))
        .append(' ').append(a.get("dev")).append(' ').append(a.get("ino")).toString();
  }

  private static long nanos(Object time) {
    return ((FileTime) time).to(TimeUnit.NANOSECONDS);
  }

  /** The sidecar's line, or null when it is missing, not a regular file or too long. */
  private static String readSidecar(Path file) throws IOException {
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      return null;
    }
    try (SeekableByteChannel in =
        Files.newByteChannel(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      ByteBuffer buffer = ByteBuffer.allocate(SIDECAR_MAX + 1);
      while (buffer.hasRemaining() && in.read(buffer) > 0) {
        // Until full or at the end.
      }
      if (!buffer.hasRemaining()) {
        return null;
      }
      return new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII).strip();
    }
  }

  /**
   * Removes partial downloads older than {@link #STALE_PART}, sidecars without their jar, and,
   * while the jars hold more than {@code maxBytes}, the least recently used jar not in {@code
   * open}. Returns the bytes the jars hold afterwards.
   */
  long evict(long maxBytes, Set<String> open) throws IOException {
    record Cached(String sha256, long size, long lastUsed) {}
    List<Cached> jars = new ArrayList<>();
    List<String> sidecars = new ArrayList<>();
    long total = 0;
    long staleBefore = System.currentTimeMillis() - STALE_PART.toMillis();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(path)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        try {
          if (name.endsWith(".part")) {
            if (modified(entry) < staleBefore) {
              Files.deleteIfExists(entry);
            }
          } else if (hashNamed(name, ".jar")) {
            String sha256 = name.substring(0, 64);
            long lastUsed = modified(entry);
            Path sidecar = sidecar(sha256);
            if (Files.exists(sidecar, LinkOption.NOFOLLOW_LINKS)) {
              lastUsed = Math.max(lastUsed, modified(sidecar));
            }
            long size = Files.size(entry);
            jars.add(new Cached(sha256, size, lastUsed));
            total += size;
          } else if (hashNamed(name, ".ok")) {
            sidecars.add(name.substring(0, 64));
          }
        } catch (java.nio.file.NoSuchFileException e) {
          // Another instance removed it meanwhile.
        }
      }
    }
    for (String sha256 : sidecars) {
      if (!Files.exists(jar(sha256), LinkOption.NOFOLLOW_LINKS)) {
        Files.deleteIfExists(sidecar(sha256));
      }
    }
    jars.sort(Comparator.comparingLong(Cached::lastUsed));
    for (Cached cached : jars) {
      if (total <= maxBytes) {
        break;
      }
      if (open.contains(cached.sha256)) {
        continue;
      }
      // The sidecar first: a jar without one is only hashed again, never trusted.
      forgetVerified(cached.sha256);
      Files.deleteIfExists(jar(cached.sha256));
      total -= cached.size;
      LOG.log(System.Logger.Level.DEBUG, "semifaas: library jar " + cached.sha256
          + " removed from the cache (" + CACHE_MAX_BYTES_KEY + "=" + maxBytes + ")");
    }
    return total;
  }

  /** Whether {@code name} is a SHA-256 in lower-case hex followed by {@code suffix}. */
  static boolean hashNamed(String name, String suffix) {
    return name.length() == 64 + suffix.length() && name.endsWith(suffix) && hexDigits(name, 64);
  }

  /**
   * Whether {@code hash} is a SHA-256 in lower-case hex: the only names the directory's files get
   * (a manifest's hash becomes a file name).
   */
  static boolean isSha256(String hash) {
    return hash.length() == 64 && hexDigits(hash, 64);
  }

  /** Whether the first {@code count} characters of {@code text} are lower-case hex digits. */
  private static boolean hexDigits(String text, int count) {
    for (int i = 0; i < count; i++) {
      char c = text.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
        return false;
      }
    }
    return true;
  }

  private static long modified(Path file) throws IOException {
    return Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).toMillis();
  }
}
