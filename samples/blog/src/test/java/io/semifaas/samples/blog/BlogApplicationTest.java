package io.semifaas.samples.blog;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.semifaas.samples.blog.BlogClient.Reply;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * Scripted sessions over real HTTP against the running service. The script test is the only one
 * that writes, and its checks are relative to the dump it takes first, so test order is free.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class BlogApplicationTest {

  private static final List<String> SEEDED_TITLES =
      List.of(
          "Offloading without rewriting",
          "Caching rendered markdown",
          "Sessions, models and binding results",
          "Transactions stay home");

  @LocalServerPort private int port;

  @Test
  void healthSaysOkOnceSeeded() {
    Reply health = new BlogClient(port).get("/health");
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.body()).isEqualTo("ok");
  }

  @Test
  void seededPostsAreListedInOrderWithRenderedSizes() {
    JsonNode posts = new BlogClient(port).get("/api/posts").json();
    List<String> titles = new ArrayList<>();
    posts.forEach(p -> titles.add(p.get("title").asText()));
    assertThat(titles.subList(0, 4)).isEqualTo(SEEDED_TITLES);
    assertThat(posts.get(0).get("author").asText()).isEqualTo("alice");
    assertThat(posts.get(0).get("commentCount").asLong()).isEqualTo(2);
    assertThat(posts.get(3).get("commentCount").asLong()).isEqualTo(3);
    for (int i = 0; i < SEEDED_TITLES.size(); i++) {
      JsonNode post = posts.get(i);
      assertThat(post.get("wordCount").asInt()).isGreaterThan(100);
      assertThat(post.get("htmlLength").asInt()).isGreaterThan(post.get("wordCount").asInt());
    }
  }

  @Test
  void renderedPostHasAnchorsTablesHighlightingAndEscapedHtml() {
    BlogClient client = new BlogClient(port);
    long id = client.get("/api/posts").json().get(0).get("id").asLong();
    JsonNode post = client.get("/api/posts/" + id).json();
    String html = post.get("html").asText();
    assertThat(html).contains("<h1 id=\"offloading-without-rewriting\">");
    assertThat(html).contains("<table>").contains("<del>high</del>");
    assertThat(html).contains("<span class=\"tok-keyword\">public</span>");
    assertThat(html).contains("<a rel=\"nofollow\" href=\"https://example.org/blog/1\">");
    assertThat(post.get("fingerprint").asText()).matches("[0-9a-f]{16}");
    assertThat(post.get("readingEase").asDouble()).isBetween(0.0, 120.0);
    assertThat(post.get("topTerms").size()).isEqualTo(8);
    // The seeded posts reuse paragraphs across their parts.
    assertThat(post.get("repeatedSentences").asInt()).isGreaterThan(0);
    // The same source renders to the same result every time.
    assertThat(client.get("/api/posts/" + id).json().get("html").asText()).isEqualTo(html);
  }

  @Test
  void searchMatchesTitlesAndRemembersTheQueries() {
    BlogClient client = new BlogClient(port);
    JsonNode first = client.get("/api/search?q=CACHING").json();
    assertThat(first.get("titles").toString()).isEqualTo("[\"Caching rendered markdown\"]");
    assertThat(first.get("recent").get(first.get("recent").size() - 1).asText())
        .isEqualTo("CACHING");
    JsonNode second = client.get("/api/search?q=no-such-title").json();
    assertThat(second.get("titles").size()).isZero();
    int n = second.get("recent").size();
    assertThat(second.get("recent").get(n - 2).asText()).isEqualTo("CACHING");
    assertThat(second.get("recent").get(n - 1).asText()).isEqualTo("no-such-title");
    assertThat(client.get("/api/search").status()).isEqualTo(400);
  }

  @Test
  void wrongPasswordAndUnknownUserAreRefused() {
    BlogClient client = new BlogClient(port);
    Reply wrong = client.postForm("/login", Map.of("username", "alice", "password", "bob"));
    Reply unknown = client.postForm("/login", Map.of("username", "carol", "password", "carol"));
    Reply missing = client.postForm("/login", Map.of("username", "alice"));

    assertThat(wrong.status()).isEqualTo(401);
    assertThat(wrong.body())
        .isEqualTo(
            "{\"error\":\"bad_credentials\",\"message\":\"unknown username or wrong password\","
                + "\"fields\":[]}");
    assertThat(unknown.body()).isEqualTo(wrong.body());
    assertThat(missing.status()).isEqualTo(400);
    assertThat(missing.json().get("message").asText())
        .isEqualTo("the request parameter 'password' is missing");
    assertThat(client.get("/api/session").json().get("user").isNull()).isTrue();
  }

  @Test
  void writesNeedALogin() {
    BlogClient client = new BlogClient(port);
    JsonNode before = client.get("/api/admin/dump").json();
    Reply post = client.postJson("/api/posts", "{\"title\":\"t\",\"body\":\"b\"}");
    Reply comment = client.postJson("/api/posts/1/comments", "{\"body\":\"b\"}");
    Reply form = client.postForm("/posts", Map.of("title", "t", "body", "b"));

    for (Reply reply : List.of(post, comment, form)) {
      assertThat(reply.status()).isEqualTo(401);
      assertThat(reply.json().get("error").asText()).isEqualTo("not_logged_in");
    }
    assertThat(post.json().get("message").asText())
        .isEqualTo("log in first (POST /login) to write a post");
    assertThat(client.get("/api/admin/dump").json()).isEqualTo(before);
  }

  @Test
  void scriptedSession() {
    BlogClient alice = new BlogClient(port);
    JsonNode start = alice.get("/api/admin/dump").json();
    int posts0 = start.get("posts").size();
    int comments0 = start.get("comments").size();

    assertThat(alice.get("/api/session").json())
        .isEqualTo(BlogClient.JSON.createObjectNode().putNull("user").set("visited", array()));

    // Log in.
    Reply login = alice.postForm("/login", Map.of("username", "alice", "password", "alice"));
    assertThat(login.status()).isEqualTo(200);
    assertThat(login.body()).isEqualTo("{\"user\":\"alice\",\"visited\":[]}");

    // List and read, as JSON and as pages.
    JsonNode list = alice.get("/api/posts").json();
    long first = list.get(0).get("id").asLong();
    long second = list.get(1).get("id").asLong();
    long bobs = list.get(3).get("id").asLong();
    assertThat(alice.get("/api/posts/" + first).json().get("comments").size()).isEqualTo(2);

    Reply page = alice.get("/posts/" + second);
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.contentType()).startsWith("text/html");
    assertThat(page.body())
        .contains("<title>Caching rendered markdown</title>")
        .contains("<span class=\"user\">alice</span>")
        .contains("<h2 id=\"part-1\">Part 1</h2>")
        .contains("Keyed by the source text, nice and simple.")
        .contains("1 comments")
        .containsPattern("<span class=\"repeated\">[1-9]\\d* repeated sentences</span>");

    Reply listPage = alice.get("/posts");
    assertThat(listPage.status()).isEqualTo(200);
    for (String title : SEEDED_TITLES) {
      assertThat(listPage.body()).contains(title);
    }
    assertThat(listPage.body()).contains("class=\"current\"");

    // Write: post, comment, edit.
    Reply created =
        alice.postJson(
            "/api/posts",
            BlogClient.json(
                Map.of(
                    "title", "Hello from the script",
                    "body", "# Hi\n\nSome *markdown* with `code`.\n\n```java\nint x = 1;\n```\n")));
    assertThat(created.status()).isEqualTo(201);
    JsonNode post = created.json();
    long id = post.get("id").asLong();
    assertThat(post.get("author").asText()).isEqualTo("alice");
    assertThat(post.get("html").asText())
        .contains("<h1 id=\"hi\">Hi</h1>")
        .contains("<em>markdown</em>")
        .contains("<span class=\"tok-keyword\">int</span> x = <span class=\"tok-number\">1</span>");
    // Hi, Some, markdown, with, code, int, x, 1: code blocks count too.
    assertThat(post.get("wordCount").asInt()).isEqualTo(8);
    assertThat(post.get("repeatedSentences").asInt()).isZero();

    Reply comment =
        alice.postJson("/api/posts/" + id + "/comments", "{\"body\":\"First comment\"}");
    assertThat(comment.status()).isEqualTo(201);
    assertThat(comment.json().get("postId").asLong()).isEqualTo(id);
    assertThat(comment.json().get("author").asText()).isEqualTo("alice");

    Reply edited =
        alice.putJson(
            "/api/posts/" + id, "{\"title\":\"Hello, edited\",\"body\":\"Now **bold**.\"}");
    assertThat(edited.status()).isEqualTo(200);
    assertThat(edited.json().get("title").asText()).isEqualTo("Hello, edited");
    assertThat(edited.json().get("html").asText()).isEqualTo("<p>Now <strong>bold</strong>.</p>\n");
    assertThat(edited.json().get("comments").get(0).get("body").asText())
        .isEqualTo("First comment");
    assertThat(Instant.parse(edited.json().get("updatedAt").asText()))
        .isAfterOrEqualTo(Instant.parse(edited.json().get("createdAt").asText()));

    Reply viewed = alice.get("/posts/" + id);
    assertThat(viewed.body())
        .contains("<p>Now <strong>bold</strong>.</p>")
        .contains("First comment");

    // The HTML form: a valid post redirects to its page.
    Reply form = alice.postForm("/posts", Map.of("title", "From the form", "body", "Plain."));
    assertThat(form.status()).isEqualTo(302);
    assertThat(form.location()).matches(".*/posts/\\d+$");
    long formId = Long.parseLong(form.location().replaceAll(".*/", ""));
    assertThat(alice.get("/api/posts/" + formId).json().get("title").asText())
        .isEqualTo("From the form");

    // Bad input: clear errors, and nothing is written.
    JsonNode beforeBad = alice.get("/api/admin/dump").json();
    assertBadInput(alice, id, bobs);
    assertThat(alice.get("/api/admin/dump").json()).isEqualTo(beforeBad);

    // Session state the handlers maintained.
    JsonNode session = alice.get("/api/session").json();
    assertThat(session.get("user").asText()).isEqualTo("alice");
    assertThat(longs(session.get("visited"))).containsExactly(first, second, id, formId);

    // Stats count what is there.
    JsonNode stats = alice.get("/api/stats").json();
    assertThat(stats.get("users").asLong()).isEqualTo(2);
    assertThat(stats.get("posts").asLong()).isEqualTo(posts0 + 2);
    assertThat(stats.get("comments").asLong()).isEqualTo(comments0 + 1);
    assertThat(stats.get("postsByAuthor").get("bob").asLong()).isEqualTo(2);
    assertThat(stats.get("repeatedSentences").asLong()).isGreaterThan(0);
    assertThat(stats.get("similarPosts").isArray()).isTrue();
    JsonNode terms = stats.get("topTerms");
    assertThat(terms.size()).isEqualTo(20);
    for (int i = 1; i < terms.size(); i++) {
      assertThat(terms.get(i).get("count").asInt())
          .isLessThanOrEqualTo(terms.get(i - 1).get("count").asInt());
    }
    assertThat(alice.get("/api/stats").json()).isEqualTo(stats);

    // The dump: every row, ordered by id, with the script's writes in it.
    JsonNode dump = alice.get("/api/admin/dump").json();
    assertThat(dump.get("users").size()).isEqualTo(2);
    assertThat(dump.get("users").get(0).get("username").asText()).isEqualTo("alice");
    assertThat(dump.get("users").get(0).get("passwordHash").asText())
        .startsWith("pbkdf2-sha256$20000$")
        .doesNotContain("alice");
    assertThat(dump.get("posts").size()).isEqualTo(posts0 + 2);
    assertIdsAscending(dump.get("posts"));
    assertIdsAscending(dump.get("comments"));
    JsonNode row = byId(dump.get("posts"), id);
    assertThat(row.get("title").asText()).isEqualTo("Hello, edited");
    assertThat(row.get("body").asText()).isEqualTo("Now **bold**.");
    JsonNode last = dump.get("comments").get(dump.get("comments").size() - 1);
    assertThat(last.get("body").asText()).isEqualTo("First comment");
    assertThat(normalized(alice.get("/api/admin/dump").json())).isEqualTo(normalized(dump));

    // Log out: the session is gone.
    assertThat(alice.postForm("/logout", Map.of()).body())
        .isEqualTo("{\"user\":null,\"visited\":[]}");
    assertThat(alice.get("/api/session").json().get("user").isNull()).isTrue();
    assertThat(alice.putJson("/api/posts/" + id, "{\"title\":\"x\",\"body\":\"y\"}").status())
        .isEqualTo(401);
  }

  private static void assertBadInput(BlogClient alice, long id, long bobs) {
    Reply empty = alice.postJson("/api/posts", "{\"title\":\"\",\"body\":\"text\"}");
    assertThat(empty.status()).isEqualTo(400);
    assertThat(empty.body())
        .isEqualTo(
            "{\"error\":\"validation_failed\",\"message\":\"invalid fields: title\","
                + "\"fields\":[{\"field\":\"title\",\"message\":\"must not be empty\"}]}");

    Reply both =
        alice.postJson(
            "/api/posts", BlogClient.json(Map.of("title", "t".repeat(201), "body", "   ")));
    assertThat(both.status()).isEqualTo(400);
    assertThat(both.body())
        .isEqualTo(
            "{\"error\":\"validation_failed\",\"message\":\"invalid fields: body, title\","
                + "\"fields\":[{\"field\":\"body\",\"message\":\"must not be empty\"},"
                + "{\"field\":\"title\",\"message\":\"must be at most 200 characters\"}]}");

    Reply emptyComment = alice.postJson("/api/posts/" + id + "/comments", "{\"body\":\"\"}");
    assertThat(emptyComment.status()).isEqualTo(400);
    assertThat(emptyComment.json().get("fields").get(0).get("field").asText()).isEqualTo("body");

    Reply badEdit = alice.putJson("/api/posts/" + id, "{\"title\":\"ok\"}");
    assertThat(badEdit.status()).isEqualTo(400);
    assertThat(badEdit.json().get("message").asText()).isEqualTo("invalid fields: body");

    Reply notJson = alice.postJson("/api/posts", "{\"title\":");
    assertThat(notJson.status()).isEqualTo(400);
    assertThat(notJson.json().get("error").asText()).isEqualTo("bad_request");

    Reply notANumber = alice.get("/api/posts/abc");
    assertThat(notANumber.status()).isEqualTo(400);
    assertThat(notANumber.json().get("message").asText())
        .isEqualTo("'id' must be long, got 'abc'");

    Reply missing = alice.get("/api/posts/999999");
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.json().get("message").asText()).isEqualTo("there is no post with id 999999");

    Reply commentOnMissing =
        alice.postJson("/api/posts/999999/comments", "{\"body\":\"hello?\"}");
    assertThat(commentOnMissing.status()).isEqualTo(404);

    Reply notHers = alice.putJson("/api/posts/" + bobs, "{\"title\":\"mine\",\"body\":\"now\"}");
    assertThat(notHers.status()).isEqualTo(403);
    assertThat(notHers.json().get("message").asText())
        .isEqualTo("post " + bobs + " belongs to bob; only its author may edit it");

    Reply badForm = alice.postForm("/posts", Map.of("title", "", "body", "x"));
    assertThat(badForm.status()).isEqualTo(200);
    assertThat(badForm.body()).contains("<li>title: must not be empty</li>");
  }

  /** The dump with timestamps blanked, as equivalence tests compare it. */
  private static JsonNode normalized(JsonNode dump) {
    JsonNode copy = dump.deepCopy();
    for (String table : List.of("users", "posts", "comments")) {
      for (JsonNode row : copy.get(table)) {
        ((ObjectNode) row).remove(List.of("createdAt", "updatedAt"));
      }
    }
    return copy;
  }

  private static void assertIdsAscending(JsonNode rows) {
    for (int i = 1; i < rows.size(); i++) {
      assertThat(rows.get(i).get("id").asLong()).isGreaterThan(rows.get(i - 1).get("id").asLong());
    }
  }

  private static JsonNode byId(JsonNode rows, long id) {
    for (JsonNode row : rows) {
      if (row.get("id").asLong() == id) {
        return row;
      }
    }
    throw new AssertionError("no row with id " + id + " in " + rows);
  }

  private static List<Long> longs(JsonNode array) {
    List<Long> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asLong()));
    return out;
  }

  private static JsonNode array() {
    return BlogClient.JSON.createArrayNode();
  }
}
