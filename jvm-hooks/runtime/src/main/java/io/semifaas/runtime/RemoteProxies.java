package io.semifaas.runtime;

import io.semifaas.common.CodecHooks;
import io.semifaas.common.LazyData;
import io.semifaas.common.Packageables;
import io.semifaas.common.RemoteRef;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The function side of remote references: decoding turns a {@link RemoteRef} into a proxy (a JDK
 * proxy over its interfaces, or a generated subclass of its class) and a packaged snapshot into
 * what it stands for; encoding turns a proxy back into its reference. One instance per closure (for
 * the receiver) and one per invocation (for its arguments).
 */
final class RemoteProxies implements CodecHooks {
  /** Proxies cached per instance at most; beyond that the cache starts over. */
  private static final int MAX_CACHED = 10_000;

  private final ClassLoader loader;
  private final FallbackSource fallback;
  private final Map<Long, Object> proxies = new ConcurrentHashMap<>();

  RemoteProxies(ClassLoader loader, FallbackSource fallback) {
    this.loader = loader;
    this.fallback = fallback;
  }

  ClassLoader loader() {
    return loader;
  }

  FallbackSource fallback() {
    return fallback;
  }

  @Override
  public Class<?> substituteClass(Class<?> type) {
    return Proxy.isProxyClass(type) || SubclassProxies.isProxyClass(type) ? RemoteRef.class : null;
  }

  @Override
  public Object substitute(Object value) {
    RemoteRef ref = refOf(value);
    if (ref == null) {
      throw new IllegalArgumentException(
          "a " + value.getClass().getName() + " is a JDK proxy but no server object: it cannot be"
              + " sent to the server");
    }
    return ref;
  }

  @Override
  public Object onRead(Object value) {
    if (value instanceof LazyData.Value lazy) {
      return lazy.ref() != null ? onRead(lazy.ref()) : lazy.value();
    }
    if (value instanceof RemoteRef ref) {
      if (proxies.size() >= MAX_CACHED) {
        proxies.clear();
      }
      return proxies.computeIfAbsent(ref.id(), id -> create(ref));
    }
    return Packageables.unpack(value, loader);
  }

  /** True when {@code value} is a proxy of a server object. */
  static boolean isProxy(Object value) {
    return value != null && refOf(value) != null;
  }

  /** The reference a proxy stands for, or null when {@code value} is no proxy. */
  static RemoteRef refOf(Object value) {
    Class<?> type = value.getClass();
    if (Proxy.isProxyClass(type)) {
      InvocationHandler handler = Proxy.getInvocationHandler(value);
      return handler instanceof RemoteHandler remote ? remote.ref() : null;
    }
    RemoteHandler handler = SubclassProxies.handlerOf(value);
    return handler == null ? null : handler.ref();
  }

  private Object create(RemoteRef ref) {
    RemoteHandler handler = new RemoteHandler(ref, this);
    Class<?> presented = load(ref.className());
    if (presented != null && ClassLoader.class.isAssignableFrom(presented)) {
      // The application's class loader, here, is the closure's: a proxy made without running a
      // constructor is no class loader the JVM can use.
      return loader;
    }
    List<Class<?>> interfaces = new ArrayList<>();
    for (String name : ref.interfaces()) {
      Class<?> type = load(name);
      if (type != null && type.isInterface()) {
        interfaces.add(type);
      }
    }
    if (presented != null && subclassable(presented)) {
      return SubclassProxies.create(presented, interfaces, handler, loader);
    }
    Set<Class<?>> all = new LinkedHashSet<>();
    if (presented != null && presented.isInterface()) {
      all.add(presented);
    }
    all.addAll(interfaces);
    if (all.isEmpty()) {
      throw new IllegalStateException(
          "cannot make a proxy for server object "
              + ref
              + ": its class cannot be subclassed and none of its interfaces loads");
    }
    try {
      return Proxy.newProxyInstance(loader, all.toArray(new Class<?>[0]), handler);
    } catch (IllegalArgumentException e) {
      // Non-public interfaces from different loaders cannot share a proxy: keep the public ones.
      all.removeIf(i -> !Modifier.isPublic(i.getModifiers()));
      return Proxy.newProxyInstance(loader, all.toArray(new Class<?>[0]), handler);
    }
  }

  /** Application classes get a subclass proxy; JDK types and interfaces a JDK proxy. */
  private static boolean subclassable(Class<?> type) {
    return !type.isInterface()
        && !type.isArray()
        && !type.isPrimitive()
        && type != Object.class
        && !Modifier.isFinal(type.getModifiers())
        && !type.getName().startsWith("java.")
        && !type.getName().startsWith("javax.")
        && !type.getName().startsWith("jdk.");
  }

  private Class<?> load(String name) {
    try {
      return Class.forName(name, false, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      return null;
    }
  }
}
