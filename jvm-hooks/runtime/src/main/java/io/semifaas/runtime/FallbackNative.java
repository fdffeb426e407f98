package io.semifaas.runtime;

/**
 * Fallback requests to the server for the invocation in flight. The natives are registered by the
 * {@code bootstrap} process that hosts this JVM (RegisterNatives), so no library is loaded here.
 * They block until the server answers, return {@code null} when it does not have the item, and
 * throw {@link java.io.UncheckedIOException} when it cannot be reached.
 */
public final class FallbackNative {

  /**
   * Server {@code server} (the SHA-256 of its certificate, in hex), as a {@link FallbackSource}.
   * The natives call back to the server of the invocation in flight; sources of different servers
   * are never equal, so a closure installed for one server never takes over another's loader.
   */
  public static FallbackSource of(String server) {
    return new Server(server);
  }

  private record Server(String id) implements FallbackSource {
    @Override
    public byte[] loadClass(String binaryName) {
      return FallbackNative.loadClass(binaryName);
    }

    @Override
    public byte[] getResource(String path) {
      return FallbackNative.getResource(path);
    }

    /** Reports library classes defined so far first: the call may hand the server their objects. */
    @Override
    public byte[] invokeRemote(long refId, String method, String descriptor, byte[] args) {
      LibraryJarCache.of(this).reportDefined();
      return FallbackNative.invokeRemote(refId, method, descriptor, args);
    }

    @Override
    public byte[] libraryManifest() {
      return FallbackNative.libraryManifest();
    }

    @Override
    public byte[] libraryJarChunk(String sha256, long offset) {
      return FallbackNative.libraryJarChunk(sha256, offset);
    }

    @Override
    public void libraryClassesDefined(String[] names) {
      FallbackNative.libraryClassesDefined(names);
    }
  }

  private FallbackNative() {}

  public static native byte[] loadClass(String binaryName);

  public static native byte[] getResource(String path);

  public static native byte[] libraryManifest();

  public static native byte[] libraryJarChunk(String sha256, long offset);

  public static native void libraryClassesDefined(String[] names);

  /** A call on server object {@code refId}: outcome bytes (returned, threw, or refused/failed). */
  public static native byte[] invokeRemote(
      long refId, String method, String descriptor, byte[] args);
}
