package io.semifaas.agent;

import io.semifaas.common.CodecException;
import io.semifaas.common.ExportScope;
import io.semifaas.common.ObjectCodec;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One closure per (handler, bean instance), built on first use and registered with the native
 * agent. The receiver is serialized in its own closure scope, so its server-bound fields cross as
 * remote references; the scope carries the closure's references, which decide the remote calls it
 * answers. A closure is rebuilt when the handler has learned new classes or was invalidated (a
 * class it mutates was demoted); the native side gives changed content a new id. A bean whose
 * closure cannot be built is remembered with the reason, so it is not retried on every call.
 *
 * <p>A closure scope is closed as soon as its closure is replaced (invalidated, or its rebuild
 * failed) or forgotten: its references then no longer answer through its id. Invocations in flight
 * hold their own scope, whose parent is the closure scope, so they finish undisturbed.
 */
final class ClosureRegistry {
  /** Entries kept at most; beyond that (prototype-scoped controllers) the cache starts over. */
  static final int MAX_ENTRIES = 4096;

  /**
   * A registered closure id, its scope and what it is made of (to run it on the server when its
   * offload fails after a remote write), or why there is none.
   */
  record Entry(
      String closureId,
      String problem,
      RemoteScopes.Open scope,
      int learnedCount,
      ServerReexecution.Parts parts) {}

  private final Map<Key, Entry> entries = new ConcurrentHashMap<>();
  private final OffloadBackend backend;
  private final CodeSectionCollector collector;
  private final LearnedClasses learned;

  ClosureRegistry(OffloadBackend backend, CodeSectionCollector collector, LearnedClasses learned) {
    this.backend = backend;
    this.collector = collector;
    this.learned = learned;
  }

  Entry obtain(String handlerKey, Method method, Object bean) {
    Key key = new Key(handlerKey, bean);
    Entry existing = entries.get(key);
    if (existing != null && existing.learnedCount == learned.count(handlerKey)) {
      return existing;
    }
    if (entries.size() >= MAX_ENTRIES) {
      entries.values().forEach(e -> RemoteScopes.close(e.scope));
      entries.clear();
    }
    return entries.compute(
        key,
        (k, current) -> {
          if (current != null && current.learnedCount == learned.count(handlerKey)) {
            return current;
          }
          // Learned classes grow the closure, the receiver stays: exporting it in the same scope
          // gives its server-bound fields the same references, so its bytes stay the same and
          // the function's warm instances keep running it (FunctionRuntime.install). The scope
          // stays open, with the grown closure's references.
          return build(handlerKey, method, bean, current == null ? null : current.scope);
        });
  }

  /** Forgets the closures of {@code handlerKey} and closes their scopes (rebuilt on next use). */
  void invalidate(String handlerKey) {
    entries
        .entrySet()
        .removeIf(
            e -> {
              if (!e.getKey().handlerKey.equals(handlerKey)) {
                return false;
              }
              RemoteScopes.close(e.getValue().scope);
              return true;
            });
  }

  /**
   * True when a closure of {@code handlerKey} names {@code className}: a class an instance fetched
   * is learned only then, so a capability cannot grow the next closure with classes of its choice.
   */
  boolean names(String handlerKey, String className) {
    for (Map.Entry<Key, Entry> e : entries.entrySet()) {
      RemoteScopes.Open scope = e.getValue().scope;
      if (scope != null
          && e.getKey().handlerKey.equals(handlerKey)
          && scope.code().names(className)) {
        return true;
      }
    }
    return false;
  }

  private Entry build(
      String handlerKey, Method method, Object bean, RemoteScopes.Open previous) {
    int learnedCount = learned.count(handlerKey);
    // The scope of a closure that replaced nothing is opened (registered) only once it is built.
    ExportScope scope = previous != null ? previous.exports() : new ExportScope(null);
    byte[] receiver;
    try {
      receiver = ObjectCodec.serialize(bean, scope);
    } catch (CodecException e) {
      RemoteScopes.close(previous);
      return new Entry(null, "receiver cannot be serialized: " + e.getMessage(), null, learnedCount, null);
    }
    // Functions fetch library jars by the manifest: index them before the first one asks.
    LibraryJars.shared().start();
    CodeSection code = collector.collect(bean, method, learned.of(handlerKey));
    ClosureReferences references = ClosureReferences.of(code.classBytes());
    scope.allow(ClosureAllowList.of(method, code, references, Dispatcher.SERVED.names()));
    ServerReexecution.Parts parts =
        new ServerReexecution.Parts(
            bean.getClass().getName(),
            method.getName(),
            MethodDescriptors.of(method),
            receiver,
            code.namesArray(),
            code.bytesArray());
    try {
      String id =
          backend.registerClosure(
              handlerKey,
              parts.className(),
              parts.methodName(),
              parts.descriptor(),
              receiver,
              parts.classNames(),
              parts.classBytes());
      if (id == null) {
        RemoteScopes.close(previous);
        return new Entry(null, "the native agent returned no closure id", null, learnedCount, null);
      }
      return new Entry(
          id, null, RemoteScopes.openClosureScope(scope, references), learnedCount, parts);
    } catch (IllegalArgumentException e) {
      RemoteScopes.close(previous);
      return new Entry(null, "closure rejected: " + e.getMessage(), null, learnedCount, null);
    }
  }

  /** A handler key and a bean compared by identity (beans may override equals). */
  private static final class Key {
    private final String handlerKey;
    private final Object bean;

    Key(String handlerKey, Object bean) {
      this.handlerKey = handlerKey;
      this.bean = bean;
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof Key key && key.bean == bean && key.handlerKey.equals(handlerKey);
    }

    @Override
    public int hashCode() {
      return handlerKey.hashCode() * 31 + System.identityHashCode(bean);
    }
  }
}
