package io.semifaas.agent;

import io.semifaas.common.ExportScope;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The export scopes the native side may name in a remote call: closure scopes (alive while their
 * closure is registered) and invocation scopes (open from argument serialization until the outcome
 * is decoded). Scope id 0 names no invocation: only closure scopes answer (prewarm shadow calls).
 * Each scope carries what its closure's code refers to: the remote calls it may answer.
 */
final class RemoteScopes {
  /**
   * An export scope open to remote calls, the references of the closure it serves and, for an
   * invocation scope, the log of its remote calls (null for closure scopes).
   */
  record Open(ExportScope exports, ClosureReferences code, CallLog log) {
    long id() {
      return exports.id();
    }
  }

  private static final Map<Long, Open> OPEN = new ConcurrentHashMap<>();
  private static final Map<Long, Open> CLOSURE_SCOPES = new ConcurrentHashMap<>();

  private RemoteScopes() {}

  /**
   * Opens closure scope {@code exports} for a closure whose code refers to {@code code}, until
   * {@link #close}. A closure grown by learned classes opens its predecessor's scope again with
   * its larger references: invocations already in flight keep the references they started with.
   */
  static Open openClosureScope(ExportScope exports, ClosureReferences code) {
    Open scope = new Open(exports, code, null);
    OPEN.put(scope.id(), scope);
    CLOSURE_SCOPES.put(scope.id(), scope);
    return scope;
  }

  /** A new invocation scope under {@code closureScope}, open until {@link #close}. */
  static Open openInvocationScope(Open closureScope) {
    Open scope =
        new Open(new ExportScope(closureScope.exports()), closureScope.code(), new CallLog());
    OPEN.put(scope.id(), scope);
    return scope;
  }

  /**
   * Closes {@code scope}: its id no longer answers. Invocation scopes hold their closure scope
   * themselves, so closing a closure scope leaves the invocations in flight under it working.
   */
  static void close(Open scope) {
    if (scope != null) {
      OPEN.remove(scope.id(), scope);
      CLOSURE_SCOPES.remove(scope.id(), scope);
      if (scope.log() != null) {
        scope.log().release();
      }
    }
  }

  /** The open scope {@code id}, or null. */
  static Open get(long id) {
    return OPEN.get(id);
  }

  /** The closure scope that exported {@code refId}, or null. */
  static Open closureScopeOf(long refId) {
    for (Open scope : CLOSURE_SCOPES.values()) {
      if (scope.exports().resolve(refId) != null) {
        return scope;
      }
    }
    return null;
  }
}
