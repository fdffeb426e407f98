package io.semifaas.samples.library.api;

import io.semifaas.samples.library.catalogue.CatalogueStatistics;
import io.semifaas.samples.library.catalogue.CatalogueSummary;
import io.semifaas.samples.library.domain.BookRepository;
import io.semifaas.samples.library.web.BookNotFoundException;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** The catalogue as JSON (records, never entities). */
@RestController
@RequestMapping("/api")
public class BookApiController {

  private final BookRepository books;

  public BookApiController(BookRepository books) {
    this.books = books;
  }

  /** Every book, by title. */
  @GetMapping("/books")
  public List<BookSummary> books() {
    return books.findAllByOrderByTitleAscIdAsc().stream().map(BookSummary::of).toList();
  }

  @GetMapping("/books/{id}")
  public BookDetail book(@PathVariable long id) {
    return books.findById(id).map(BookDetail::of).orElseThrow(() -> new BookNotFoundException(id));
  }

  /** The figures shown above the catalogue page. */
  @GetMapping("/catalogue/summary")
  public CatalogueSummary summary() {
    return CatalogueStatistics.summarize(books.findAllByOrderByTitleAscIdAsc());
  }
}
