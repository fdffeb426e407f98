package com.example.blog;

/** A helper no closure contains: a function fetches it by class fallback (never run, only read). */
public class CounterDrainer {
  public void drain(Counter counter) {
    counter.drain();
  }
}
