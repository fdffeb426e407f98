package io.semifaas.samples.codecbench;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Objects;

/**
 * Compares a decoded graph with the original across class loaders: same class names, same values.
 * Throwables compare by class, message and stack trace length.
 */
final class Structure {

  private Structure() {}

  static boolean same(Object a, Object b) {
    if (a == null || b == null) {
      return a == b;
    }
    Class<?> type = a.getClass();
    if (!type.getName().equals(b.getClass().getName())) {
      return false;
    }
    if (type.isArray()) {
      int length = Array.getLength(a);
      if (length != Array.getLength(b)) {
        return false;
      }
      for (int i = 0; i < length; i++) {
        if (!same(Array.get(a, i), Array.get(b, i))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof Throwable ta && b instanceof Throwable tb) {
      return Objects.equals(ta.getMessage(), tb.getMessage())
          && ta.getStackTrace().length == tb.getStackTrace().length;
    }
    if (type.getName().startsWith("java.")) {
      return a.equals(b);
    }
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      Class<?> other = findSuper(b.getClass(), c.getName());
      for (Field field : c.getDeclaredFields()) {
        if (Modifier.isStatic(field.getModifiers())) {
          continue;
        }
        if (!same(read(field, a), read(fieldOf(other, field.getName()), b))) {
          return false;
        }
      }
    }
    return true;
  }

  private static Class<?> findSuper(Class<?> type, String name) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      if (c.getName().equals(name)) {
        return c;
      }
    }
    throw new IllegalStateException("no superclass " + name + " of " + type);
  }

  private static Field fieldOf(Class<?> type, String name) {
    try {
      return type.getDeclaredField(name);
    } catch (NoSuchFieldException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Object read(Field field, Object target) {
    try {
      field.setAccessible(true);
      return field.get(target);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
  }
}
