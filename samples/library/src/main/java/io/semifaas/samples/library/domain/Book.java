package io.semifaas.samples.library.domain;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.OneToMany;
import jakarta.persistence.OrderBy;
import jakarta.persistence.Table;
import java.util.ArrayList;
import java.util.List;

/** A title in the catalogue: how many copies the library owns and how many are on the shelf. */
@Entity
@Table(name = "books")
public class Book {

  @Id
  @GeneratedValue(strategy = GenerationType.IDENTITY)
  private Long id;

  @Column(nullable = false, length = 200)
  private String title;

  @Column(nullable = false, length = 120)
  private String author;

  @Column(nullable = false, unique = true, length = 13)
  private String isbn;

  @Column(nullable = false)
  private int publishedYear;

  @Column(nullable = false)
  private int copies;

  @Column(nullable = false)
  private int available;

  @Column(nullable = false)
  private int timesBorrowed;

  /** Username of the member who added the book. */
  @Column(nullable = false, length = 32)
  private String addedBy;

  /** Username of the member who last changed the book. */
  @Column(nullable = false, length = 32)
  private String updatedBy;

  @OneToMany(mappedBy = "book")
  @OrderBy("id")
  private List<Loan> loans = new ArrayList<>();

  protected Book() {}

  public Book(
      String title, String author, String isbn, int publishedYear, int copies, String addedBy) {
    this.title = title;
    this.author = author;
    this.isbn = isbn;
    this.publishedYear = publishedYear;
    this.copies = copies;
    this.available = copies;
    this.addedBy = addedBy;
    this.updatedBy = addedBy;
  }

  /** Copies currently lent out. */
  public int getOnLoan() {
    return copies - available;
  }

  /**
   * Replaces the catalogue data. The number of copies may shrink only down to the copies on loan.
   */
  public void revise(
      String title, String author, String isbn, int publishedYear, int copies, String updatedBy) {
    if (copies < getOnLoan()) {
      throw new IllegalArgumentException("fewer copies than are on loan");
    }
    this.available = copies - getOnLoan();
    this.title = title;
    this.author = author;
    this.isbn = isbn;
    this.publishedYear = publishedYear;
    this.copies = copies;
    this.updatedBy = updatedBy;
  }

  /** Takes a copy off the shelf. */
  public void checkOut() {
    if (available == 0) {
      throw new IllegalStateException("no copy of book " + id + " is available");
    }
    available--;
    timesBorrowed++;
  }

  /** Puts a copy back on the shelf. */
  public void checkIn() {
    available++;
  }

  public Long getId() {
    return id;
  }

  public String getTitle() {
    return title;
  }

  public String getAuthor() {
    return author;
  }

  public String getIsbn() {
    return isbn;
  }

  public int getPublishedYear() {
    return publishedYear;
  }

  public int getCopies() {
    return copies;
  }

  public int getAvailable() {
    return available;
  }

  public int getTimesBorrowed() {
    return timesBorrowed;
  }

  public String getAddedBy() {
    return addedBy;
  }

  public String getUpdatedBy() {
    return updatedBy;
  }

  /** Every loan of this book, oldest first (loaded lazily). */
  public List<Loan> getLoans() {
    return loans;
  }
}
