package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.example.blog.BlogController;
import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;

/** Closure scopes live as long as their closure; invocations in flight keep theirs. */
class ClosureRegistryTest {
  private static final String ECHO = "com.example.blog.BlogController#echo";

  private final LearnedClasses learned = new LearnedClasses();
  private final ClosureRegistry registry =
      new ClosureRegistry(new RecordingBackend(), new CodeSectionCollector(), learned);

  private static Method echo() throws Exception {
    return BlogController.class.getMethod("echo", String.class);
  }

  @Test
  void aRebuildClosesTheOldClosureScopeButNotTheInvocationsInFlight() throws Exception {
    BlogController bean = new BlogController();
    ClosureRegistry.Entry first = registry.obtain(ECHO, echo(), bean);
    RemoteScopes.Open closureScope = first.scope();
    assertSame(closureScope, RemoteScopes.get(closureScope.id()));
    Object shared = new Object();
    long sharedRef = closureScope.exports().export(shared).id();
    RemoteScopes.Open inFlight = RemoteScopes.openInvocationScope(closureScope);
    try {
      registry.invalidate(ECHO);
      assertNull(RemoteScopes.get(closureScope.id()), "the old closure scope is closed");
      assertNull(RemoteScopes.closureScopeOf(sharedRef), "its references no longer answer");
      assertSame(
          shared,
          RemoteScopes.get(inFlight.id()).exports().resolve(sharedRef),
          "an invocation in flight still reaches what its closure exported");

      ClosureRegistry.Entry rebuilt = registry.obtain(ECHO, echo(), bean);
      assertNotEquals(closureScope.id(), rebuilt.scope().id());
      assertNull(rebuilt.scope().exports().resolve(sharedRef));
      registry.invalidate(ECHO);
    } finally {
      RemoteScopes.close(inFlight);
    }
  }

  @Test
  void learnedClassesGrowTheClosureInTheSameScopeWithTheirReferences() throws Exception {
    BlogController bean = new BlogController();
    RemoteScopes.Open before = registry.obtain(ECHO, echo(), bean).scope();
    assertEquals(false, before.code().names("com.example.shop.Receipt"));
    learned.record(ECHO, "com.example.shop.Receipt");
    RemoteScopes.Open after = registry.obtain(ECHO, echo(), bean).scope();
    assertEquals(before.id(), after.id(), "the receiver keeps its references");
    assertSame(after, RemoteScopes.get(before.id()));
    assertEquals(true, after.code().names("com.example.shop.Receipt"));
    registry.invalidate(ECHO);
    assertNull(RemoteScopes.get(before.id()));
  }
}
