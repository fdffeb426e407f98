package com.example.blog;

import java.lang.reflect.Proxy;

/** A controller whose plain helper holds a server-bound object (a JDK proxy, like a repository). */
public class ReaderController {

  /** A by-value helper that references a server-bound object and is never changed. */
  public static class Lookup {
    final Runnable repository =
        (Runnable)
            Proxy.newProxyInstance(
                Lookup.class.getClassLoader(), new Class<?>[] {Runnable.class}, (p, m, a) -> null);
  }

  final Lookup lookup = new Lookup();

  public String read() {
    return "read";
  }
}
