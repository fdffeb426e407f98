package io.semifaas.agent;

/**
 * What the dispatcher asks of the native agent. Production: {@link NativeBridgeBackend}; tests give
 * their own so the decisions can be checked without the native library.
 */
public interface OffloadBackend {
  /**
   * The native side's id of a handler key, asked once per handler: the two calls every request
   * makes ({@link #shouldOffload}, {@link #recordLocal}) carry it instead of the key. Not positive
   * when no id could be given: the handler then runs locally, uncounted, without those calls.
   */
  long handlerId(String handlerKey);

  /** Counts one invocation of the handler and applies the offload ratio. */
  boolean shouldOffload(long handlerId);

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

  void recordLocal(long handlerId, long wallNanos, long cpuNanos);

  void recordIneligible(String handlerKey, String reason);

  void recordOffloadFailure(String handlerKey, String reason);

  /** A failed offload is not run again here: its function had started remote writes. */
  void recordAbandoned(String handlerKey, String reason);

  /** A failed offload that had started remote writes runs again here, with its call log. */
  void recordReexecuted(String handlerKey);

  /** A re-execution left its call log: the request fails, nothing is written twice. */
  void recordDiverged(String handlerKey, String reason);

  /**
   * An invocation that logged remote calls ended: its log's size, whether it went over a cap, and
   * the bytes all open logs hold now.
   */
  void recordCallLog(int entries, long bytes, boolean overCap, long bytesInUse);

  /** An offloaded invocation was re-run here and compared; {@code mismatch} is empty if equal. */
  void recordVerified(String handlerKey, String mismatch);
}
