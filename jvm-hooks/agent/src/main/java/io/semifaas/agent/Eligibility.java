package io.semifaas.agent;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which handlers can run in a function. Any argument can cross now (by value, as a snapshot, or as a
 * remote reference); asynchronous results and proxied controllers still cannot. Types are matched
 * by name so the agent needs none of Spring or Reactive Streams on its own class path.
 */
final class Eligibility {
  static final String ASYNCHRONOUS_RESULT = "asynchronous result";
  static final String PROXIED_CONTROLLER = "proxied controller: its interceptors would be skipped";
  static final String NOT_A_REQUEST_HANDLER =
      "not a request handler (an @ExceptionHandler, @InitBinder or @ModelAttribute method)";

  /** Spring runs these through doInvoke too; only request mappings answer a request. */
  private static final String REQUEST_MAPPING =
      "org.springframework.web.bind.annotation.RequestMapping";

  /** Return types whose value completes on the server after the handler returns. */
  private static final Set<String> ASYNCHRONOUS_TYPES =
      Set.of(
          "java.util.concurrent.CompletionStage",
          "java.util.concurrent.Future",
          "java.util.concurrent.Callable",
          "org.springframework.web.context.request.async.DeferredResult",
          "org.springframework.web.context.request.async.WebAsyncTask",
          "org.springframework.web.servlet.mvc.method.annotation.ResponseBodyEmitter",
          "org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody",
          "org.reactivestreams.Publisher");

  private Eligibility() {}

  /** Why the handler can never be offloaded, or null when it may be. */
  static String handlerProblem(Method method, Class<?> beanClass) {
    if (!isRequestMapping(method)) {
      return NOT_A_REQUEST_HANDLER;
    }
    String asynchronous = findSupertype(method.getReturnType(), ASYNCHRONOUS_TYPES::contains);
    if (asynchronous != null) {
      return ASYNCHRONOUS_RESULT + " (" + asynchronous + ")";
    }
    if (beanClass.getName().contains("$$") || Proxy.isProxyClass(beanClass)) {
      return PROXIED_CONTROLLER;
    }
    return null;
  }

  /**
   * True when the method, or a method it overrides or implements (Spring merges mappings declared
   * on interfaces and superclasses), is annotated with {@code @RequestMapping} or an annotation
   * meta-annotated with it ({@code @GetMapping}, ...).
   */
  static boolean isRequestMapping(Method method) {
    Deque<Class<?>> pending = new ArrayDeque<>();
    Set<Class<?>> seen = new HashSet<>();
    pending.add(method.getDeclaringClass());
    while (!pending.isEmpty()) {
      Class<?> type = pending.poll();
      if (!seen.add(type)) {
        continue;
      }
      Method declared = declaredMethod(type, method);
      if (declared != null && hasRequestMapping(declared)) {
        return true;
      }
      if (type.getSuperclass() != null) {
        pending.add(type.getSuperclass());
      }
      pending.addAll(List.of(type.getInterfaces()));
    }
    return false;
  }

  private static Method declaredMethod(Class<?> type, Method method) {
    try {
      return type.getDeclaredMethod(method.getName(), method.getParameterTypes());
    } catch (NoSuchMethodException | LinkageError e) {
      return null;
    }
  }

  /** Follows composed annotations ({@code @GetMapping} is meta-annotated with the mapping). */
  private static boolean hasRequestMapping(Method method) {
    Deque<Class<? extends Annotation>> pending = new ArrayDeque<>();
    Set<Class<? extends Annotation>> seen = new HashSet<>();
    for (Annotation annotation : method.getDeclaredAnnotations()) {
      pending.add(annotation.annotationType());
    }
    while (!pending.isEmpty()) {
      Class<? extends Annotation> type = pending.poll();
      if (!seen.add(type) || type.getName().startsWith("java.lang.annotation.")) {
        continue;
      }
      if (type.getName().equals(REQUEST_MAPPING)) {
        return true;
      }
      for (Annotation meta : type.getDeclaredAnnotations()) {
        pending.add(meta.annotationType());
      }
    }
    return false;
  }

  /** The name of the first class or interface of {@code type}'s hierarchy that matches. */
  private static String findSupertype(Class<?> type, java.util.function.Predicate<String> test) {
    Deque<Class<?>> pending = new ArrayDeque<>();
    Set<Class<?>> seen = new HashSet<>();
    pending.add(type);
    while (!pending.isEmpty()) {
      Class<?> current = pending.poll();
      if (!seen.add(current)) {
        continue;
      }
      if (test.test(current.getName())) {
        return current.getName();
      }
      if (current.getSuperclass() != null) {
        pending.add(current.getSuperclass());
      }
      pending.addAll(List.of(current.getInterfaces()));
    }
    return null;
  }
}
