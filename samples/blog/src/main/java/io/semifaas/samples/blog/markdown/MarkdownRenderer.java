package io.semifaas.samples.blog.markdown;

import org.springframework.cache.annotation.Cacheable;
import org.springframework.stereotype.Service;

/**
 * Cached markdown rendering for the views. Keyed by the source text, so an edited post is rendered
 * afresh and an unchanged one is never rendered twice.
 */
@Service
public class MarkdownRenderer {

  public static final String CACHE = "markdown";

  private final MarkdownEngine engine;

  public MarkdownRenderer(MarkdownEngine engine) {
    this.engine = engine;
  }

  @Cacheable(CACHE)
  public RenderedMarkdown render(String markdown) {
    return engine.render(markdown);
  }
}
