package io.semifaas.runtime;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Defines the classes of one closure. Its parent is the platform class loader, so the handler sees
 * the JDK and the closure but never the runtime's own classes (nor their shaded libraries).
 * Classes and resources come from the closure's code section first, then (classes of the
 * server's library packages) from its library jars ({@link LibraryJarCache}), then from the server.
 *
 * <p>A loader outlives its closure when the server ships a grown version of it (the same handler
 * and receiver, plus classes it learned): {@link #adopt} takes the new bytes, so the instance
 * keeps the classes it defined and the code the JIT compiled.
 */
public final class ClosureClassLoader extends ClassLoader {

  static {
    registerAsParallelCapable();
  }

  /**
   * Runtime packages the closure's classes may link against: the codec's own types, and the base
   * classes of the accessors Kryo's reflectasm generates into this loader (for a closure class's
   * package-private constructor). Never fetched from the server, which does not serve them.
   */
  private static final List<String> SHARED_PREFIXES =
      List.of("io.semifaas.common.", "io.semifaas.shaded.reflectasm.");

  private final String closureId;
  /** Closure classes not defined yet (their bytes are dropped once defined). */
  private final Map<String, byte[]> classes;
  /** SHA-256 of the bytes of each class defined from the closure or the server. */
  private final Map<String, byte[]> definedDigests = new ConcurrentHashMap<>();
  private final Map<String, byte[]> resources;
  /** Resources fetched from the server, kept so each is asked for once; absent ones too. */
  private final Map<String, byte[]> fetchedResources = new ConcurrentHashMap<>();
  private static final byte[] ABSENT = new byte[0];
  private final FallbackSource fallback;
  /** The server's library jars: classes of their packages come from them, not by load_class. */
  private final LibraryJarCache libraries;

  public ClosureClassLoader(
      String closureId,
      Map<String, byte[]> classes,
      Map<String, byte[]> resources,
      FallbackSource fallback) {
    super("semifaas-closure-" + shortId(closureId), ClassLoader.getPlatformClassLoader());
    this.closureId = closureId;
    this.classes = new ConcurrentHashMap<>(classes);
    this.resources = new ConcurrentHashMap<>(resources);
    this.fallback = fallback;
    this.libraries = LibraryJarCache.of(fallback);
  }

  /** The id's first 12 characters; for an installation ({@code closure@server}), of both. */
  private static String shortId(String closureId) {
    int at = closureId.indexOf('@');
    if (at >= 0) {
      return shortId(closureId.substring(0, at)) + "@" + shortId(closureId.substring(at + 1));
    }
    return closureId.length() > 12 ? closureId.substring(0, 12) : closureId;
  }

  /** The codec's own types (references, snapshots) are the runtime's, so they decode as such. */
  @Override
  protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
    for (String prefix : SHARED_PREFIXES) {
      if (name.startsWith(prefix)) {
        return ClosureClassLoader.class.getClassLoader().loadClass(name);
      }
    }
    return super.loadClass(name, resolve);
  }

  /** Defines a class generated on the function (a proxy subclass) in this loader. */
  Class<?> defineGenerated(String name, byte[] bytes) {
    synchronized (getClassLoadingLock(name)) {
      return defineClass(name, bytes, 0, bytes.length);
    }
  }

  @Override
  protected Class<?> findClass(String name) throws ClassNotFoundException {
    // Closure bytes are needed once: drop them when the class is defined.
    byte[] bytes = classes.remove(name);
    boolean fromLibrary = false;
    if (bytes == null) {
      bytes = libraries.classBytes(name);
      fromLibrary = bytes != null;
    }
    if (bytes == null) {
      try {
        bytes = fallback.loadClass(name);
      } catch (UncheckedIOException e) {
        throw new ClassNotFoundException(
            name + ": the server could not be reached for it: " + e.getMessage(), e);
      }
    }
    if (bytes == null) {
      throw new ClassNotFoundException(
          name + " is neither in closure " + closureId + " nor on the server");
    }
    Class<?> defined = defineClass(name, bytes, 0, bytes.length);
    definedDigests.put(name, sha256(bytes));
    if (fromLibrary) {
      libraries.defined(name);
    }
    return defined;
  }

  /**
   * Takes the classes and resources of a grown closure when none contradicts what this loader
   * already has or defined; returns false (and takes nothing) otherwise: the server's code
   * changed, and the closure needs a loader of its own.
   */
  synchronized boolean adopt(Map<String, byte[]> moreClasses, Map<String, byte[]> moreResources) {
    for (Map.Entry<String, byte[]> e : moreClasses.entrySet()) {
      byte[] pending = classes.get(e.getKey());
      byte[] digest = definedDigests.get(e.getKey());
      if ((pending != null && !Arrays.equals(pending, e.getValue()))
          || (digest != null && !Arrays.equals(digest, sha256(e.getValue())))) {
        return false;
      }
    }
    for (Map.Entry<String, byte[]> e : moreResources.entrySet()) {
      byte[] known = resources.get(e.getKey());
      if (known == null) {
        known = fetchedResources.get(e.getKey());
      }
      if (known != null && !Arrays.equals(known, e.getValue())) {
        return false;
      }
    }
    moreClasses.forEach((name, bytes) -> {
      if (!definedDigests.containsKey(name)) {
        classes.putIfAbsent(name, bytes);
      }
    });
    moreResources.forEach(resources::putIfAbsent);
    return true;
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  @Override
  protected URL findResource(String name) {
    byte[] bytes = resourceBytes(name);
    return bytes == null ? null : MemoryUrls.of(closureId, name, bytes);
  }

  @Override
  protected Enumeration<URL> findResources(String name) {
    URL url = findResource(name);
    return url == null
        ? Collections.emptyEnumeration()
        : Collections.enumeration(List.of(url));
  }

  @Override
  public InputStream getResourceAsStream(String name) {
    InputStream fromParent = getParent().getResourceAsStream(name);
    if (fromParent != null) {
      return fromParent;
    }
    byte[] bytes = resourceBytes(name);
    return bytes == null ? null : new ByteArrayInputStream(bytes);
  }

  private byte[] resourceBytes(String name) {
    byte[] bytes = resources.get(name);
    if (bytes != null) {
      return bytes;
    }
    byte[] fetched = fetchedResources.computeIfAbsent(name, n -> {
      byte[] b = fallback.getResource(n);
      return b == null ? ABSENT : b;
    });
    return fetched == ABSENT ? null : fetched;
  }

  public String closureId() {
    return closureId;
  }
}
