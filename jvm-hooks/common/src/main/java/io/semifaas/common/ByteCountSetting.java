package io.semifaas.common;

/**
 * A byte-count setting: a whole number, 0 or more. The agent's call-log caps and the instance's
 * library-jar cache cap are read this way, with one wording for a bad value.
 */
public final class ByteCountSetting {
  private ByteCountSetting() {}

  /**
   * {@code value} as a byte count; {@code fallback} when it is null or blank.
   *
   * @throws IllegalArgumentException naming {@code key} when it is not a whole number, 0 or more
   */
  public static long parse(String key, String value, long fallback) {
    if (value == null || value.isBlank()) {
      return fallback;
    }
    try {
      long parsed = Long.parseLong(value.strip());
      if (parsed >= 0) {
        return parsed;
      }
    } catch (NumberFormatException e) {
      // Named below.
    }
    throw new IllegalArgumentException(
        key + " must be a whole number of bytes, 0 or more, not '" + value + "'");
  }
}
