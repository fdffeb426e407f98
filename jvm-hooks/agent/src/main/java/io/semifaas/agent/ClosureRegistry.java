package io.semifaas.agent;

import io.semifaas.common.CodecException;
import io.semifaas.common.ObjectCodec;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One closure per (handler, bean instance), built on the first offload and registered with the
 * native agent once. A bean whose closure cannot be built is remembered with the reason, so it is
 * not retried on every call.
 */
final class ClosureRegistry {
  /** Entries kept at most; beyond that (prototype-scoped controllers) the cache starts over. */
  static final int MAX_ENTRIES = 4096;

  /** A registered closure id, or why there is none. */
  record Entry(String closureId, String problem) {}

  private final Map<Key, Entry> entries = new ConcurrentHashMap<>();
  private final OffloadBackend backend;
  private final CodeSectionCollector collector;

  ClosureRegistry(OffloadBackend backend, CodeSectionCollector collector) {
    this.backend = backend;
    this.collector = collector;
  }

  Entry obtain(String handlerKey, Method method, Object bean) {
    Key key = new Key(handlerKey, bean);
    Entry existing = entries.get(key);
    if (existing != null) {
      return existing;
    }
    if (entries.size() >= MAX_ENTRIES) {
      entries.clear();
    }
    return entries.computeIfAbsent(key, k -> build(handlerKey, method, bean));
  }

  private Entry build(String handlerKey, Method method, Object bean) {
    byte[] receiver;
    try {
      receiver = ObjectCodec.serialize(bean);
    } catch (CodecException e) {
      return new Entry(null, "receiver cannot be serialized: " + e.getMessage());
    }
    CodeSection code = collector.collect(bean, method);
    try {
      String id =
          backend.registerClosure(
              handlerKey,
              bean.getClass().getName(),
              method.getName(),
              MethodDescriptors.of(method),
              receiver,
              code.namesArray(),
              code.bytesArray());
      if (id == null) {
        return new Entry(null, "the native agent returned no closure id");
      }
      return new Entry(id, null);
    } catch (IllegalArgumentException e) {
      return new Entry(null, "closure rejected: " + e.getMessage());
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
