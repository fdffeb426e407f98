package io.semifaas.samples.library.web;

import io.semifaas.samples.library.domain.Loan;
import io.semifaas.samples.library.domain.Member;
import java.time.Clock;
import java.time.LocalDate;
import java.util.List;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;

/** The logged-in member's loans, and returning a book. */
@Controller
class LoanController {

  private final LendingService lending;
  private final CurrentMember current;
  private final VisitCounter visits;
  private final Clock clock;

  LoanController(LendingService lending, CurrentMember current, VisitCounter visits, Clock clock) {
    this.lending = lending;
    this.current = current;
    this.visits = visits;
    this.clock = clock;
  }

  /** Open loans first (oldest first), then the returned ones, read from the member's loans. */
  @GetMapping("/my/loans")
  String myLoans(Model model) {
    Member member = current.require();
    LocalDate today = LocalDate.now(clock);
    List<Loan> all = member.getLoans();
    List<Loan> open = all.stream().filter(Loan::isOpen).toList();
    List<Loan> returned = all.stream().filter(loan -> !loan.isOpen()).toList();
    long overdue = open.stream().filter(loan -> loan.isOverdueOn(today)).count();
    model.addAttribute("member", member);
    model.addAttribute("open", open);
    model.addAttribute("returned", returned);
    model.addAttribute("overdue", overdue);
    model.addAttribute("today", today);
    model.addAttribute("back", current.backLink("/books"));
    model.addAttribute("visits", visits.increment());
    return "loans/mine";
  }

  @PostMapping("/loans/{loanId}/return")
  String giveBack(@PathVariable long loanId, RedirectAttributes redirect) {
    Member member = current.require();
    try {
      Loan loan = lending.giveBack(member.getId(), loanId);
      redirect.addFlashAttribute(
          "message", "Thank you for returning " + loan.getBook().getTitle() + ".");
    } catch (LendingService.Refused refused) {
      redirect.addFlashAttribute("problem", refused.getMessage());
    }
    return "redirect:/my/loans";
  }
}
