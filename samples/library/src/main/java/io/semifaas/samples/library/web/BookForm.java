package io.semifaas.samples.library.web;

import io.semifaas.samples.library.domain.Book;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;

/**
 * The add/edit book form. Each field fails at most one constraint at a time (blank strings are
 * bound as null, which only {@code @NotBlank}/{@code @NotNull} reject), so the messages shown are
 * the same on every submission.
 */
public class BookForm {

  @NotBlank(message = "Enter a title")
  @Size(max = 200, message = "A title has at most 200 characters")
  private String title;

  @NotBlank(message = "Enter the author")
  @Size(max = 120, message = "An author has at most 120 characters")
  private String author;

  @NotBlank(message = "Enter the ISBN")
  @Pattern(regexp = "[0-9]{13}", message = "An ISBN has 13 digits")
  private String isbn;

  @NotNull(message = "Enter the year of publication")
  @Min(value = 1450, message = "The year must be 1450 or later")
  @Max(value = 2100, message = "The year must be 2100 or earlier")
  private Integer publishedYear;

  @NotNull(message = "Enter the number of copies")
  @Min(value = 1, message = "The library needs at least one copy")
  @Max(value = 20, message = "The library keeps at most 20 copies")
  private Integer copies;

  public BookForm() {}

  static BookForm empty() {
    BookForm form = new BookForm();
    form.setCopies(1);
    return form;
  }

  static BookForm of(Book book) {
    BookForm form = new BookForm();
    form.setTitle(book.getTitle());
    form.setAuthor(book.getAuthor());
    form.setIsbn(book.getIsbn());
    form.setPublishedYear(book.getPublishedYear());
    form.setCopies(book.getCopies());
    return form;
  }

  public String getTitle() {
    return title;
  }

  public void setTitle(String title) {
    this.title = title;
  }

  public String getAuthor() {
    return author;
  }

  public void setAuthor(String author) {
    this.author = author;
  }

  public String getIsbn() {
    return isbn;
  }

  public void setIsbn(String isbn) {
    this.isbn = isbn;
  }

  public Integer getPublishedYear() {
    return publishedYear;
  }

  public void setPublishedYear(Integer publishedYear) {
    this.publishedYear = publishedYear;
  }

  public Integer getCopies() {
    return copies;
  }

  public void setCopies(Integer copies) {
    this.copies = copies;
  }
}
