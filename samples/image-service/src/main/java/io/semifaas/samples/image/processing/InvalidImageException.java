package io.semifaas.samples.image.processing;

/** The request body is empty or not an image ImageIO can decode. */
public class InvalidImageException extends ImageRequestException {

  private static final long serialVersionUID = 1L;

  public InvalidImageException(String message) {
    super(message);
  }

  @Override
  public String errorCode() {
    return "invalid_image";
  }
}
