package io.semifaas.samples.library.api;

import io.semifaas.samples.library.domain.Book;

/** A book in the JSON list. */
public record BookSummary(
    long id,
    String title,
    String author,
    String isbn,
    int publishedYear,
    int copies,
    int available) {

  static BookSummary of(Book book) {
    return new BookSummary(
        book.getId(),
        book.getTitle(),
        book.getAuthor(),
        book.getIsbn(),
        book.getPublishedYear(),
        book.getCopies(),
        book.getAvailable());
  }
}
