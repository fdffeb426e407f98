package io.semifaas.samples.library.web;

import io.semifaas.samples.library.domain.Book;
import io.semifaas.samples.library.domain.BookRepository;
import io.semifaas.samples.library.domain.Loan;
import io.semifaas.samples.library.domain.LoanRepository;
import io.semifaas.samples.library.domain.Member;
import jakarta.validation.Valid;
import java.time.Clock;
import java.time.LocalDate;
import org.springframework.beans.propertyeditors.StringTrimmerEditor;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.validation.BindingResult;
import org.springframework.web.bind.WebDataBinder;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.InitBinder;
import org.springframework.web.bind.annotation.ModelAttribute;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;

/** One book: its page, the librarian's edit form, and borrowing it. */
@Controller
@RequestMapping("/books/{id}")
class BookController {

  private final BookRepository books;
  private final LoanRepository loans;
  private final LendingService lending;
  private final CurrentMember current;
  private final VisitCounter visits;
  private final Clock clock;

  BookController(
      BookRepository books,
      LoanRepository loans,
      LendingService lending,
      CurrentMember current,
      VisitCounter visits,
      Clock clock) {
    this.books = books;
    this.loans = loans;
    this.lending = lending;
    this.current = current;
    this.visits = visits;
    this.clock = clock;
  }

  @InitBinder
  void initBinder(WebDataBinder binder) {
    binder.setDisallowedFields("id");
    binder.registerCustomEditor(String.class, new StringTrimmerEditor(true));
  }

  /** The book of every request to this controller; a 404 if there is none. */
  @ModelAttribute("book")
  Book book(@PathVariable Long id) {
    return books.findById(id).orElseThrow(() -> new BookNotFoundException(id));
  }

  @GetMapping
  String show(@ModelAttribute(name = "book", binding = false) Book book, Model model) {
    LocalDate today = LocalDate.now(clock);
    Loan mine =
        current
            .find()
            .flatMap(m -> loans.findFirstByMemberAndBookAndReturnedOnIsNullOrderByIdAsc(m, book))
            .orElse(null);
    model.addAttribute("loans", book.getLoans());
    model.addAttribute("myLoan", mine);
    model.addAttribute("today", today);
    model.addAttribute("visits", visits.increment());
    return "books/show";
  }

  @GetMapping("/edit")
  String edit(@ModelAttribute(name = "book", binding = false) Book book, Model model) {
    model.addAttribute("form", BookForm.of(book));
    model.addAttribute("back", current.backLink("/books/" + book.getId()));
    model.addAttribute("visits", visits.increment());
    return "books/form";
  }

  @PostMapping("/edit")
  String update(
      @ModelAttribute(name = "book", binding = false) Book book,
      @Valid @ModelAttribute("form") BookForm form,
      BindingResult result,
      RedirectAttributes redirect,
      Model model) {
    BookFormChecks.check(form, book.getId(), books, result);
    if (!result.hasFieldErrors("copies") && form.getCopies() < book.getOnLoan()) {
      result.rejectValue(
          "copies", "copies.onLoan", book.getOnLoan() + " copies are on loan; keep at least those");
    }
    if (result.hasErrors()) {
      model.addAttribute("back", "/books/" + book.getId());
      model.addAttribute("visits", visits.increment());
      return "books/form";
    }
    book.revise(
        form.getTitle(),
        form.getAuthor(),
        form.getIsbn(),
        form.getPublishedYear(),
        form.getCopies(),
        current.username().orElseThrow());
    books.save(book);
    redirect.addFlashAttribute("message", "Saved the changes to " + book.getTitle() + ".");
    return "redirect:/books/{id}";
  }

  @PostMapping("/borrow")
  String borrow(
      @ModelAttribute(name = "book", binding = false) Book book, RedirectAttributes redirect) {
    Member member = current.require();
    try {
      Loan loan = lending.borrow(member.getId(), book.getId());
      redirect.addFlashAttribute(
          "message",
          "You borrowed " + book.getTitle() + ". Please bring it back by " + loan.getDueOn() + ".");
    } catch (LendingService.Refused refused) {
      redirect.addFlashAttribute("problem", refused.getMessage());
    }
    return "redirect:/books/{id}";
  }
}
