package io.semifaas.agent;

import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;
import org.springframework.web.method.HandlerMethod;

/**
 * Inlined into {@code InvocableHandlerMethod#doInvoke(Object...)}. Free of logic: it hands the
 * resolved handler call to {@link Dispatcher} and, when that ran it in a function, skips the body
 * and supplies the result or the exception.
 */
public final class DoInvokeAdvice {
  private DoInvokeAdvice() {}

  @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
  public static OffloadedCall enter(
      @Advice.This HandlerMethod self, @Advice.Argument(0) Object[] args) {
    return Dispatcher.onEnter(self.getMethod(), self.getBean(), args);
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class)
  public static void exit(
      @Advice.Enter OffloadedCall call,
      @Advice.Return(readOnly = false, typing = Assigner.Typing.DYNAMIC) Object returned,
      @Advice.Thrown(readOnly = false) Throwable thrown) {
    Dispatcher.onExit(call);
    if (call != null) {
      returned = call.value;
      thrown = call.thrown;
    }
  }
}
