package io.semifaas.common;

import java.lang.annotation.Annotation;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which objects are server-bound: they cross as {@link RemoteRef}s, never by value. The defaults
 * are those of docs/internals.md; {@code semifaas.remote-classes} adds to them, {@code
 * semifaas.copy-classes} forces classes by value, and classes seen mutated by a handler are demoted
 * to by-reference at run time. Types are matched by name so no optional API needs to be present.
 */
public final class RemoteClasses {
  /** Supertypes (by exact name) whose instances stay on the server. */
  private static final Set<String> DEFAULT_TYPES =
      Set.of(
          "javax.sql.DataSource",
          "java.sql.Connection",
          "jakarta.persistence.EntityManager",
          "jakarta.persistence.EntityManagerFactory",
          "javax.persistence.EntityManager",
          "javax.persistence.EntityManagerFactory",
          "org.springframework.data.repository.Repository",
          "org.springframework.jdbc.core.JdbcTemplate",
          "org.springframework.jdbc.core.JdbcOperations",
          "org.springframework.cache.Cache",
          "org.springframework.cache.CacheManager",
          "org.springframework.aop.framework.Advised",
          "org.springframework.aop.SpringProxy",
          "java.lang.Thread",
          "java.lang.ThreadGroup",
          "java.lang.ClassLoader",
          "java.lang.Process",
          "java.net.Socket",
          "java.net.ServerSocket",
          "java.net.DatagramSocket",
          "java.nio.channels.Channel",
          "java.io.InputStream",
          "java.io.OutputStream",
          "java.io.Reader",
          "java.io.Writer",
          "java.io.FileDescriptor",
          "java.io.RandomAccessFile",
          "java.util.concurrent.locks.Lock",
          "java.util.concurrent.locks.ReadWriteLock",
          "java.util.concurrent.Executor");

  private static final List<String> DEFAULT_PREFIXES = List.of("jakarta.servlet.", "javax.servlet.");

  /** Marker interfaces a proxy on the function has no use for. */
  private static final Set<String> PROXY_MARKERS =
      Set.of(
          "org.springframework.aop.SpringProxy",
          "org.springframework.aop.framework.Advised",
          "org.springframework.core.DecoratingProxy",
          "org.springframework.cglib.proxy.Factory",
          "java.io.Serializable");

  private static final ClassValue<List<String>> HIERARCHY =
      new ClassValue<>() {
        @Override
        protected List<String> computeValue(Class<?> type) {
          return hierarchyNames(type);
        }
      };

  private static final ClassValue<Boolean> DEFAULT_BOUND =
      new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
          return isDefaultBound(type);
        }
      };

  private static volatile List<String> remote = List.of();
  private static volatile List<String> copy = List.of();
  private static final Set<String> DEMOTED = ConcurrentHashMap.newKeySet();

  private RemoteClasses() {}

  /**
   * Applies {@code semifaas.remote-classes} and {@code semifaas.copy-classes}: comma-separated class
   * names, or package prefixes ending in {@code .}; null or blank means none.
   */
  public static void configure(String remoteClasses, String copyClasses) {
    remote = split(remoteClasses);
    copy = split(copyClasses);
  }

  /** Makes {@code type} cross by reference from now on; true if it was not demoted before. */
  public static boolean demote(Class<?> type) {
    return DEMOTED.add(type.getName());
  }

  /** The classes demoted so far, by name. */
  public static Set<String> demoted() {
    return Set.copyOf(DEMOTED);
  }

  /** True when instances of {@code type} must stay on the server. */
  public static boolean isServerBound(Class<?> type) {
    if (type.isPrimitive() || type.isArray() || type == RemoteRef.class) {
      return false;
    }
    List<String> names = HIERARCHY.get(type);
    if (matches(names, copy)) {
      return false;
    }
    if (DEMOTED.contains(type.getName()) || matches(names, remote)) {
      return true;
    }
    return DEFAULT_BOUND.get(type);
  }

  /**
   * The reference for {@code value} exported as {@code id}: CGLIB and JDK proxies are presented as
   * the class or interfaces they stand for.
   */
  /** The class name a reference to {@code value} presents (for logs and messages). */
  public static String presentedName(Object value) {
    return describe(0, value).className();
  }

  static RemoteRef describe(long id, Object value) {
    Class<?> type = value.getClass();
    Set<String> interfaces = new LinkedHashSet<>();
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      collectInterfaces(c, interfaces);
    }
    Class<?> presented = type;
    while (presented.getName().contains("$$") && presented.getSuperclass() != null) {
      presented = presented.getSuperclass();
    }
    String className = presented.getName();
    if (Proxy.isProxyClass(type) || presented == Object.class) {
      className = interfaces.isEmpty() ? Object.class.getName() : interfaces.iterator().next();
    }
    return new RemoteRef(id, className, interfaces.toArray(new String[0]));
  }

  private static void collectInterfaces(Class<?> type, Set<String> out) {
    for (Class<?> implemented : type.getInterfaces()) {
      if (!PROXY_MARKERS.contains(implemented.getName()) && !implemented.isHidden()) {
        out.add(implemented.getName());
      }
      collectInterfaces(implemented, out);
    }
  }

  private static boolean isDefaultBound(Class<?> type) {
    if (type.getName().contains("$$") || Proxy.isProxyClass(type)) {
      return true;
    }
    for (String name : HIERARCHY.get(type)) {
      if (DEFAULT_TYPES.contains(name) || startsWithAny(name, DEFAULT_PREFIXES)) {
        return true;
      }
    }
    return holdsServerBoundField(type) || isStatefulBean(type);
  }

  private static final String COMPONENT = "org.springframework.stereotype.Component";

  /**
   * A Spring component ({@code @Component}, {@code @Service}, {@code @Controller}... on the class)
   * with state of its own: a field that is not final, or a final collection, map, array or atomic.
   * It is a singleton that other requests share, so a copy in a function would fork it (a visit
   * counter incremented there and never here). Stateless components (final references to other
   * beans, constants) still cross by value and run where the handler runs.
   */
  static boolean isStatefulBean(Class<?> type) {
    if (!isComponent(type)) {
      return false;
    }
    for (Field field : instanceFields(type)) {
      if (!field.isSynthetic()
          && (!Modifier.isFinal(field.getModifiers()) || isMutableHolder(field.getType()))) {
        return true;
      }
    }
    return false;
  }

  private static boolean isMutableHolder(Class<?> declared) {
    return declared.isArray()
        || java.util.Collection.class.isAssignableFrom(declared)
        || Map.class.isAssignableFrom(declared)
        || declared.getName().startsWith("java.util.concurrent.atomic.")
        || declared == StringBuilder.class;
  }

  private static boolean isComponent(Class<?> type) {
    Annotation[] annotations;
    try {
      annotations = type.getAnnotations();
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
    for (Annotation annotation : annotations) {
      Class<? extends Annotation> kind = annotation.annotationType();
      if (kind.getName().equals(COMPONENT) || isMetaComponent(kind, 0)) {
        return true;
      }
    }
    return false;
  }

  /** {@code @Service}, {@code @RestController}: annotations annotated, at some depth, with it. */
  private static boolean isMetaComponent(Class<? extends Annotation> kind, int depth) {
    if (depth > 3 || kind.getName().startsWith("java.lang.annotation.")) {
      return false;
    }
    for (Annotation meta : kind.getAnnotations()) {
      Class<? extends Annotation> metaKind = meta.annotationType();
      if (metaKind.getName().equals(COMPONENT) || isMetaComponent(metaKind, depth + 1)) {
        return true;
      }
    }
    return false;
  }

  /** Application objects whose own fields are declared as a server-bound JDK type. */
  private static boolean holdsServerBoundField(Class<?> type) {
    if (type.getName().startsWith("java.") || type.getName().startsWith("javax.")) {
      return false;
    }
    for (Field field : instanceFields(type)) {
      Class<?> declared = field.getType();
      if (!declared.isPrimitive()
          && declared.getName().startsWith("java.")
          && declaredBound(declared)) {
        return true;
      }
    }
    return false;
  }

  /** The instance fields of {@code type} and its superclasses, those whose types load. */
  private static List<Field> instanceFields(Class<?> type) {
    List<Field> fields = new ArrayList<>();
    for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
      try {
        for (Field field : c.getDeclaredFields()) {
          if (!Modifier.isStatic(field.getModifiers())) {
            fields.add(field);
          }
        }
      } catch (LinkageError e) {
        // A class whose field types do not load: its fields cannot hold anything either.
      }
    }
    return fields;
  }

  private static boolean declaredBound(Class<?> declared) {
    for (String name : HIERARCHY.get(declared)) {
      if (DEFAULT_TYPES.contains(name)) {
        return true;
      }
    }
    return false;
  }

  private static boolean matches(List<String> names, List<String> patterns) {
    if (patterns.isEmpty()) {
      return false;
    }
    for (String name : names) {
      for (String pattern : patterns) {
        if (pattern.endsWith(".") ? name.startsWith(pattern) : name.equals(pattern)) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean startsWithAny(String name, List<String> prefixes) {
    for (String prefix : prefixes) {
      if (name.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  private static List<String> hierarchyNames(Class<?> type) {
    List<String> names = new ArrayList<>();
    Deque<Class<?>> pending = new ArrayDeque<>();
    Set<Class<?>> seen = new java.util.HashSet<>();
    pending.add(type);
    while (!pending.isEmpty()) {
      Class<?> current = pending.poll();
      if (!seen.add(current)) {
        continue;
      }
      names.add(current.getName());
      if (current.getSuperclass() != null) {
        pending.add(current.getSuperclass());
      }
      pending.addAll(List.of(current.getInterfaces()));
    }
    return List.copyOf(names);
  }

  private static List<String> split(String list) {
    if (list == null || list.isBlank()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (String part : list.split(",")) {
      if (!part.isBlank()) {
        out.add(part.strip());
      }
    }
    return List.copyOf(out);
  }
}
