package io.semifaas.samples.image.processing;

/** A numeric request parameter is outside its valid range. */
public class BadParameterException extends ImageRequestException {

  private static final long serialVersionUID = 1L;

  public BadParameterException(String message) {
    super(message);
  }

  @Override
  public String errorCode() {
    return "bad_parameter";
  }
}
