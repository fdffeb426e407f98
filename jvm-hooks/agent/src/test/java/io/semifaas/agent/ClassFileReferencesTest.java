package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.List;
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
  void readsTheMethodsAClassFileCallsWithTheOwnersItsCallSitesName() throws Exception {
    byte[] classFile;
    try (InputStream in =
        getClass().getClassLoader().getResourceAsStream("com/example/blog/CounterClient.class")) {
      classFile = in.readAllBytes();
    }
    ClassFileReferences.References references = ClassFileReferences.read(classFile);
    Set<ClassFileReferences.MethodRef> methods = references.methods();
    for (ClassFileReferences.MethodRef expected :
        List.of(
            new ClassFileReferences.MethodRef("com.example.blog.Counter", "increment", "(I)I"),
            new ClassFileReferences.MethodRef(
                "com.example.blog.Counter",
                "store",
                "(Lcom/example/blog/Draft;)Lcom/example/blog/Draft;"),
            // Interface methods (InterfaceMethodref) name the interface the call goes through.
            new ClassFileReferences.MethodRef("com.example.blog.Clearable", "clear", "()V"),
            new ClassFileReferences.MethodRef("java.util.List", "size", "()I"),
            new ClassFileReferences.MethodRef("java.io.InputStream", "close", "()V"),
            new ClassFileReferences.MethodRef("java.lang.Object", "<init>", "()V"))) {
      assertTrue(methods.contains(expected), expected + " in " + methods);
    }
    assertFalse(
        methods.stream().anyMatch(m -> m.name().equals("wipe")), "never called: " + methods);
    assertTrue(
        references.descriptorTypes().contains("com.example.blog.Draft"),
        references.descriptorTypes().toString());
    assertEquals(ClassFileReferences.of(classFile), references.classes());
  }

  @Test
  void bytesThatAreNoClassFileGiveNothing() {
    assertEquals(Set.of(), ClassFileReferences.of(new byte[] {1, 2, 3}));
    assertEquals(ClassFileReferences.References.NONE, ClassFileReferences.read(new byte[0]));
    assertEquals(
        Set.of(),
        ClassFileReferences.of(
            new byte[] {
              (byte) 0xCA, (byte) 0xFE, (byte) 0xBA, (byte) 0xBE, 0, 0, 0, 61, 0, 9, 99
            }));
  }
}
