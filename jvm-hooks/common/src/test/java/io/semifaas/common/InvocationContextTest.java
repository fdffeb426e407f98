package io.semifaas.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.util.concurrent.atomic.AtomicReference;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.shiro.subject.Subject;
import org.apache.shiro.util.ThreadContext;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

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

    onTheFunctionThread(
        () -> {
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
        });
  }

  @Test
  void theResponseCrossesAsAReferencePresentedAsItsServletInterface() throws Exception {
    MockHttpServletRequest request = new MockHttpServletRequest("GET", "/books/7");
    MockHttpServletResponse response = new MockHttpServletResponse();
    ExportScope scope = new ExportScope(null);
    RequestContextHolder.setRequestAttributes(new ServletRequestAttributes(request, response));
    InvocationContext context;
    try {
      context = InvocationContext.capture(loader, scope);
    } finally {
      RequestContextHolder.resetRequestAttributes();
    }
    RemoteRef ref = (RemoteRef) context.response;
    assertEquals(HttpServletResponse.class.getName(), ref.className());
    assertSame(response, scope.resolve(ref.id()));

    // On the function the reference is a proxy of that interface; helpers reach it through the
    // holder, and it is gone once the invocation ends.
    HttpServletResponse proxy =
        (HttpServletResponse)
            Proxy.newProxyInstance(
                loader, new Class<?>[] {HttpServletResponse.class}, (p, m, a) -> null);
    context.response = proxy;
    onTheFunctionThread(
        () -> {
          Runnable clear = context.install(loader);
          ServletRequestAttributes attributes =
              (ServletRequestAttributes) RequestContextHolder.getRequestAttributes();
          assertSame(proxy, attributes.getResponse());
          assertSame(request, attributes.getRequest());
          clear.run();
          assertNull(RequestContextHolder.getRequestAttributes());
        });
  }

  @Test
  void aReplayedSampleHasAStandInResponseThatRefusesEveryCall() {
    RequestContextHolder.setRequestAttributes(
        new ServletRequestAttributes(
            new MockHttpServletRequest("GET", "/"), new MockHttpServletResponse()));
    InvocationContext context;
    try {
      context = InvocationContext.captureForReplay(loader);
    } finally {
      RequestContextHolder.resetRequestAttributes();
    }
    assertNull(context.response, "no reference to a server object");
    assertEquals(HttpServletResponse.class.getName(), context.responseStandIn);
    context.request = new MockHttpServletRequest("GET", "/");
    Runnable clear = context.install(loader);
    try {
      HttpServletResponse standIn =
          ((ServletRequestAttributes) RequestContextHolder.getRequestAttributes()).getResponse();
      assertTrue(Proxy.isProxyClass(standIn.getClass()));
      assertThrows(IllegalStateException.class, () -> standIn.setStatus(500));
    } finally {
      clear.run();
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

  /** An action that may throw, as the function's thread runs it. */
  interface OnFunction {
    void run() throws Exception;
  }

  /** Runs {@code action} on a thread of its own (the function's), rethrowing what failed. */
  private static void onTheFunctionThread(OnFunction action) throws InterruptedException {
    AtomicReference<Throwable> failed = new AtomicReference<>();
    Thread function =
        new Thread(
            () -> {
              try {
                action.run();
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
}
