package com.example.library;

/** A service Spring proxies with CGLIB (transactions): the controller holds the proxy. */
public class Lending {
  public String lend(String isbn) {
    return isbn;
  }
}
