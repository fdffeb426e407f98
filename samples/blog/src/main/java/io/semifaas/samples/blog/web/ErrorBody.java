package io.semifaas.samples.blog.web;

import java.util.List;

/**
 * JSON body of every error response: a stable code, a message naming what was wrong and, for
 * validation failures, the offending fields (sorted, so the body is deterministic).
 */
public record ErrorBody(String error, String message, List<FieldProblem> fields) {

  public ErrorBody(String error, String message) {
    this(error, message, List.of());
  }
}
