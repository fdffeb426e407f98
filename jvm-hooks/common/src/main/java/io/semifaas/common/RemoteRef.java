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

  public RemoteRef(long id, String className, String[] interfaces) {
    this.id = id;
    this.className = className;
    this.interfaces = interfaces.clone();
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
    return "RemoteRef#" + id + "(" + className + ", " + Arrays.toString(interfaces) + ")";
  }
}
