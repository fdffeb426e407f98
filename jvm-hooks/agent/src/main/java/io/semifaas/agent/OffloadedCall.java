package io.semifaas.agent;

/**
 * The result of a handler call that ran in a function: the advice skips the method body and its
 * exit sets the return value, or throws the exception, from these fields.
 */
public final class OffloadedCall {
  public final Object value;
  public final Throwable thrown;

  private OffloadedCall(Object value, Throwable thrown) {
    this.value = value;
    this.thrown = thrown;
  }

  static OffloadedCall returned(Object value) {
    return new OffloadedCall(value, null);
  }

  static OffloadedCall threw(Throwable thrown) {
    return new OffloadedCall(null, thrown);
  }
}
