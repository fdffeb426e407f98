package io.semifaas.agent;

import io.semifaas.common.RemoteClasses;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Collects the code section of a closure: the class files of the receiver's class and its
 * superclasses, the handler's parameter and return types, the runtime classes of objects reachable
 * from the receiver's fields (as far as they come from an application class loader), and the
 * classes those class files refer to that come from the same place as the receiver's class (the
 * application's own code, not its libraries), then the classes the handler learned. The walks are
 * bounded; whatever they miss the function fetches through the class-loading fallback.
 *
 * <p>The walk does not enter server-bound objects (repositories, proxied services): they cross as
 * remote references, so only the types they present matter, and their insides (a Spring proxy's
 * advisors, the bean factory behind them) would fill the section with library classes. The
 * section's method references are the remote calls the server answers ({@link ClosureReferences}),
 * so the application's own code must not be crowded out, and learned classes come after it: a
 * closure grown by them still ships, and allows, everything its predecessor did.
 */
final class CodeSectionCollector {
  /** Objects visited at most while walking the receiver's graph. */
  static final int MAX_OBJECTS = 4096;

  /** Classes shipped at most. */
  static final int MAX_CLASSES = 512;

  /** Total class bytes shipped at most; the rest comes by fallback. */
  static final long MAX_TOTAL_BYTES = 32L * 1024 * 1024;

  /** Elements looked at per collection, map or array. */
  private static final int MAX_ELEMENTS = 256;

  private final int maxObjects;
  private final int maxClasses;

  CodeSectionCollector() {
    this(MAX_OBJECTS, MAX_CLASSES);
  }

  CodeSectionCollector(int maxObjects, int maxClasses) {
    this.maxObjects = maxObjects;
    this.maxClasses = maxClasses;
  }

  CodeSection collect(Object receiver, Method handler) {
    return collect(receiver, handler, List.of());
  }

  /**
   * The code section, plus the application classes {@code learned} from the handler's local runs
   * (binary names, read through the receiver's class loader).
   */
  CodeSection collect(Object receiver, Method handler, Collection<String> learned) {
    Set<Class<?>> classes = new LinkedHashSet<>();
    addWithSupertypes(classes, receiver.getClass());
    for (Class<?> parameter : handler.getParameterTypes()) {
      addWithSupertypes(classes, elementType(parameter));
    }
    addWithSupertypes(classes, elementType(handler.getReturnType()));
    walkReachable(receiver, classes);
    return read(classes, receiver.getClass(), learned);
  }

  /** True for classes the function cannot be assumed to have: application-loaded and named. */
  static boolean isApplicationClass(Class<?> type) {
    if (type == null || type.isPrimitive() || type.isArray() || type.isHidden()) {
      return false;
    }
    if (!ApplicationClassLoaders.isApplicationLoader(type.getClassLoader())) {
      return false;
    }
    // The agent's own classes sit on the system class path next to a plain application's.
    return !AgentClasses.isAgentClass(type.getName());
  }

  private void walkReachable(Object root, Set<Class<?>> classes) {
    Map<Object, Boolean> seen = new IdentityHashMap<>();
    Deque<Object> pending = new ArrayDeque<>();
    pending.add(root);
    while (!pending.isEmpty() && seen.size() < maxObjects && classes.size() < maxClasses) {
      Object current = pending.poll();
      if (seen.put(current, Boolean.TRUE) != null) {
        continue;
      }
      Class<?> type = current.getClass();
      addWithSupertypes(classes, type);
      if (type.isArray()) {
        if (!type.getComponentType().isPrimitive()) {
          int length = Math.min(Array.getLength(current), MAX_ELEMENTS);
          for (int i = 0; i < length; i++) {
            enqueue(pending, Array.get(current, i));
          }
        }
      } else if (current != root && RemoteClasses.isServerBound(type)) {
        // A remote reference: the types it presents were added above; its insides never cross.
        continue;
      } else if (isApplicationClass(type)) {
        enqueueFields(pending, current, type);
      } else if (current instanceof Collection<?> collection) {
        enqueueAll(pending, collection);
      } else if (current instanceof Map<?, ?> map) {
        enqueueAll(pending, map.keySet());
        enqueueAll(pending, map.values());
      }
    }
  }

  private static void enqueueFields(Deque<Object> pending, Object object, Class<?> type) {
    for (Class<?> c = type; isApplicationClass(c); c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        if (Modifier.isStatic(field.getModifiers()) || field.getType().isPrimitive()) {
          continue;
        }
        try {
          field.setAccessible(true);
          enqueue(pending, field.get(object));
        } catch (RuntimeException | IllegalAccessException e) {
          // Inaccessible field: its classes come by fallback if the function needs them.
        }
      }
    }
  }

  private static void enqueueAll(Deque<Object> pending, Collection<?> values) {
    List<Object> copy = new ArrayList<>(MAX_ELEMENTS);
    try {
      for (Object value : values) {
        if (copy.size() >= MAX_ELEMENTS) {
          break;
        }
        copy.add(value);
      }
    } catch (RuntimeException e) {
      // Concurrently modified or lazily failing collection: keep what was read.
    }
    copy.forEach(value -> enqueue(pending, value));
  }

  private static void enqueue(Deque<Object> pending, Object value) {
    if (value != null && !(value instanceof Class<?>) && !(value instanceof ClassLoader)) {
      pending.add(value);
    }
  }

  private void addWithSupertypes(Set<Class<?>> classes, Class<?> type) {
    if (!isApplicationClass(type) || classes.contains(type) || classes.size() >= maxClasses) {
      return;
    }
    classes.add(type);
    addWithSupertypes(classes, type.getSuperclass());
    for (Class<?> implemented : type.getInterfaces()) {
      addWithSupertypes(classes, implemented);
    }
    Class<?> enclosing = type.getEnclosingClass();
    if (enclosing != null) {
      addWithSupertypes(classes, enclosing);
    }
  }

  private static Class<?> elementType(Class<?> type) {
    Class<?> current = type;
    while (current.isArray()) {
      current = current.getComponentType();
    }
    return current;
  }

  /**
   * Reads the class files of {@code classes}, then follows their constant-pool references to
   * classes of the receiver's own code source.
   */
  private CodeSection read(
      Set<Class<?>> classes, Class<?> receiverClass, Collection<String> learned) {
    ClassLoader loader = receiverClass.getClassLoader();
    String home = codeSource(loader, receiverClass.getName());
    Map<String, byte[]> shipped = new LinkedHashMap<>();
    Deque<String> references = new ArrayDeque<>();
    long total = 0;
    for (Class<?> type : classes) {
      byte[] classFile =
          ApplicationClassLoaders.read(type.getClassLoader(), resourceName(type.getName()));
      if (classFile == null || total + classFile.length > MAX_TOTAL_BYTES) {
        continue;
      }
      total += classFile.length;
      shipped.put(type.getName(), classFile);
      references.addAll(ClassFileReferences.of(classFile));
    }
    while (!references.isEmpty() && shipped.size() < maxClasses && home != null) {
      String name = references.poll();
      if (shipped.containsKey(name)
          || name.startsWith("java.")
          || AgentClasses.isAgentClass(name)) {
        continue;
      }
      if (!home.equals(codeSource(loader, name))) {
        continue;
      }
      byte[] classFile = ApplicationClassLoaders.read(loader, resourceName(name));
      if (classFile == null || total + classFile.length > MAX_TOTAL_BYTES) {
        continue;
      }
      total += classFile.length;
      shipped.put(name, classFile);
      references.addAll(ClassFileReferences.of(classFile));
    }
    // Learned classes come after the application's own code, so that learning never pushes it out
    // (nor its calls out of the allow-list), and have a budget of their own: the walks above may
    // fill maxClasses, and what instances really fetched matters more than what a walk guessed.
    int learnedBudget = shipped.size() + LearnedClasses.MAX_PER_HANDLER;
    for (String name : learned) {
      if (shipped.size() >= learnedBudget || shipped.containsKey(name)) {
        continue;
      }
      byte[] classFile = ApplicationClassLoaders.read(loader, resourceName(name));
      if (classFile != null && total + classFile.length <= MAX_TOTAL_BYTES) {
        total += classFile.length;
        shipped.put(name, classFile);
      }
    }
    return new CodeSection(
        List.copyOf(shipped.keySet()),
        Collections.unmodifiableList(new ArrayList<>(shipped.values())));
  }

  /** Where {@code loader} finds the class: its resource URL without the class's own path. */
  private static String codeSource(ClassLoader loader, String className) {
    String resource = resourceName(className);
    URL url = loader == null ? null : loader.getResource(resource);
    if (url == null) {
      return null;
    }
    String location = url.toString();
    return location.endsWith(resource)
        ? location.substring(0, location.length() - resource.length())
        : null;
  }

  private static String resourceName(String className) {
    return className.replace('.', '/') + ".class";
  }
}
