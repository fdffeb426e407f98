package io.semifaas.samples.blog.web;

import java.util.List;

/** The session attributes as JSON: who is logged in (null if nobody) and the posts viewed. */
public record SessionView(String user, List<Long> visited) {}
