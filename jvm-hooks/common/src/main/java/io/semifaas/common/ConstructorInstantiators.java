package io.semifaas.common;

import com.esotericsoftware.kryo.KryoException;
import java.lang.reflect.Constructor;
import org.objenesis.instantiator.ObjectInstantiator;
import org.objenesis.strategy.InstantiatorStrategy;
import org.objenesis.strategy.StdInstantiatorStrategy;

/**
 * How the codec creates the objects it decodes: through the class's no-arg constructor when it
 * has an accessible one, else without running any constructor (objenesis). Unlike Kryo's default,
 * never through ReflectASM, which defines an accessor class inside the decoded class's own loader
 * (an application's, a closure's) for every class decoded.
 */
final class ConstructorInstantiators implements InstantiatorStrategy {
  private final StdInstantiatorStrategy withoutConstructor = new StdInstantiatorStrategy();

  @Override
  public <T> ObjectInstantiator<T> newInstantiatorOf(Class<T> type) {
    Constructor<T> constructor;
    try {
      constructor = type.getDeclaredConstructor();
      constructor.setAccessible(true);
    } catch (NoSuchMethodException | RuntimeException | LinkageError e) {
      // No no-arg constructor (or an inner class's, which needs its outer instance), or one the
      // module system keeps closed.
      return withoutConstructor.newInstantiatorOf(type);
    }
    return () -> {
      try {
        return constructor.newInstance();
      } catch (ReflectiveOperationException | RuntimeException e) {
        throw new KryoException("cannot create a " + type.getName() + ": " + e, e);
      }
    };
  }
}
