package io.semifaas.common;

import java.util.Collection;

/** Finds the interfaces a class implements by name (the agent links against no servlet API). */
public final class Interfaces {
  private Interfaces() {}

  /** The first interface named in {@code names} that {@code type} implements, or null. */
  public static Class<?> named(Class<?> type, Collection<String> names) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      for (Class<?> i : c.getInterfaces()) {
        if (names.contains(i.getName())) {
          return i;
        }
        Class<?> inherited = named(i, names);
        if (inherited != null) {
          return inherited;
        }
      }
    }
    return null;
  }
}
