package com.example.blog;

import java.io.ByteArrayInputStream;
import java.io.InputStream;

/** A server object reached by reference: state, a read, a write, a failure, a server-bound result. */
public class Counter implements Clearable {
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

  /** Saves a draft as a repository does: ids for it and its new children, a version. */
  public Draft store(Draft draft) {
    count++;
    draft.id = (long) (100 + count);
    draft.version++;
    for (Draft child : draft.children) {
      child.id = (long) (200 + count);
    }
    return draft;
  }

  public boolean isSame(Object other) {
    return other == this;
  }

  public void fail(String message) {
    throw new IllegalStateException(message);
  }

  @Override
  public void clear() {
    count = 0;
  }

  /** Called by no closure's code. */
  public void wipe() {
    count = -100;
  }

  /** Called by no closure's code; closure code calls a list's {@code size()}. */
  public int size() {
    return count;
  }

  /** Called only by {@link CounterDrainer}, code a function fetches by class fallback. */
  public void drain() {
    count = -1;
  }

  public InputStream open() {
    return new ByteArrayInputStream(new byte[] {1, 2});
  }
}
