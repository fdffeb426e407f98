package io.semifaas.agent;

import io.semifaas.common.LazyData;
import java.util.HashSet;
import java.util.Set;

/**
 * Which remote calls the server runs (docs/internals.md, "Remote references"): a method the
 * closure's code ({@link ClosureReferences}), or code the server served its functions since ({@link
 * ServedClasses}), calls on a type the exported object is an instance of, the calls the function's runtime makes by itself (materializing lazy data;
 * {@code equals}, {@code hashCode} and {@code toString}, which collections and logging call on any
 * object), and the additions of {@value #KEY}: {@code Class#method} (any descriptor) or {@code
 * Class#method(descriptor)}, comma-separated, where {@code Class} is the exported object's class or
 * one of its supertypes. Anything else a capability asks for is refused.
 */
final class RemoteCallAllowList {
  static final String KEY = "semifaas.remote.allow";

  /** Name + descriptor of the calls the function's runtime makes without the closure's code. */
  private static final Set<String> RUNTIME_CALLS =
      Set.of(
          LazyData.MATERIALIZE + LazyData.MATERIALIZE_DESCRIPTOR,
          "equals(Ljava/lang/Object;)Z",
          "hashCode()I",
          "toString()Ljava/lang/String;");

  private static volatile Set<String> configured = Set.of();

  private RemoteCallAllowList() {}

  /** Reads {@value #KEY}; an entry that is not {@code Class#method[(descriptor)]} is an error. */
  static void configure(String list) throws ConfigException {
    Set<String> entries = new HashSet<>();
    if (list != null) {
      for (String part : list.split(",")) {
        String entry = part.strip();
        if (entry.isEmpty()) {
          continue;
        }
        int hash = entry.indexOf('#');
        int paren = entry.indexOf('(');
        if (hash <= 0
            || hash == entry.length() - 1
            || paren == hash + 1
            || (paren > 0 && entry.indexOf(')', paren) < 0)) {
          throw new ConfigException(
              KEY
                  + " entries are Class#method or Class#method(descriptor), e.g."
                  + " com.example.Repo#deleteById(Ljava/lang/Object;)V; not '"
                  + entry
                  + "'");
        }
        entries.add(entry);
      }
    }
    configured = Set.copyOf(entries);
  }

  /**
   * Null when the call may run; otherwise why not, naming the method and how to allow it. {@code
   * presented} is the name the function knows the object by.
   */
  static String refusal(
      ClosureReferences code,
      ServedClasses served,
      Class<?> type,
      String presented,
      String name,
      String descriptor) {
    if (RUNTIME_CALLS.contains(name + descriptor)
        || code.calls(type, name, descriptor)
        || served.calls(type, name, descriptor)) {
      return null;
    }
    Set<String> extra = configured;
    if (!extra.isEmpty()) {
      for (String supertype : Supertypes.of(type)) {
        String method = supertype + "#" + name;
        if (extra.contains(method) || extra.contains(method + descriptor)) {
          return null;
        }
      }
    }
    return "remote call refused: "
        + presented
        + "#"
        + name
        + descriptor
        + " is not called by the closure's code; to allow it, add "
        + presented
        + "#"
        + name
        + " to "
        + KEY;
  }
}
