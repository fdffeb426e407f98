package io.semifaas.samples.image.processing;

/** An input or requested output exceeds the configured size limits. */
public class ImageTooLargeException extends ImageRequestException {

  private static final long serialVersionUID = 1L;

  public ImageTooLargeException(String message) {
    super(message);
  }

  @Override
  public String errorCode() {
    return "image_too_large";
  }
}
