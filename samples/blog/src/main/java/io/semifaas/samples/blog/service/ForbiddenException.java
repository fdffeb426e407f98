package io.semifaas.samples.blog.service;

public class ForbiddenException extends BlogException {

  public ForbiddenException(String message) {
    super(message);
  }

  @Override
  public String errorCode() {
    return "forbidden";
  }
}
