package io.semifaas.samples.library.web;

import org.springframework.stereotype.Component;

/**
 * Counts the pages rendered since the application started. A singleton whose plain field the page
 * handlers change; the count is shown in every page footer and included in the admin dump.
 */
@Component
public class VisitCounter {

  private long visits;

  /** Counts one more page view and returns the new total. */
  public synchronized long increment() {
    visits++;
    return visits;
  }

  public synchronized long current() {
    return visits;
  }
}
