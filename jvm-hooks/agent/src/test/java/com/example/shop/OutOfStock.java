package com.example.shop;

public final class OutOfStock extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public OutOfStock(String message) {
    super(message);
  }
}
