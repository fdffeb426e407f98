package io.semifaas.samples.blog.markdown;

import java.util.List;
import org.commonmark.Extension;
import org.commonmark.ext.autolink.AutolinkExtension;
import org.commonmark.ext.gfm.strikethrough.StrikethroughExtension;
import org.commonmark.ext.gfm.tables.TablesExtension;
import org.commonmark.ext.heading.anchor.HeadingAnchorExtension;
import org.commonmark.node.Node;
import org.commonmark.parser.Parser;
import org.commonmark.renderer.html.HtmlRenderer;
import org.commonmark.renderer.text.TextContentRenderer;
import org.springframework.stereotype.Component;

/**
 * Renders post bodies: commonmark with GFM tables, strikethrough, autolinks and heading anchors,
 * server-side code highlighting, word statistics and repeated-sentence detection. A plain bean (no
 * proxy), so whoever holds it does the work where it runs; {@link MarkdownRenderer} is the cached
 * front.
 */
@Component
public class MarkdownEngine {

  private static final int TOP_TERMS = 8;

  private final Parser parser;
  private final HtmlRenderer html;
  private final TextContentRenderer text;

  public MarkdownEngine() {
    List<Extension> extensions =
        List.of(
            TablesExtension.create(),
            StrikethroughExtension.create(),
            AutolinkExtension.create(),
            HeadingAnchorExtension.create());
    this.parser = Parser.builder().extensions(extensions).build();
    this.html =
        HtmlRenderer.builder()
            .extensions(extensions)
            .escapeHtml(true)
            .sanitizeUrls(true)
            .nodeRendererFactory(HighlightedCodeRenderer::new)
            .build();
    this.text = TextContentRenderer.builder().extensions(extensions).build();
  }

  public RenderedMarkdown render(String markdown) {
    Node document = parser.parse(markdown);
    String plain = text.render(document);
    List<String> words = TextStatistics.words(plain);
    int syllables = 0;
    for (String word : words) {
      syllables += TextStatistics.syllables(word);
    }
    int sentences = TextStatistics.sentences(plain);
    return new RenderedMarkdown(
        html.render(document),
        words.size(),
        sentences,
        TextStatistics.readingEase(words.size(), sentences, syllables),
        Fingerprint.simHash(words),
        TextStatistics.top(TextStatistics.termFrequencies(words), TOP_TERMS),
        Repetitions.count(plain));
  }

  /** The words of the rendered text, for corpus-wide statistics. */
  public List<String> words(String markdown) {
    return TextStatistics.words(text.render(parser.parse(markdown)));
  }
}
