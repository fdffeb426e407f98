package io.semifaas.runtime;

import io.semifaas.common.CodecException;
import io.semifaas.common.RequestSnapshot;

/**
 * Tells the offload machinery's own failures from the application's exceptions (docs/internals.md,
 * "Offloading's own errors"): a handler that threw because of the offload (a remote call that
 * could not be made, a class that did not load here, lazy data without its persistence context, a
 * request method the snapshot does not carry) has no outcome the application would have had. Its
 * offload fails, and the server runs the handler itself when no remote write happened.
 */
final class OffloadMachinery {
  /** Causes followed at most: chains are short; a cycle must not hang the function. */
  private static final int MAX_CAUSES = 32;

  private static final String LAZY_INITIALIZATION = "org.hibernate.LazyInitializationException";
  private static final String NO_REQUEST = "No thread-bound request found";

  private OffloadMachinery() {}

  /** Why {@code thrown} is the offload's failure and not the application's outcome, or null. */
  static String failureIn(Throwable thrown) {
    int depth = 0;
    for (Throwable t = thrown; t != null && depth < MAX_CAUSES; t = t.getCause(), depth++) {
      if (t instanceof RemoteCallFailed failed) {
        return failed.getMessage();
      }
      if (t instanceof LinkageError) {
        Throwable why = t.getCause();
        return "a class could not be loaded on the function: "
            + t
            + (why == null || why.getMessage() == null ? "" : " (" + why.getMessage() + ")");
      }
      if (t instanceof CodecException) {
        return "the codec failed on the function: " + t.getMessage();
      }
      if (t instanceof RequestSnapshot.Unsupported) {
        return "the request snapshot lacks what the handler read: " + t.getMessage();
      }
      if (isNamed(t.getClass(), LAZY_INITIALIZATION)) {
        return "lazy data without its persistence context on the function: " + t.getMessage();
      }
      if (t instanceof IllegalStateException
          && t.getMessage() != null
          && t.getMessage().startsWith(NO_REQUEST)) {
        return "the function had no request bound to its thread: " + t.getMessage();
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }

  private static boolean isNamed(Class<?> type, String name) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      if (c.getName().equals(name)) {
        return true;
      }
    }
    return false;
  }
}
