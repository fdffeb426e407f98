package io.semifaas.common;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A remote call's result together with the server's state of the arguments the function sent by
 * value (docs/internals.md, "Identity across the boundary"). The server decodes such an argument
 * into an object of its own; what the call did to it (a repository assigning the id of a new
 * entity, a version, a service filling in a field) would otherwise stay on the server while the
 * handler goes on with its copy: {@link #apply} merges it into the function's object.
 */
public final class ArgumentUpdates {
  private final Object value;
  private final int[] positions;
  private final Object[] arguments;

  private ArgumentUpdates(Object value, int[] positions, Object[] arguments) {
    this.value = value;
    this.positions = positions;
    this.arguments = arguments;
  }

  /**
   * What the server sends back for a call that returned {@code result}: the result alone, or
   * with the arguments for which {@code byValue} holds (the ones the function holds copies of).
   */
  public static Object of(Object result, Object[] args, Predicate<Object> byValue) {
    List<Integer> found = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i] != null && byValue.test(args[i])) {
        found.add(i);
      }
    }
    if (found.isEmpty()) {
      return result;
    }
    int[] positions = found.stream().mapToInt(Integer::intValue).toArray();
    Object[] arguments = new Object[positions.length];
    for (int i = 0; i < positions.length; i++) {
      arguments[i] = args[positions[i]];
    }
    return new ArgumentUpdates(result, positions, arguments);
  }

  /**
   * The call's result; first merges the server's state of by-value arguments into {@code sent},
   * the function's arguments of the call. Throws {@link IllegalArgumentException} when the
   * positions do not fit the arguments sent.
   */
  public static Object apply(Object body, Object[] sent) {
    if (!(body instanceof ArgumentUpdates updates)) {
      return body;
    }
    Object[] args = sent == null ? new Object[0] : sent;
    // Built from bytes the server sent: its shape is checked before it is used.
    if (updates.positions == null
        || updates.arguments == null
        || updates.positions.length != updates.arguments.length) {
      throw new IllegalArgumentException(
          "the server's argument updates are malformed: positions and arguments do not pair up");
    }
    for (int i = 0; i < updates.positions.length; i++) {
      int position = updates.positions[i];
      if (position < 0 || position >= args.length) {
        throw new IllegalArgumentException(
            "the server updated argument " + position + " of a call with " + args.length);
      }
      StateMerge.merge(args[position], updates.arguments[i]);
    }
    return updates.value;
  }
}
