package org.hibernate;

/** Stands for Hibernate's: the function recognises it by name. */
public class LazyInitializationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LazyInitializationException(String message) {
    super(message);
  }
}
