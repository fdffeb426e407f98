package com.example.blog;

import java.io.ByteArrayInputStream;
import java.io.InputStream;

/** A server object reached by reference: state, a read, a write, a failure, a server-bound result. */
public class Counter {
  int count;

  public int increment(int by) {
    count += by;
    return count;
  }

  public int getCount() {
    return count;
  }

  /** Package-private, as a service's {@code @Transactional} methods often are. */
  int reset(int to) {
    count = to;
    return count;
  }

  private int secret() {
    return -1;
  }

  public boolean isSame(Object other) {
    return other == this;
  }

  public void fail(String message) {
    throw new IllegalStateException(message);
  }

  public InputStream open() {
    return new ByteArrayInputStream(new byte[] {1, 2});
  }
}
