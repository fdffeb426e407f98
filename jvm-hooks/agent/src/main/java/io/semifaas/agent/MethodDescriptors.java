package io.semifaas.agent;

import java.lang.reflect.Method;

/** JVM method descriptors, as the function runtime matches handlers by name and descriptor. */
final class MethodDescriptors {
  private MethodDescriptors() {}

  static String of(Method method) {
    StringBuilder out = new StringBuilder("(");
    for (Class<?> parameter : method.getParameterTypes()) {
      appendType(out, parameter);
    }
    out.append(')');
    appendType(out, method.getReturnType());
    return out.toString();
  }

  private static void appendType(StringBuilder out, Class<?> type) {
    if (type.isArray()) {
      // Class#getName of an array is already its descriptor, with dots for slashes.
      out.append(type.getName().replace('.', '/'));
    } else if (type.isPrimitive()) {
      out.append(primitive(type));
    } else {
      out.append('L').append(type.getName().replace('.', '/')).append(';');
    }
  }

  private static char primitive(Class<?> type) {
    if (type == int.class) {
      return 'I';
    } else if (type == long.class) {
      return 'J';
    } else if (type == boolean.class) {
      return 'Z';
    } else if (type == byte.class) {
      return 'B';
    } else if (type == char.class) {
      return 'C';
    } else if (type == short.class) {
      return 'S';
    } else if (type == float.class) {
      return 'F';
    } else if (type == double.class) {
      return 'D';
    }
    return 'V';
  }
}
