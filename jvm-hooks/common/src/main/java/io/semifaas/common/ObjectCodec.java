package io.semifaas.common;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import com.esotericsoftware.kryo.util.DefaultInstantiatorStrategy;
import com.esotericsoftware.kryo.util.Pool;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.objenesis.strategy.StdInstantiatorStrategy;

/**
 * The Java codec for receivers, argument arrays, return values and exceptions (docs/internals.md,
 * "Object bytes"). Both the agent and the runtime jar carry it with Kryo relocated the same way, so
 * the bytes written on one side decode on the other.
 *
 * <p>Thread-safe: Kryo instances are pooled per class loader, because Kryo caches name-to-class
 * resolutions per instance and the same class name may mean different classes in different loaders.
 * A pool keeps its loader reachable; call {@link #release(ClassLoader)} when a loader is retired.
 * An instance that failed mid-graph is dropped rather than pooled, as its state is unknown.
 */
public final class ObjectCodec {
  /** Largest input accepted by {@link #deserialize}: the largest closure a function accepts. */
  public static final int INPUT_MAX = 64 * 1024 * 1024;

  private static final int POOL_MAX = 64;
  private static final int OUTPUT_INITIAL = 256;

  private static final Map<ClassLoader, Pool<Kryo>> POOLS = new ConcurrentHashMap<>();

  private ObjectCodec() {}

  /** Encodes {@code value} (which may be {@code null}) with its class names. */
  public static byte[] serialize(Object value) throws CodecException {
    Pool<Kryo> pool = poolFor(value == null ? null : value.getClass().getClassLoader());
    Kryo kryo = pool.obtain();
    try (Output output = new Output(OUTPUT_INITIAL, INPUT_MAX)) {
      kryo.writeClassAndObject(output, value);
      byte[] bytes = output.toBytes();
      pool.free(kryo);
      return bytes;
    } catch (RuntimeException e) {
      // Kryo, reflection (inaccessible JDK internals) or the objects' own serialization hooks.
      throw new CodecException(
          "cannot serialize " + className(value) + ": " + detail(e.getMessage()), e);
    } catch (StackOverflowError e) {
      throw new CodecException(
          "cannot serialize " + className(value) + ": the object graph is too deep", e);
    }
  }

  /**
   * Decodes bytes written by {@link #serialize}, resolving class names through {@code loader}
   * ({@code null}: the loader of this class).
   */
  public static Object deserialize(byte[] bytes, ClassLoader loader) throws CodecException {
    if (bytes == null) {
      throw new CodecException("cannot deserialize: no bytes (null)");
    }
    if (bytes.length == 0) {
      throw new CodecException("cannot deserialize: the input is empty");
    }
    if (bytes.length > INPUT_MAX) {
      throw new CodecException(
          "cannot deserialize: the input is "
              + bytes.length
              + " bytes, over the limit of "
              + INPUT_MAX);
    }
    Pool<Kryo> pool = poolFor(loader);
    Kryo kryo = pool.obtain();
    try (Input input = new BoundedInput(bytes)) {
      Object value = kryo.readClassAndObject(input);
      pool.free(kryo);
      if (input.position() != bytes.length) {
        throw new CodecException(
            "cannot deserialize "
                + className(value)
                + ": "
                + (bytes.length - input.position())
                + " trailing bytes after the object");
      }
      return value;
    } catch (RuntimeException e) {
      // Corrupt input surfaces as Kryo, cast, index or size errors, or from readObject hooks.
      throw new CodecException("cannot deserialize: " + detail(e.getMessage()), e);
    } catch (OutOfMemoryError e) {
      // A corrupt length field asked for an impossible allocation; nothing was built.
      throw new CodecException("cannot deserialize: the input declares an oversized object", e);
    } catch (StackOverflowError e) {
      throw new CodecException("cannot deserialize: the object graph is too deep", e);
    }
  }

  /** Drops the Kryo pool of {@code loader} so the loader can be collected. */
  public static void release(ClassLoader loader) {
    if (loader != null) {
      POOLS.remove(loader);
    }
  }

  private static Pool<Kryo> poolFor(ClassLoader loader) {
    ClassLoader key = loader != null ? loader : ObjectCodec.class.getClassLoader();
    if (key == null) {
      key = ClassLoader.getSystemClassLoader();
    }
    return POOLS.computeIfAbsent(key, ObjectCodec::newPool);
  }

  private static Pool<Kryo> newPool(ClassLoader loader) {
    return new Pool<>(true, false, POOL_MAX) {
      @Override
      protected Kryo create() {
        return newKryo(loader);
      }
    };
  }

  private static Kryo newKryo(ClassLoader loader) {
    Kryo kryo = new Kryo();
    kryo.setClassLoader(loader);
    kryo.setRegistrationRequired(false);
    kryo.setReferences(true);
    kryo.setInstantiatorStrategy(new DefaultInstantiatorStrategy(new StdInstantiatorStrategy()));
    // JDK exceptions keep private state (stack traces, suppressed lists) that field serialization
    // could only reach with --add-opens; their own serialization form needs none. Kryo's
    // JavaSerializer resolves classes through kryo.getClassLoader().
    kryo.addDefaultSerializer(Throwable.class, JavaSerializer.class);
    ServerBoundSerializer.register(kryo);
    return kryo;
  }

  private static String className(Object value) {
    return value == null ? "null" : value.getClass().getName();
  }

  private static String detail(String message) {
    if (message == null) {
      return "no detail";
    }
    return message.strip();
  }

  /** Refuses length fields that claim more bytes than the input holds, before allocating. */
  private static final class BoundedInput extends Input {
    BoundedInput(byte[] bytes) {
      super(bytes);
    }

    @Override
    public byte[] readBytes(int length) throws KryoException {
      if (length < 0 || length > limit - position) {
        throw new KryoException(
            "a length field claims "
                + length
                + " bytes but only "
                + (limit - position)
                + " remain");
      }
      return super.readBytes(length);
    }
  }
}
