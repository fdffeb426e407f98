package io.semifaas.agent;

import java.lang.reflect.Method;

/** Handler keys, {@code fully.qualified.Class#method}, named after the bean's user class. */
final class HandlerKeys {
  private HandlerKeys() {}

  static String of(Class<?> beanClass, Method method) {
    return userClass(beanClass).getName() + "#" + method.getName();
  }

  /** The class the user wrote: CGLIB subclasses ({@code Foo$$SpringCGLIB$$0}) name their parent. */
  static Class<?> userClass(Class<?> type) {
    Class<?> current = type;
    while (current.getName().contains("$$")
        && current.getSuperclass() != null
        && current.getSuperclass() != Object.class) {
      current = current.getSuperclass();
    }
    return current;
  }
}
