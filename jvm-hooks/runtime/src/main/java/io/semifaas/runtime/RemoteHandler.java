package io.semifaas.runtime;

import io.semifaas.common.ArgumentUpdates;
import io.semifaas.common.CodecException;
import io.semifaas.common.LazyData;
import io.semifaas.common.ObjectCodec;
import io.semifaas.common.Outcome;
import io.semifaas.common.RemoteRef;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * Behind every proxy of a server object: each call is one {@code InvokeRemote} fallback. Arguments
 * are encoded with the proxies' hooks (proxies go back as their references), the result is decoded
 * with them (new references become proxies), a thrown exception is rethrown as it was. A call that
 * cannot be carried out (or is refused) throws {@link RemoteCallFailed}, which fails the whole
 * invocation so the server runs the handler locally.
 */
final class RemoteHandler implements InvocationHandler {
  private final RemoteRef ref;
  private final RemoteProxies proxies;

  RemoteHandler(RemoteRef ref, RemoteProxies proxies) {
    this.ref = ref;
    this.proxies = proxies;
  }

  RemoteRef ref() {
    return ref;
  }

  /** A lazy reference's value, once materialized: calls run on it here from then on. */
  private volatile Object materialized;

  @Override
  public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
    if (method.getName().equals("finalize") && method.getParameterCount() == 0) {
      return null;
    }
    if (ref.lazy()) {
      return onMaterialized(method, args);
    }
    return call(method.getName(), Descriptors.of(method), args);
  }

  /**
   * Lazy data: the first call loads the value on the server (one remote call, in the request's
   * persistence context); this and every later call run on that copy.
   */
  private Object onMaterialized(Method method, Object[] args) throws Throwable {
    Object value = materialized;
    if (value == null) {
      synchronized (this) {
        value = materialized;
        if (value == null) {
          value = call(LazyData.MATERIALIZE, LazyData.MATERIALIZE_DESCRIPTOR, new Object[0]);
          if (value == null) {
            throw new RemoteCallFailed(
                "lazy data " + ref + ": the server materialized nothing", null);
          }
          materialized = value;
        }
      }
    }
    try {
      method.setAccessible(true);
      return method.invoke(value, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  private Object call(String methodName, String descriptor, Object[] args) throws Throwable {
    String name = ref.className() + "#" + methodName;
    byte[] argBytes;
    try {
      argBytes = ObjectCodec.serialize(args == null ? new Object[0] : args, proxies);
    } catch (CodecException e) {
      throw new RemoteCallFailed(
          "remote call " + name + ": the arguments cannot be sent: " + e.getMessage(), e);
    }
    byte[] outcome = proxies.fallback().invokeRemote(ref.id(), methodName, descriptor, argBytes);
    if (outcome == null) {
      throw new RemoteCallFailed("remote call " + name + ": the server sent no outcome", null);
    }
    Object body;
    try {
      body = Outcome.body(outcome, proxies.loader(), proxies);
    } catch (CodecException e) {
      throw new RemoteCallFailed(
          "remote call " + name + ": the result cannot be decoded: " + e.getMessage(), e);
    }
    switch (outcome[0]) {
      case Outcome.RETURNED:
        try {
          return ArgumentUpdates.apply(body, args);
        } catch (IllegalArgumentException e) {
          throw new RemoteCallFailed("remote call " + name + ": " + e.getMessage(), e);
        }
      case Outcome.THREW:
        throw (Throwable) body;
      default:
        throw new RemoteCallFailed("remote call " + name + " failed: " + body, null);
    }
  }
}
