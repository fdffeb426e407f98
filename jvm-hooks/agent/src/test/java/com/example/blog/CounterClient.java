package com.example.blog;

import java.util.List;

/**
 * Closure code for the remote-call tests (never run, only read): it calls some of {@link
 * Counter}'s methods, {@code clear} through an interface, and {@code size} only on a list.
 */
public class CounterClient {
  public int use(Counter counter, Clearable clearable, List<String> names, Draft draft)
      throws Exception {
    counter.increment(1);
    counter.getCount();
    counter.reset(0);
    counter.store(draft);
    counter.isSame(counter);
    counter.fail("no");
    counter.open().close();
    clearable.clear();
    return names.size();
  }
}
