package io.semifaas.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.shiro.subject.Subject;
import org.apache.shiro.util.ThreadContext;
import org.junit.jupiter.api.Test;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * The thread-bound context a handler reads through static holders crosses to the thread that
 * runs it on the function: captured on the request thread, installed on another, cleared after.
 */
class InvocationContextTest {
  private final ClassLoader loader = getClass().getClassLoader();

  @Test
  void shiroSubjectAndTransactionStateCrossToTheFunctionThread() throws Exception {
    Subject subject =
        (Subject)
            Proxy.newProxyInstance(loader, new Class<?>[] {Subject.class}, (p, m, a) -> null);
    ExportScope scope = new ExportScope(null);
    ThreadContext.bind(subject);
    TransactionSynchronizationManager.setActualTransactionActive(true);
    TransactionSynchronizationManager.setCurrentTransactionName("LendingService.lend");
    TransactionSynchronizationManager.setCurrentTransactionReadOnly(true);
    TransactionSynchronizationManager.setCurrentTransactionIsolationLevel(
        Connection.TRANSACTION_READ_COMMITTED);
    InvocationContext context;
    try {
      context = InvocationContext.capture(loader, scope);
    } finally {
      ThreadContext.remove();
      TransactionSynchronizationManager.clear();
    }
    assertTrue(scope.isExported(subject), "the subject crosses as a reference to the server's");

    AtomicReference<Throwable> failed = new AtomicReference<>();
    Thread function =
        new Thread(
            () -> {
              try {
                assertNull(ThreadContext.get(ThreadContext.SUBJECT_KEY));
                Runnable clear = context.install(loader);
                assertSame(context.subject, ThreadContext.get(ThreadContext.SUBJECT_KEY));
                assertTrue(TransactionSynchronizationManager.isActualTransactionActive());
                assertEquals(
                    "LendingService.lend",
                    TransactionSynchronizationManager.getCurrentTransactionName());
                assertTrue(TransactionSynchronizationManager.isCurrentTransactionReadOnly());
                assertEquals(
                    Connection.TRANSACTION_READ_COMMITTED,
                    TransactionSynchronizationManager.getCurrentTransactionIsolationLevel());
                clear.run();
                assertNull(ThreadContext.get(ThreadContext.SUBJECT_KEY));
                assertFalse(TransactionSynchronizationManager.isActualTransactionActive());
                assertNull(TransactionSynchronizationManager.getCurrentTransactionName());
              } catch (Throwable t) {
                failed.set(t);
              }
            });
    function.start();
    function.join();
    if (failed.get() != null) {
      throw new AssertionError(failed.get());
    }
  }

  @Test
  void withoutATransactionOrASubjectNothingIsSet() {
    InvocationContext context = InvocationContext.capture(loader, new ExportScope(null));
    assertNull(context.subject);
    assertNull(context.transaction);
    context.install(loader).run();
    assertFalse(TransactionSynchronizationManager.isActualTransactionActive());
  }
}
