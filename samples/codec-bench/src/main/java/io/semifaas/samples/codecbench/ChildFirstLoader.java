package io.semifaas.samples.codecbench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Defines the payload classes itself (same names, different {@code Class} objects), as the function
 * side's closure class loader does, so each codec really resolves names through the loader it was
 * given. Everything else is delegated to the parent.
 */
final class ChildFirstLoader extends ClassLoader {

  private final String ownedPackage;

  ChildFirstLoader(ClassLoader parent, String ownedPackage) {
    super("closure", parent);
    this.ownedPackage = ownedPackage + ".";
  }

  @Override
  protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
    if (!name.startsWith(ownedPackage)) {
      return super.loadClass(name, resolve);
    }
    synchronized (getClassLoadingLock(name)) {
      Class<?> loaded = findLoadedClass(name);
      if (loaded == null) {
        byte[] bytes = classBytes(name);
        loaded = defineClass(name, bytes, 0, bytes.length);
      }
      if (resolve) {
        resolveClass(loaded);
      }
      return loaded;
    }
  }

  private byte[] classBytes(String name) throws ClassNotFoundException {
    String path = name.replace('.', '/') + ".class";
    try (InputStream in = getParent().getResourceAsStream(path)) {
      if (in == null) {
        throw new ClassNotFoundException(name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + path, e);
    }
  }
}
