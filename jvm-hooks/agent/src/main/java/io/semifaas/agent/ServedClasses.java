package io.semifaas.agent;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The classes the server served function instances through class fallbacks (real calls and
 * prewarm replays alike), the classes those name and the methods they call: the functions run
 * that code, so the server may decode what it builds (an application class reached only through a
 * fetched helper, a library's node handed to a remote call) and run the remote calls it makes (a
 * fetched renderer calling a factory the handler passed it). Bounded; a capability holder can
 * widen it only to the application's own classes and what they name and call, never past the
 * codec's deny list.
 */
final class ServedClasses {
  /** Names, and method name + descriptor entries, kept at most each. */
  static final int MAX = 65_536;

  private final Set<String> names = ConcurrentHashMap.newKeySet();

  /** Owners (binary names) by method name + descriptor, as in {@link ClosureReferences}. */
  private final Map<String, Set<String>> ownersByMethod = new ConcurrentHashMap<>();

  /** The live set: closures built before an addition see it too. */
  Set<String> names() {
    return names;
  }

  /** Records what the class file of {@code binaryName}, just served, names and calls. */
  void add(String binaryName, byte[] classFile) {
    ClassFileReferences.References refs = ClassFileReferences.read(classFile);
    addName(binaryName);
    refs.classes().forEach(this::addName);
    for (ClassFileReferences.MethodRef m : refs.methods()) {
      String key = m.name() + m.descriptor();
      if (ownersByMethod.size() < MAX || ownersByMethod.containsKey(key)) {
        Set<String> owners = ownersByMethod.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet());
        if (owners.size() < MAX) {
          owners.add(m.owner());
        }
      }
    }
  }

  /** True when served code calls {@code name} with {@code descriptor} on a type {@code type} is. */
  boolean calls(Class<?> type, String name, String descriptor) {
    return ClosureReferences.calls(ownersByMethod, type, name, descriptor);
  }

  private void addName(String name) {
    if (names.size() < MAX) {
      names.add(name);
    }
  }
}
