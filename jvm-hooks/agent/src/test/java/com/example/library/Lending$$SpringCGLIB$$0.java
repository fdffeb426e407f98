package com.example.library;

/** Named as Spring's CGLIB names its subclasses; its callback leads into the framework's wiring. */
public class Lending$$SpringCGLIB$$0 extends Lending {
  final Object callback;

  public Lending$$SpringCGLIB$$0(Object callback) {
    this.callback = callback;
  }
}
