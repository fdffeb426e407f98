package io.semifaas.samples.blog.web;

import java.util.ArrayList;
import java.util.List;

/**
 * The queries searched on this server, oldest first. A plain by-value helper that the search
 * handler changes in place: an offloading agent must keep it on the server (by reference), or the
 * list would grow only in a copy.
 */
public class RecentSearches {

  /** How many queries are kept; older ones are dropped first. */
  public static final int LIMIT = 20;

  private final List<String> queries = new ArrayList<>();

  public void record(String query) {
    queries.add(query);
    if (queries.size() > LIMIT) {
      queries.remove(0);
    }
  }

  /** A copy, oldest first. */
  public List<String> list() {
    return new ArrayList<>(queries);
  }
}
