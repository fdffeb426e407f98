package io.semifaas.samples.blog.service;

/** A request the blog refuses; {@link #errorCode()} is the stable code of the JSON error body. */
public abstract class BlogException extends RuntimeException {

  protected BlogException(String message) {
    super(message);
  }

  public abstract String errorCode();
}
