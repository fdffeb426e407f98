package com.example.library;

/**
 * A conventional controller: a repository and a proxied service injected into its fields, and a
 * handler that validates through a helper class calling the repository.
 */
public class EditController {
  private final Catalogue catalogue;
  private final Lending lending;

  public EditController(Catalogue catalogue, Lending lending) {
    this.catalogue = catalogue;
    this.lending = lending;
  }

  public String update(String isbn) {
    return FormChecks.isbnTaken(isbn, catalogue) ? "taken" : lending.lend(isbn);
  }
}
