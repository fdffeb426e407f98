package com.example.library;

/** A helper of the application's own code that calls the repository the handler passes it. */
final class FormChecks {
  private FormChecks() {}

  static boolean isbnTaken(String isbn, Catalogue catalogue) {
    return catalogue.findByIsbn(isbn).isPresent();
  }
}
