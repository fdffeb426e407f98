package io.semifaas.samples.blog.web;

import java.util.Comparator;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.validation.BindingResult;

/** Turns a {@link BindingResult} with errors into the deterministic 400 response. */
final class ValidationErrors {

  private ValidationErrors() {}

  static List<FieldProblem> problems(BindingResult result) {
    return result.getFieldErrors().stream()
        .map(e -> new FieldProblem(e.getField(), e.getDefaultMessage()))
        .distinct()
        .sorted(Comparator.comparing(FieldProblem::field).thenComparing(FieldProblem::message))
        .toList();
  }

  static ResponseEntity<Object> response(BindingResult result) {
    List<FieldProblem> problems = problems(result);
    List<String> fields = problems.stream().map(FieldProblem::field).distinct().toList();
    String names = String.join(", ", fields);
    return ResponseEntity.status(HttpStatus.BAD_REQUEST)
        .contentType(MediaType.APPLICATION_JSON)
        .body(new ErrorBody("validation_failed", "invalid fields: " + names, problems));
  }
}
