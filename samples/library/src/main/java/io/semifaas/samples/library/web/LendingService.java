package io.semifaas.samples.library.web;

import io.semifaas.samples.library.domain.Book;
import io.semifaas.samples.library.domain.BookRepository;
import io.semifaas.samples.library.domain.Loan;
import io.semifaas.samples.library.domain.LoanRepository;
import io.semifaas.samples.library.domain.Member;
import io.semifaas.samples.library.domain.MemberRepository;
import java.time.Clock;
import java.time.LocalDate;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.web.server.ResponseStatusException;

/**
 * Lending and returning. Each call is one transaction that checks the rules, writes the loan row
 * and keeps the counters on the book and the member in step with it.
 */
@Service
@Transactional
class LendingService {

  /** How many books a member may have at once. */
  static final int MAX_OPEN_LOANS = 3;

  private final MemberRepository members;
  private final BookRepository books;
  private final LoanRepository loans;
  private final Clock clock;

  LendingService(
      MemberRepository members, BookRepository books, LoanRepository loans, Clock clock) {
    this.members = members;
    this.books = books;
    this.loans = loans;
    this.clock = clock;
  }

  /** A request the lending rules refuse; its message is shown to the member. */
  static final class Refused extends RuntimeException {
    Refused(String message) {
      super(message);
    }
  }

  /**
   * Lends a copy of the book to the member, due {@link Loan#LOAN_DAYS} days from today.
   *
   * @throws Refused if no copy is on the shelf, the member already has this book or already has
   *     {@link #MAX_OPEN_LOANS} books
   */
  Loan borrow(long memberId, long bookId) {
    Member member = members.findById(memberId).orElseThrow();
    Book book = books.findById(bookId).orElseThrow(() -> new BookNotFoundException(bookId));
    if (loans.findFirstByMemberAndBookAndReturnedOnIsNullOrderByIdAsc(member, book).isPresent()) {
      throw new Refused("You already have a copy of " + book.getTitle() + ".");
    }
    if (member.getActiveLoans() >= MAX_OPEN_LOANS) {
      throw new Refused(
          "You already have " + MAX_OPEN_LOANS + " books on loan; return one first.");
    }
    if (book.getAvailable() == 0) {
      throw new Refused("No copy of " + book.getTitle() + " is on the shelf.");
    }
    LocalDate today = LocalDate.now(clock);
    book.checkOut();
    member.loanStarted();
    return loans.save(new Loan(member, book, today, today.plusDays(Loan.LOAN_DAYS)));
  }

  /**
   * Takes back a book the member has on loan.
   *
   * @throws ResponseStatusException 404 if the member has no loan with that id
   * @throws Refused if the loan has already ended
   */
  Loan giveBack(long memberId, long loanId) {
    Loan loan =
        loans
            .findById(loanId)
            .filter(l -> l.getMember().getId() == memberId)
            .orElseThrow(
                () -> new ResponseStatusException(HttpStatus.NOT_FOUND, "no loan " + loanId));
    if (!loan.isOpen()) {
      throw new Refused(loan.getBook().getTitle() + " was already returned.");
    }
    loan.markReturned(LocalDate.now(clock));
    loan.getBook().checkIn();
    loan.getMember().loanEnded();
    return loan;
  }
}
