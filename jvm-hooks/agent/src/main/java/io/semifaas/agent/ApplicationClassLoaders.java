package io.semifaas.agent;

import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.WeakReference;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The application class loaders the agent has seen (held weakly), and the class files and resources
 * they can provide for the function's fallbacks: from the application's own code sources only
 * ({@link CodeSources}), never from the resource deny list ({@link DeniedResources}).
 */
final class ApplicationClassLoaders {
  private static final System.Logger LOG = System.getLogger("io.semifaas.agent");

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

  /**
   * A class or resource the server does not serve to a function: not the application's own code,
   * or on the resource deny list. The message says which and why.
   */
  static final class Withheld extends Exception {
    Withheld(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * The class file of {@code binaryName} from the first loader that has it in the application's
   * own code, or null when none has it.
   *
   * @throws Withheld for the agent's classes and classes only the JDK or the agent's jar has
   */
  byte[] classBytes(String binaryName) throws Withheld {
    if (!isPlausibleName(binaryName) || binaryName.indexOf('/') >= 0) {
      return null;
    }
    if (AgentClasses.isAgentClass(binaryName)) {
      throw new Withheld("class " + binaryName + " is the agent's, not the application's code");
    }
    return served("class " + binaryName, binaryName.replace('.', '/') + ".class");
  }

  /**
   * The resource at {@code path} (no leading slash) from the first loader that has it in the
   * application's own code, or null when none has it.
   *
   * @throws Withheld for resources on the deny list ({@link DeniedResources}) and resources only
   *     the JDK or the agent's jar has
   */
  byte[] resourceBytes(String path) throws Withheld {
    if (!isPlausibleName(path)) {
      return null;
    }
    String denied = DeniedResources.deniedBy(path);
    if (denied != null) {
      throw new Withheld(
          "resource "
              + path
              + " is withheld: it matches '"
              + denied
              + "', which the server never serves (configuration and key material; see "
              + DeniedResources.KEY
              + ")");
    }
    String name = path.startsWith("/") ? path.substring(1) : path;
    return served("resource " + path, name);
  }

  /**
   * {@code name} as the first loader that has it in application code sees it. Where a loader
   * finds it elsewhere (the JDK's modules, the agent's jar), the next loader is asked; when only
   * such places have it, it is withheld.
   */
  private byte[] served(String what, String name) throws Withheld {
    URL foreign = null;
    for (ClassLoader loader : snapshot()) {
      URL url = loader.getResource(name);
      if (url == null) {
        continue;
      }
      if (!CodeSources.isApplicationCode(url)) {
        foreign = url;
        continue;
      }
      byte[] bytes = read(url);
      if (bytes != null) {
        return bytes;
      }
    }
    if (foreign != null) {
      // Where it was found stays here: the reason travels to the function, and paths are no
      // business of whoever holds its capability.
      LOG.log(System.Logger.Level.DEBUG, "semifaas: {0} withheld, found at {1}", what, foreign);
      throw new Withheld(what + " is withheld: it is not the application's code");
    }
    return null;
  }

  /**
   * Where the first loader that has {@code name} in application code finds it (as {@link
   * #served} reads it), or null.
   */
  URL locate(String name) {
    for (ClassLoader loader : snapshot()) {
      URL url = loader.getResource(name);
      if (url != null && CodeSources.isApplicationCode(url)) {
        return url;
      }
    }
    return null;
  }

  private static byte[] read(URL url) {
    try (InputStream in = url.openStream()) {
      byte[] bytes = in.readNBytes(CLASS_MAX + 1);
      return bytes.length > CLASS_MAX ? null : bytes;
    } catch (IOException | RuntimeException e) {
      return null;
    }
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
