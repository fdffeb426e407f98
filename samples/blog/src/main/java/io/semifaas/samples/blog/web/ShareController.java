package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.domain.Post;
import io.semifaas.samples.blog.domain.PostRepository;
import io.semifaas.samples.blog.domain.ShareLink;
import io.semifaas.samples.blog.domain.ShareLinkRepository;
import io.semifaas.samples.blog.markdown.MarkdownRenderer;
import io.semifaas.samples.blog.service.NotFoundException;
import jakarta.servlet.http.HttpSession;
import java.util.List;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Share links: a logged-in user makes a link with a random token to a post, and gets it back with
 * the preview the link shows (the post with a footer naming who shared it).
 */
@RestController
public class ShareController {

  private final ShareLinkRepository links;
  private final PostRepository posts;
  private final MarkdownRenderer renderer;

  public ShareController(
      ShareLinkRepository links, PostRepository posts, MarkdownRenderer renderer) {
    this.links = links;
    this.posts = posts;
    this.renderer = renderer;
  }

  /** A share link and the page it shows. */
  public record Shared(String token, String url, String previewHtml) {}

  @PostMapping("/api/posts/{id}/share")
  public ResponseEntity<Shared> share(@PathVariable("id") long id, HttpSession session) {
    String user = SessionState.requireUser(session, "share a post");
    Post post = posts.findById(id).orElseThrow(() -> new NotFoundException("post", id));
    ShareLink link = links.save(new ShareLink(id, user, UUID.randomUUID().toString()));
    String url = "/shared/" + link.getToken();
    String footer = "\n\n---\n\nShared by " + user + ": " + url;
    return ResponseEntity.status(HttpStatus.CREATED)
        .body(new Shared(link.getToken(), url, renderer.render(post.getBody() + footer).html()));
  }

  @GetMapping("/api/posts/{id}/shares")
  public List<String> shares(@PathVariable("id") long id) {
    return links.findByPostIdOrderByIdAsc(id).stream().map(ShareLink::getToken).toList();
  }
}
