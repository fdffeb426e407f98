package io.semifaas.agent;

import io.semifaas.common.CodecException;
import io.semifaas.common.InOutArguments;
import io.semifaas.common.ObjectCodec;
import io.semifaas.common.Outcome;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs a registered closure the way a function does: its classes are defined from the code section
 * in a loader that cannot see the application, missing ones are fetched through {@link
 * NativeBridge#classBytes} (the fallback callback), and results cross as outcome bytes.
 */
final class IsolatedFunction {
  private final Map<String, byte[]> code = new HashMap<>();
  private final Set<String> fetched = ConcurrentHashMap.newKeySet();
  private final ClassLoader loader = new ClosureLoader();
  private final String className;
  private final String methodName;
  private final String descriptor;
  private final byte[] receiver;

  IsolatedFunction(
      String className,
      String methodName,
      String descriptor,
      byte[] receiver,
      String[] classNames,
      byte[][] classBytes) {
    this.className = className;
    this.methodName = methodName;
    this.descriptor = descriptor;
    this.receiver = receiver;
    for (int i = 0; i < classNames.length; i++) {
      code.put(classNames[i], classBytes[i]);
    }
  }

  /** Class names the function had to fetch because the code section lacked them. */
  Set<String> fetched() {
    return fetched;
  }

  ClassLoader loader() {
    return loader;
  }

  byte[] invoke(byte[] args) {
    try {
      Object target = ObjectCodec.deserialize(receiver, loader);
      // As the runtime does: the request's thread-bound context follows the handler's arguments.
      Object[] arguments =
          io.semifaas.common.InvocationContext.without(
              (Object[]) ObjectCodec.deserialize(args, loader));
      Method method = find(Class.forName(className, true, loader));
      method.setAccessible(true);
      // As the runtime does: handlers with in/out arguments return them after the value.
      int[] inOut =
          InOutArguments.positions(arguments, a -> !(a instanceof io.semifaas.common.RemoteRef));
      try {
        Object value = method.invoke(target, arguments);
        return Outcome.returned(
            inOut.length == 0 ? value : InOutArguments.wrap(value, arguments, inOut));
      } catch (InvocationTargetException e) {
        return Outcome.threw(e.getCause());
      }
    } catch (ReflectiveOperationException | CodecException | RuntimeException e) {
      return Outcome.failed("cannot run " + className + "#" + methodName + ": " + e);
    }
  }

  private Method find(Class<?> type) throws NoSuchMethodException {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      for (Method m : c.getDeclaredMethods()) {
        if (m.getName().equals(methodName) && MethodDescriptors.of(m).equals(descriptor)) {
          return m;
        }
      }
    }
    throw new NoSuchMethodException(className + "#" + methodName + descriptor);
  }

  private final class ClosureLoader extends ClassLoader {
    ClosureLoader() {
      super("closure", ClassLoader.getPlatformClassLoader());
    }

    /** As the runtime's closure loader: the codec's own types are shared, never fetched. */
    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      if (name.startsWith("io.semifaas.common.")) {
        return IsolatedFunction.class.getClassLoader().loadClass(name);
      }
      return super.loadClass(name, resolve);
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
      byte[] bytes = code.get(name);
      if (bytes == null) {
        Object served = NativeBridge.classBytes(name);
        if (!(served instanceof byte[] found)) {
          throw new ClassNotFoundException(name + (served == null ? "" : ": " + served));
        }
        bytes = found;
        fetched.add(name);
      }
      return defineClass(name, bytes, 0, bytes.length);
    }
  }
}
