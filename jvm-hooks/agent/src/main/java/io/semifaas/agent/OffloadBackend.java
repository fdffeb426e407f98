package io.semifaas.agent;

/**
 * What the dispatcher asks of the native agent. Production: {@link NativeBridgeBackend}; tests give
 * their own so the decisions can be checked without the native library.
 */
public interface OffloadBackend {
  boolean shouldOffload(String handlerKey);

  String registerClosure(
      String handlerKey,
      String className,
      String methodName,
      String descriptor,
      byte[] receiver,
      String[] classNames,
      byte[][] classBytes);

  byte[] offload(String handlerKey, String closureId, byte[] args, long scopeId);

  void recordSample(String handlerKey, String closureId, byte[] args);

  void recordLocal(String handlerKey, long wallNanos, long cpuNanos);

  void recordIneligible(String handlerKey, String reason);

  void recordOffloadFailure(String handlerKey, String reason);

  /** A failed offload is not run again here: its function had started remote writes. */
  void recordAbandoned(String handlerKey, String reason);

  /** An offloaded invocation was re-run here and compared; {@code mismatch} is empty if equal. */
  void recordVerified(String handlerKey, String mismatch);
}
