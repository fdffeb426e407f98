package io.semifaas.common;

/**
 * An exception that crossed the boundary as data but whose type may not be rebuilt here (not on
 * the closure's {@link CodecAllowList}, or unknown on this side): it carries the original type
 * name, message, stack trace, cause and suppressed exceptions, and prints like the original.
 */
public final class OffloadedThrowable extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String originalType;

  public OffloadedThrowable(String originalType, String message, Throwable cause) {
    super(message, cause);
    this.originalType = originalType;
  }

  /** The binary name of the exception's class where it was thrown. */
  public String originalType() {
    return originalType;
  }

  @Override
  public String toString() {
    String message = getLocalizedMessage();
    return message != null ? originalType + ": " + message : originalType;
  }
}
