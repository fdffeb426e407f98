package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.service.BadCredentialsException;
import io.semifaas.samples.blog.service.BlogException;
import io.semifaas.samples.blog.service.ForbiddenException;
import io.semifaas.samples.blog.service.NotFoundException;
import io.semifaas.samples.blog.service.NotLoggedInException;
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

  @ExceptionHandler(BlogException.class)
  public ResponseEntity<ErrorBody> blog(BlogException e) {
    return body(status(e), e.errorCode(), e.getMessage());
  }

  private static HttpStatus status(BlogException e) {
    if (e instanceof NotFoundException) {
      return HttpStatus.NOT_FOUND;
    }
    if (e instanceof NotLoggedInException || e instanceof BadCredentialsException) {
      return HttpStatus.UNAUTHORIZED;
    }
    if (e instanceof ForbiddenException) {
      return HttpStatus.FORBIDDEN;
    }
    return HttpStatus.BAD_REQUEST;
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
        "the request body is missing or is not valid JSON of the expected shape");
  }

  private static ResponseEntity<ErrorBody> body(HttpStatus status, String code, String message) {
    return ResponseEntity.status(status)
        .contentType(MediaType.APPLICATION_JSON)
        .body(new ErrorBody(code, message));
  }
}
