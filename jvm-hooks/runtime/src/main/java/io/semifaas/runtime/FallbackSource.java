package io.semifaas.runtime;

/**
 * Where a closure class loader gets what the closure lacks. In a function this is the server,
 * reached through {@link FallbackNative}; tests give their own.
 */
public interface FallbackSource {

  /** The class file of {@code binaryName}, or {@code null} when the server does not have it. */
  byte[] loadClass(String binaryName);

  /** The bytes of resource {@code path}, or {@code null} when the server does not have it. */
  byte[] getResource(String path);

  /**
   * Calls {@code method} (with {@code descriptor}) on server object {@code refId}; {@code args} are
   * codec bytes of an {@code Object[]}. Returns outcome bytes.
   */
  byte[] invokeRemote(long refId, String method, String descriptor, byte[] args);

  /**
   * The server's library manifest as text ({@code <sha256> <size> <package>,…} a line), or null
   * when it has none (the default: classes then come by {@link #loadClass}).
   */
  default byte[] libraryManifest() {
    return null;
  }

  /** Bytes of library jar {@code sha256} (hex) from {@code offset}: one bounded chunk. */
  default byte[] libraryJarChunk(String sha256, long offset) {
    throw new UnsupportedOperationException("this source serves no library jars");
  }

  /** Tells the server the function defined {@code names} from its library jars. */
  default void libraryClassesDefined(String[] names) {}
}
