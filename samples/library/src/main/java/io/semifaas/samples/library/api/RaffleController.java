package io.semifaas.samples.library.api;

import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The reading-week raffle: every entry draws a ticket number at random. Deliberately not
 * deterministic (two runs of the same request answer differently), so it is also what a
 * verification of offloaded handlers must catch.
 */
@RestController
public class RaffleController {

  @GetMapping("/api/raffle")
  public Map<String, Long> draw() {
    return Map.of("ticket", ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE));
  }
}
