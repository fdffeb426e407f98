package io.semifaas.runtime;

import static net.bytebuddy.matcher.ElementMatchers.isFinalizer;
import static net.bytebuddy.matcher.ElementMatchers.not;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.description.modifier.Visibility;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.loading.ClassLoadingStrategy;
import net.bytebuddy.dynamic.scaffold.subclass.ConstructorStrategy;
import net.bytebuddy.implementation.InvocationHandlerAdapter;
import org.objenesis.Objenesis;
import org.objenesis.ObjenesisStd;
import org.objenesis.instantiator.ObjectInstantiator;

/**
 * Proxies of server objects whose declared type is a class: a generated subclass (in the class's
 * own package and closure loader, so package-private methods are overridden too) whose every
 * non-final method goes to a {@link RemoteHandler} held in an instance field. Instances are made
 * without running a constructor. Final methods cannot be intercepted and run on the empty copy.
 */
final class SubclassProxies {
  static final String HANDLER_FIELD = "semifaas$remote";
  private static final String SUFFIX = "$SemifaasRemote";

  /** Objenesis's own cache is keyed by class name, which closures reuse: cache per class here. */
  private static final Objenesis OBJENESIS = new ObjenesisStd(false);

  private static final ClassValue<ObjectInstantiator<?>> INSTANTIATORS =
      new ClassValue<>() {
        @Override
        protected ObjectInstantiator<?> computeValue(Class<?> type) {
          return OBJENESIS.getInstantiatorOf(type);
        }
      };

  /** Generated classes, per superclass: one class serves every proxy of that type. */
  private static final ClassValue<Map<List<Class<?>>, Class<?>>> GENERATED =
      new ClassValue<>() {
        @Override
        protected Map<List<Class<?>>, Class<?>> computeValue(Class<?> type) {
          return new HashMap<>();
        }
      };

  /** Handler fields of generated classes, to recognise their instances. */
  private static final ClassValue<Field> HANDLER_FIELDS =
      new ClassValue<>() {
        @Override
        protected Field computeValue(Class<?> type) {
          if (!type.getName().endsWith(SUFFIX)) {
            return null;
          }
          try {
            Field field = type.getDeclaredField(HANDLER_FIELD);
            field.setAccessible(true);
            return field;
          } catch (NoSuchFieldException | RuntimeException e) {
            return null;
          }
        }
      };

  private SubclassProxies() {}

  static Object create(
      Class<?> type, List<Class<?>> interfaces, RemoteHandler handler, ClassLoader loader) {
    Class<?> proxyClass = proxyClass(type, interfaces, loader);
    Object proxy = INSTANTIATORS.get(proxyClass).newInstance();
    try {
      HANDLER_FIELDS.get(proxyClass).set(proxy, handler);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException("cannot attach the remote handler to " + proxyClass, e);
    }
    return proxy;
  }

  /** True for the classes generated here. */
  static boolean isProxyClass(Class<?> type) {
    return HANDLER_FIELDS.get(type) != null;
  }

  /** The remote handler of a generated proxy, or null for any other object. */
  static RemoteHandler handlerOf(Object value) {
    Field field = HANDLER_FIELDS.get(value.getClass());
    if (field == null) {
      return null;
    }
    try {
      return field.get(value) instanceof RemoteHandler handler ? handler : null;
    } catch (IllegalAccessException e) {
      return null;
    }
  }

  private static Class<?> proxyClass(Class<?> type, List<Class<?>> interfaces, ClassLoader loader) {
    Map<List<Class<?>>, Class<?>> byInterfaces = GENERATED.get(type);
    synchronized (byInterfaces) {
      List<Class<?>> extra = interfaces.stream().filter(i -> !i.isAssignableFrom(type)).toList();
      Class<?> existing = byInterfaces.get(extra);
      if (existing != null) {
        return existing;
      }
      String name = type.getName() + SUFFIX + (byInterfaces.isEmpty() ? "" : byInterfaces.size());
      Class<?> made =
          new ByteBuddy()
              .subclass(type, ConstructorStrategy.Default.NO_CONSTRUCTORS)
              .implement(extra)
              .name(name)
              .defineField(HANDLER_FIELD, InvocationHandler.class, Visibility.PRIVATE)
              .method(not(isFinalizer()))
              .intercept(InvocationHandlerAdapter.toField(HANDLER_FIELD))
              .make()
              .load(definingLoader(type, loader), strategy(type))
              .getLoaded();
      byInterfaces.put(extra, made);
      return made;
    }
  }

  private static ClassLoader definingLoader(Class<?> type, ClassLoader fallback) {
    return type.getClassLoader() != null ? type.getClassLoader() : fallback;
  }

  /** Into the closure loader when the class is its own (same runtime package), else a child. */
  private static ClassLoadingStrategy<ClassLoader> strategy(Class<?> type) {
    if (type.getClassLoader() instanceof ClosureClassLoader) {
      return (loader, types) -> {
        Map<TypeDescription, Class<?>> loaded = new HashMap<>();
        for (Map.Entry<TypeDescription, byte[]> entry : types.entrySet()) {
          loaded.put(
              entry.getKey(),
              ((ClosureClassLoader) loader)
                  .defineGenerated(entry.getKey().getName(), entry.getValue()));
        }
        return loaded;
      };
    }
    if (!Modifier.isPublic(type.getModifiers())) {
      throw new IllegalStateException(
          "cannot proxy the non-public " + type.getName() + " outside its closure loader");
    }
    return ClassLoadingStrategy.Default.WRAPPER;
  }
}
