package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.library.Catalogue;
import com.example.library.EditController;
import com.example.library.Lending$$SpringCGLIB$$0;
import com.example.library.ProxyWiring;
import com.example.shop.ShopController;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CodeSectionCollectorTest {
  private static Method buy() throws Exception {
    return ShopController.class.getMethod("buy", com.example.shop.Order.class);
  }

  @Test
  void collectsApplicationClassesOnly() throws Exception {
    CodeSection code = new CodeSectionCollector().collect(new ShopController(), buy());
    assertEquals("com.example.shop.ShopController", code.classNames().get(0));
    for (String name : code.classNames()) {
      assertTrue(name.startsWith("com.example.shop."), name);
    }
    assertTrue(
        code.classNames().contains("com.example.shop.Discount"), code.classNames().toString());
    assertTrue(
        code.classNames().contains("com.example.shop.OutOfStock"),
        "referenced from ShopController's constant pool");
    assertFalse(
        code.classNames().contains("com.example.shop.Gift"), "referenced by no shipped class");
  }

  @Test
  void shipsTheClassFilesAsTheLoaderHasThem() throws Exception {
    CodeSection code = new CodeSectionCollector().collect(new ShopController(), buy());
    assertEquals(code.classNames().size(), code.classBytes().size());
    for (int i = 0; i < code.classNames().size(); i++) {
      String resource = code.classNames().get(i).replace('.', '/') + ".class";
      try (InputStream in = getClass().getClassLoader().getResourceAsStream(resource)) {
        assertArrayEquals(in.readAllBytes(), code.classBytes().get(i), resource);
      }
    }
  }

  @Test
  void theWalkIsBounded() throws Exception {
    CodeSection code = new CodeSectionCollector(3, 2).collect(new ShopController(), buy());
    assertEquals(2, code.classNames().size(), code.classNames().toString());
  }

  @Test
  void jdkAndAgentClassesAreNotApplicationClasses() {
    assertFalse(CodeSectionCollector.isApplicationClass(String.class));
    assertFalse(CodeSectionCollector.isApplicationClass(java.sql.Date.class));
    assertFalse(CodeSectionCollector.isApplicationClass(Dispatcher.class));
    assertFalse(CodeSectionCollector.isApplicationClass(int[].class));
    assertTrue(CodeSectionCollector.isApplicationClass(ShopController.class));
  }

  private static Method update() throws Exception {
    return EditController.class.getMethod("update", String.class);
  }

  /** As Spring wires it: a JDK proxy for the repository, a CGLIB subclass for the service. */
  private static final Catalogue CATALOGUE =
      (Catalogue)
          Proxy.newProxyInstance(
              Catalogue.class.getClassLoader(),
              new Class<?>[] {Catalogue.class},
              (proxy, method, args) -> Optional.empty());

  private static EditController editController() {
    return new EditController(CATALOGUE, new Lending$$SpringCGLIB$$0(new ProxyWiring()));
  }

  @Test
  void proxiedBeansCrossAsReferencesSoTheirInsidesAreNotShipped() throws Exception {
    EditController controller = editController();
    List<String> names = new CodeSectionCollector().collect(controller, update()).classNames();
    assertTrue(names.contains("com.example.library.Catalogue"), "presented by a reference");
    assertTrue(names.contains("com.example.library.Lending"), "presented by a reference");
    assertTrue(names.contains("com.example.library.FormChecks"), "the handler's own code");
    assertFalse(names.contains("com.example.library.ProxyWiring"), names.toString());
    assertFalse(names.contains("com.example.library.ProxyAdvisor"), names.toString());
  }

  /**
   * Learned classes join a full section after the handler's own code, so the helper stays, and so
   * does its call on the repository among the remote calls the server answers.
   */
  @Test
  void learnedClassesDoNotCrowdOutTheHandlersOwnCode() throws Exception {
    EditController controller = editController();
    List<String> own = new CodeSectionCollector().collect(controller, update()).classNames();
    List<String> learned = List.of("com.example.shop.Gift", "com.example.shop.Item");
    CodeSection grown =
        new CodeSectionCollector(CodeSectionCollector.MAX_OBJECTS, own.size())
            .collect(controller, update(), learned);
    List<String> expected = new ArrayList<>(own);
    expected.addAll(learned);
    assertEquals(expected, grown.classNames());
    ClosureReferences references = ClosureReferences.of(grown.classBytes());
    assertTrue(
        references.calls(
            CATALOGUE.getClass(), "findByIsbn", "(Ljava/lang/String;)Ljava/util/Optional;"),
        "the helper's repository call is allowed");
  }
}
