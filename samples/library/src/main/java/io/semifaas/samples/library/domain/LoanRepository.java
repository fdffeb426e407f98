package io.semifaas.samples.library.domain;

import java.util.List;
import java.util.Optional;
import org.springframework.data.jpa.repository.JpaRepository;

public interface LoanRepository extends JpaRepository<Loan, Long> {

  List<Loan> findAllByOrderByIdAsc();

  /** The member's open loan of the book, if any. */
  Optional<Loan> findFirstByMemberAndBookAndReturnedOnIsNullOrderByIdAsc(Member member, Book book);

  long countByReturnedOnIsNull();
}
