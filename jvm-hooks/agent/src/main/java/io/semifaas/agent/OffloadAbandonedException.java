package io.semifaas.agent;

/**
 * Thrown from a handler whose offload failed after the function had started remote calls that
 * may write (a save, a delete): running the handler again on the server would do them twice, so
 * the request fails instead, and Spring answers it as it answers any handler exception.
 */
public final class OffloadAbandonedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  OffloadAbandonedException(String handlerKey, String reason) {
    super("semifaas: " + handlerKey + ": " + reason);
  }
}
