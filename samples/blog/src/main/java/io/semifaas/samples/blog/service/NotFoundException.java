package io.semifaas.samples.blog.service;

public class NotFoundException extends BlogException {

  public NotFoundException(String what, long id) {
    super("there is no " + what + " with id " + id);
  }

  @Override
  public String errorCode() {
    return "not_found";
  }
}
