package io.semifaas.common;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Arguments a handler fills in for the server (docs/internals.md, "In/out arguments"): models,
 * redirect attributes, binding results and mutable maps. Both sides find them with {@link
 * #positions} on the same argument array, so they agree on the shape of the wrapped result {@code
 * Object[] {returnValue, inOutArgs...}}. Spring types are matched by name.
 */
public final class InOutArguments {
  private static final Set<String> MODEL_TYPES =
      Set.of(
          "org.springframework.ui.Model",
          "org.springframework.ui.ModelMap",
          "org.springframework.web.servlet.mvc.support.RedirectAttributes");

  private static final String BINDING_RESULT = "org.springframework.validation.BindingResult";

  private static final String REDIRECT_ATTRIBUTES =
      "org.springframework.web.servlet.mvc.support.RedirectAttributes";

  private InOutArguments() {}

  /**
   * Indexes of the in/out arguments in {@code args}, in order; only arguments for which {@code
   * byValue} holds count (not those crossing as references or snapshots).
   */
  public static int[] positions(Object[] args, java.util.function.Predicate<Object> byValue) {
    if (args == null) {
      return new int[0];
    }
    List<Integer> found = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (isInOut(args[i]) && byValue.test(args[i])) {
        found.add(i);
      }
    }
    return found.stream().mapToInt(Integer::intValue).toArray();
  }

  static boolean isInOut(Object arg) {
    if (arg == null || arg instanceof RemoteRef) {
      return false;
    }
    Class<?> type = arg.getClass();
    if (implementsAny(type, MODEL_TYPES) || implementsAny(type, Set.of(BINDING_RESULT))) {
      return true;
    }
    return arg instanceof Map<?, ?> && isMutableMap(type);
  }

  /** The function's result for a handler with in/out arguments at {@code positions}. */
  public static Object[] wrap(Object returnValue, Object[] args, int[] positions) {
    Object[] wrapped = new Object[positions.length + 1];
    wrapped[0] = returnValue;
    for (int i = 0; i < positions.length; i++) {
      wrapped[i + 1] = args[positions[i]];
    }
    return wrapped;
  }

  /**
   * Copies the function's in/out arguments ({@code wrapped[1..]}) into the server's originals at
   * {@code positions}: maps and models are cleared and refilled, binding results get the errors the
   * function added, redirect attributes their flash attributes too. Throws {@link
   * IllegalArgumentException} naming the mismatch.
   */
  public static void copyBack(Object[] originals, int[] positions, Object[] wrapped) {
    if (wrapped.length != positions.length + 1) {
      throw new IllegalArgumentException(
          "the function returned "
              + (wrapped.length - 1)
              + " in/out arguments, expected "
              + positions.length);
    }
    // Binding results after models: a model refill may replace its binding-result entries.
    Map<Object, Boolean> done = new IdentityHashMap<>();
    for (int pass = 0; pass < 2; pass++) {
      for (int i = 0; i < positions.length; i++) {
        Object original = originals[positions[i]];
        Object copy = wrapped[i + 1];
        boolean binding = implementsAny(original.getClass(), Set.of(BINDING_RESULT));
        if (binding == (pass == 1) && done.put(original, Boolean.TRUE) == null) {
          copyInto(original, copy);
        }
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static void copyInto(Object original, Object copy) {
    if (copy == null) {
      throw new IllegalArgumentException(
          "the function returned null for the in/out " + original.getClass().getName());
    }
    if (implementsAny(original.getClass(), Set.of(BINDING_RESULT))) {
      addNewErrors(original, copy);
    } else if (original instanceof Map<?, ?> map) {
      Map<Object, Object> target = (Map<Object, Object>) map;
      Map<?, ?> source = asMap(copy);
      target.clear();
      target.putAll(source);
    } else {
      Map<Object, Object> target = (Map<Object, Object>) asMap(original);
      Map<?, ?> source = asMap(copy);
      target.clear();
      target.putAll(source);
    }
    if (implementsAny(original.getClass(), Set.of(REDIRECT_ATTRIBUTES))) {
      // Flash attributes live beside the model: the next request's page shows them.
      Map<Object, Object> target =
          (Map<Object, Object>) call(original, "getFlashAttributes", new Class<?>[0]);
      Map<?, ?> source = (Map<?, ?>) call(copy, "getFlashAttributes", new Class<?>[0]);
      target.clear();
      target.putAll(source);
    }
  }

  private static Map<?, ?> asMap(Object model) {
    if (model instanceof Map<?, ?> map) {
      return map;
    }
    Object map = call(model, "asMap", new Class<?>[0]);
    if (map instanceof Map<?, ?> m) {
      return m;
    }
    throw new IllegalArgumentException(
        "the in/out " + model.getClass().getName() + " is neither a Map nor has asMap()");
  }

  /** Errors are only ever added: the ones past the original's count are the function's. */
  private static void addNewErrors(Object original, Object copy) {
    List<?> before = (List<?>) call(original, "getAllErrors", new Class<?>[0]);
    List<?> after = (List<?>) call(copy, "getAllErrors", new Class<?>[0]);
    for (int i = before.size(); i < after.size(); i++) {
      Object error = after.get(i);
      Class<?> errorType = objectErrorType(original);
      call(original, "addError", new Class<?>[] {errorType}, error);
    }
  }

  private static Class<?> objectErrorType(Object bindingResult) {
    try {
      return Class.forName(
          "org.springframework.validation.ObjectError",
          false,
          bindingResult.getClass().getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalArgumentException("ObjectError is not visible to the binding result", e);
    }
  }

  private static Object call(Object target, String name, Class<?>[] types, Object... args) {
    try {
      Method method = publicMethod(target.getClass(), name, types);
      return method.invoke(target, args);
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException(
          "cannot call " + target.getClass().getName() + "#" + name + ": " + e, e);
    }
  }

  /** The method as declared by a public supertype, so reflection may call it. */
  private static Method publicMethod(Class<?> type, String name, Class<?>[] types)
      throws NoSuchMethodException {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      if (java.lang.reflect.Modifier.isPublic(c.getModifiers())) {
        try {
          return c.getMethod(name, types);
        } catch (NoSuchMethodException e) {
          // Try the interfaces below.
        }
      }
      for (Class<?> i : c.getInterfaces()) {
        try {
          return i.getMethod(name, types);
        } catch (NoSuchMethodException e) {
          // Next interface.
        }
      }
    }
    throw new NoSuchMethodException(type.getName() + "#" + name);
  }

  private static boolean isMutableMap(Class<?> type) {
    String name = type.getName();
    return !name.startsWith("java.util.ImmutableCollections")
        && !name.startsWith("java.util.Collections$")
        && !name.startsWith("java.util.KeyValueHolder");
  }

  private static boolean implementsAny(Class<?> type, Set<String> names) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      if (names.contains(c.getName())) {
        return true;
      }
      for (Class<?> i : c.getInterfaces()) {
        if (names.contains(i.getName()) || implementsAny(i, names)) {
          return true;
        }
      }
    }
    return false;
  }
}
