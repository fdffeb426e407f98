package io.semifaas.samples.blog.web;

/** One invalid field of a request body. */
public record FieldProblem(String field, String message) {}
