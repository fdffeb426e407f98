package io.semifaas.samples.library.web;

import io.semifaas.samples.library.catalogue.Isbn;
import io.semifaas.samples.library.domain.BookRepository;
import org.springframework.validation.BindingResult;

/** The checks of the book form that need more than its annotations. */
final class BookFormChecks {

  private BookFormChecks() {}

  /**
   * Rejects a wrong ISBN check digit and an ISBN another book already has ({@code bookId} is the
   * book being edited, null for a new one).
   */
  static void check(BookForm form, Long bookId, BookRepository books, BindingResult result) {
    if (result.hasFieldErrors("isbn")) {
      return;
    }
    if (!Isbn.isValid(form.getIsbn())) {
      result.rejectValue("isbn", "isbn.checkDigit", "The ISBN check digit is wrong");
      return;
    }
    books
        .findByIsbn(form.getIsbn())
        .filter(other -> !other.getId().equals(bookId))
        .ifPresent(
            other ->
                result.rejectValue(
                    "isbn",
                    "isbn.taken",
                    "Another book already has this ISBN: " + other.getTitle()));
  }
}
