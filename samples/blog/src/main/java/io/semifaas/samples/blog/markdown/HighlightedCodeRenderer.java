package io.semifaas.samples.blog.markdown;

import java.util.Map;
import java.util.Set;
import org.commonmark.node.FencedCodeBlock;
import org.commonmark.node.Node;
import org.commonmark.renderer.NodeRenderer;
import org.commonmark.renderer.html.HtmlNodeRendererContext;
import org.commonmark.renderer.html.HtmlWriter;

/** Renders fenced code blocks through {@link CodeHighlighter} instead of as plain text. */
final class HighlightedCodeRenderer implements NodeRenderer {

  private final HtmlWriter html;

  HighlightedCodeRenderer(HtmlNodeRendererContext context) {
    this.html = context.getWriter();
  }

  @Override
  public Set<Class<? extends Node>> getNodeTypes() {
    return Set.of(FencedCodeBlock.class);
  }

  @Override
  public void render(Node node) {
    FencedCodeBlock block = (FencedCodeBlock) node;
    String info = block.getInfo() == null ? "" : block.getInfo().trim();
    String language = info.isEmpty() ? "text" : info.split("\\s+", 2)[0];
    html.line();
    html.tag("pre");
    html.tag("code", Map.of("class", "language-" + language));
    html.raw(CodeHighlighter.highlight(block.getLiteral()));
    html.tag("/code");
    html.tag("/pre");
    html.line();
  }
}
