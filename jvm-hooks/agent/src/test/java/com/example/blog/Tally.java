package com.example.blog;

import java.util.ArrayList;
import java.util.List;

/** Application state a handler changes in place. */
public class Tally {
  final List<String> names = new ArrayList<>();

  public void add(String name) {
    names.add(name);
  }

  public List<String> getNames() {
    return names;
  }
}
