package io.semifaas.runtime;

import io.semifaas.common.ArgumentUpdates;
import io.semifaas.common.CodecException;
import io.semifaas.common.ObjectCodec;
import io.semifaas.common.Outcome;
import io.semifaas.common.RemoteRef;
import java.lang.reflect.InvocationHandler;
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

  @Override
  public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
    if (method.getName().equals("finalize") && method.getParameterCount() == 0) {
      return null;
    }
    String name = ref.className() + "#" + method.getName();
    byte[] argBytes;
    try {
      argBytes = ObjectCodec.serialize(args == null ? new Object[0] : args, proxies);
    } catch (CodecException e) {
      throw new RemoteCallFailed(
          "remote call " + name + ": the arguments cannot be sent: " + e.getMessage(), e);
    }
    byte[] outcome =
        proxies.fallback().invokeRemote(ref.id(), method.getName(), Descriptors.of(method), argBytes);
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
