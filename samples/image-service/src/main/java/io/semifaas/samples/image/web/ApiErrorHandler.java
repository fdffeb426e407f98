package io.semifaas.samples.image.web;

import io.semifaas.samples.image.processing.ImageRequestException;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.bind.MissingServletRequestParameterException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;

/**
 * Maps failures to deterministic JSON bodies (Spring Boot's default error body carries a
 * timestamp). Runs on the server after the handler threw, whether the handler ran here or was
 * offloaded, so the response is the same either way.
 */
@RestControllerAdvice
public class ApiErrorHandler {

  @ExceptionHandler(ImageRequestException.class)
  public ResponseEntity<ErrorBody> imageRequest(ImageRequestException e) {
    return body(HttpStatus.UNPROCESSABLE_ENTITY, e.errorCode(), e.getMessage());
  }

  @ExceptionHandler(MissingServletRequestParameterException.class)
  public ResponseEntity<ErrorBody> missingParameter(MissingServletRequestParameterException e) {
    return body(
        HttpStatus.BAD_REQUEST,
        "bad_request",
        "the request parameter '" + e.getParameterName() + "' is missing");
  }

  @ExceptionHandler(MethodArgumentTypeMismatchException.class)
  public ResponseEntity<ErrorBody> typeMismatch(MethodArgumentTypeMismatchException e) {
    String expected =
        e.getRequiredType() == null ? "a number" : e.getRequiredType().getSimpleName();
    return body(
        HttpStatus.BAD_REQUEST,
        "bad_request",
        "'" + e.getName() + "' must be " + expected + ", got '" + e.getValue() + "'");
  }

  @ExceptionHandler(HttpMessageNotReadableException.class)
  public ResponseEntity<ErrorBody> unreadableBody(HttpMessageNotReadableException e) {
    return body(
        HttpStatus.BAD_REQUEST,
        "bad_request",
        "the request body is missing; send PNG or JPEG bytes");
  }

  private static ResponseEntity<ErrorBody> body(HttpStatus status, String code, String message) {
    // Explicit content type: the handler's `produces = image/png` must not apply to errors.
    return ResponseEntity.status(status)
        .contentType(MediaType.APPLICATION_JSON)
        .body(new ErrorBody(code, message));
  }
}
