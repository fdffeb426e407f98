package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.domain.CommentRepository;
import io.semifaas.samples.blog.domain.PostRepository;
import io.semifaas.samples.blog.domain.UserRepository;
import java.time.Instant;
import java.util.List;
import org.springframework.data.domain.Sort;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Every row of every table, ordered by id, so equivalence tests can compare the database after
 * the same script ran with and without offloading.
 */
@RestController
public class AdminController {

  private static final Sort BY_ID = Sort.by("id");

  private final UserRepository users;
  private final PostRepository posts;
  private final CommentRepository comments;

  public AdminController(UserRepository users, PostRepository posts, CommentRepository comments) {
    this.users = users;
    this.posts = posts;
    this.comments = comments;
  }

  public record UserRow(long id, String username, String passwordHash, Instant createdAt) {}

  public record PostRow(
      long id, String author, String title, String body, Instant createdAt, Instant updatedAt) {}

  public record Dump(List<UserRow> users, List<PostRow> posts, List<CommentView> comments) {}

  @GetMapping("/api/admin/dump")
  public Dump dump() {
    return new Dump(
        users.findAll(BY_ID).stream()
            .map(
                u -> new UserRow(u.getId(), u.getUsername(), u.getPasswordHash(), u.getCreatedAt()))
            .toList(),
        posts.findAll(BY_ID).stream()
            .map(
                p ->
                    new PostRow(
                        p.getId(),
                        p.getAuthor(),
                        p.getTitle(),
                        p.getBody(),
                        p.getCreatedAt(),
                        p.getUpdatedAt()))
            .toList(),
        comments.findAll(BY_ID).stream().map(CommentView::of).toList());
  }
}
