package io.semifaas.common;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Lazy data is a missing-data fallback (docs/internals.md, "Lazy data"). Hibernate's uninitialized
 * proxies and persistent collections can only be loaded by the server's persistence context: they
 * cross as lazy references, which the function materializes with one remote call on first use (the
 * call runs on the request thread, inside the request's own persistence context), and uses as a
 * copy from then on. Initialized ones cross as what they hold: the entity, or a plain collection.
 * Hibernate is matched by name: the agent does not link against it.
 */
public final class LazyData {
  static final String HIBERNATE_PROXY = "org.hibernate.proxy.HibernateProxy";
  static final String PERSISTENT_COLLECTION = "org.hibernate.collection.spi.PersistentCollection";

  /** The remote call that loads a lazy reference's value and returns it by value. */
  public static final String MATERIALIZE = "semifaas$materialize";

  public static final String MATERIALIZE_DESCRIPTOR = "()Ljava/lang/Object;";

  private static final ClassValue<Kind> KINDS =
      new ClassValue<>() {
        @Override
        protected Kind computeValue(Class<?> type) {
          if (implementsNamed(type, HIBERNATE_PROXY)) {
            return Kind.PROXY;
          }
          if (implementsNamed(type, PERSISTENT_COLLECTION)) {
            return Kind.COLLECTION;
          }
          return Kind.NONE;
        }
      };

  private enum Kind {
    NONE,
    PROXY,
    COLLECTION
  }

  private LazyData() {}

  /** True for objects whose class only the server's persistence context can load. */
  static boolean isLazyType(Class<?> type) {
    return KINDS.get(type) != Kind.NONE;
  }

  /**
   * What the server writes in place of lazy data {@code value}: an initialized proxy's entity, an
   * initialized collection's plain copy, an uninitialized one as a lazy reference exported in
   * {@code scope}. The codec substitutes by class, and whether lazy data is loaded is a matter of
   * the instance: every lazy object is written as a {@link Value}, which readers unwrap.
   */
  static Value wrap(Object value, ExportScope scope) {
    switch (KINDS.get(value.getClass())) {
      case PROXY -> {
        Object initializer = call(value, "getHibernateLazyInitializer");
        if (Boolean.TRUE.equals(call(initializer, "isUninitialized"))) {
          return new Value(null, scope.exportLazy(value, entityClassName(value.getClass())));
        }
        return new Value(call(initializer, "getImplementation"), null);
      }
      case COLLECTION -> {
        if (Boolean.TRUE.equals(call(value, "wasInitialized"))) {
          return new Value(plainCopy(value), null);
        }
        return new Value(null, scope.exportLazy(value, collectionInterface(value)));
      }
      default -> throw new IllegalArgumentException(value.getClass() + " is no lazy data");
    }
  }

  /** Lazy data as it crosses: its value, or the reference that loads it. */
  public static final class Value {
    private final Object value;
    private final RemoteRef ref;

    Value(Object value, RemoteRef ref) {
      this.value = value;
      this.ref = ref;
    }

    public Object value() {
      return value;
    }

    public RemoteRef ref() {
      return ref;
    }
  }

  /**
   * The value of a lazy reference's object, loaded now (by the server's persistence context, on
   * the request's thread): an entity, or a plain copy of a collection. Other objects are returned
   * as they are.
   */
  public static Object materialize(Object target) {
    switch (KINDS.get(target.getClass())) {
      case PROXY -> {
        return call(call(target, "getHibernateLazyInitializer"), "getImplementation");
      }
      case COLLECTION -> {
        return plainCopy(target);
      }
      default -> {
        return target;
      }
    }
  }

  private static Object plainCopy(Object collection) {
    if (collection instanceof List<?> list) {
      return new ArrayList<>(list);
    }
    if (collection instanceof Set<?> set) {
      return new LinkedHashSet<>(set);
    }
    if (collection instanceof Map<?, ?> map) {
      return new LinkedHashMap<>(map);
    }
    if (collection instanceof Collection<?> other) {
      return new ArrayList<>(other);
    }
    return collection;
  }

  private static String collectionInterface(Object collection) {
    if (collection instanceof List<?>) {
      return List.class.getName();
    }
    if (collection instanceof Set<?>) {
      return Set.class.getName();
    }
    if (collection instanceof Map<?, ?>) {
      return Map.class.getName();
    }
    return Collection.class.getName();
  }

  /** Hibernate's proxy classes subclass the entity. */
  private static String entityClassName(Class<?> proxyClass) {
    Class<?> superclass = proxyClass.getSuperclass();
    return superclass != null && superclass != Object.class
        ? superclass.getName()
        : proxyClass.getName();
  }

  private static boolean implementsNamed(Class<?> type, String name) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      for (Class<?> i : c.getInterfaces()) {
        if (i.getName().equals(name) || implementsNamed(i, name)) {
          return true;
        }
      }
    }
    return false;
  }

  private static Object call(Object target, String name) {
    try {
      Method method = target.getClass().getMethod(name);
      method.setAccessible(true);
      return method.invoke(target);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException(
          "lazy data: " + target.getClass().getName() + "#" + name + ": " + e, e);
    }
  }
}
