package io.semifaas.agent;

import java.util.LinkedHashSet;
import java.util.Set;

/** The binary names of a class, its superclasses and its interfaces, computed once per class. */
final class Supertypes {
  private static final ClassValue<Set<String>> NAMES =
      new ClassValue<>() {
        @Override
        protected Set<String> computeValue(Class<?> type) {
          Set<String> names = new LinkedHashSet<>();
          add(type, names);
          return Set.copyOf(names);
        }
      };

  private Supertypes() {}

  static Set<String> of(Class<?> type) {
    return NAMES.get(type);
  }

  private static void add(Class<?> type, Set<String> names) {
    if (type == null || !names.add(type.getName())) {
      return;
    }
    add(type.getSuperclass(), names);
    for (Class<?> implemented : type.getInterfaces()) {
      add(implemented, names);
    }
  }
}
