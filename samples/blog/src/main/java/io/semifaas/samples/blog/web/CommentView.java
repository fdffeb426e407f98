package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.domain.Comment;
import java.time.Instant;

public record CommentView(long id, long postId, String author, String body, Instant createdAt) {

  static CommentView of(Comment c) {
    return new CommentView(c.getId(), c.getPostId(), c.getAuthor(), c.getBody(), c.getCreatedAt());
  }
}
