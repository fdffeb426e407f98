package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.shop.ShopController;
import java.io.InputStream;
import java.lang.reflect.Method;
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
}
