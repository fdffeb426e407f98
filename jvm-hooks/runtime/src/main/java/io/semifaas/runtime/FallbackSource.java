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
}
