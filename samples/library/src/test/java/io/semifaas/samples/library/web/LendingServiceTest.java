package io.semifaas.samples.library.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.semifaas.samples.library.api.AdminController;
import io.semifaas.samples.library.domain.Book;
import io.semifaas.samples.library.domain.BookRepository;
import io.semifaas.samples.library.domain.MemberRepository;
import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.transaction.interceptor.TransactionAttributeSource;
import org.springframework.web.server.ResponseStatusException;

/**
 * The package-private lending service: a transactional proxy whose refusals leave the database as
 * it was. Same configuration as {@code LibraryApplicationTest}, so both share one application.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class LendingServiceTest {

  @Autowired private LendingService lending;
  @Autowired private TransactionAttributeSource transactions;
  @Autowired private MemberRepository members;
  @Autowired private BookRepository books;
  @Autowired private AdminController admin;

  @Test
  void packagePrivateMethodsAreTransactional() throws NoSuchMethodException {
    assertThat(AopUtils.isCglibProxy(lending)).isTrue();
    for (String name : new String[] {"borrow", "giveBack"}) {
      Method method = LendingService.class.getDeclaredMethod(name, long.class, long.class);
      assertThat(transactions.getTransactionAttribute(method, LendingService.class))
          .as(name)
          .isNotNull();
    }
  }

  @Test
  void refusalsChangeNothing() {
    AdminController.Dump before = admin.dump();
    long alice = members.findByUsername("alice").orElseThrow().getId();
    Book emma =
        books.findAllByOrderByIdAsc().stream()
            .filter(b -> b.getTitle().equals("Emma"))
            .findFirst()
            .orElseThrow();

    assertThatThrownBy(() -> lending.borrow(alice, emma.getId()))
        .isInstanceOf(LendingService.Refused.class)
        .hasMessage("No copy of Emma is on the shelf.");
    assertThatThrownBy(() -> lending.borrow(alice, 999_999))
        .isInstanceOf(BookNotFoundException.class);
    // Loan 1 is carol's.
    assertThatThrownBy(() -> lending.giveBack(alice, 1))
        .isInstanceOf(ResponseStatusException.class);
    assertThat(admin.dump()).isEqualTo(before);
  }
}
