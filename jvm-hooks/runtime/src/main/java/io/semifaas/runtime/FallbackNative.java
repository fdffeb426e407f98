package io.semifaas.runtime;

/**
 * Fallback requests to the server for the invocation in flight. The natives are registered by the
 * {@code bootstrap} process that hosts this JVM (RegisterNatives), so no library is loaded here.
 * They block until the server answers, return {@code null} when it does not have the item, and
 * throw {@link java.io.UncheckedIOException} when it cannot be reached.
 */
public final class FallbackNative {

  /** The server, as a {@link FallbackSource}. */
  public static final FallbackSource SOURCE = new FallbackSource() {
    @Override
    public byte[] loadClass(String binaryName) {
      return FallbackNative.loadClass(binaryName);
    }

    @Override
    public byte[] getResource(String path) {
      return FallbackNative.getResource(path);
    }

    @Override
    public byte[] invokeRemote(long refId, String method, String descriptor, byte[] args) {
      return FallbackNative.invokeRemote(refId, method, descriptor, args);
    }
  };

  private FallbackNative() {}

  public static native byte[] loadClass(String binaryName);

  public static native byte[] getResource(String path);

  /** A call on server object {@code refId}: outcome bytes (returned, threw, or refused/failed). */
  public static native byte[] invokeRemote(
      long refId, String method, String descriptor, byte[] args);
}
