package io.semifaas.common;

/**
 * Substitutions the codec applies while writing and reading: an export scope writes server-bound
 * objects as {@link RemoteRef}s and packageables as their snapshots on the server; the function
 * turns references into proxies and proxies back into references. Substitution is decided per class
 * (the class name is written before the object), and never applies to the top-level object.
 */
public interface CodecHooks {
  /** The class written in place of instances of {@code type}, or null to write them as they are. */
  Class<?> substituteClass(Class<?> type);

  /** The object written in place of {@code value}, an instance of its substitute class. */
  Object substitute(Object value);

  /** The object handed to the graph in place of the decoded {@code value}. */
  Object onRead(Object value);
}
