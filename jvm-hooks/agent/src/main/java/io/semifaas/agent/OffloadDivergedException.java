package io.semifaas.agent;

/**
 * Thrown from a handler whose offload failed after a remote write and whose re-execution on the
 * server did not make the calls its first run made (another path, other arguments): answering
 * those calls from the log would be wrong and running them would write differently, so the
 * request fails instead, and Spring answers it as it answers any handler exception.
 */
public final class OffloadDivergedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  OffloadDivergedException(String handlerKey, String reason) {
    super("semifaas: " + handlerKey + ": " + reason);
  }
}
