package io.semifaas.common;

import java.lang.ref.WeakReference;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the request thread holds besides the handler's arguments, for the function to hold while
 * it runs the handler (docs/internals.md, "Thread-bound context"): handlers and the helpers they
 * call read static holders rather than arguments. The server captures it from its holders (by
 * reflection: the agent cannot link against the application's Spring); it travels as one more
 * argument after the handler's own; the function sets the same holders of the closure's classes
 * before the call and clears them after.
 *
 * <ul>
 *   <li>{@code RequestContextHolder}: the request as its snapshot, the response as a reference
 *       to the server's, presented as its servlet interface;
 *   <li>{@code LocaleContextHolder}: the locale;
 *   <li>{@code SecurityContextHolder}: the authentication, as a reference to the server's;
 *   <li>Apache Shiro's {@code ThreadContext}: the subject, as a reference to the server's (so
 *       {@code SecurityUtils.getSubject()} answers on the function, and {@code logout()} or a
 *       permission check runs on the server, on the request thread);
 *   <li>{@code TransactionSynchronizationManager}: whether a transaction is active, its name,
 *       read-only flag and isolation level (its resources and synchronizations stay on the
 *       server, where the remote calls that use them run);
 *   <li>the SLF4J {@code MDC}: a copy of its map.
 * </ul>
 */
public final class InvocationContext {
  static final String REQUEST_CONTEXT_HOLDER =
      "org.springframework.web.context.request.RequestContextHolder";
  static final String SERVLET_REQUEST_ATTRIBUTES =
      "org.springframework.web.context.request.ServletRequestAttributes";
  static final String LOCALE_CONTEXT_HOLDER =
      "org.springframework.context.i18n.LocaleContextHolder";
  static final String SECURITY_CONTEXT_HOLDER =
      "org.springframework.security.core.context.SecurityContextHolder";
  static final String MDC = "org.slf4j.MDC";
  /**
   * What the response is presented as. A subclass proxy of the server's response class cost each
   * instance 3.3 s on its first request (Tomcat's facade and its hierarchy loaded and generated);
   * an interface proxy costs the interface.
   */
  static final List<String> RESPONSE_API =
      List.of("jakarta.servlet.http.HttpServletResponse", "javax.servlet.http.HttpServletResponse");
  static final String SHIRO_THREAD_CONTEXT = "org.apache.shiro.util.ThreadContext";
  static final String TRANSACTIONS =
      "org.springframework.transaction.support.TransactionSynchronizationManager";

  Object request;
  Object response;
  /**
   * A replayed sample's response: the name of its servlet interface, which the function stands
   * in for with a proxy that refuses every call. It loads and generates what the real response's
   * proxy needs (the interface, the types of its methods), so the first real request on a
   * prewarmed instance pays none of it.
   */
  String responseStandIn;
  Locale locale;
  Object authentication;
  Object subject;
  Transaction transaction;
  Map<String, String> mdc;

  /** The request thread's transaction, as {@code TransactionSynchronizationManager} sees it. */
  static final class Transaction {
    String name;
    boolean readOnly;
    Integer isolation;

    Transaction() {}

    /** The thread's actual transaction, or null when there is none (or no Spring TX). */
    static Transaction of(ClassLoader loader) {
      if (!Boolean.TRUE.equals(callStatic(loader, TRANSACTIONS, "isActualTransactionActive"))) {
        return null;
      }
      Transaction transaction = new Transaction();
      transaction.name = (String) callStatic(loader, TRANSACTIONS, "getCurrentTransactionName");
      transaction.readOnly =
          Boolean.TRUE.equals(callStatic(loader, TRANSACTIONS, "isCurrentTransactionReadOnly"));
      transaction.isolation =
          (Integer) callStatic(loader, TRANSACTIONS, "getCurrentTransactionIsolationLevel");
      return transaction;
    }
  }

  InvocationContext() {}

  /**
   * The request thread's context, seen through {@code loader} (the handler's class loader);
   * holders the application does not have are left out. {@code scope} exports the objects that
   * cross by reference.
   */
  public static InvocationContext capture(ClassLoader loader, ExportScope scope) {
    InvocationContext context = new InvocationContext();
    Object attributes = servletAttributesOf(loader);
    context.request = attributes == null ? null : call(attributes, "getRequest");
    Object response = attributes == null ? null : call(attributes, "getResponse");
    Class<?> api = responseApi(response);
    context.response = api == null ? null : scope.exportAs(response, api);
    context.locale = localeOf(loader);
    Object security = callStatic(loader, SECURITY_CONTEXT_HOLDER, "getContext");
    Object authentication = security == null ? null : call(security, "getAuthentication");
    context.authentication = authentication == null ? null : scope.export(authentication);
    Object subject = callStatic(loader, SHIRO_THREAD_CONTEXT, "getSubject");
    context.subject = subject == null ? null : scope.export(subject);
    context.transaction = Transaction.of(loader);
    context.mdc = mdcOf(loader);
    return context;
  }

  /**
   * The context a recorded sample replays with (a prewarm's shadow call): the request without
   * its credentials ({@code Cookie}, {@code Authorization}), the locale and the MDC, no
   * authentication, and a stand-in for the response. It takes the same path on the function as a
   * real invocation's context, so a prewarm loads and warms what the first real request would
   * otherwise pay for.
   */
  public static InvocationContext captureForReplay(ClassLoader loader) {
    InvocationContext context = new InvocationContext();
    Object attributes = servletAttributesOf(loader);
    Object request = attributes == null ? null : call(attributes, "getRequest");
    Class<?> responseApi =
        responseApi(attributes == null ? null : call(attributes, "getResponse"));
    context.responseStandIn = responseApi == null ? null : responseApi.getName();
    Class<?> api = request == null ? null : RequestSnapshot.requestInterface(request.getClass());
    context.request = api == null ? null : RequestSnapshot.of(request, api).withoutCredentials();
    context.locale = localeOf(loader);
    context.mdc = mdcOf(loader);
    return context;
  }

  /** The thread's {@code ServletRequestAttributes}, or null. */
  private static Object servletAttributesOf(ClassLoader loader) {
    Object attributes = callStatic(loader, REQUEST_CONTEXT_HOLDER, "getRequestAttributes");
    return attributes != null && named(attributes.getClass(), SERVLET_REQUEST_ATTRIBUTES)
        ? attributes
        : null;
  }

  /** The servlet interface {@code response} is presented as, or null. */
  private static Class<?> responseApi(Object response) {
    return response == null ? null : Interfaces.named(response.getClass(), RESPONSE_API);
  }

  private static Locale localeOf(ClassLoader loader) {
    return callStatic(loader, LOCALE_CONTEXT_HOLDER, "getLocaleContext") == null
        ? null
        : (Locale) callStatic(loader, LOCALE_CONTEXT_HOLDER, "getLocale");
  }

  private static Map<String, String> mdcOf(ClassLoader loader) {
    Object mdc = callStatic(loader, MDC, "getCopyOfContextMap");
    if (mdc instanceof Map<?, ?> map && !map.isEmpty()) {
      @SuppressWarnings("unchecked")
      Map<String, String> copy = new java.util.LinkedHashMap<>((Map<String, String>) map);
      return copy;
    }
    return null;
  }

  /** {@code args} followed by this context: what the function receives. */
  public Object[] appendTo(Object[] args) {
    Object[] with = Arrays.copyOf(args, args.length + 1);
    with[args.length] = this;
    return with;
  }

  /** The context that ends {@code args}, or null (a prewarm's samples carry none). */
  public static InvocationContext at(Object[] args) {
    return args.length > 0 && args[args.length - 1] instanceof InvocationContext context
        ? context
        : null;
  }

  /** {@code args} without the context that ends them. */
  public static Object[] without(Object[] args) {
    return at(args) == null ? args : Arrays.copyOf(args, args.length - 1);
  }

  /**
   * Sets the holders of the classes {@code loader} loads (the closure's) to this context; the
   * returned action clears them. Throws {@link IllegalStateException} naming the holder that
   * could not be set.
   */
  public Runnable install(ClassLoader loader) {
    List<Runnable> undo = new ArrayList<>();
    try {
      if (request != null && present(loader, REQUEST_CONTEXT_HOLDER)) {
        Class<?> attributesType = holder(loader, SERVLET_REQUEST_ATTRIBUTES);
        Object response = this.response != null ? this.response : standIn(loader);
        Object attributes =
            response == null
                ? construct(attributesType, request)
                : construct(attributesType, request, response);
        Class<?> holder = holder(loader, REQUEST_CONTEXT_HOLDER);
        invokeStatic(holder, "setRequestAttributes", attributes);
        undo.add(() -> invokeStatic(holder, "resetRequestAttributes"));
      }
      if (locale != null && present(loader, LOCALE_CONTEXT_HOLDER)) {
        Class<?> holder = holder(loader, LOCALE_CONTEXT_HOLDER);
        invokeStatic(holder, "setLocale", locale);
        undo.add(() -> invokeStatic(holder, "resetLocaleContext"));
      }
      if (authentication != null && present(loader, SECURITY_CONTEXT_HOLDER)) {
        Class<?> holder = holder(loader, SECURITY_CONTEXT_HOLDER);
        Object security = invokeStatic(holder, "createEmptyContext");
        call(security, "setAuthentication", authentication);
        invokeStatic(holder, "setContext", security);
        undo.add(() -> invokeStatic(holder, "clearContext"));
      }
      if (subject != null && present(loader, SHIRO_THREAD_CONTEXT)) {
        Class<?> holder = holder(loader, SHIRO_THREAD_CONTEXT);
        Object key = holder.getField("SUBJECT_KEY").get(null);
        invokeStatic(holder, "put", key, subject);
        undo.add(() -> invokeStatic(holder, "remove", key));
      }
      if (transaction != null && present(loader, TRANSACTIONS)) {
        Class<?> holder = holder(loader, TRANSACTIONS);
        invokeStatic(holder, "setActualTransactionActive", true);
        invokeStatic(holder, "setCurrentTransactionName", transaction.name);
        invokeStatic(holder, "setCurrentTransactionReadOnly", transaction.readOnly);
        invokeStatic(holder, "setCurrentTransactionIsolationLevel", transaction.isolation);
        undo.add(() -> invokeStatic(holder, "clear"));
      }
      if (mdc != null && present(loader, MDC)) {
        Class<?> holder = holder(loader, MDC);
        invokeStatic(holder, "setContextMap", mdc);
        undo.add(() -> invokeStatic(holder, "clear"));
      }
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      undo.forEach(InvocationContext::quietly);
      throw new IllegalStateException("setting the request's thread-bound context: " + e, e);
    }
    return () -> undo.forEach(InvocationContext::quietly);
  }

  /** A proxy of {@link #responseStandIn} that refuses every call, or null without one. */
  private Object standIn(ClassLoader loader) {
    Class<?> api = responseStandIn == null ? null : holder(loader, responseStandIn);
    if (api == null) {
      return null;
    }
    return Proxy.newProxyInstance(
        loader,
        new Class<?>[] {api},
        (proxy, method, args) -> {
          throw new IllegalStateException("a replayed sample has no response: " + method);
        });
  }

  private static void quietly(Runnable action) {
    try {
      action.run();
    } catch (RuntimeException | LinkageError e) {
      // Clearing a holder cannot fail in a way the next invocation would notice.
    }
  }

  private static boolean present(ClassLoader loader, String name) {
    return holder(loader, name) != null;
  }

  /**
   * Holder classes by loader and name, looked up once: this runs for every offload, and a class
   * the application lacks would be searched for again each time (in a Spring Boot jar, through
   * every nested jar; on the function, with a fallback to the server). Weak, so that a retired
   * closure's loader and classes can go.
   */
  private static final Map<ClassLoader, Map<String, WeakReference<Class<?>>>> HOLDERS =
      Collections.synchronizedMap(new WeakHashMap<>());

  private static final WeakReference<Class<?>> ABSENT = new WeakReference<>(null);

  /** The class {@code name} as {@code loader} sees it, or null when it has none. */
  private static Class<?> holder(ClassLoader loader, String name) {
    Map<String, WeakReference<Class<?>>> known =
        HOLDERS.computeIfAbsent(loader, l -> new ConcurrentHashMap<>());
    WeakReference<Class<?>> found = known.get(name);
    if (found == null || (found != ABSENT && found.get() == null)) {
      try {
        found = new WeakReference<>(Class.forName(name, true, loader));
      } catch (ClassNotFoundException | LinkageError e) {
        found = ABSENT;
      }
      known.put(name, found);
    }
    return found.get();
  }

  private static boolean named(Class<?> type, String name) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      if (c.getName().equals(name)) {
        return true;
      }
    }
    return false;
  }

  /** A static no-argument method of a holder class, or null when there is no such holder. */
  private static Object callStatic(ClassLoader loader, String className, String method) {
    Class<?> holder = holder(loader, className);
    if (holder == null) {
      return null;
    }
    try {
      return method(holder, method, 0).invoke(null);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      return null;
    }
  }

  private static Object invokeStatic(Class<?> holder, String name, Object... args) {
    try {
      return method(holder, name, args.length).invoke(null, args);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(holder.getName() + "." + name + ": " + e, e);
    }
  }

  private static Object call(Object target, String name, Object... args) {
    try {
      return method(target.getClass(), name, args.length).invoke(target, args);
    } catch (ReflectiveOperationException | RuntimeException e) {
      if (args.length > 0) {
        throw new IllegalStateException(target.getClass().getName() + "#" + name + ": " + e, e);
      }
      return null;
    }
  }

  private record MethodKey(String name, int arity) {}

  /**
   * The public methods found by {@link #method}, per class: every request captures its context,
   * and {@code getMethods()} copies all of a class's methods on each call.
   */
  private static final ClassValue<Map<MethodKey, Method>> METHODS =
      new ClassValue<>() {
        @Override
        protected Map<MethodKey, Method> computeValue(Class<?> type) {
          return new ConcurrentHashMap<>();
        }
      };

  /** The public method {@code name} with {@code arity} parameters, through a public type. */
  private static Method method(Class<?> type, String name, int arity)
      throws NoSuchMethodException {
    Map<MethodKey, Method> known = METHODS.get(type);
    MethodKey key = new MethodKey(name, arity);
    Method found = known.get(key);
    if (found == null) {
      found = lookUp(type, name, arity);
      known.put(key, found);
    }
    return found;
  }

  private static Method lookUp(Class<?> type, String name, int arity)
      throws NoSuchMethodException {
    for (Method m : type.getMethods()) {
      if (m.getName().equals(name) && m.getParameterCount() == arity) {
        m.setAccessible(true);
        return m;
      }
    }
    throw new NoSuchMethodException(type.getName() + "#" + name + " with " + arity + " parameters");
  }

  private static Object construct(Class<?> type, Object... args)
      throws ReflectiveOperationException {
    for (var constructor : type.getConstructors()) {
      if (constructor.getParameterCount() == args.length) {
        Class<?>[] parameters = constructor.getParameterTypes();
        boolean fits = true;
        for (int i = 0; i < args.length; i++) {
          fits &= args[i] == null || parameters[i].isInstance(args[i]);
        }
        if (fits) {
          return constructor.newInstance(args);
        }
      }
    }
    throw new NoSuchMethodException(type.getName() + " has no constructor for these arguments");
  }
}
