package io.semifaas.samples.library.seed;

import io.semifaas.samples.library.domain.Book;
import io.semifaas.samples.library.domain.BookRepository;
import io.semifaas.samples.library.domain.Loan;
import io.semifaas.samples.library.domain.LoanRepository;
import io.semifaas.samples.library.domain.Member;
import io.semifaas.samples.library.domain.MemberRepository;
import java.time.Clock;
import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.boot.CommandLineRunner;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Seeds an empty database with three members, the catalogue and a few loans, the same rows on
 * every start: the password hashes are pre-computed and loan dates are relative to the library's
 * fixed {@link Clock}. Runs after the port is open, so {@link #isDone()} gates the health check.
 */
@Component
public class SeedData implements CommandLineRunner {

  record SeedMember(String username, String displayName, String passwordHash, String role) {}

  /**
   * The members. Each password is the username; the hashes were computed once with bcrypt (cost
   * 10) and are stored as they are.
   */
  static final List<SeedMember> MEMBERS =
      List.of(
          new SeedMember(
              "alice",
              "Alice Archer",
              "{bcrypt}$2a$10$2U9DfMVw4MiTDbkX3yEJG.MM.PIn/fCiPflp.jC25HeiUU5p4FI9a",
              Member.ROLE_LIBRARIAN),
          new SeedMember(
              "bob",
              "Bob Baker",
              "{bcrypt}$2a$10$O34DN31zvGF3HPF7pkKewuV1.kHHuCQMEvtUiCe0.bZgPurG4RETa",
              Member.ROLE_MEMBER),
          new SeedMember(
              "carol",
              "Carol Chen",
              "{bcrypt}$2a$10$RIkkVvuWNs20GkfglDDWm.bkjb7sSqpOsdgQjgmAnDeDLDP4lOPC6",
              Member.ROLE_MEMBER));

  record SeedBook(String title, String author, String isbn, int year, int copies) {}

  /** The catalogue, in the order the books were acquired (their ids). */
  static final List<SeedBook> BOOKS =
      List.of(
          new SeedBook("Pride and Prejudice", "Jane Austen", "9780000010001", 1813, 3),
          new SeedBook("Emma", "Jane Austen", "9780000010377", 1815, 1),
          new SeedBook("Sense and Sensibility", "Jane Austen", "9780000010742", 1811, 2),
          new SeedBook("Persuasion", "Jane Austen", "9780000011114", 1817, 1),
          new SeedBook("Great Expectations", "Charles Dickens", "9780000011480", 1861, 2),
          new SeedBook("A Tale of Two Cities", "Charles Dickens", "9780000011855", 1859, 2),
          new SeedBook("Hard Times", "Charles Dickens", "9780000012227", 1854, 1),
          new SeedBook("Bleak House", "Charles Dickens", "9780000012593", 1853, 1),
          new SeedBook("Moby-Dick", "Herman Melville", "9780000012968", 1851, 2),
          new SeedBook("Frankenstein", "Mary Shelley", "9780000013330", 1818, 1),
          new SeedBook("Dracula", "Bram Stoker", "9780000013705", 1897, 2),
          new SeedBook("Jane Eyre", "Charlotte Brontë", "9780000014078", 1847, 2),
          new SeedBook("Middlemarch", "George Eliot", "9780000014443", 1871, 1),
          new SeedBook("Wuthering Heights", "Emily Brontë", "9780000014818", 1847, 1),
          new SeedBook(
              "The Adventures of Sherlock Holmes", "Arthur Conan Doyle", "9780000015181", 1892, 3),
          new SeedBook(
              "The Return of Sherlock Holmes", "Arthur Conan Doyle", "9780000015556", 1905, 1),
          new SeedBook("The Adventures of Tom Sawyer", "Mark Twain", "9780000015921", 1876, 2),
          new SeedBook("Adventures of Huckleberry Finn", "Mark Twain", "9780000016294", 1884, 2),
          new SeedBook("The Picture of Dorian Gray", "Oscar Wilde", "9780000016669", 1890, 1),
          new SeedBook("The Importance of Being Earnest", "Oscar Wilde", "9780000017031", 1895, 1),
          new SeedBook("The War of the Worlds", "H. G. Wells", "9780000017406", 1898, 2),
          new SeedBook("The Time Machine", "H. G. Wells", "9780000017772", 1895, 1),
          new SeedBook("The Invisible Man", "H. G. Wells", "9780000018144", 1897, 1),
          new SeedBook("Around the World in Eighty Days", "Jules Verne", "9780000018519", 1872, 2),
          new SeedBook(
              "Twenty Thousand Leagues Under the Seas", "Jules Verne", "9780000018885", 1870, 1));

  private final MemberRepository members;
  private final BookRepository books;
  private final LoanRepository loans;
  private final TransactionTemplate transaction;
  private final Clock clock;
  private final AtomicBoolean done = new AtomicBoolean();

  public SeedData(
      MemberRepository members,
      BookRepository books,
      LoanRepository loans,
      TransactionTemplate transaction,
      Clock clock) {
    this.members = members;
    this.books = books;
    this.loans = loans;
    this.transaction = transaction;
    this.clock = clock;
  }

  @Override
  public void run(String... args) {
    if (members.count() == 0) {
      transaction.executeWithoutResult(status -> seed());
    }
    done.set(true);
  }

  public boolean isDone() {
    return done.get();
  }

  private void seed() {
    for (SeedMember member : MEMBERS) {
      members.save(
          new Member(
              member.username(), member.displayName(), member.passwordHash(), member.role()));
    }
    for (SeedBook book : BOOKS) {
      books.save(
          new Book(book.title(), book.author(), book.isbn(), book.year(), book.copies(), "alice"));
    }
    LocalDate today = LocalDate.now(clock);
    // carol read Dracula and brought it back early.
    Loan dracula = lend("carol", "Dracula", today.minusDays(40));
    dracula.markReturned(today.minusDays(30));
    dracula.getBook().checkIn();
    dracula.getMember().loanEnded();
    // bob has Pride and Prejudice, due in four days.
    lend("bob", "Pride and Prejudice", today.minusDays(10));
    // carol has the only copy of Emma, six days overdue.
    lend("carol", "Emma", today.minusDays(20));
  }

  private Loan lend(String username, String title, LocalDate on) {
    Member member = members.findByUsername(username).orElseThrow();
    Book book =
        books.findAllByOrderByIdAsc().stream()
            .filter(b -> b.getTitle().equals(title))
            .findFirst()
            .orElseThrow();
    book.checkOut();
    member.loanStarted();
    return loans.save(new Loan(member, book, on, on.plusDays(Loan.LOAN_DAYS)));
  }
}
