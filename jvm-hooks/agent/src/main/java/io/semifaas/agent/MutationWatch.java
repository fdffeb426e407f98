package io.semifaas.agent;

import io.semifaas.common.CodecException;
import io.semifaas.common.ExportScope;
import io.semifaas.common.ObjectCodec;
import io.semifaas.common.RemoteClasses;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Mutation safety: a closure carries a copy of its receiver, so a handler that changes the
 * receiver's by-value state would change a copy the server never sees. Around a few local runs the
 * receiver's fields are fingerprinted (a hash of each field's codec bytes) before and after; a
 * field whose object changed in place has that object's class demoted to by-reference (see {@link
 * HandlerDispatcher}).
 */
final class MutationWatch {
  private MutationWatch() {}

  /** One field's state: the object it held and the hash of its codec bytes. */
  record FieldState(Object value, int hash) {}

  /** A field a local run changed: its object was changed in place, or the field reassigned. */
  record Mutation(String field, Object value, boolean inPlace) {}

  /** The fingerprint of the by-value fields of {@code bean} (application classes' fields). */
  static Map<Field, FieldState> fingerprint(Object bean) {
    Map<Field, FieldState> states = new LinkedHashMap<>();
    for (Class<?> c = bean.getClass();
        c != null && CodeSectionCollector.isApplicationClass(c);
        c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        if (Modifier.isStatic(field.getModifiers())) {
          continue;
        }
        try {
          field.setAccessible(true);
          Object value = field.get(bean);
          if (value != null && RemoteClasses.isServerBound(value.getClass())) {
            continue;
          }
          states.put(field, new FieldState(value, hash(value)));
        } catch (RuntimeException | IllegalAccessException | CodecException e) {
          // A field that cannot be read or encoded is not sent by value either.
        }
      }
    }
    return states;
  }

  /** What changed between two fingerprints of the same bean. */
  static List<Mutation> compare(Map<Field, FieldState> before, Map<Field, FieldState> after) {
    List<Mutation> mutations = new ArrayList<>();
    for (Map.Entry<Field, FieldState> entry : before.entrySet()) {
      FieldState old = entry.getValue();
      FieldState now = after.get(entry.getKey());
      if (now == null || now.hash == old.hash) {
        continue;
      }
      Field field = entry.getKey();
      String name = field.getDeclaringClass().getName() + "." + field.getName();
      boolean inPlace =
          now.value == old.value && old.value != null && !field.getType().isPrimitive();
      mutations.add(new Mutation(name, now.value, inPlace));
    }
    return mutations;
  }

  /**
   * Nested server-bound objects become references, not failures. Reference ids are unique per
   * export, so every fingerprint shares this one scope: the same object gets the same id each time
   * and an unchanged field hashes the same. It holds what watched receivers' fields reference
   * (their beans), for the first few local runs of each handler only.
   */
  private static final ExportScope FINGERPRINT_SCOPE = new ExportScope(null);

  private static int hash(Object value) throws CodecException {
    return Arrays.hashCode(ObjectCodec.serialize(value, FINGERPRINT_SCOPE));
  }
}
