package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.domain.CommentRepository;
import io.semifaas.samples.blog.domain.Post;
import io.semifaas.samples.blog.domain.PostRepository;
import io.semifaas.samples.blog.domain.UserRepository;
import io.semifaas.samples.blog.markdown.MarkdownEngine;
import io.semifaas.samples.blog.markdown.RenderedMarkdown;
import io.semifaas.samples.blog.markdown.TextStatistics;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Corpus statistics. Renders every post afresh through the uncached engine, counts words and word
 * pairs and compares fingerprints pairwise: the CPU-heavy read of the sample.
 */
@RestController
public class StatsController {

  private static final int TOP_TERMS = 20;
  private static final int TOP_BIGRAMS = 10;
  static final int SIMILAR_BITS = 3;

  private final UserRepository users;
  private final PostRepository posts;
  private final CommentRepository comments;
  private final MarkdownEngine engine;

  public StatsController(
      UserRepository users,
      PostRepository posts,
      CommentRepository comments,
      MarkdownEngine engine) {
    this.users = users;
    this.posts = posts;
    this.comments = comments;
    this.engine = engine;
  }

  @GetMapping("/api/stats")
  public StatsView stats() {
    List<Post> all = posts.findAllByOrderByIdAsc();
    Map<String, Integer> terms = new HashMap<>();
    Map<String, Integer> bigrams = new HashMap<>();
    TreeMap<String, Long> byAuthor = new TreeMap<>();
    long words = 0;
    long repeated = 0;
    long[] fingerprints = new long[all.size()];
    for (int i = 0; i < all.size(); i++) {
      Post post = all.get(i);
      RenderedMarkdown rendered = engine.render(post.getBody());
      repeated += rendered.repeatedSentences();
      fingerprints[i] = Long.parseUnsignedLong(rendered.fingerprint(), 16);
      List<String> postWords = engine.words(post.getBody());
      words += postWords.size();
      TextStatistics.termFrequencies(postWords).forEach((k, v) -> terms.merge(k, v, Integer::sum));
      TextStatistics.bigramFrequencies(postWords)
          .forEach((k, v) -> bigrams.merge(k, v, Integer::sum));
      byAuthor.merge(post.getAuthor(), 1L, Long::sum);
    }
    List<List<Long>> similar = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      for (int j = i + 1; j < all.size(); j++) {
        if (Long.bitCount(fingerprints[i] ^ fingerprints[j]) <= SIMILAR_BITS) {
          similar.add(List.of(all.get(i).getId(), all.get(j).getId()));
        }
      }
    }
    return new StatsView(
        users.count(),
        all.size(),
        comments.count(),
        words,
        repeated,
        byAuthor,
        TextStatistics.top(terms, TOP_TERMS),
        TextStatistics.top(bigrams, TOP_BIGRAMS),
        similar);
  }
}
