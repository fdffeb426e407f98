package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.blog.BlogController;
import java.lang.reflect.Method;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Classes loaded during a handler's local run join its code section; the closure is rebuilt. */
class LearnedClassesTest {
  private static final String ECHO = "com.example.blog.BlogController#echo";
  private static final ClassLoader APP = LearnedClassesTest.class.getClassLoader();

  private RecordingBackend backend;
  private LearnedClasses learned;
  private ClassLoadRecorder recorder;

  @BeforeEach
  void install() {
    backend = new RecordingBackend();
    Dispatcher.install(backend, new JavaSettings(0, 0.0));
    learned = Dispatcher.LEARNED;
    recorder = new ClassLoadRecorder(learned);
  }

  @AfterEach
  void uninstall() {
    Dispatcher.uninstall();
  }

  private static Method echo() throws Exception {
    return BlogController.class.getMethod("echo", String.class);
  }

  @Test
  void loadsDuringALocalRunAreRecordedForThatHandler() throws Exception {
    backend.offload = false;
    BlogController bean = new BlogController();
    OffloadedCall call = Dispatcher.onEnter(echo(), bean, new Object[] {"a"});
    assertNull(call);
    assertEquals(ECHO, Dispatcher.currentLocalHandler());
    recorder.transform(APP, "com/example/shop/Gift", null, null, new byte[0]);
    recorder.transform(APP, "com/example/Proxy$$Generated", null, null, new byte[0]);
    recorder.transform(null, "java/lang/Boot", null, null, new byte[0]);
    Dispatcher.onExit(null);
    recorder.transform(APP, "com/example/shop/Item", null, null, new byte[0]);

    assertNull(Dispatcher.currentLocalHandler());
    List<String> names = learned.of(ECHO);
    assertTrue(names.contains("com.example.shop.Gift"), names.toString());
    assertFalse(names.contains("com.example.shop.Item"), "loaded after the run ended");
    assertFalse(names.contains("com.example.Proxy$$Generated"), "generated classes are skipped");
    assertFalse(names.contains("java.lang.Boot"), "the JDK's classes are skipped");
  }

  @Test
  void aFetchedClassIsLearnedOnlyWhenTheHandlersClosureNamesIt() throws Exception {
    // A handler key of its own: the learned classes are shared by the tests.
    String key = "com.example.blog.BlogController#echo(fetch)";
    Method echo = echo();
    NativeBridge.learnClass(ECHO, "com.example.blog.Tally");
    assertFalse(learned.of(ECHO).contains("com.example.blog.Tally"), "no closure names it yet");
    backend.offload = true;
    Dispatcher.onExit(Dispatcher.onEnter(echo, new BlogController(), new Object[] {"a"}));

    NativeBridge.learnClass(ECHO, "com.example.shop.Discount");
    NativeBridge.learnClass(ECHO, "com.example.blog.Tally");
    NativeBridge.learnClass(key, "com.example.blog.Tally");
    List<String> names = learned.of(ECHO);
    assertTrue(names.contains("com.example.blog.Tally"), names.toString());
    assertFalse(
        names.contains("com.example.shop.Discount"),
        "a capability cannot grow the next closure with a class its code does not name");
    assertEquals(List.of(), learned.of(key), "a handler without a closure learns nothing");
  }

  @Test
  void theNextOffloadShipsTheLearnedClassesInARebuiltClosure() throws Exception {
    BlogController bean = new BlogController();
    backend.offload = true;
    Dispatcher.onExit(Dispatcher.onEnter(echo(), bean, new Object[] {"a"}));
    assertEquals(1, backend.registeredKeys.size());
    assertFalse(List.of(backend.registeredNames.get(0)).contains("com.example.shop.Receipt"));

    learned.record(ECHO, "com.example.shop.Receipt");
    Dispatcher.onExit(Dispatcher.onEnter(echo(), bean, new Object[] {"b"}));
    assertEquals(2, backend.registeredKeys.size(), "the closure was rebuilt");
    assertTrue(List.of(backend.registeredNames.get(1)).contains("com.example.shop.Receipt"));

    Dispatcher.onExit(Dispatcher.onEnter(echo(), bean, new Object[] {"c"}));
    assertEquals(2, backend.registeredKeys.size(), "unchanged: the closure is reused");
    assertEquals(3, backend.offloads);
  }
}
