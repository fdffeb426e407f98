package io.semifaas.runtime;

import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * A closure ready to run: its class loader, its decoded receiver, its resolved handler and where
 * its remote calls go. {@code handlerKey} and {@code receiverBytes} say what it was installed
 * from, so that a grown version of the same closure can reuse it.
 */
record InstalledClosure(
    ClosureClassLoader loader,
    Object receiver,
    Method handler,
    FallbackSource fallback,
    String handlerKey,
    byte[] receiverBytes) {

  /** {@code className#methodName descriptor}: one handler of one class. */
  static String handlerKey(String className, String methodName, String descriptor) {
    return className + "#" + methodName + descriptor;
  }

  /** True when a closure of this handler, receiver and server could run on this one. */
  boolean runs(String otherHandlerKey, byte[] otherReceiver, FallbackSource otherFallback) {
    return handlerKey.equals(otherHandlerKey)
        && fallback.equals(otherFallback)
        && Arrays.equals(receiverBytes, otherReceiver);
  }
}
