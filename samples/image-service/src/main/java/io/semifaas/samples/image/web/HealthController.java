package io.semifaas.samples.image.web;

import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** Liveness probe for scripts that start the service and wait for it. */
@RestController
public class HealthController {

  @GetMapping(value = "/health", produces = MediaType.TEXT_PLAIN_VALUE)
  public String health() {
    return "ok";
  }
}
