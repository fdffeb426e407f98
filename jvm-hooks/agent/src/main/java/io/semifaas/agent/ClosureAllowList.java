package io.semifaas.agent;

import io.semifaas.common.CodecAllowList;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.util.HashSet;
import java.util.Set;

/**
 * The classes the server decodes from a closure's function beyond what it sent itself
 * (docs/internals.md, "Object bytes"): the handler's parameter and return types with their type
 * arguments ({@code List<Post>}), the closure's classes, and every class their code names (what
 * it can create and return).
 */
final class ClosureAllowList {
  /** Type arguments followed at most ({@code Map<String, List<Set<Post>>>}). */
  private static final int MAX_DEPTH = 8;

  private ClosureAllowList() {}

  static CodecAllowList of(Method handler, CodeSection code) {
    return of(handler, code, ClosureReferences.of(code.classBytes()), Set.of());
  }

  /**
   * {@link #of(Method, CodeSection)} with the closure's {@code references}, already read, plus
   * what class fallbacks served the handler ({@code served}).
   */
  static CodecAllowList of(
      Method handler, CodeSection code, ClosureReferences references, Set<String> served) {
    Set<String> names = new HashSet<>(code.classNames());
    names.addAll(references.classes());
    names.add(handler.getDeclaringClass().getName());
    addType(names, handler.getGenericReturnType(), 0);
    for (Type parameter : handler.getGenericParameterTypes()) {
      addType(names, parameter, 0);
    }
    return CodecAllowList.of(names, served);
  }

  private static void addType(Set<String> names, Type type, int depth) {
    if (depth > MAX_DEPTH) {
      return;
    }
    if (type instanceof Class<?> c) {
      while (c.isArray()) {
        c = c.getComponentType();
      }
      if (!c.isPrimitive()) {
        names.add(c.getName());
      }
    } else if (type instanceof ParameterizedType p) {
      addType(names, p.getRawType(), depth + 1);
      for (Type argument : p.getActualTypeArguments()) {
        addType(names, argument, depth + 1);
      }
    } else if (type instanceof GenericArrayType a) {
      addType(names, a.getGenericComponentType(), depth + 1);
    } else if (type instanceof WildcardType w) {
      for (Type bound : w.getUpperBounds()) {
        addType(names, bound, depth + 1);
      }
    } else if (type instanceof TypeVariable<?> v) {
      for (Type bound : v.getBounds()) {
        addType(names, bound, depth + 1);
      }
    }
  }
}
