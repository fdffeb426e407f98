package io.semifaas.samples.image.processing;

/**
 * A request the image operations cannot serve. Thrown by the handlers themselves (so also where
 * they are offloaded) and mapped to a deterministic HTTP error by the web layer.
 */
public abstract class ImageRequestException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  protected ImageRequestException(String message) {
    super(message);
  }

  /** Stable machine-readable code for the response body, e.g. {@code invalid_image}. */
  public abstract String errorCode();
}
