package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ClassFileReferencesTest {
  @Test
  void readsTheClassesAClassFileRefersTo() throws Exception {
    byte[] classFile;
    try (InputStream in =
        getClass().getClassLoader().getResourceAsStream("com/example/shop/ShopController.class")) {
      classFile = in.readAllBytes();
    }
    Set<String> references = ClassFileReferences.of(classFile);
    for (String name :
        Set.of(
            "com.example.shop.ShopController",
            "com.example.shop.BaseController",
            "com.example.shop.OutOfStock",
            "com.example.shop.Receipt",
            "java.util.concurrent.atomic.AtomicInteger")) {
      assertTrue(references.contains(name), name + " in " + references);
    }
  }

  @Test
  void bytesThatAreNoClassFileGiveNothing() {
    assertEquals(Set.of(), ClassFileReferences.of(new byte[] {1, 2, 3}));
    assertEquals(
        Set.of(),
        ClassFileReferences.of(
            new byte[] {
              (byte) 0xCA, (byte) 0xFE, (byte) 0xBA, (byte) 0xBE, 0, 0, 0, 61, 0, 9, 99
            }));
  }
}
