package io.semifaas.samples.blog.domain;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Lob;
import jakarta.persistence.Table;
import java.time.Instant;

/**
 * A blog post in markdown. Comments refer to it by id rather than through a mapped collection, so
 * a loaded post is a plain value with no lazy proxies attached.
 */
@Entity
@Table(name = "posts")
public class Post {

  @Id
  @GeneratedValue(strategy = GenerationType.IDENTITY)
  private Long id;

  @Column(nullable = false, length = 64)
  private String author;

  @Column(nullable = false, length = 200)
  private String title;

  @Lob
  @Column(nullable = false)
  private String body;

  @Column(nullable = false)
  private Instant createdAt;

  @Column(nullable = false)
  private Instant updatedAt;

  protected Post() {}

  public Post(String author, String title, String body, Instant now) {
    this.author = author;
    this.title = title;
    this.body = body;
    this.createdAt = now;
    this.updatedAt = now;
  }

  /** Replaces title and body, as an edit does. */
  public void revise(String title, String body, Instant now) {
    this.title = title;
    this.body = body;
    this.updatedAt = now;
  }

  public Long getId() {
    return id;
  }

  public String getAuthor() {
    return author;
  }

  public String getTitle() {
    return title;
  }

  public String getBody() {
    return body;
  }

  public Instant getCreatedAt() {
    return createdAt;
  }

  public Instant getUpdatedAt() {
    return updatedAt;
  }
}
