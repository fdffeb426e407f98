package com.example.blog;

import java.util.ArrayList;
import java.util.List;

/** An entity the server saves: it assigns the id and the version, as a repository does. */
public class Draft {
  public Long id;
  public int version;
  public String title;
  public Draft parent;
  public List<Draft> children = new ArrayList<>();

  public Draft() {}

  public Draft(String title) {
    this.title = title;
  }
}
