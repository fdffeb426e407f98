package io.semifaas.agent;

import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The classes the server served function instances through class fallbacks (real calls and
 * prewarm replays alike), and the classes those name: the functions run that code, so the server
 * may decode what it builds (an application class reached only through a fetched helper, a
 * library's node handed to a remote call). Bounded; a capability holder can widen it only to the
 * application's own classes and what they name, never past the codec's deny list.
 */
final class ServedClasses {
  /** Names kept at most. */
  static final int MAX = 65_536;

  private final Set<String> names = ConcurrentHashMap.newKeySet();

  /** The live set: closures built before an addition see it too. */
  Set<String> names() {
    return names;
  }

  void add(Collection<String> more) {
    for (String name : more) {
      if (names.size() >= MAX) {
        return;
      }
      names.add(name);
    }
  }
}
