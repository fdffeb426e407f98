package io.semifaas.samples.blog.seed;

import java.util.List;

/**
 * The seeded posts: a few hundred to a thousand words each, with headings, lists, a table and
 * code, assembled from fixed paragraphs so every start produces the same text.
 */
final class SeedPosts {

  record SeedPost(String author, String title, String body, List<SeedComment> comments) {}

  record SeedComment(String author, String body) {}

  private static final List<String> PARAGRAPHS =
      List.of(
          """
          Most web services spend their time waiting: on the database, on another service, on \
          the network. A few handlers are different. They parse, render, compress or compute, \
          and when traffic bursts those handlers are the ones that queue up behind each other.""",
          """
          Moving such a handler somewhere else is easy to describe and hard to do well. The \
          handler reads fields of its controller, calls repositories, touches the session and \
          fills a model. Each of those is state that lives on the server and cannot simply be \
          copied.""",
          """
          The approach here keeps the program as it is. The handler runs elsewhere as plain \
          Java, and every call it makes on server-bound state comes back over one connection. \
          Reads are cheap to answer; writes are answered too, but they are counted and logged.""",
          """
          Caching changes the picture again. A rendered post is cached by its source text, so \
          the second reader pays nothing, while the first pays the full price of parsing, syntax \
          highlighting and the word statistics shown next to the article.""",
          """
          Sessions deserve a careful look. The session holds who is logged in and which posts \
          were read. A handler that appends to that list must write the attribute back, or the \
          change would be lost wherever the handler happened to run.""",
          """
          Transactions are the last piece. A write that spans two tables must commit or roll \
          back as one, which is why the service that performs writes is transactional and why it \
          always runs next to the database, whatever happens to the handler that called it.""");

  private static final String CODE =
      """
      ```java
      // Count words in a post, ignoring case.
      public Map<String, Integer> count(String text) {
        Map<String, Integer> counts = new HashMap<>();
        for (String word : text.toLowerCase().split("\\\\W+")) {
          if (!word.isEmpty()) {
            counts.merge(word, 1, Integer::sum);
          }
        }
        return counts;
      }
      ```
      """;

  private static final String TABLE =
      """
      | step | where it runs | cost |
      | --- | --- | --- |
      | parse markdown | anywhere | ~~high~~ medium |
      | load comments | next to the database | low |
      | render the page | anywhere | medium |
      """;

  private SeedPosts() {}

  static List<SeedPost> all() {
    return List.of(
        new SeedPost(
            "alice",
            "Offloading without rewriting",
            body("Offloading without rewriting", 0, 3),
            List.of(
                new SeedComment("bob", "How are writes to the session handled?"),
                new SeedComment("alice", "They go back to the server, one call each."))),
        new SeedPost(
            "bob",
            "Caching rendered markdown",
            body("Caching rendered markdown", 2, 4),
            List.of(new SeedComment("alice", "Keyed by the source text, nice and simple."))),
        new SeedPost(
            "alice",
            "Sessions, models and binding results",
            body("Sessions, models and binding results", 4, 3),
            List.of()),
        new SeedPost(
            "bob",
            "Transactions stay home",
            body("Transactions stay home", 1, 5),
            List.of(
                new SeedComment("alice", "What about read-only transactions?"),
                new SeedComment("bob", "Those are reads, so they can be answered remotely."),
                new SeedComment("alice", "Makes sense."))));
  }

  /** A post of {@code rounds} sections, each with paragraphs rotated from {@code first}. */
  private static String body(String title, int first, int rounds) {
    StringBuilder out = new StringBuilder();
    out.append("# ").append(title).append("\n\n");
    for (int round = 0; round < rounds; round++) {
      out.append("## Part ").append(round + 1).append("\n\n");
      for (int i = 0; i < 3; i++) {
        out.append(PARAGRAPHS.get((first + round + i) % PARAGRAPHS.size())).append("\n\n");
      }
      out.append("- **").append(round + 1).append("** of ").append(rounds).append(" parts\n");
      out.append("- see https://example.org/blog/").append(round + 1).append("\n\n");
      out.append(round % 2 == 0 ? CODE : TABLE).append('\n');
    }
    return out.toString();
  }
}
