package io.semifaas.common;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.temporal.TemporalAccessor;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Brings an object up to date with a copy of it that changed elsewhere, keeping the object's own
 * identity and that of the objects it holds (docs/internals.md, "Identity across the boundary"):
 * value fields (primitives, strings, numbers, enums, dates) take the copy's value, a field that
 * was null takes the copy's object, nested application objects are merged field by field, and
 * lists element by element (the server's extra elements appended, a shorter list truncated; an
 * immutable list in a field is replaced). What the server assigned to an argument of a remote call (a generated
 * id, a version, an audit field) so reaches the function's object.
 */
public final class StateMerge {
  /** Nesting followed at most: entity graphs are shallow; cycles are cut by identity anyway. */
  private static final int MAX_DEPTH = 16;

  private StateMerge() {}

  /** Applies to {@code target} what differs in {@code source}, an object of the same class. */
  public static void merge(Object target, Object source) {
    mergeInto(target, source, new IdentityHashMap<>(), 0);
  }

  private static void mergeInto(
      Object target, Object source, Map<Object, Boolean> visited, int depth) {
    if (target == null
        || source == null
        || target == source
        || depth > MAX_DEPTH
        || target.getClass() != source.getClass()
        || visited.put(target, Boolean.TRUE) != null) {
      return;
    }
    if (target instanceof List<?> targets && source instanceof List<?> sources) {
      mergeList(targets, sources, visited, depth);
      return;
    }
    Class<?> type = target.getClass();
    if (type.isArray()) {
      mergeArray(target, source, visited, depth);
      return;
    }
    if (type.getClassLoader() == null || isValue(target) || type.isRecord()) {
      // JDK objects other than lists and arrays, values and records: nothing to merge into.
      return;
    }
    for (Class<?> c = type; c != null && c.getClassLoader() != null; c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        int modifiers = field.getModifiers();
        if (Modifier.isStatic(modifiers) || Modifier.isFinal(modifiers)) {
          continue;
        }
        try {
          field.setAccessible(true);
          Object mine = field.get(target);
          Object theirs = field.get(source);
          if (field.getType().isPrimitive() || isValue(mine) || isValue(theirs)) {
            if (!Objects.equals(mine, theirs)) {
              field.set(target, theirs);
            }
          } else if (mine == null) {
            field.set(target, theirs);
          } else if (mine instanceof List<?> mineList && theirs instanceof List<?> theirList) {
            if (!mergeList(mineList, theirList, visited, depth + 1)) {
              field.set(target, theirs);
            }
          } else {
            mergeInto(mine, theirs, visited, depth + 1);
          }
        } catch (RuntimeException | IllegalAccessException e) {
          // A field reflection may not touch is left as it was.
        }
      }
    }
  }

  /** Merges in place; false when {@code targets} cannot change (an immutable list). */
  @SuppressWarnings("unchecked")
  private static boolean mergeList(
      List<?> targets, List<?> sources, Map<Object, Boolean> visited, int depth) {
    if (visited.put(targets, Boolean.TRUE) != null) {
      return true;
    }
    List<Object> mine = (List<Object>) targets;
    try {
      while (mine.size() > sources.size()) {
        mine.remove(mine.size() - 1);
      }
      for (int i = 0; i < sources.size(); i++) {
        Object theirs = sources.get(i);
        if (i >= mine.size()) {
          mine.add(theirs);
          continue;
        }
        Object element = mine.get(i);
        if (element == null
            || isValue(element)
            || isValue(theirs)
            || theirs == null
            || element.getClass() != theirs.getClass()) {
          if (!Objects.equals(element, theirs)) {
            mine.set(i, theirs);
          }
        } else {
          mergeInto(element, theirs, visited, depth + 1);
        }
      }
      return true;
    } catch (UnsupportedOperationException e) {
      return false;
    }
  }

  private static void mergeArray(
      Object target, Object source, Map<Object, Boolean> visited, int depth) {
    int length = Array.getLength(target);
    if (length != Array.getLength(source)) {
      return;
    }
    boolean values = target.getClass().getComponentType().isPrimitive();
    for (int i = 0; i < length; i++) {
      Object mine = Array.get(target, i);
      Object theirs = Array.get(source, i);
      if (values || isValue(mine) || isValue(theirs) || mine == null) {
        if (!Objects.equals(mine, theirs)) {
          Array.set(target, i, theirs);
        }
      } else {
        mergeInto(mine, theirs, visited, depth + 1);
      }
    }
  }

  /** Immutable values (and dates, which applications treat as values): replaced, never merged. */
  public static boolean isValue(Object value) {
    return value instanceof CharSequence
        || value instanceof Number
        || value instanceof Boolean
        || value instanceof Character
        || value instanceof Enum<?>
        || value instanceof TemporalAccessor
        || value instanceof java.util.Date
        || value instanceof UUID;
  }
}
