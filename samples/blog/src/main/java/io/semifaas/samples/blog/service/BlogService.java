package io.semifaas.samples.blog.service;

import io.semifaas.samples.blog.domain.Comment;
import io.semifaas.samples.blog.domain.CommentRepository;
import io.semifaas.samples.blog.domain.Post;
import io.semifaas.samples.blog.domain.PostRepository;
import java.time.Instant;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/** The writes of the blog, each in one transaction. Inputs are validated by the callers. */
@Service
@Transactional
public class BlogService {

  private final PostRepository posts;
  private final CommentRepository comments;

  public BlogService(PostRepository posts, CommentRepository comments) {
    this.posts = posts;
    this.comments = comments;
  }

  public Post createPost(String author, String title, String body) {
    return posts.save(new Post(author, title, body, Instant.now()));
  }

  public Comment addComment(long postId, String author, String body) {
    if (!posts.existsById(postId)) {
      throw new NotFoundException("post", postId);
    }
    return comments.save(new Comment(postId, author, body, Instant.now()));
  }

  /** Replaces title and body; only the post's author may. */
  public Post editPost(long postId, String editor, String title, String body) {
    Post post = posts.findById(postId).orElseThrow(() -> new NotFoundException("post", postId));
    if (!post.getAuthor().equals(editor)) {
      throw new ForbiddenException(
          "post " + postId + " belongs to " + post.getAuthor() + "; only its author may edit it");
    }
    post.revise(title, body, Instant.now());
    return posts.save(post);
  }
}
