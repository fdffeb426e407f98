package io.semifaas.agent;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Application classes each handler loaded while it ran locally (closures learned from use): they
 * join the handler's code section, so the function does not fetch them one by one.
 */
final class LearnedClasses {
  /** Classes remembered per handler at most. */
  static final int MAX_PER_HANDLER = 1024;

  private final Map<String, Set<String>> byHandler = new ConcurrentHashMap<>();

  /** Notes that {@code handlerKey}'s local run loaded {@code binaryName}. */
  void record(String handlerKey, String binaryName) {
    Set<String> names = byHandler.computeIfAbsent(handlerKey, k -> ConcurrentHashMap.newKeySet());
    if (names.size() < MAX_PER_HANDLER) {
      names.add(binaryName);
    }
  }

  List<String> of(String handlerKey) {
    Set<String> names = byHandler.get(handlerKey);
    return names == null ? List.of() : List.copyOf(names);
  }

  int count(String handlerKey) {
    Set<String> names = byHandler.get(handlerKey);
    return names == null ? 0 : names.size();
  }
}
