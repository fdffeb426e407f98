package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.domain.Comment;
import io.semifaas.samples.blog.domain.Post;
import io.semifaas.samples.blog.service.BlogService;
import jakarta.servlet.http.HttpSession;
import jakarta.validation.Valid;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.validation.BindingResult;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The JSON API. Validation results arrive as a {@link BindingResult} argument and are answered
 * here (400 with the sorted field problems), so nothing is proxied and no exception has to carry
 * them.
 */
@RestController
@RequestMapping("/api/posts")
public class PostApiController {

  private final PostReader reader;
  private final BlogService blog;

  public PostApiController(PostReader reader, BlogService blog) {
    this.reader = reader;
    this.blog = blog;
  }

  @GetMapping
  public List<PostSummary> list() {
    return reader.summaries();
  }

  @GetMapping("/{id}")
  public PostDetail get(@PathVariable("id") long id, HttpSession session) {
    PostDetail detail = reader.detail(id);
    SessionState.recordVisit(session, id);
    return detail;
  }

  @PostMapping
  public ResponseEntity<Object> create(
      @Valid @RequestBody PostRequest request, BindingResult errors, HttpSession session) {
    String user = SessionState.requireUser(session, "write a post");
    if (errors.hasErrors()) {
      return ValidationErrors.response(errors);
    }
    Post post = blog.createPost(user, request.title(), request.body());
    return ResponseEntity.status(HttpStatus.CREATED).body(reader.detail(post));
  }

  @PostMapping("/{id}/comments")
  public ResponseEntity<Object> comment(
      @PathVariable("id") long id,
      @Valid @RequestBody CommentRequest request,
      BindingResult errors,
      HttpSession session) {
    String user = SessionState.requireUser(session, "comment");
    if (errors.hasErrors()) {
      return ValidationErrors.response(errors);
    }
    Comment comment = blog.addComment(id, user, request.body());
    return ResponseEntity.status(HttpStatus.CREATED).body(CommentView.of(comment));
  }

  @PutMapping("/{id}")
  public ResponseEntity<Object> edit(
      @PathVariable("id") long id,
      @Valid @RequestBody PostRequest request,
      BindingResult errors,
      HttpSession session) {
    String user = SessionState.requireUser(session, "edit a post");
    if (errors.hasErrors()) {
      return ValidationErrors.response(errors);
    }
    Post post = blog.editPost(id, user, request.title(), request.body());
    return ResponseEntity.ok(reader.detail(post));
  }
}
