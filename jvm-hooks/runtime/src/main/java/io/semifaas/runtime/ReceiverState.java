package io.semifaas.runtime;

import io.semifaas.common.StateMerge;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * What a handler could change in its receiver that a local run would change in the server's shared
 * one (docs/internals.md, "Shared state never forks"): the receiver's own fields, values by value
 * and objects by identity, and the contents of the collections, maps and arrays it holds directly.
 * Deeper objects are not followed: the library objects a controller holds fill their own caches
 * (as they would on the server), and the server's profiling watches application objects in depth.
 */
final class ReceiverState {
  /** Marks where a held container's contents start and how many entries it has. */
  private record Size(int entries) {}

  private final List<Object> entries;

  private ReceiverState(List<Object> entries) {
    this.entries = entries;
  }

  static ReceiverState of(Object receiver) {
    List<Object> entries = new ArrayList<>();
    for (Class<?> c = receiver.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        if (Modifier.isStatic(field.getModifiers())) {
          continue;
        }
        Object value;
        try {
          field.setAccessible(true);
          value = field.get(receiver);
        } catch (ReflectiveOperationException | RuntimeException e) {
          continue;
        }
        entries.add(value);
        if (value instanceof Collection<?> collection) {
          entries.add(new Size(collection.size()));
          entries.addAll(collection);
        } else if (value instanceof Map<?, ?> map) {
          entries.add(new Size(map.size()));
          for (Map.Entry<?, ?> entry : map.entrySet()) {
            entries.add(entry.getKey());
            entries.add(entry.getValue());
          }
        } else if (value != null && value.getClass().isArray()) {
          int length = Array.getLength(value);
          entries.add(new Size(length));
          for (int i = 0; i < length; i++) {
            entries.add(Array.get(value, i));
          }
        }
      }
    }
    return new ReceiverState(entries);
  }

  /** True when an entry holds another value, or another object (by identity), than before. */
  boolean differsFrom(ReceiverState later) {
    if (entries.size() != later.entries.size()) {
      return true;
    }
    for (int i = 0; i < entries.size(); i++) {
      if (!same(entries.get(i), later.entries.get(i))) {
        return true;
      }
    }
    return false;
  }

  private static boolean same(Object a, Object b) {
    if (a == b) {
      return true;
    }
    if (a == null || b == null) {
      return false;
    }
    return (StateMerge.isValue(a) || a instanceof Size) && a.equals(b);
  }
}
