package io.semifaas.common;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The classes the server decodes from a function's bytes (docs/internals.md, "Object bytes"): a
 * function may only send back what its closure can legitimately produce. A class is decodable
 * when it is not {@link #denial denied} and is one of: the closure's {@link #of names} (the
 * handler's signature, the classes its code references), a class the server itself wrote for the
 * closure or the invocation (see {@link ExportScope}), a JDK value type, collection or exception,
 * Spring MVC's response, model and binding types, the project's wire types, one configured in
 * {@value #KEY}, an enum, an array of such a class, or the concrete declared type of a field of a
 * decoded class that is not the JDK's (what its author meant it to hold).
 */
public final class CodecAllowList {
  /** Comma-separated class names, or package prefixes ending in {@code .}, decodable anywhere. */
  public static final String KEY = "semifaas.codec.allow";

  /**
   * Never decoded, whatever the lists say: types whose mere construction or later use (by an
   * equals, a toString, a finalizer) can run commands, load code, reach files or the network.
   * Names match the class, its superclasses and interfaces (and their nested classes); entries
   * ending in '.' are packages, in '*' prefixes.
   */
  private static final List<String> DENIED =
      List.of(
          "java.lang.ProcessBuilder",
          "java.lang.Runtime",
          "java.lang.Process",
          "java.lang.ProcessHandle",
          "java.lang.ClassLoader",
          "java.lang.Thread",
          "java.lang.ThreadGroup",
          "java.lang.Module",
          "java.lang.ModuleLayer",
          "java.lang.System",
          "java.lang.reflect.",
          "java.lang.invoke.",
          "java.io.File*",
          "java.io.InputStream",
          "java.io.OutputStream",
          "java.io.Reader",
          "java.io.Writer",
          "java.io.RandomAccessFile",
          "java.nio.file.",
          "java.nio.channels.",
          "java.net.",
          "javax.script.",
          "javax.naming.",
          "javax.management.",
          "java.rmi.",
          "sun.",
          "jdk.internal.",
          "com.sun.");

  /**
   * Exceptions to {@link #DENIED}: immutable values that merely name a resource, and Class (it
   * implements java.lang.reflect's interfaces; decoding one resolves the class it names through
   * the same checks).
   */
  private static final Set<String> DENIED_EXCEPT = Set.of("java.net.URI", "java.lang.Class");

  /** JDK value types and collections any function may send back, matched by exact name. */
  private static final Set<String> JDK_CLASSES =
      Set.of(
          "java.lang.Object",
          // Decoding a Class resolves the class it names through the same check.
          "java.lang.Class",
          "java.lang.String",
          "java.lang.Boolean",
          "java.lang.Byte",
          "java.lang.Character",
          "java.lang.Short",
          "java.lang.Integer",
          "java.lang.Long",
          "java.lang.Float",
          "java.lang.Double",
          "java.lang.Void",
          "java.lang.StringBuilder",
          "java.lang.StringBuffer",
          "java.lang.StackTraceElement",
          "java.math.BigDecimal",
          "java.math.BigInteger",
          "java.math.MathContext",
          "java.math.RoundingMode",
          "java.net.URI",
          "java.util.UUID",
          "java.util.Date",
          "java.util.Locale",
          "java.util.Currency",
          "java.util.Optional",
          "java.util.OptionalInt",
          "java.util.OptionalLong",
          "java.util.OptionalDouble",
          "java.util.BitSet",
          "java.util.ArrayList",
          "java.util.LinkedList",
          "java.util.ArrayDeque",
          "java.util.Vector",
          "java.util.HashMap",
          "java.util.LinkedHashMap",
          "java.util.TreeMap",
          "java.util.IdentityHashMap",
          "java.util.EnumMap",
          "java.util.Hashtable",
          "java.util.Properties",
          "java.util.HashSet",
          "java.util.LinkedHashSet",
          "java.util.TreeSet",
          "java.util.EnumSet",
          "java.util.RegularEnumSet",
          "java.util.JumboEnumSet",
          "java.util.PriorityQueue",
          "java.util.concurrent.ConcurrentHashMap",
          "java.util.concurrent.ConcurrentSkipListMap",
          "java.util.concurrent.ConcurrentSkipListSet",
          "java.util.concurrent.CopyOnWriteArrayList",
          "java.util.concurrent.CopyOnWriteArraySet",
          "java.util.concurrent.atomic.AtomicBoolean",
          "java.util.concurrent.atomic.AtomicInteger",
          "java.util.concurrent.atomic.AtomicLong",
          "java.util.Arrays$ArrayList",
          "java.sql.Date",
          "java.sql.Time",
          "java.sql.Timestamp");

  /**
   * JDK classes matched by prefix: java.time's value types, and the JDK's immutable, unmodifiable,
   * synchronized, empty and singleton collections (nested classes of these two).
   */
  private static final List<String> JDK_PREFIXES =
      List.of(
          "java.time.",
          "java.util.Collections$",
          "java.util.ImmutableCollections$",
          "java.util.Comparators$",
          "java.lang.String$CaseInsensitiveComparator");

  /**
   * What Spring MVC handlers return and fill in (the agent offloads Spring MVC handlers, and these
   * are Spring's own value types, built by Spring's code on the function rather than the
   * closure's): response entities, headers and their maps, problem details, models, binding
   * results and their errors. Each entry also covers its nested classes.
   */
  private static final List<String> SPRING_MVC_CLASSES =
      List.of(
          "org.springframework.http.HttpEntity",
          "org.springframework.http.ResponseEntity",
          "org.springframework.http.HttpHeaders",
          "org.springframework.http.ReadOnlyHttpHeaders",
          "org.springframework.http.DefaultHttpStatusCode",
          "org.springframework.http.MediaType",
          "org.springframework.http.ProblemDetail",
          "org.springframework.util.MimeType",
          "org.springframework.util.LinkedCaseInsensitiveMap",
          "org.springframework.util.LinkedMultiValueMap",
          "org.springframework.util.MultiValueMapAdapter",
          "org.springframework.ui.ModelMap",
          "org.springframework.ui.ExtendedModelMap",
          "org.springframework.ui.ConcurrentModel",
          "org.springframework.validation.support.BindingAwareModelMap",
          "org.springframework.web.servlet.mvc.support.RedirectAttributesModelMap",
          "org.springframework.web.servlet.ModelAndView",
          "org.springframework.validation.BeanPropertyBindingResult",
          "org.springframework.validation.DirectFieldBindingResult",
          "org.springframework.validation.MapBindingResult",
          "org.springframework.validation.ObjectError",
          "org.springframework.validation.FieldError",
          "org.springframework.validation.DefaultMessageCodesResolver",
          "org.springframework.context.support.DefaultMessageSourceResolvable",
          "org.springframework.data.domain.Sort",
          "org.springframework.data.domain.AbstractPageRequest",
          "org.springframework.data.domain.PageRequest",
          "org.springframework.data.domain.Limit");

  /** The project's own wire types, which its serializers build. */
  private static final Set<String> WIRE_CLASSES =
      Set.of(
          RemoteRef.class.getName(),
          LazyData.Value.class.getName(),
          ArgumentUpdates.class.getName(),
          OffloadedThrowable.class.getName(),
          ThrowableSerializer.Data.class.getName());

  private static volatile List<String> configured = List.of();

  /** {@link #denial} per class; {@link #NOT_DENIED} when none. */
  private static final ClassValue<String> DENIALS =
      new ClassValue<>() {
        @Override
        protected String computeValue(Class<?> type) {
          String why = findDenial(type);
          return why == null ? NOT_DENIED : why;
        }
      };

  private static final String NOT_DENIED = "\0";

  /** Classes found decodable (never those refused: field types may make them decodable later). */
  private final Set<Class<?>> allowed = ConcurrentHashMap.newKeySet();

  /** What no closure names but some closure's decodable class declared as a field's type. */
  private final Set<Class<?>> fieldTypes = ConcurrentHashMap.newKeySet();

  private final Set<String> names;

  /**
   * Classes the server served through class fallbacks, and the classes they name: code functions
   * run, so what they can build and send back (a live set, growing as the server serves more).
   */
  private final Set<String> served;

  private CodecAllowList(Set<String> names, Set<String> served) {
    this.names = names;
    this.served = served;
  }

  /** The list of a closure: {@code names} (binary names) and everything decodable anywhere. */
  public static CodecAllowList of(Collection<String> names) {
    return new CodecAllowList(Set.copyOf(names), Set.of());
  }

  /** {@link #of(Collection)}, plus the live set of what the server serves by class fallback. */
  public static CodecAllowList of(Collection<String> names, Set<String> served) {
    return new CodecAllowList(Set.copyOf(names), served);
  }

  /** The list of what is decodable anywhere, for scopes of no closure. */
  public static CodecAllowList base() {
    return new CodecAllowList(Set.of(), Set.of());
  }

  /** Applies {@value #KEY}; null or blank means nothing beyond the defaults. */
  public static void configure(String value) {
    configured =
        value == null
            ? List.of()
            : Arrays.stream(value.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
  }

  /** How many classes the closure named (for logs and tests). */
  public int size() {
    return names.size();
  }

  /** True when {@code type} may be decoded for this closure ({@link #denial} is checked apart). */
  public boolean allows(Class<?> type) {
    if (allowed.contains(type)) {
      return true;
    }
    Class<?> element = type;
    while (element.isArray()) {
      element = element.getComponentType();
    }
    if (element.isPrimitive()) {
      return true;
    }
    if (matchesAny(element.getName(), configured)) {
      // Not remembered: the configuration may change (tests), the closure's own list does not.
      return true;
    }
    // Decoding an enum only looks up one of its constants: nothing is built.
    boolean decodable =
        element.isEnum()
            || (element.getSuperclass() != null && element.getSuperclass().isEnum())
            || listed(element)
            || fieldTypes.contains(element);
    if (decodable) {
      if (element.getClassLoader() != null) {
        rememberFieldTypes(element);
      }
      allowed.add(type);
    }
    return decodable;
  }

  private boolean listed(Class<?> type) {
    String name = type.getName();
    return names.contains(name)
        || served.contains(name)
        || JDK_CLASSES.contains(name)
        || WIRE_CLASSES.contains(name)
        || startsWithAny(name, JDK_PREFIXES)
        || startsWithAny(name, SPRING_MVC_CLASSES)
        || (type.getClassLoader() == null
            && name.startsWith("java.")
            && Throwable.class.isAssignableFrom(type));
  }

  /**
   * Lets the concrete declared types of {@code type}'s serialized fields be decoded: what an
   * application's or a library's class was written to hold. Interfaces, abstract classes and
   * Object are left out, as any implementation could hide behind them.
   */
  private void rememberFieldTypes(Class<?> type) {
    for (Class<?> c = type; c != null && c.getClassLoader() != null; c = c.getSuperclass()) {
      Field[] fields;
      try {
        fields = c.getDeclaredFields();
      } catch (LinkageError e) {
        return;
      }
      for (Field field : fields) {
        Class<?> declared = field.getType();
        while (declared.isArray()) {
          declared = declared.getComponentType();
        }
        int modifiers = declared.getModifiers();
        if (!Modifier.isStatic(field.getModifiers())
            && !Modifier.isTransient(field.getModifiers())
            && !declared.isPrimitive()
            && !declared.isInterface()
            && !Modifier.isAbstract(modifiers)
            && declared != Object.class) {
          fieldTypes.add(declared);
        }
      }
    }
  }

  /**
   * Why {@code type} is never decoded, or null: it, an element type, a superclass or an interface
   * is on the hard deny list, or it is marked {@link CodecForbidden}.
   */
  public static String denial(Class<?> type) {
    String why = DENIALS.get(type);
    return why.equals(NOT_DENIED) ? null : why;
  }

  private static String findDenial(Class<?> type) {
    Class<?> element = type;
    while (element.isArray()) {
      element = element.getComponentType();
    }
    if (element.isPrimitive() || DENIED_EXCEPT.contains(element.getName())) {
      return null;
    }
    for (Class<?> c = element; c != null; c = c.getSuperclass()) {
      String hit = deniedName(c);
      if (hit != null) {
        return hit.equals(element.getName()) ? "" : " (a " + hit + ")";
      }
      if (isMarkedForbidden(c)) {
        return " (marked @" + CodecForbidden.class.getSimpleName() + ")";
      }
    }
    return null;
  }

  private static String deniedName(Class<?> type) {
    if (!DENIED_EXCEPT.contains(type.getName()) && startsWithAny(type.getName(), DENIED)) {
      return type.getName();
    }
    for (Class<?> implemented : type.getInterfaces()) {
      String hit = deniedName(implemented);
      if (hit != null) {
        return hit;
      }
    }
    return null;
  }

  /** By name, so a class marked with a same-named annotation of another loader counts too. */
  private static boolean isMarkedForbidden(Class<?> type) {
    try {
      for (var annotation : type.getDeclaredAnnotations()) {
        if (annotation.annotationType().getName().equals(CodecForbidden.class.getName())) {
          return true;
        }
      }
    } catch (RuntimeException | LinkageError e) {
      // Unreadable annotations: the class is not marked as far as can be known.
    }
    return false;
  }

  /** The error for a decoded class refused by a closure's list. */
  static String notAllowed(Class<?> type) {
    return "the input holds a "
        + type.getName()
        + ", which this closure never expects back; if the function may send it, add the class"
        + " (or its package followed by '.') to "
        + KEY;
  }

  /** The error for a class on the hard deny list. */
  static String denied(Class<?> type, String why) {
    return "the input holds a " + type.getName() + why + ", which is never decoded";
  }

  /** Entries ending in '.', '$' or '*' are prefixes; others match a class and its nested ones. */
  private static boolean startsWithAny(String name, List<String> entries) {
    for (String entry : entries) {
      boolean prefix = entry.endsWith(".") || entry.endsWith("$") || entry.endsWith("*");
      if (prefix
          ? name.startsWith(entry.endsWith("*") ? entry.substring(0, entry.length() - 1) : entry)
          : name.equals(entry) || name.startsWith(entry + "$")) {
        return true;
      }
    }
    return false;
  }

  private static boolean matchesAny(String name, List<String> entries) {
    for (String entry : entries) {
      if (entry.endsWith(".") ? name.startsWith(entry) : name.equals(entry)) {
        return true;
      }
    }
    return false;
  }
}
