package io.semifaas.common;

import java.util.Arrays;

/**
 * What crosses instead of an object that stays on the server (docs/internals.md, "Remote
 * references"): the id it was exported under, the class the function should present it as, and the
 * interfaces a proxy can implement.
 */
public final class RemoteRef {
  private final long id;
  private final String className;
  private final String[] interfaces;
  private final boolean lazy;

  public RemoteRef(long id, String className, String[] interfaces) {
    this(id, className, interfaces, false);
  }

  private RemoteRef(long id, String className, String[] interfaces, boolean lazy) {
    this.id = id;
    this.className = className;
    this.interfaces = interfaces.clone();
    this.lazy = lazy;
  }

  /**
   * A reference to lazy data ({@link LazyData}): the function loads its value with one call on
   * first use and works on that copy. {@code className} is the entity class or the collection
   * interface, never Hibernate's.
   */
  static RemoteRef lazy(long id, String className) {
    boolean anInterface = className.startsWith("java.util.");
    return new RemoteRef(
        id, className, anInterface ? new String[] {className} : new String[0], true);
  }

  public boolean lazy() {
    return lazy;
  }

  public long id() {
    return id;
  }

  /** The class to subclass for a proxy; for JDK proxies on the server, the first interface. */
  public String className() {
    return className;
  }

  public String[] interfaces() {
    return interfaces.clone();
  }

  @Override
  public String toString() {
    return "RemoteRef#"
        + id
        + "("
        + className
        + ", "
        + Arrays.toString(interfaces)
        + (lazy ? ", lazy" : "")
        + ")";
  }
}
