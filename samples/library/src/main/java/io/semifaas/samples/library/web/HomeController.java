package io.semifaas.samples.library.web;

import io.semifaas.samples.library.domain.BookRepository;
import io.semifaas.samples.library.domain.LoanRepository;
import io.semifaas.samples.library.domain.MemberRepository;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;

/** The welcome page and the login page. */
@Controller
class HomeController {

  private final BookRepository books;
  private final MemberRepository members;
  private final LoanRepository loans;
  private final VisitCounter visits;

  HomeController(
      BookRepository books,
      MemberRepository members,
      LoanRepository loans,
      VisitCounter visits) {
    this.books = books;
    this.members = members;
    this.loans = loans;
    this.visits = visits;
  }

  @GetMapping("/")
  String home(Model model) {
    model.addAttribute("books", books.count());
    model.addAttribute("members", members.count());
    model.addAttribute("openLoans", loans.countByReturnedOnIsNull());
    model.addAttribute("visits", visits.increment());
    return "home";
  }

  /** The form that Spring Security's form login posts to {@code /login}. */
  @GetMapping("/login")
  String login(Model model) {
    model.addAttribute("visits", visits.increment());
    return "login";
  }
}
