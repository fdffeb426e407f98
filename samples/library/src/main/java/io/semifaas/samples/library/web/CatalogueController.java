package io.semifaas.samples.library.web;

import io.semifaas.samples.library.catalogue.CatalogueStatistics;
import io.semifaas.samples.library.domain.Book;
import io.semifaas.samples.library.domain.BookRepository;
import jakarta.validation.Valid;
import java.util.List;
import java.util.Locale;
import org.springframework.beans.propertyeditors.StringTrimmerEditor;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.validation.BindingResult;
import org.springframework.web.bind.WebDataBinder;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.InitBinder;
import org.springframework.web.bind.annotation.ModelAttribute;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;

/** The catalogue: the list of books with figures about it, and adding a book. */
@Controller
class CatalogueController {

  private final BookRepository books;
  private final CurrentMember current;
  private final VisitCounter visits;

  CatalogueController(BookRepository books, CurrentMember current, VisitCounter visits) {
    this.books = books;
    this.current = current;
    this.visits = visits;
  }

  @InitBinder("form")
  void initBinder(WebDataBinder binder) {
    binder.setDisallowedFields("id");
    binder.registerCustomEditor(String.class, new StringTrimmerEditor(true));
  }

  /** Every book by title, or those whose title or author contains {@code q}. */
  @GetMapping("/books")
  String list(@RequestParam(name = "q", required = false) String q, Model model) {
    List<Book> all = books.findAllByOrderByTitleAscIdAsc();
    String query = q == null ? "" : q.trim();
    String needle = query.toLowerCase(Locale.ROOT);
    List<Book> shown =
        needle.isEmpty()
            ? all
            : all.stream()
                .filter(
                    b ->
                        b.getTitle().toLowerCase(Locale.ROOT).contains(needle)
                            || b.getAuthor().toLowerCase(Locale.ROOT).contains(needle))
                .toList();
    model.addAttribute("books", shown);
    model.addAttribute("q", query);
    model.addAttribute("summary", CatalogueStatistics.summarize(all));
    model.addAttribute("visits", visits.increment());
    return "books/list";
  }

  @GetMapping("/books/new")
  String newBook(Model model) {
    model.addAttribute("form", BookForm.empty());
    model.addAttribute("back", current.backLink("/books"));
    model.addAttribute("visits", visits.increment());
    return "books/form";
  }

  /** Adds the book and shows its page, or shows the form again with what is wrong. */
  @PostMapping("/books")
  String create(
      @Valid @ModelAttribute("form") BookForm form,
      BindingResult result,
      RedirectAttributes redirect,
      Model model) {
    BookFormChecks.check(form, null, books, result);
    if (result.hasErrors()) {
      model.addAttribute("back", "/books");
      model.addAttribute("visits", visits.increment());
      return "books/form";
    }
    Book book =
        books.save(
            new Book(
                form.getTitle(),
                form.getAuthor(),
                form.getIsbn(),
                form.getPublishedYear(),
                form.getCopies(),
                current.username().orElseThrow()));
    redirect.addAttribute("id", book.getId());
    redirect.addFlashAttribute("message", "Added " + book.getTitle() + " to the catalogue.");
    return "redirect:/books/{id}";
  }
}
