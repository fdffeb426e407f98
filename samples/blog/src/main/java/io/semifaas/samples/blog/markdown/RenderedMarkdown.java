package io.semifaas.samples.blog.markdown;

import java.util.List;

/**
 * A post body rendered to HTML with its statistics.
 *
 * @param html the sanitized HTML (raw HTML in the source is escaped)
 * @param wordCount words of the text content
 * @param sentenceCount sentences of the text content
 * @param readingEase Flesch reading ease of the text content
 * @param fingerprint 64-bit SimHash of the word 3-shingles, as 16 hex digits; near-duplicate posts
 *     have fingerprints a few bits apart
 * @param topTerms the most frequent terms
 * @param repeatedSentences sentences that nearly repeat an earlier one
 */
public record RenderedMarkdown(
    String html,
    int wordCount,
    int sentenceCount,
    double readingEase,
    String fingerprint,
    List<TermCount> topTerms,
    int repeatedSentences) {}
