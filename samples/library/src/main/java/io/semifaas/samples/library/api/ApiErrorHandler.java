package io.semifaas.samples.library.api;

import io.semifaas.samples.library.web.BookNotFoundException;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;

/**
 * Deterministic JSON for failed API requests (Spring Boot's default error body carries a
 * timestamp). Applies to the API controllers only; pages get the HTML error pages.
 */
@RestControllerAdvice(basePackageClasses = ApiErrorHandler.class)
public class ApiErrorHandler {

  @ExceptionHandler(BookNotFoundException.class)
  public ResponseEntity<ErrorBody> notFound(BookNotFoundException e) {
    return body(HttpStatus.NOT_FOUND, "not_found", e.getMessage());
  }

  @ExceptionHandler(MethodArgumentTypeMismatchException.class)
  public ResponseEntity<ErrorBody> typeMismatch(MethodArgumentTypeMismatchException e) {
    return body(
        HttpStatus.BAD_REQUEST,
        "bad_request",
        "'" + e.getName() + "' must be a number, got '" + e.getValue() + "'");
  }

  private static ResponseEntity<ErrorBody> body(HttpStatus status, String code, String message) {
    return ResponseEntity.status(status)
        .contentType(MediaType.APPLICATION_JSON)
        .body(new ErrorBody(code, message));
  }
}
