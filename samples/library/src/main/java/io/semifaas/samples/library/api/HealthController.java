package io.semifaas.samples.library.api;

import io.semifaas.samples.library.seed.SeedData;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Readiness probe for scripts that start the service and wait for it: 503 until the seed data is
 * in, so a script never sees the empty database.
 */
@RestController
public class HealthController {

  private final SeedData seed;

  public HealthController(SeedData seed) {
    this.seed = seed;
  }

  @GetMapping(value = "/health", produces = MediaType.TEXT_PLAIN_VALUE)
  public ResponseEntity<String> health() {
    if (!seed.isDone()) {
      return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).body("starting");
    }
    return ResponseEntity.ok("ok");
  }
}
