package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.InitBinder;
import org.springframework.web.bind.annotation.ModelAttribute;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.context.request.async.DeferredResult;
import org.springframework.web.context.request.async.WebAsyncTask;

class EligibilityTest {
  /** A composed mapping annotation, as applications define them. */
  @Retention(RetentionPolicy.RUNTIME)
  @RequestMapping(method = RequestMethod.GET)
  public @interface ApiGet {}

  /** Spring merges mappings declared on interfaces into the implementing handler. */
  public interface Api {
    @GetMapping("/declared")
    String declared();
  }

  public static class Controller implements Api {
    @GetMapping("/plain")
    public String plain(String name) {
      return name;
    }

    @GetMapping("/future")
    public CompletableFuture<String> future() {
      return null;
    }

    @GetMapping("/deferred")
    public DeferredResult<String> deferred() {
      return null;
    }

    @RequestMapping("/callable")
    public Callable<String> callable() {
      return null;
    }

    @PostMapping("/task")
    public WebAsyncTask<String> task() {
      return null;
    }

    @DeleteMapping("/nothing")
    public void nothing() {}

    @ApiGet
    public String composed() {
      return "";
    }

    @Override
    public String declared() {
      return "";
    }

    @ExceptionHandler(IllegalStateException.class)
    public String handle(IllegalStateException e) {
      return "";
    }

    @InitBinder
    public void binder() {}

    @ModelAttribute("user")
    public String user() {
      return "";
    }
  }

  /** Named as Spring's CGLIB names its subclasses. */
  public static class Controller$$SpringCGLIB$$0 extends Controller {}

  private static Method method(String name) throws Exception {
    for (Method m : Controller.class.getMethods()) {
      if (m.getName().equals(name)) {
        return m;
      }
    }
    throw new AssertionError(name);
  }

  @Test
  void plainHandlersAreEligible() throws Exception {
    for (String name : List.of("plain", "nothing", "composed", "declared")) {
      assertNull(Eligibility.handlerProblem(method(name), Controller.class), name);
    }
  }

  @Test
  void methodsThatAnswerNoRequestAreIneligible() throws Exception {
    for (String name : List.of("handle", "binder", "user")) {
      assertEquals(
          Eligibility.NOT_A_REQUEST_HANDLER,
          Eligibility.handlerProblem(method(name), Controller.class),
          name);
    }
  }

  @Test
  void asynchronousResultsAreIneligible() throws Exception {
    for (String name : List.of("future", "deferred", "callable", "task")) {
      String problem = Eligibility.handlerProblem(method(name), Controller.class);
      assertTrue(
          problem != null && problem.startsWith(Eligibility.ASYNCHRONOUS_RESULT),
          name + ": " + problem);
    }
  }

  @Test
  void proxiedControllersAreIneligible() throws Exception {
    assertEquals(
        Eligibility.PROXIED_CONTROLLER,
        Eligibility.handlerProblem(method("plain"), Controller$$SpringCGLIB$$0.class));
    Object jdkProxy =
        Proxy.newProxyInstance(
            getClass().getClassLoader(), new Class<?>[] {Runnable.class}, (p, m, a) -> null);
    assertEquals(
        Eligibility.PROXIED_CONTROLLER,
        Eligibility.handlerProblem(method("plain"), jdkProxy.getClass()));
  }

  @Test
  void handlerKeysNameTheUserClass() throws Exception {
    assertEquals(
        Controller.class.getName() + "#plain",
        HandlerKeys.of(Controller$$SpringCGLIB$$0.class, method("plain")));
    assertEquals(
        Controller.class.getName() + "#plain", HandlerKeys.of(Controller.class, method("plain")));
  }

  @Test
  void descriptorsMatchTheJvmForm() throws Exception {
    assertEquals("(Ljava/lang/String;)Ljava/lang/String;", MethodDescriptors.of(method("plain")));
    assertEquals("()V", MethodDescriptors.of(method("nothing")));
    Method arrays =
        Arrays.class.getDeclaredMethod("take", int[].class, String[][].class, long.class);
    assertEquals("([I[[Ljava/lang/String;J)Z", MethodDescriptors.of(arrays));
  }

  static final class Arrays {
    static boolean take(int[] a, String[][] b, long c) {
      return true;
    }
  }
}
