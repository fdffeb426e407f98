package io.semifaas.samples.codecbench.payload;

/** Stands for the sample's domain exception thrown by a handler. */
public class InvalidImageException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public InvalidImageException(String message) {
    super(message);
  }
}
