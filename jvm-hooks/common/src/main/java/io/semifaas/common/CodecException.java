package io.semifaas.common;

/** An object graph could not be encoded or decoded; the message names the class that failed. */
public final class CodecException extends Exception {
  private static final long serialVersionUID = 1L;

  public CodecException(String message) {
    super(message);
  }

  public CodecException(String message, Throwable cause) {
    super(message, cause);
  }
}
