package io.semifaas.agent;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A backend for tests: the policy answer is set by the test, closures run in an {@link
 * IsolatedFunction}, and every call is recorded.
 */
final class RecordingBackend implements OffloadBackend {
  volatile boolean offload = true;

  /** Replaces the function's outcome (null: use what the function returned). */
  volatile Function<byte[], byte[]> outcomeOverride;

  volatile RuntimeException offloadThrows;

  /** Replaces the function: given the invocation's scope id, returns the outcome (null: failed). */
  volatile java.util.function.LongFunction<byte[]> functionOverride;

  final List<String> shouldOffloadCalls = new CopyOnWriteArrayList<>();
  final List<IsolatedFunction> closures = new CopyOnWriteArrayList<>();
  final List<String> registeredKeys = new CopyOnWriteArrayList<>();
  final List<String[]> registeredNames = new CopyOnWriteArrayList<>();
  final List<String> descriptors = new CopyOnWriteArrayList<>();
  final List<String> local = new CopyOnWriteArrayList<>();
  final List<String> ineligible = new CopyOnWriteArrayList<>();
  final List<String> failures = new CopyOnWriteArrayList<>();
  final List<String> abandoned = new CopyOnWriteArrayList<>();
  final List<String> reexecuted = new CopyOnWriteArrayList<>();
  final List<String> diverged = new CopyOnWriteArrayList<>();
  final List<long[]> callLogs = new CopyOnWriteArrayList<>();
  final List<String> verified = new CopyOnWriteArrayList<>();
  final List<long[]> localTimes = new CopyOnWriteArrayList<>();
  final List<Long> scopeIds = new CopyOnWriteArrayList<>();
  final List<String> samples = new CopyOnWriteArrayList<>();
  final List<byte[]> sampleArgs = new CopyOnWriteArrayList<>();
  final List<byte[]> receivers = new CopyOnWriteArrayList<>();
  volatile int offloads;

  @Override
  public void recordSample(String handlerKey, String closureId, byte[] args) {
    samples.add(handlerKey + " " + closureId);
    sampleArgs.add(args);
  }

  /** Handler keys by id ({@link #handlerId}). */
  private final List<String> handlerKeys = new CopyOnWriteArrayList<>();

  /** Whether {@link #handlerId} answers 0, as the native side does past its handler limit. */
  volatile boolean noIds;

  @Override
  public synchronized long handlerId(String handlerKey) {
    if (noIds) {
      return 0;
    }
    handlerKeys.add(handlerKey);
    return handlerKeys.size();
  }

  @Override
  public boolean shouldOffload(long handlerId) {
    shouldOffloadCalls.add(handlerKeys.get((int) handlerId - 1));
    return offload;
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
    if (classNames.length != classBytes.length) {
      throw new IllegalArgumentException("class names and bytes differ in length");
    }
    registeredKeys.add(handlerKey);
    receivers.add(receiver);
    registeredNames.add(classNames);
    descriptors.add(className + "#" + methodName + descriptor);
    closures.add(
        new IsolatedFunction(className, methodName, descriptor, receiver, classNames, classBytes));
    return String.format("%064x", closures.size());
  }

  @Override
  public byte[] offload(String handlerKey, String closureId, byte[] args, long scopeId) {
    offloads++;
    scopeIds.add(scopeId);
    if (offloadThrows != null) {
      throw offloadThrows;
    }
    if (functionOverride != null) {
      return functionOverride.apply(scopeId);
    }
    IsolatedFunction function = closures.get(Integer.parseInt(closureId, 16) - 1);
    byte[] outcome = function.invoke(args);
    Function<byte[], byte[]> override = outcomeOverride;
    return override == null ? outcome : override.apply(outcome);
  }

  @Override
  public void recordLocal(long handlerId, long wallNanos, long cpuNanos) {
    local.add(handlerKeys.get((int) handlerId - 1));
    localTimes.add(new long[] {wallNanos, cpuNanos});
  }

  @Override
  public void recordIneligible(String handlerKey, String reason) {
    ineligible.add(handlerKey + ": " + reason);
  }

  @Override
  public void recordOffloadFailure(String handlerKey, String reason) {
    failures.add(handlerKey + ": " + reason);
  }

  @Override
  public void recordAbandoned(String handlerKey, String reason) {
    abandoned.add(handlerKey + ": " + reason);
  }

  @Override
  public void recordReexecuted(String handlerKey) {
    reexecuted.add(handlerKey);
  }

  @Override
  public void recordDiverged(String handlerKey, String reason) {
    diverged.add(handlerKey + ": " + reason);
  }

  @Override
  public void recordCallLog(int entries, long bytes, boolean overCap, long bytesInUse) {
    callLogs.add(new long[] {entries, bytes, overCap ? 1 : 0, bytesInUse});
  }

  @Override
  public void recordVerified(String handlerKey, String mismatch) {
    verified.add(handlerKey + ": " + mismatch);
  }
}
