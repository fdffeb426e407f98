package io.semifaas.samples.blog.web;

import java.util.List;

/** The titles of the posts matching a query, and the recent queries including this one. */
public record SearchResult(String query, List<String> titles, List<String> recent) {}
