package io.semifaas.runtime;

import java.lang.reflect.Method;

/** JVM type and method descriptors of reflected methods, to match a handler by descriptor. */
final class Descriptors {

  private Descriptors() {}

  static String of(Method method) {
    StringBuilder sb = new StringBuilder("(");
    for (Class<?> p : method.getParameterTypes()) {
      sb.append(of(p));
    }
    return sb.append(')').append(of(method.getReturnType())).toString();
  }

  static String of(Class<?> type) {
    if (type.isArray()) {
      return type.getName().replace('.', '/');
    }
    if (type.isPrimitive()) {
      if (type == int.class) return "I";
      if (type == long.class) return "J";
      if (type == boolean.class) return "Z";
      if (type == byte.class) return "B";
      if (type == char.class) return "C";
      if (type == short.class) return "S";
      if (type == float.class) return "F";
      if (type == double.class) return "D";
      return "V";
    }
    return "L" + type.getName().replace('.', '/') + ";";
  }

  /**
   * The method {@code name} with {@code descriptor} declared by {@code type} or a superclass,
   * or {@code null}.
   */
  static Method find(Class<?> type, String name, String descriptor) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      for (Method m : c.getDeclaredMethods()) {
        if (m.getName().equals(name) && of(m).equals(descriptor)) {
          return m;
        }
      }
    }
    return null;
  }
}
