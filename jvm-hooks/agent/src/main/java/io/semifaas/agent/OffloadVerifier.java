package io.semifaas.agent;

import io.semifaas.common.RemoteClasses;
import io.semifaas.common.StateMerge;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Verify mode ({@code semifaas.verify}, docs/internals.md): an offloaded invocation that made no
 * remote write runs again here, on fresh copies of the arguments it was sent, and the two outcomes
 * are compared by their state (not their bytes: the same list may decode as another class): the
 * returned value (or the exception's class and message) and the in/out arguments (model attributes
 * by name, binding errors). A difference is a mismatch: the handler is not
 * deterministic, or the offload changed what it computed.
 */
final class OffloadVerifier {
  private static final String BINDING_RESULT = "org.springframework.validation.BindingResult";

  /** What a local run gave, and how it differs from the offloaded outcome (null: no difference). */
  record Verdict(Object value, Throwable thrown, String mismatch) {}

  private OffloadVerifier() {}

  /**
   * Runs {@code method} on {@code bean} with {@code fresh} (decoded anew from the bytes the
   * function got) and compares with the offloaded {@code value} or {@code thrown}, and the in/out
   * arguments at {@code inOut} of {@code offloadedArgs} (after their copy-back) and of {@code
   * fresh}.
   */
  static Verdict verify(
      Method method,
      Object bean,
      Object[] fresh,
      int[] inOut,
      Object value,
      Throwable thrown,
      Object[] offloadedArgs) {
    Object localValue = null;
    Throwable localThrown = null;
    try {
      method.setAccessible(true);
      localValue = method.invoke(bean, fresh);
    } catch (InvocationTargetException e) {
      localThrown = e.getCause();
    } catch (ReflectiveOperationException | RuntimeException e) {
      return new Verdict(null, null, "the local run could not start: " + e);
    }
    String mismatch;
    if (thrown != null || localThrown != null) {
      mismatch = Objects.equals(describe(thrown), describe(localThrown))
          ? null
          : "offloaded " + describe(thrown) + ", local " + describe(localThrown);
    } else {
      String offloaded = canonical(value);
      String local = canonical(localValue);
      mismatch = offloaded.equals(local)
          ? null
          : "return value: offloaded " + clip(offloaded) + ", local " + clip(local);
    }
    if (mismatch == null) {
      for (int position : inOut) {
        String offloaded = canonical(offloadedArgs[position]);
        String local = canonical(fresh[position]);
        if (!offloaded.equals(local)) {
          mismatch =
              "argument "
                  + position
                  + ": offloaded "
                  + clip(offloaded)
                  + ", local "
                  + clip(local);
          break;
        }
      }
    }
    return new Verdict(localValue, localThrown, mismatch);
  }

  private static String describe(Throwable t) {
    return t == null ? "no exception" : t.getClass().getName() + ": " + t.getMessage();
  }

  /**
   * A comparable form of {@code value}'s state, the same whichever side decoded it: values as
   * text, maps entry by entry in key order, lists and arrays element by element, sets sorted,
   * binding results by their errors, server objects by class, other objects field by field.
   */
  private static String canonical(Object value) {
    StringBuilder out = new StringBuilder();
    canonical(value, out, new IdentityHashMap<>(), 0);
    return out.toString();
  }

  private static final int MAX_DEPTH = 12;

  private static void canonical(
      Object value, StringBuilder out, Map<Object, Boolean> seen, int depth) {
    if (value == null) {
      out.append("null");
      return;
    }
    Class<?> type = value.getClass();
    if (StateMerge.isValue(value) || type.isPrimitive()) {
      out.append(value);
      return;
    }
    if (depth > MAX_DEPTH || seen.put(value, Boolean.TRUE) != null) {
      out.append("<").append(type.getSimpleName()).append(">");
      return;
    }
    if (isBindingResult(type)) {
      Object errors = call(value, "getAllErrors");
      out.append("errors ").append(errors instanceof List<?> list ? list.toString() : "?");
      return;
    }
    if (RemoteClasses.isServerBound(type)) {
      out.append("ref ").append(RemoteClasses.presentedName(value));
      return;
    }
    Map<?, ?> map = value instanceof Map<?, ?> m ? m : asMap(value);
    if (map != null) {
      TreeMap<String, String> entries = new TreeMap<>();
      for (Map.Entry<?, ?> entry : map.entrySet()) {
        StringBuilder item = new StringBuilder();
        canonical(entry.getValue(), item, seen, depth + 1);
        entries.put(String.valueOf(entry.getKey()), item.toString());
      }
      out.append(entries);
      return;
    }
    if (value instanceof Set<?> set) {
      List<String> items = new ArrayList<>();
      for (Object element : set) {
        StringBuilder item = new StringBuilder();
        canonical(element, item, seen, depth + 1);
        items.add(item.toString());
      }
      Collections.sort(items);
      out.append(items);
      return;
    }
    if (value instanceof Iterable<?> iterable) {
      out.append('[');
      for (Object element : iterable) {
        canonical(element, out, seen, depth + 1);
        out.append(',');
      }
      out.append(']');
      return;
    }
    if (type.isArray()) {
      out.append('[');
      for (int i = 0; i < Array.getLength(value); i++) {
        canonical(Array.get(value, i), out, seen, depth + 1);
        out.append(',');
      }
      out.append(']');
      return;
    }
    if (type.getClassLoader() == null) {
      out.append(value);
      return;
    }
    out.append(type.getName()).append('{');
    for (Class<?> c = type; c != null && c.getClassLoader() != null; c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        int modifiers = field.getModifiers();
        if (Modifier.isStatic(modifiers) || Modifier.isTransient(modifiers)) {
          continue;
        }
        out.append(field.getName()).append('=');
        try {
          field.setAccessible(true);
          canonical(field.get(value), out, seen, depth + 1);
        } catch (ReflectiveOperationException | RuntimeException e) {
          out.append('?');
        }
        out.append(';');
      }
    }
    out.append('}');
  }

  private static Map<?, ?> asMap(Object model) {
    Object map = call(model, "asMap");
    return map instanceof Map<?, ?> m ? m : null;
  }

  private static Object call(Object target, String name) {
    try {
      for (Class<?> c = target.getClass(); c != null; c = c.getSuperclass()) {
        for (Class<?> i : c.getInterfaces()) {
          try {
            return i.getMethod(name).invoke(target);
          } catch (NoSuchMethodException e) {
            // Next interface.
          }
        }
      }
      return null;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  private static boolean isBindingResult(Class<?> type) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      for (Class<?> i : c.getInterfaces()) {
        if (i.getName().equals(BINDING_RESULT) || isBindingResult(i)) {
          return true;
        }
      }
    }
    return false;
  }

  private static String clip(String text) {
    return text.length() <= 120 ? text : text.substring(0, 117) + "...";
  }
}
