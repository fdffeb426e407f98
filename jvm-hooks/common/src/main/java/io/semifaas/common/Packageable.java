package io.semifaas.common;

/**
 * A server-bound type that can still cross by value as a snapshot (docs/internals.md,
 * "Packageables"): {@link #pack} runs on the server while serializing, {@link #unpack} on the
 * function while decoding. Register implementations with {@link Packageables#register}.
 */
public interface Packageable {
  /** True when this packs instances of {@code type} (server side). */
  boolean packs(Class<?> type);

  /** The class of what {@link #pack} returns. */
  Class<?> packedType();

  /** The by-value stand-in for {@code value}. */
  Object pack(Object value);

  /** True when {@code packed} is this packageable's stand-in (function side). */
  boolean unpacks(Object packed);

  /** What the function sees for {@code packed}; types come from {@code loader}. */
  Object unpack(Object packed, ClassLoader loader);
}
