package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.domain.CommentRepository;
import io.semifaas.samples.blog.domain.Post;
import io.semifaas.samples.blog.domain.PostRepository;
import io.semifaas.samples.blog.markdown.MarkdownRenderer;
import io.semifaas.samples.blog.markdown.RenderedMarkdown;
import io.semifaas.samples.blog.service.NotFoundException;
import java.util.List;
import org.springframework.stereotype.Component;

/** Builds the read views shared by the HTML pages and the JSON API. A plain bean, not proxied. */
@Component
public class PostReader {

  private final PostRepository posts;
  private final CommentRepository comments;
  private final MarkdownRenderer renderer;

  public PostReader(PostRepository posts, CommentRepository comments, MarkdownRenderer renderer) {
    this.posts = posts;
    this.comments = comments;
    this.renderer = renderer;
  }

  public List<PostSummary> summaries() {
    return posts.findAllByOrderByIdAsc().stream().map(this::summary).toList();
  }

  public PostDetail detail(long id) {
    return detail(posts.findById(id).orElseThrow(() -> new NotFoundException("post", id)));
  }

  public PostDetail detail(Post post) {
    RenderedMarkdown rendered = renderer.render(post.getBody());
    List<CommentView> views =
        comments.findByPostIdOrderByIdAsc(post.getId()).stream().map(CommentView::of).toList();
    return new PostDetail(
        post.getId(),
        post.getTitle(),
        post.getAuthor(),
        post.getCreatedAt(),
        post.getUpdatedAt(),
        post.getBody(),
        rendered.html(),
        rendered.wordCount(),
        rendered.sentenceCount(),
        rendered.readingEase(),
        rendered.fingerprint(),
        rendered.topTerms(),
        rendered.repeatedSentences(),
        views);
  }

  private PostSummary summary(Post post) {
    RenderedMarkdown rendered = renderer.render(post.getBody());
    return new PostSummary(
        post.getId(),
        post.getTitle(),
        post.getAuthor(),
        post.getCreatedAt(),
        post.getUpdatedAt(),
        rendered.html().length(),
        rendered.wordCount(),
        comments.countByPostId(post.getId()));
  }
}
