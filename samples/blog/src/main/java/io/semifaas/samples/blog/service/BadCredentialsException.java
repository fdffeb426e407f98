package io.semifaas.samples.blog.service;

public class BadCredentialsException extends BlogException {

  public BadCredentialsException() {
    super("unknown username or wrong password");
  }

  @Override
  public String errorCode() {
    return "bad_credentials";
  }
}
