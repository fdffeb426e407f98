package io.semifaas.agent;

import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The application class loaders the agent has seen (held weakly), and the class files and resources
 * they can provide for the function's fallbacks.
 */
final class ApplicationClassLoaders {
  /** Longest class or resource name served (semifaas_closure::limits::NAME_MAX). */
  static final int NAME_MAX = 4096;

  /** Largest class file or resource served (semifaas_closure::limits::CLASS_MAX). */
  static final int CLASS_MAX = 16 * 1024 * 1024;

  private static final ApplicationClassLoaders SHARED = new ApplicationClassLoaders();

  private final Map<ClassLoader, Boolean> loaders =
      Collections.synchronizedMap(new WeakHashMap<>());

  /** The loader remembered last: most calls come from it, so they skip the lock. */
  private volatile WeakReference<ClassLoader> last = new WeakReference<>(null);

  static ApplicationClassLoaders shared() {
    return SHARED;
  }

  /** Remembers {@code loader} if it is an application loader (not the JDK's). */
  void remember(ClassLoader loader) {
    if (loader == last.get() || !isApplicationLoader(loader)) {
      return;
    }
    loaders.put(loader, Boolean.TRUE);
    last = new WeakReference<>(loader);
  }

  /** True for loaders that load application code, not the JDK's bootstrap or platform loader. */
  static boolean isApplicationLoader(ClassLoader loader) {
    return loader != null && loader != ClassLoader.getPlatformClassLoader();
  }

  /** The class file of {@code binaryName} from the first loader that has it, or null. */
  byte[] classBytes(String binaryName) {
    if (!isPlausibleName(binaryName) || binaryName.indexOf('/') >= 0) {
      return null;
    }
    return resourceBytes(binaryName.replace('.', '/') + ".class");
  }

  /** The resource at {@code path} (no leading slash) from the first loader that has it, or null. */
  byte[] resourceBytes(String path) {
    if (!isPlausibleName(path)) {
      return null;
    }
    String name = path.startsWith("/") ? path.substring(1) : path;
    for (ClassLoader loader : snapshot()) {
      byte[] bytes = read(loader, name);
      if (bytes != null) {
        return bytes;
      }
    }
    return null;
  }

  /** Reads {@code name} from {@code loader}, or null when absent, unreadable or too large. */
  static byte[] read(ClassLoader loader, String name) {
    try (InputStream in = loader.getResourceAsStream(name)) {
      if (in == null) {
        return null;
      }
      byte[] bytes = in.readNBytes(CLASS_MAX + 1);
      return bytes.length > CLASS_MAX ? null : bytes;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private List<ClassLoader> snapshot() {
    synchronized (loaders) {
      return new ArrayList<>(loaders.keySet());
    }
  }

  private static boolean isPlausibleName(String name) {
    return name != null && !name.isEmpty() && name.length() <= NAME_MAX && name.indexOf('\0') < 0;
  }
}
