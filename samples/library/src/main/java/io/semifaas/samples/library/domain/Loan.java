package io.semifaas.samples.library.domain;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.FetchType;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.JoinColumn;
import jakarta.persistence.ManyToOne;
import jakarta.persistence.Table;
import java.time.LocalDate;

/** One copy of a book lent to a member; open until {@link #getReturnedOn()} is set. */
@Entity
@Table(name = "loans")
public class Loan {

  /** How long a loan runs. */
  public static final int LOAN_DAYS = 14;

  @Id
  @GeneratedValue(strategy = GenerationType.IDENTITY)
  private Long id;

  @ManyToOne(fetch = FetchType.LAZY, optional = false)
  @JoinColumn(name = "member_id")
  private Member member;

  @ManyToOne(fetch = FetchType.LAZY, optional = false)
  @JoinColumn(name = "book_id")
  private Book book;

  @Column(nullable = false)
  private LocalDate borrowedOn;

  @Column(nullable = false)
  private LocalDate dueOn;

  private LocalDate returnedOn;

  protected Loan() {}

  public Loan(Member member, Book book, LocalDate borrowedOn, LocalDate dueOn) {
    this.member = member;
    this.book = book;
    this.borrowedOn = borrowedOn;
    this.dueOn = dueOn;
  }

  public boolean isOpen() {
    return returnedOn == null;
  }

  /** Whether the loan is still open after its due date. */
  public boolean isOverdueOn(LocalDate today) {
    return isOpen() && today.isAfter(dueOn);
  }

  public void markReturned(LocalDate on) {
    this.returnedOn = on;
  }

  public Long getId() {
    return id;
  }

  public Member getMember() {
    return member;
  }

  public Book getBook() {
    return book;
  }

  public LocalDate getBorrowedOn() {
    return borrowedOn;
  }

  public LocalDate getDueOn() {
    return dueOn;
  }

  public LocalDate getReturnedOn() {
    return returnedOn;
  }
}
