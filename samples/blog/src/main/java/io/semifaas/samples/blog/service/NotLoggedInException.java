package io.semifaas.samples.blog.service;

public class NotLoggedInException extends BlogException {

  public NotLoggedInException(String action) {
    super("log in first (POST /login) to " + action);
  }

  @Override
  public String errorCode() {
    return "not_logged_in";
  }
}
