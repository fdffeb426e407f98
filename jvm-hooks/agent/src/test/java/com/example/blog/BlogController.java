package com.example.blog;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;

/** Handlers that fill in a model, record visits in place, or count in a primitive field. */
public class BlogController {
  /** Declared as Object so a by-reference copy still fits the field on the function. */
  final Object tally = new Tally();

  final List<String> seen = new ArrayList<>();

  int hits;

  @GetMapping("/post")
  public String post(Map<String, Object> model, String title) {
    model.put("title", title.toUpperCase());
    model.remove("stale");
    return "post";
  }

  @GetMapping("/visit")
  public String visit(String who) {
    ((Tally) tally).add(who);
    return "visited";
  }

  @GetMapping("/see")
  public String see(String who) {
    seen.add(who);
    return "seen";
  }

  @GetMapping("/hit")
  public int hit() {
    return ++hits;
  }

  @PostMapping("/echo")
  public String echo(String text) {
    return text;
  }
}
