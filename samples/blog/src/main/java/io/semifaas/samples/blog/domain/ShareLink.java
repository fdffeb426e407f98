package io.semifaas.samples.blog.domain;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** A link that lets anyone read a post: a random token, made by a logged-in user. */
@Entity
@Table(name = "share_links")
public class ShareLink {

  @Id
  @GeneratedValue(strategy = GenerationType.IDENTITY)
  private Long id;

  @Column(nullable = false)
  private Long postId;

  @Column(nullable = false, length = 64)
  private String createdBy;

  @Column(nullable = false, unique = true, length = 36)
  private String token;

  protected ShareLink() {}

  public ShareLink(Long postId, String createdBy, String token) {
    this.postId = postId;
    this.createdBy = createdBy;
    this.token = token;
  }

  public Long getId() {
    return id;
  }

  public Long getPostId() {
    return postId;
  }

  public String getCreatedBy() {
    return createdBy;
  }

  public String getToken() {
    return token;
  }
}
