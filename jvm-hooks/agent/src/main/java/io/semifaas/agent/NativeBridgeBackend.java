package io.semifaas.agent;

/** The production {@link OffloadBackend}: forwards to the JNI natives. */
final class NativeBridgeBackend implements OffloadBackend {
  @Override
  public long handlerId(String handlerKey) {
    return NativeBridge.handlerId(handlerKey);
  }

  @Override
  public boolean shouldOffload(long handlerId) {
    return NativeBridge.shouldOffload(handlerId);
  }

  @Override
  public String registerClosure(
      String handlerKey,
      String className,
      String methodName,
      String descriptor,
      byte[] receiver,
      String[] classNames,
      byte[][] classBytes) {
    return NativeBridge.registerClosure(
        handlerKey, className, methodName, descriptor, receiver, classNames, classBytes);
  }

  @Override
  public byte[] offload(String handlerKey, String closureId, byte[] args, long scopeId) {
    return NativeBridge.offload(handlerKey, closureId, args, scopeId);
  }

  @Override
  public void recordSample(String handlerKey, String closureId, byte[] args) {
    NativeBridge.recordSample(handlerKey, closureId, args);
  }

  @Override
  public void recordLocal(long handlerId, long wallNanos, long cpuNanos) {
    NativeBridge.recordLocal(handlerId, wallNanos, cpuNanos);
  }

  @Override
  public void recordIneligible(String handlerKey, String reason) {
    NativeBridge.recordIneligible(handlerKey, reason);
  }

  @Override
  public void recordOffloadFailure(String handlerKey, String reason) {
    NativeBridge.recordOffloadFailure(handlerKey, reason);
  }

  @Override
  public void recordAbandoned(String handlerKey, String reason) {
    NativeBridge.recordAbandoned(handlerKey, reason);
  }

  @Override
  public void recordReexecuted(String handlerKey) {
    NativeBridge.recordReexecuted(handlerKey);
  }

  @Override
  public void recordDiverged(String handlerKey, String reason) {
    NativeBridge.recordDiverged(handlerKey, reason);
  }

  @Override
  public void recordCallLog(int entries, long bytes, boolean overCap, long bytesInUse) {
    NativeBridge.recordCallLog(entries, bytes, overCap, bytesInUse);
  }

  @Override
  public void recordVerified(String handlerKey, String mismatch) {
    NativeBridge.recordVerified(handlerKey, mismatch);
  }
}
