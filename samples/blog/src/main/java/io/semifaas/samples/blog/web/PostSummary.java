package io.semifaas.samples.blog.web;

import java.time.Instant;

/** A post in the list: metadata and the size of its rendering. */
public record PostSummary(
    long id,
    String title,
    String author,
    Instant createdAt,
    Instant updatedAt,
    int htmlLength,
    int wordCount,
    long commentCount) {}
