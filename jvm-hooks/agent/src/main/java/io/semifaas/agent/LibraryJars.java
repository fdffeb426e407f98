package io.semifaas.agent;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

/**
 * The application's library jars that a function may fetch whole (docs/internals.md, "Library
 * jars"): Spring Boot's nested {@code BOOT-INF/lib/*.jar}, or the jars of {@code java.class.path}
 * for an application that is not a fat jar. Indexed once, in the background, when the first
 * closure is registered: each jar's SHA-256, size and the packages it serves.
 *
 * <p>A package is served from a jar only when the application's class loader loads that package's
 * classes from exactly this jar: no other jar, no directory, no {@code BOOT-INF/classes} holds the
 * package, no multi-release variant of it exists, and the loader resolves a class of it inside the
 * jar. The bytes a function then reads from the jar are the bytes {@code load_class} would serve
 * (the loader's resource, never a transformed class). A jar holding anything the server withholds
 * (a resource on the deny list, the agent's classes) is never shipped.
 */
final class LibraryJars {
  private static final System.Logger LOG = System.getLogger("io.semifaas.agent");

  /** How long a manifest request waits for the index being built. */
  private static final long INDEX_WAIT_SECONDS = 60;

  private static final String FAT_JAR_LIBS = "BOOT-INF/lib/";
  private static final String FAT_JAR_CLASSES = "BOOT-INF/classes/";
  private static final String VERSIONED = "META-INF/versions/";

  private static final LibraryJars SHARED = new LibraryJars();

  /** {@code false} ships no jar whole: every class comes by {@code load_class}. */
  static final String KEY = "semifaas.library-jars";

  private static volatile boolean enabled = true;

  /** Reads {@value #KEY} (null: on). */
  static void configure(String value) {
    enabled = value == null || !value.strip().equalsIgnoreCase("false");
  }

  /** Opens a jar's bytes: a file on the class path, or an entry of the fat jar. */
  @FunctionalInterface
  interface JarBytes {
    InputStream open() throws IOException;
  }

  /** A jar of the manifest. {@code location} names it in URLs and logs. */
  record Jar(String sha256, long size, List<String> packages, String location, JarBytes bytes) {}

  /** The built index: the manifest's jars, and every served package's jar. */
  record Index(List<Jar> jars, Map<String, Jar> byPackage) {
    Jar jar(String sha256) {
      for (Jar jar : jars) {
        if (jar.sha256.equals(sha256)) {
          return jar;
        }
      }
      return null;
    }

    /** One line per jar: {@code <sha256> <size> <package>,<package>…} (the Rust text form). */
    String manifestText() {
      StringBuilder text = new StringBuilder();
      for (Jar jar : jars) {
        text.append(jar.sha256).append(' ').append(jar.size).append(' ');
        text.append(String.join(",", jar.packages)).append('\n');
      }
      return text.toString();
    }
  }

  private CompletableFuture<Index> index;

  static LibraryJars shared() {
    return SHARED;
  }

  /** Starts building the index on a daemon thread, once. */
  synchronized CompletableFuture<Index> start() {
    if (index == null) {
      CompletableFuture<Index> future = new CompletableFuture<>();
      Thread thread = new Thread(() -> {
        try {
          future.complete(enabled ? build(classPath()) : new Index(List.of(), Map.of()));
        } catch (Throwable t) {
          future.completeExceptionally(t);
        }
      }, "semifaas-library-jars");
      thread.setDaemon(true);
      thread.start();
      index = future;
    }
    return index;
  }

  /** The index, waiting for it to be built. */
  Index index() throws Exception {
    return start().get(INDEX_WAIT_SECONDS, TimeUnit.SECONDS);
  }

  /**
   * Up to {@code max} bytes of jar {@code sha256} from {@code offset}, or null when the index has
   * no such jar.
   */
  byte[] chunk(String sha256, long offset, int max) throws Exception {
    Jar jar = index().jar(sha256);
    if (jar == null) {
      return null;
    }
    try (InputStream in = jar.bytes.open()) {
      in.skipNBytes(offset);
      return in.readNBytes(max);
    }
  }

  /** True when the index serves {@code binaryName}'s package from a jar. */
  boolean servesClass(String binaryName) throws Exception {
    return index().byPackage.containsKey(packageOf(binaryName.replace('.', '/')));
  }

  private static List<String> classPath() {
    String path = System.getProperty("java.class.path", "");
    List<String> entries = new ArrayList<>();
    for (String entry : path.split(File.pathSeparator)) {
      if (!entry.isBlank()) {
        entries.add(entry);
      }
    }
    return entries;
  }

  /** A library jar found on the class path, before hashing. */
  private record Candidate(String location, String urlMarker, JarBytes bytes) {}

  /** What reading a jar's entries found. */
  private static final class Contents {
    final Map<String, String> sampleClassByPackage = new TreeMap<>();
    final Set<String> versionedPackages = new HashSet<>();
    String withheld;
    String sha256;
    long size;
  }

  /** Builds the index of the given class-path entries (tests call this directly). */
  static Index build(List<String> classPathEntries) throws IOException {
    List<Candidate> candidates = new ArrayList<>();
    Set<String> ownPackages = new HashSet<>();
    for (String entry : classPathEntries) {
      File file = new File(entry);
      if (file.isDirectory()) {
        collectDirectoryPackages(file.toPath(), ownPackages);
      } else if (file.isFile()) {
        collectJar(file, candidates, ownPackages);
      }
    }
    Map<Candidate, Contents> read = new HashMap<>();
    Map<String, Integer> holders = new HashMap<>();
    for (Candidate candidate : candidates) {
      Contents contents;
      try {
        contents = read(candidate);
      } catch (IOException | RuntimeException e) {
        LOG.log(System.Logger.Level.DEBUG, "semifaas: library jar {0} not indexed: {1}",
            candidate.location, e);
        continue;
      }
      read.put(candidate, contents);
      for (String pkg : contents.sampleClassByPackage.keySet()) {
        holders.merge(pkg, 1, Integer::sum);
      }
    }
    List<Jar> jars = new ArrayList<>();
    Map<String, Jar> byPackage = new HashMap<>();
    for (Candidate candidate : candidates) {
      Contents contents = read.get(candidate);
      if (contents == null) {
        continue;
      }
      if (contents.withheld != null) {
        LOG.log(System.Logger.Level.DEBUG, "semifaas: library jar {0} is never shipped whole: {1}",
            candidate.location, contents.withheld);
        continue;
      }
      List<String> packages = new ArrayList<>();
      contents.sampleClassByPackage.forEach((pkg, sample) -> {
        if (holders.get(pkg) == 1
            && !ownPackages.contains(pkg)
            && !contents.versionedPackages.contains(pkg)
            && loadedFrom(sample, candidate.urlMarker)) {
          packages.add(pkg.replace('/', '.'));
        }
      });
      if (packages.isEmpty()) {
        continue;
      }
      Jar jar = new Jar(contents.sha256, contents.size, List.copyOf(packages),
          candidate.location, candidate.bytes);
      jars.add(jar);
      packages.forEach(pkg -> byPackage.put(pkg.replace('.', '/'), jar));
    }
    LOG.log(System.Logger.Level.DEBUG, "semifaas: {0} library jars serve {1} packages",
        jars.size(), byPackage.size());
    return new Index(List.copyOf(jars), Map.copyOf(byPackage));
  }

  private static void collectDirectoryPackages(Path root, Set<String> packages) throws IOException {
    try (var paths = Files.walk(root)) {
      paths.filter(p -> p.toString().endsWith(".class")).forEach(p -> {
        String relative = root.relativize(p).toString().replace(File.separatorChar, '/');
        packages.add(packageOf(relative));
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  /**
   * A Spring Boot fat jar contributes its nested {@code BOOT-INF/lib} jars (its {@code
   * BOOT-INF/classes} are the application's own); any other jar is a library itself.
   */
  private static void collectJar(File file, List<Candidate> candidates, Set<String> ownPackages)
      throws IOException {
    List<String> nested = new ArrayList<>();
    try (ZipFile zip = new ZipFile(file)) {
      zip.stream().forEach(entry -> {
        String name = entry.getName();
        if (name.startsWith(FAT_JAR_LIBS) && name.endsWith(".jar") && !entry.isDirectory()) {
          nested.add(name);
        } else if (name.startsWith(FAT_JAR_CLASSES) && name.endsWith(".class")) {
          ownPackages.add(packageOf(name.substring(FAT_JAR_CLASSES.length())));
        }
      });
    }
    if (nested.isEmpty()) {
      candidates.add(new Candidate(file.getPath(), "/" + file.getName() + "!/",
          () -> Files.newInputStream(file.toPath())));
      return;
    }
    for (String name : nested) {
      candidates.add(new Candidate(file.getName() + "!/" + name, name + "!/",
          () -> nestedEntry(file, name)));
    }
  }

  /** The bytes of entry {@code name} of {@code fatJar}; closing the stream closes the zip. */
  private static InputStream nestedEntry(File fatJar, String name) throws IOException {
    ZipFile zip = new ZipFile(fatJar);
    ZipEntry entry = zip.getEntry(name);
    if (entry == null) {
      zip.close();
      throw new IOException(fatJar + " no longer holds " + name);
    }
    InputStream in = zip.getInputStream(entry);
    return new java.io.FilterInputStream(in) {
      @Override
      public void close() throws IOException {
        try {
          super.close();
        } finally {
          zip.close();
        }
      }
    };
  }

  /** Hashes the jar and lists its class packages and anything that withholds it. */
  private static Contents read(Candidate candidate) throws IOException {
    Contents contents = new Contents();
    MessageDigest digest = sha256();
    try (InputStream raw = candidate.bytes.open();
        DigestInputStream hashed = new DigestInputStream(raw, digest);
        CountingStream counted = new CountingStream(hashed);
        ZipInputStream zip = new ZipInputStream(counted)) {
      for (ZipEntry entry; (entry = zip.getNextEntry()) != null; ) {
        String name = entry.getName();
        String denied = DeniedResources.deniedBy(name);
        if (contents.withheld == null && denied != null) {
          contents.withheld = "entry " + name + " matches the deny list's '" + denied + "'";
        }
        if (!name.endsWith(".class") || entry.isDirectory()) {
          continue;
        }
        if (name.startsWith(VERSIONED)) {
          String rest = name.substring(VERSIONED.length());
          int slash = rest.indexOf('/');
          if (slash > 0) {
            contents.versionedPackages.add(packageOf(rest.substring(slash + 1)));
          }
          continue;
        }
        if (contents.withheld == null && AgentClasses.isAgentClass(name)) {
          contents.withheld = "it holds the agent's class " + name;
        }
        String pkg = packageOf(name);
        if (!pkg.isEmpty() && !name.startsWith("META-INF/")) {
          contents.sampleClassByPackage.putIfAbsent(pkg, name);
        }
      }
      // The central directory too: the hash is of the whole file.
      counted.transferTo(OutputStream.nullOutputStream());
      contents.size = counted.count;
    }
    contents.sha256 = HexFormat.of().formatHex(digest.digest());
    return contents;
  }

  /** True when the application's loader resolves {@code classFile} inside the jar. */
  private static boolean loadedFrom(String classFile, String urlMarker) {
    URL url = ApplicationClassLoaders.shared().locate(classFile);
    return url != null && url.toString().contains(urlMarker);
  }

  /** {@code a/b/C.class} → {@code a/b}; the empty string for the default package. */
  static String packageOf(String path) {
    int slash = path.lastIndexOf('/');
    return slash < 0 ? "" : path.substring(0, slash);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** Counts the bytes read through it. */
  private static final class CountingStream extends java.io.FilterInputStream {
    long count;

    CountingStream(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        count++;
      }
      return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      int n = super.read(buffer, offset, length);
      if (n > 0) {
        count += n;
      }
      return n;
    }

    /** Reads what it skips: the digest below must see every byte. */
    @Override
    public long skip(long n) throws IOException {
      byte[] buffer = new byte[(int) Math.min(n, 8192)];
      long skipped = 0;
      while (skipped < n) {
        int read = read(buffer, 0, (int) Math.min(buffer.length, n - skipped));
        if (read < 0) {
          break;
        }
        skipped += read;
      }
      return skipped;
    }
  }
}
