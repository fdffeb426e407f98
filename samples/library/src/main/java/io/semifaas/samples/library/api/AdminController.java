package io.semifaas.samples.library.api;

import io.semifaas.samples.library.domain.BookRepository;
import io.semifaas.samples.library.domain.LoanRepository;
import io.semifaas.samples.library.domain.MemberRepository;
import io.semifaas.samples.library.web.VisitCounter;
import java.time.LocalDate;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Every row of every table, ordered by id, and the visit counter, so equivalence tests can compare
 * the application's state after the same script ran with and without offloading.
 */
@RestController
public class AdminController {

  private final MemberRepository members;
  private final BookRepository books;
  private final LoanRepository loans;
  private final VisitCounter visits;

  public AdminController(
      MemberRepository members, BookRepository books, LoanRepository loans, VisitCounter visits) {
    this.members = members;
    this.books = books;
    this.loans = loans;
    this.visits = visits;
  }

  public record MemberRow(
      long id,
      String username,
      String displayName,
      String passwordHash,
      String role,
      int activeLoans,
      int totalLoans) {}

  public record BookRow(
      long id,
      String title,
      String author,
      String isbn,
      int publishedYear,
      int copies,
      int available,
      int timesBorrowed,
      String addedBy,
      String updatedBy) {}

  public record LoanRow(
      long id,
      long memberId,
      long bookId,
      LocalDate borrowedOn,
      LocalDate dueOn,
      LocalDate returnedOn) {}

  public record Dump(
      List<MemberRow> members, List<BookRow> books, List<LoanRow> loans, long visits) {}

  @GetMapping("/api/admin/dump")
  public Dump dump() {
    return new Dump(
        members.findAllByOrderByIdAsc().stream()
            .map(
                m ->
                    new MemberRow(
                        m.getId(),
                        m.getUsername(),
                        m.getDisplayName(),
                        m.getPasswordHash(),
                        m.getRole(),
                        m.getActiveLoans(),
                        m.getTotalLoans()))
            .toList(),
        books.findAllByOrderByIdAsc().stream()
            .map(
                b ->
                    new BookRow(
                        b.getId(),
                        b.getTitle(),
                        b.getAuthor(),
                        b.getIsbn(),
                        b.getPublishedYear(),
                        b.getCopies(),
                        b.getAvailable(),
                        b.getTimesBorrowed(),
                        b.getAddedBy(),
                        b.getUpdatedBy()))
            .toList(),
        loans.findAllByOrderByIdAsc().stream()
            .map(
                l ->
                    new LoanRow(
                        l.getId(),
                        l.getMember().getId(),
                        l.getBook().getId(),
                        l.getBorrowedOn(),
                        l.getDueOn(),
                        l.getReturnedOn()))
            .toList(),
        visits.current());
  }
}
