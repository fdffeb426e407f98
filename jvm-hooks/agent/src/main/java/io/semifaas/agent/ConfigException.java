package io.semifaas.agent;

/** The agent's configuration cannot be collected; the message names the key or file. */
final class ConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  ConfigException(String message) {
    super(message);
  }

  ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
