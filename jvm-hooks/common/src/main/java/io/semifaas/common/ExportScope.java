package io.semifaas.common;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The server's export table for one closure or one offloaded invocation. Serializing with a scope
 * packs packageables and replaces server-bound objects (below the top-level object) by {@link
 * RemoteRef}s; decoding with it turns those references back into the exported objects. A lookup
 * sees this scope's exports and its parent's (an invocation's closure scope), nothing else.
 *
 * <p>Decoding with a scope builds only the classes its {@link CodecAllowList} (a closure scope's,
 * inherited by its invocations) allows, and those written through the scope or its parent: what
 * the server sent, the function may send back.
 */
public final class ExportScope implements CodecHooks {
  /** Ids of scopes and of references are unique in this JVM, never reused. */
  private static final AtomicLong NEXT_SCOPE = new AtomicLong(1);

  private static final AtomicLong NEXT_REF = new AtomicLong(1);

  /** What scopes of no closure decode (tests, fingerprints). */
  private static final CodecAllowList BASE = CodecAllowList.base();

  private final long id;
  private final ExportScope parent;
  private final Map<Object, RemoteRef> refs = new IdentityHashMap<>();
  private final Map<Long, Object> objects = new ConcurrentHashMap<>();
  private final Set<Class<?>> written = ConcurrentHashMap.newKeySet();
  private volatile CodecAllowList allowList;

  /** Remote calls that may write, started in this scope. */
  private int writes;

  private boolean sealed;

  public ExportScope(ExportScope parent) {
    this.id = NEXT_SCOPE.getAndIncrement();
    this.parent = parent;
  }

  public long id() {
    return id;
  }

  public ExportScope parent() {
    return parent;
  }

  /**
   * The classes decodable in this scope and its invocations beyond those written through them;
   * without one (and without a parent that has one), {@link CodecAllowList#base()}.
   */
  public void allow(CodecAllowList list) {
    allowList = list;
  }

  private CodecAllowList allowList() {
    CodecAllowList own = allowList;
    if (own != null) {
      return own;
    }
    return parent != null ? parent.allowList() : BASE;
  }

  private boolean wrote(Class<?> type) {
    return written.contains(type) || (parent != null && parent.wrote(type));
  }

  /**
   * A remote call that may write is about to run in this scope: counts it and returns true, or
   * returns false once the scope is {@link #seal sealed} (the call must not run).
   */
  public synchronized boolean beginWrite() {
    if (sealed) {
      return false;
    }
    writes++;
    return true;
  }

  /**
   * Lets no further call that may write run, and returns how many started: an invocation whose
   * offload failed may run again on the server only if none did.
   */
  public synchronized int seal() {
    sealed = true;
    return writes;
  }

  /**
   * Lets calls that may write run again after {@link #seal}: a re-execution of the invocation,
   * whose calls are checked against the invocation's call log so that none runs twice.
   */
  public synchronized void reopen() {
    sealed = false;
  }

  /** Remote calls that may write started in this scope so far. */
  public synchronized int writeCount() {
    return writes;
  }

  /** The reference of {@code value}, exporting it in this scope on first use. */
  public RemoteRef export(Object value) {
    return exportAs(value, id -> RemoteClasses.describe(id, value));
  }

  /**
   * The reference of {@code value}, presented as {@code api} alone (an interface it implements):
   * the function proxies the interface instead of subclassing the server's class, which costs
   * one class to load instead of the implementation's hierarchy.
   */
  public RemoteRef exportAs(Object value, Class<?> api) {
    return exportAs(value, id -> new RemoteRef(id, api.getName(), new String[] {api.getName()}));
  }

  /** True when {@code value} was exported in this scope or its parent (it crossed by reference). */
  public boolean isExported(Object value) {
    return existing(value) != null || (parent != null && parent.isExported(value));
  }

  /**
   * The lazy reference of {@code value} (Hibernate lazy data, see {@link LazyData}), presented
   * as {@code className}: the function materializes it on first use.
   */
  public RemoteRef exportLazy(Object value, String className) {
    return exportAs(value, id -> RemoteRef.lazy(id, className));
  }

  /** The reference {@code value} has here or in the parent, else a new one made by {@code make}. */
  private RemoteRef exportAs(Object value, java.util.function.LongFunction<RemoteRef> make) {
    if (parent != null) {
      RemoteRef inherited = parent.existing(value);
      if (inherited != null) {
        return inherited;
      }
    }
    synchronized (refs) {
      RemoteRef ref = refs.get(value);
      if (ref == null) {
        ref = make.apply(NEXT_REF.getAndIncrement());
        refs.put(value, ref);
        objects.put(ref.id(), value);
      }
      return ref;
    }
  }

  private RemoteRef existing(Object value) {
    synchronized (refs) {
      return refs.get(value);
    }
  }

  /** The object exported as {@code refId} in this scope or its parent, or null. */
  public Object resolve(long refId) {
    Object value = objects.get(refId);
    if (value == null && parent != null) {
      return parent.resolve(refId);
    }
    return value;
  }

  /** Objects exported in this scope itself (not its parent). */
  public int exportedCount() {
    return objects.size();
  }

  @Override
  public Class<?> substituteClass(Class<?> type) {
    if (type == RemoteRef.class || type == LazyData.Value.class) {
      return null;
    }
    if (LazyData.isLazyType(type)) {
      return LazyData.Value.class;
    }
    Packageable packer = Packageables.packerFor(type);
    if (packer != null) {
      return packer.packedType();
    }
    return RemoteClasses.isServerBound(type) ? RemoteRef.class : null;
  }

  @Override
  public Object substitute(Object value) {
    if (LazyData.isLazyType(value.getClass())) {
      return LazyData.wrap(value, this);
    }
    Packageable packer = Packageables.packerFor(value.getClass());
    return packer != null ? packer.pack(value) : export(value);
  }

  @Override
  public void written(Class<?> type) {
    written.add(type);
  }

  @Override
  public String refusal(Class<?> type) {
    String denial = CodecAllowList.denial(type);
    if (denial != null) {
      return CodecAllowList.denied(type, denial);
    }
    Class<?> element = type;
    while (element.isArray()) {
      element = element.getComponentType();
    }
    if (wrote(type) || wrote(element) || allowList().allows(type)) {
      return null;
    }
    return CodecAllowList.notAllowed(type);
  }

  @Override
  public Object onRead(Object value) {
    if (value instanceof LazyData.Value lazy) {
      return lazy.ref() != null ? onRead(lazy.ref()) : lazy.value();
    }
    if (value instanceof RemoteRef ref) {
      Object exported = resolve(ref.id());
      if (exported == null) {
        throw new IllegalArgumentException(
            "reference " + ref.id() + " was not exported to this invocation");
      }
      return exported;
    }
    return value;
  }
}
