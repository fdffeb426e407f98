package io.semifaas.samples.library.web;

/** Who is looking at a page, for the header: null for anonymous visitors. */
public record Viewer(String username, String displayName, boolean librarian) {}
