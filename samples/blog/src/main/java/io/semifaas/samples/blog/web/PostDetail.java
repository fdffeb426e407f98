package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.markdown.TermCount;
import java.time.Instant;
import java.util.List;

/** One post with its source, rendering, statistics and comments. */
public record PostDetail(
    long id,
    String title,
    String author,
    Instant createdAt,
    Instant updatedAt,
    String body,
    String html,
    int wordCount,
    int sentenceCount,
    double readingEase,
    String fingerprint,
    List<TermCount> topTerms,
    int repeatedSentences,
    List<CommentView> comments) {}
