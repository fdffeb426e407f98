package io.semifaas.agent;

import io.semifaas.common.ExportScope;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The export scopes the native side may name in a remote call: closure scopes (alive while their
 * closure is registered) and invocation scopes (open from argument serialization until the outcome
 * is decoded). Scope id 0 names no invocation: only closure scopes answer (prewarm shadow calls).
 */
final class RemoteScopes {
  private static final Map<Long, ExportScope> OPEN = new ConcurrentHashMap<>();
  private static final Map<Long, ExportScope> CLOSURE_SCOPES = new ConcurrentHashMap<>();

  private RemoteScopes() {}

  /** A new closure scope, open until {@link #close}. */
  static ExportScope openClosureScope() {
    ExportScope scope = new ExportScope(null);
    OPEN.put(scope.id(), scope);
    CLOSURE_SCOPES.put(scope.id(), scope);
    return scope;
  }

  /** A new invocation scope under {@code closureScope}, open until {@link #close}. */
  static ExportScope openInvocationScope(ExportScope closureScope) {
    ExportScope scope = new ExportScope(closureScope);
    OPEN.put(scope.id(), scope);
    return scope;
  }

  static void close(ExportScope scope) {
    if (scope != null) {
      OPEN.remove(scope.id());
      CLOSURE_SCOPES.remove(scope.id());
    }
  }

  /** The open scope {@code id}, or null. */
  static ExportScope get(long id) {
    return OPEN.get(id);
  }

  /** The closure scope that exported {@code refId}, or null. */
  static ExportScope closureScopeOf(long refId) {
    for (ExportScope scope : CLOSURE_SCOPES.values()) {
      if (scope.resolve(refId) != null) {
        return scope;
      }
    }
    return null;
  }
}
