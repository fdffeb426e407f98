package io.semifaas.agent;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * What a closure's code refers to, read from the constant pools of its class files when the
 * closure is built: the classes it names (an instance's fetched class is learned only when named
 * here) and the methods it calls, by name and descriptor with the owners its call sites name
 * (javac names the static type of the receiver, so a call through an interface names the
 * interface).
 */
final class ClosureReferences {
  static final ClosureReferences NONE = new ClosureReferences(Set.of(), Map.of());

  private final Set<String> classes;

  /** Owners (binary names) by method name + descriptor. */
  private final Map<String, Set<String>> ownersByMethod;

  private ClosureReferences(Set<String> classes, Map<String, Set<String>> ownersByMethod) {
    this.classes = classes;
    this.ownersByMethod = ownersByMethod;
  }

  /** The references of the class files of a closure's code section. */
  static ClosureReferences of(Collection<byte[]> classFiles) {
    Set<String> classes = new HashSet<>();
    Map<String, Set<String>> owners = new HashMap<>();
    for (byte[] classFile : classFiles) {
      ClassFileReferences.References refs = ClassFileReferences.read(classFile);
      classes.addAll(refs.classes());
      classes.addAll(refs.descriptorTypes());
      for (ClassFileReferences.MethodRef m : refs.methods()) {
        owners.computeIfAbsent(m.name() + m.descriptor(), k -> new HashSet<>()).add(m.owner());
      }
    }
    return new ClosureReferences(Set.copyOf(classes), Map.copyOf(owners));
  }

  /** Binary names of the classes the closure's code names, in its constants or descriptors. */
  Set<String> classes() {
    return classes;
  }

  /** True when the closure's code names {@code className} (binary name). */
  boolean names(String className) {
    return classes.contains(className);
  }

  /**
   * True when the closure's code calls {@code name} with {@code descriptor} on a type that an
   * instance of {@code type} is (its class, a superclass or an interface).
   */
  boolean calls(Class<?> type, String name, String descriptor) {
    return calls(ownersByMethod, type, name, descriptor);
  }

  /** {@link #calls(Class, String, String)} on owners kept by method name + descriptor. */
  static boolean calls(
      Map<String, Set<String>> ownersByMethod, Class<?> type, String name, String descriptor) {
    Set<String> owners = ownersByMethod.get(name + descriptor);
    if (owners == null) {
      return false;
    }
    for (String supertype : Supertypes.of(type)) {
      if (owners.contains(supertype)) {
        return true;
      }
    }
    return false;
  }
}
