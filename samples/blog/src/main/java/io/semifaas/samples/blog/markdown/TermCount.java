package io.semifaas.samples.blog.markdown;

/** A word (or word pair) and how often it occurs. */
public record TermCount(String term, int count) {}
