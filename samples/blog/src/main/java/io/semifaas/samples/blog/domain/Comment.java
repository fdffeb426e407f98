package io.semifaas.samples.blog.domain;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Index;
import jakarta.persistence.Table;
import java.time.Instant;

/** A comment on a post (plain text). */
@Entity
@Table(name = "comments", indexes = @Index(name = "comments_post", columnList = "postId"))
public class Comment {

  @Id
  @GeneratedValue(strategy = GenerationType.IDENTITY)
  private Long id;

  @Column(nullable = false)
  private Long postId;

  @Column(nullable = false, length = 64)
  private String author;

  @Column(nullable = false, length = 2000)
  private String body;

  @Column(nullable = false)
  private Instant createdAt;

  protected Comment() {}

  public Comment(Long postId, String author, String body, Instant createdAt) {
    this.postId = postId;
    this.author = author;
    this.body = body;
    this.createdAt = createdAt;
  }

  public Long getId() {
    return id;
  }

  public Long getPostId() {
    return postId;
  }

  public String getAuthor() {
    return author;
  }

  public String getBody() {
    return body;
  }

  public Instant getCreatedAt() {
    return createdAt;
  }
}
