package io.semifaas.common;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.springframework.stereotype.Component;
import org.springframework.stereotype.Service;

class StatefulBeansTest {
  @Component
  static class VisitCounter {
    private long visits;

    long next() {
      return ++visits;
    }
  }

  @Service
  static class Audit {
    private final List<String> entries = new ArrayList<>();
  }

  @Component
  static class Hits {
    private final AtomicLong hits = new AtomicLong();
  }

  @Service
  static class Pricing {
    static int instances;
    private final VisitCounter counter;
    private final String currency = "EUR";

    Pricing(VisitCounter counter) {
      this.counter = counter;
    }
  }

  static class PlainForm {
    private String title;
  }

  @Test
  void componentsWithStateOfTheirOwnStayOnTheServer() {
    assertTrue(RemoteClasses.isServerBound(VisitCounter.class), "a counter field");
    assertTrue(RemoteClasses.isServerBound(Audit.class), "a final list, through @Service");
    assertTrue(RemoteClasses.isServerBound(Hits.class), "an atomic");
  }

  @Test
  void statelessComponentsAndPlainObjectsCrossByValue() {
    assertFalse(RemoteClasses.isServerBound(Pricing.class), "final references and constants");
    assertFalse(RemoteClasses.isServerBound(PlainForm.class), "not a component");
  }
}
