package io.semifaas.samples.library.api;

import io.semifaas.samples.library.domain.Book;
import io.semifaas.samples.library.domain.Loan;
import java.time.LocalDate;
import java.util.List;

/** One book as JSON, with its loans oldest first. */
public record BookDetail(
    long id,
    String title,
    String author,
    String isbn,
    int publishedYear,
    int copies,
    int available,
    int timesBorrowed,
    String addedBy,
    String updatedBy,
    List<LoanEntry> loans) {

  /** A loan of the book; {@code returnedOn} is null while it is open. */
  public record LoanEntry(
      long id, String member, LocalDate borrowedOn, LocalDate dueOn, LocalDate returnedOn) {

    static LoanEntry of(Loan loan) {
      return new LoanEntry(
          loan.getId(),
          loan.getMember().getUsername(),
          loan.getBorrowedOn(),
          loan.getDueOn(),
          loan.getReturnedOn());
    }
  }

  static BookDetail of(Book book) {
    return new BookDetail(
        book.getId(),
        book.getTitle(),
        book.getAuthor(),
        book.getIsbn(),
        book.getPublishedYear(),
        book.getCopies(),
        book.getAvailable(),
        book.getTimesBorrowed(),
        book.getAddedBy(),
        book.getUpdatedBy(),
        book.getLoans().stream().map(LoanEntry::of).toList());
  }
}
