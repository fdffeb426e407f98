package io.semifaas.runtime;

/**
 * A remote call could not be carried out (refused, not sendable, undecodable), as opposed to the
 * server object throwing. An {@link Error}, so application code catching exceptions does not
 * swallow it: the runtime turns it into a failed outcome and the server runs the handler locally.
 */
final class RemoteCallFailed extends Error {
  private static final long serialVersionUID = 1L;

  RemoteCallFailed(String message, Throwable cause) {
    super(message, cause);
  }
}
