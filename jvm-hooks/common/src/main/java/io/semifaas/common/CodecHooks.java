package io.semifaas.common;

/**
 * Substitutions the codec applies while writing and reading: an export scope writes server-bound
 * objects as {@link RemoteRef}s and packageables as their snapshots on the server; the function
 * turns references into proxies and proxies back into references. Substitution is decided per class
 * (the class name is written before the object), and never applies to the top-level object. Hooks
 * also see every class written, and may refuse classes before anything of them is built.
 */
public interface CodecHooks {
  /** The class written in place of instances of {@code type}, or null to write them as they are. */
  Class<?> substituteClass(Class<?> type);

  /** The object written in place of {@code value}, an instance of its substitute class. */
  Object substitute(Object value);

  /** The object handed to the graph in place of the decoded {@code value}. */
  Object onRead(Object value);

  /** {@code type} was written (after substitution): its instances crossed to the other side. */
  default void written(Class<?> type) {}

  /**
   * Why instances of {@code type} (read from the input) must not be built, or null to decode them.
   * Exceptions are the exception: a refused exception type arrives as an {@link
   * OffloadedThrowable}.
   */
  default String refusal(Class<?> type) {
    return null;
  }
}
