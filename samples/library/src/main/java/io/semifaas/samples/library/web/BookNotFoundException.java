package io.semifaas.samples.library.web;

import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.ResponseStatus;

/** No book has the id asked for: the pages answer with the 404 page, the API with a 404 body. */
@ResponseStatus(HttpStatus.NOT_FOUND)
public class BookNotFoundException extends RuntimeException {

  private final long id;

  public BookNotFoundException(long id) {
    super("no book with id " + id);
    this.id = id;
  }

  public long getId() {
    return id;
  }
}
