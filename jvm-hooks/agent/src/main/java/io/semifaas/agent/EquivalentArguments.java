package io.semifaas.agent;

import io.semifaas.common.CodecException;
import io.semifaas.common.ExportScope;
import io.semifaas.common.ObjectCodec;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.InaccessibleObjectException;
import java.lang.reflect.Modifier;
import java.time.temporal.TemporalAccessor;
import java.util.Calendar;
import java.util.Collection;
import java.util.Date;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Whether a re-executed remote call's arguments are those of the logged call (see {@link
 * CallLog}). Equal bytes are; otherwise both are decoded and compared field by field, clock
 * readings aside: a re-execution reads the clock again ({@code Instant.now()} in a new entity),
 * and the logged answer, with the server's state of the arguments it sends back, carries the first
 * run's time into the re-execution's copies. Anything else that differs (another title, another
 * id) is another call.
 */
final class EquivalentArguments {
  private EquivalentArguments() {}

  static boolean same(byte[] logged, byte[] now, ClassLoader loader, ExportScope scope) {
    try {
      Object before = ObjectCodec.deserialize(logged, loader, scope);
      Object after = ObjectCodec.deserialize(now, loader, scope);
      return equivalent(before, after, new IdentityHashMap<>());
    } catch (CodecException | RuntimeException e) {
      return false;
    }
  }

  /** Deep equality, clock values equal to each other; {@code seen} guards cycles. */
  static boolean equivalent(Object a, Object b, IdentityHashMap<Object, Object> seen) {
    if (a == b) {
      return true;
    }
    if (a == null || b == null || a.getClass() != b.getClass()) {
      return false;
    }
    if (isClockValue(a)) {
      return true;
    }
    Object paired = seen.get(a);
    if (paired != null) {
      return paired == b;
    }
    seen.put(a, b);
    Class<?> type = a.getClass();
    if (type.isArray()) {
      int length = Array.getLength(a);
      if (length != Array.getLength(b)) {
        return false;
      }
      for (int i = 0; i < length; i++) {
        if (!equivalent(Array.get(a, i), Array.get(b, i), seen)) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof Map<?, ?> left && b instanceof Map<?, ?> right) {
      return left.size() == right.size()
          && inOrder(left.entrySet().iterator(), right.entrySet().iterator(), seen);
    }
    if (a instanceof Map.Entry<?, ?> left && b instanceof Map.Entry<?, ?> right) {
      return equivalent(left.getKey(), right.getKey(), seen)
          && equivalent(left.getValue(), right.getValue(), seen);
    }
    if (a instanceof Collection<?> left && b instanceof Collection<?> right) {
      return left.size() == right.size() && inOrder(left.iterator(), right.iterator(), seen);
    }
    if (type.getName().startsWith("java.") || type.isEnum()) {
      // Strings, numbers, JDK values: their own equality.
      return a.equals(b);
    }
    return sameFields(a, b, type, seen);
  }

  private static boolean inOrder(
      Iterator<?> left, Iterator<?> right, IdentityHashMap<Object, Object> seen) {
    while (left.hasNext()) {
      if (!equivalent(left.next(), right.next(), seen)) {
        return false;
      }
    }
    return true;
  }

  private static boolean sameFields(
      Object a, Object b, Class<?> type, IdentityHashMap<Object, Object> seen) {
    for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        if (Modifier.isStatic(field.getModifiers())) {
          continue;
        }
        try {
          field.setAccessible(true);
          if (!equivalent(field.get(a), field.get(b), seen)) {
            return false;
          }
        } catch (IllegalAccessException | InaccessibleObjectException e) {
          return a.equals(b);
        }
      }
    }
    return true;
  }

  private static boolean isClockValue(Object value) {
    return value instanceof TemporalAccessor || value instanceof Date || value instanceof Calendar;
  }
}
