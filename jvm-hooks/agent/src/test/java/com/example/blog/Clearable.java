package com.example.blog;

/** A type the closure's code calls a server object through. */
public interface Clearable {
  void clear();
}
