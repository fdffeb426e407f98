package io.semifaas.samples.blog.web;

import java.util.List;
import java.util.Locale;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** Title search. Remembers the recent queries in a helper object held by the controller. */
@RestController
public class SearchController {

  private final PostReader reader;
  private final RecentSearches recent = new RecentSearches();

  public SearchController(PostReader reader) {
    this.reader = reader;
  }

  /** Posts whose title contains {@code q} (case-insensitive), in id order. */
  @GetMapping("/api/search")
  public SearchResult search(@RequestParam("q") String q) {
    String needle = q.toLowerCase(Locale.ROOT);
    List<String> titles =
        reader.summaries().stream()
            .map(PostSummary::title)
            .filter(title -> title.toLowerCase(Locale.ROOT).contains(needle))
            .toList();
    recent.record(q);
    return new SearchResult(q, titles, recent.list());
  }
}
