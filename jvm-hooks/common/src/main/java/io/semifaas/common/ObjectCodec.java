package io.semifaas.common;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Registration;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.SerializerFactory;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.CollectionSerializer;
import com.esotericsoftware.kryo.serializers.DefaultSerializers;
import com.esotericsoftware.kryo.serializers.FieldSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import com.esotericsoftware.kryo.serializers.MapSerializer;
import com.esotericsoftware.kryo.util.Pool;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

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

  /** The largest output buffer a pooled instance keeps for its next serialization. */
  private static final int OUTPUT_KEPT = 64 * 1024;

  private static final Map<ClassLoader, Pool<Kryo>> POOLS = new ConcurrentHashMap<>();

  private ObjectCodec() {}

  /** Encodes {@code value} (which may be {@code null}) with its class names. */
  public static byte[] serialize(Object value) throws CodecException {
    return serialize(value, null);
  }

  /**
   * Encodes {@code value} with {@code hooks} (null: none) substituting objects as they are written,
   * e.g. an {@link ExportScope} writing server-bound objects as {@link RemoteRef}s.
   */
  public static byte[] serialize(Object value, CodecHooks hooks) throws CodecException {
    Pool<Kryo> pool = poolFor(value == null ? null : value.getClass().getClassLoader());
    HookedKryo kryo = (HookedKryo) pool.obtain();
    kryo.hooks = hooks;
    kryo.rootPending = true;
    Output output = kryo.output;
    output.reset();
    try {
      kryo.writeClassAndObject(output, value);
      byte[] bytes = output.toBytes();
      kryo.hooks = null;
      if (output.getBuffer().length > OUTPUT_KEPT) {
        kryo.output = new Output(OUTPUT_INITIAL, INPUT_MAX);
      }
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
    return deserialize(bytes, loader, null);
  }

  /** {@link #deserialize(byte[], ClassLoader)} with {@code hooks} substituting decoded objects. */
  public static Object deserialize(byte[] bytes, ClassLoader loader, CodecHooks hooks)
      throws CodecException {
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
    HookedKryo kryo = (HookedKryo) pool.obtain();
    kryo.hooks = hooks;
    try (Input input = new BoundedInput(bytes)) {
      Object value = kryo.readClassAndObject(input);
      kryo.hooks = null;
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
    } catch (RefusedClassException e) {
      throw new CodecException("cannot deserialize: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      // Corrupt input surfaces as Kryo, cast, index or size errors, or from readObject hooks.
      throw new CodecException("cannot deserialize: " + detail(e.getMessage()), e);
    } catch (OutOfMemoryError e) {
      // A corrupt length field asked for an impossible allocation; nothing was built.
      throw new CodecException("cannot deserialize: the input declares an oversized object", e);
    } catch (StackOverflowError e) {
      throw new CodecException("cannot deserialize: the object graph is too deep", e);
    } catch (LinkageError e) {
      // An interface or abstract class named as an object's class, or a class that fails to link.
      throw new CodecException("cannot deserialize: " + e, e);
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
    HookedKryo kryo = new HookedKryo();
    // Inner and anonymous classes need their synthetic outer-instance fields (this$0).
    kryo.fields.setIgnoreSyntheticFields(false);
    kryo.setDefaultSerializer(new SerializerFactory.FieldSerializerFactory(kryo.fields));
    kryo.setClassLoader(loader);
    kryo.setRegistrationRequired(false);
    kryo.setReferences(true);
    kryo.setInstantiatorStrategy(new ConstructorInstantiators());
    // Values Kryo has a serializer for but does not register: no --add-opens of their packages.
    kryo.addDefaultSerializer(java.net.URI.class, new DefaultSerializers.URISerializer());
    kryo.addDefaultSerializer(
        java.util.regex.Pattern.class, new DefaultSerializers.PatternSerializer());
    // Exceptions cross as data, never through Java serialization (ThrowableSerializer).
    ThrowableSerializer exceptions = new ThrowableSerializer();
    kryo.addDefaultSerializer(Throwable.class, exceptions);
    kryo.addDefaultSerializer(ThrowableSerializer.Data.class, exceptions);
    ServerBoundSerializer.register(kryo);
    return kryo;
  }

  /** True when the hooks of the call {@code kryo} decodes for accept instances of {@code type}. */
  static boolean mayDecode(Kryo kryo, Class<?> type) {
    CodecHooks hooks = ((HookedKryo) kryo).hooks;
    return hooks == null || hooks.refusal(type) == null;
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

  /**
   * Applies the call's {@link CodecHooks}. Kryo writes an object's class before the object, on
   * every path (fields, elements, top level), so substitution happens in {@link #writeClass}: the
   * substitute's class is written and a serializer that substitutes the object is returned.
   * Exceptions are written under one wire class, whatever their own. Reads ask the hooks about
   * every class before anything of it is built ({@link #readClass}, {@link #newInstance}), and
   * hand every decoded object to them.
   */
  private static final class HookedKryo extends Kryo {
    CodecHooks hooks;

    /**
     * The buffer its serializations write into (a pooled instance serves one thread at a time):
     * grown once rather than on each request. Only the finished bytes are copied out.
     */
    Output output = new Output(OUTPUT_INITIAL, INPUT_MAX);

    /** How classes without a more specific serializer are copied: field by field. */
    final FieldSerializer.FieldSerializerConfig fields = new FieldSerializer.FieldSerializerConfig();

    /** The next class written is the top-level object's, which is never substituted. */
    boolean rootPending;

    @Override
    public Registration writeClass(Output output, Class type) {
      CodecHooks current = hooks;
      boolean root = rootPending;
      rootPending = false;
      if (type != null && Throwable.class.isAssignableFrom(type)) {
        if (current != null) {
          current.written(type);
        }
        return super.writeClass(output, ThrowableSerializer.Data.class);
      }
      if (current != null && type != null && !root) {
        Class<?> substitute = current.substituteClass(type);
        if (substitute != null) {
          current.written(substitute);
          Registration written = super.writeClass(output, substitute);
          return new Registration(
              substitute,
              new SubstitutingSerializer(current, written.getSerializer()),
              written.getId());
        }
      }
      if (current != null && type != null) {
        current.written(type);
      }
      return super.writeClass(output, type);
    }

    /** Resolving a name loads the class without initializing it; nothing is built before this. */
    @Override
    public Registration readClass(Input input) {
      Registration registration = super.readClass(input);
      if (registration != null) {
        refuseUnless(registration.getType());
      }
      return registration;
    }

    /** Also covers objects read without a class name: fields of a final declared type. */
    @Override
    public <T> T newInstance(Class<T> type) {
      refuseUnless(type);
      return super.newInstance(type);
    }

    private void refuseUnless(Class<?> type) {
      CodecHooks current = hooks;
      String refusal = current == null ? null : current.refusal(type);
      if (refusal != null) {
        throw new RefusedClassException(refusal);
      }
    }

    /**
     * Library maps and collections without a no-arg constructor (Spring's read-only HttpHeaders)
     * would be rebuilt empty by objenesis and refilled through methods that need their fields:
     * copy them field by field instead.
     */
    @Override
    public Serializer getDefaultSerializer(Class type) {
      if (type.isArray()) {
        return new LengthCheckedSerializer(super.getDefaultSerializer(type));
      }
      if (RedirectAttributesSerializer.handles(type)) {
        return new RedirectAttributesSerializer();
      }
      if ((Map.class.isAssignableFrom(type) || Collection.class.isAssignableFrom(type))
          && !type.getName().startsWith("java.")
          && !type.isInterface()
          && !hasNoArgConstructor(type)) {
        return new FieldSerializer<>(this, type, fields);
      }
      Serializer serializer = super.getDefaultSerializer(type);
      return serializer instanceof MapSerializer || serializer instanceof CollectionSerializer
          ? new LengthCheckedSerializer(serializer)
          : serializer;
    }

    /** A class annotated for Kryo's JavaSerializer would reach ObjectInputStream: never. */
    @Override
    protected Serializer getDefaultSerializerForAnnotatedType(Class type) {
      Serializer annotated = super.getDefaultSerializerForAnnotatedType(type);
      return annotated instanceof JavaSerializer ? null : annotated;
    }

    private static boolean hasNoArgConstructor(Class<?> type) {
      try {
        type.getDeclaredConstructor();
        return true;
      } catch (NoSuchMethodException | LinkageError e) {
        return false;
      }
    }

    @Override
    public Object readClassAndObject(Input input) {
      return hooked(super.readClassAndObject(input));
    }

    @Override
    public <T> T readObject(Input input, Class<T> type) {
      return hooked(super.readObject(input, type));
    }

    @Override
    public <T> T readObject(Input input, Class<T> type, Serializer serializer) {
      return hooked(super.readObject(input, type, serializer));
    }

    @Override
    public <T> T readObjectOrNull(Input input, Class<T> type) {
      return hooked(super.readObjectOrNull(input, type));
    }

    @Override
    public <T> T readObjectOrNull(Input input, Class<T> type, Serializer serializer) {
      return hooked(super.readObjectOrNull(input, type, serializer));
    }

    @SuppressWarnings("unchecked")
    private <T> T hooked(T value) {
      CodecHooks current = hooks;
      return current == null || value == null ? value : (T) current.onRead(value);
    }
  }

  /** A class the hooks refused, named in the message; never retried, never partially built. */
  private static final class RefusedClassException extends KryoException {
    private static final long serialVersionUID = 1L;

    RefusedClassException(String message) {
      super(message);
    }
  }

  /** Writes the hooks' substitute of each object with the substitute class's serializer. */
  private static final class SubstitutingSerializer extends Serializer<Object> {
    private final CodecHooks hooks;
    private final Serializer<Object> inner;

    @SuppressWarnings("unchecked")
    SubstitutingSerializer(CodecHooks hooks, Serializer<?> inner) {
      this.hooks = hooks;
      this.inner = (Serializer<Object>) inner;
    }

    @Override
    public void write(Kryo kryo, Output output, Object object) {
      inner.write(kryo, output, hooks.substitute(object));
    }

    @Override
    public Object read(Kryo kryo, Input input, Class<? extends Object> type) {
      throw new KryoException("a substituting serializer only writes");
    }
  }

  /**
   * Kryo's array, map and collection serializers read the length (plus one) as the first plain
   * varint (collections of one element class: otherwise with {@link Input#readVarIntFlag}), the
   * same call that reads ordinary int values (a LocalDate's year), so the input cannot tell a length
   * from its call: this wrapper tells it before the array, map or collection is read.
   */
  private static final class LengthCheckedSerializer extends Serializer<Object> {
    private final Serializer<Object> inner;

    @SuppressWarnings("unchecked")
    LengthCheckedSerializer(Serializer<?> inner) {
      super(inner.getAcceptsNull(), inner.isImmutable());
      this.inner = (Serializer<Object>) inner;
    }

    @Override
    public void write(Kryo kryo, Output output, Object array) {
      inner.write(kryo, output, array);
    }

    @Override
    public Object read(Kryo kryo, Input input, Class<? extends Object> type) {
      if (!(input instanceof BoundedInput bounded)) {
        return inner.read(kryo, input, type);
      }
      bounded.lengthNext = true;
      try {
        return inner.read(kryo, input, type);
      } finally {
        bounded.lengthNext = false;
      }
    }

    @Override
    public Object copy(Kryo kryo, Object original) {
      return inner.copy(kryo, original);
    }
  }

  /** Refuses length fields that claim more bytes than the input holds, before allocating. */
  private static final class BoundedInput extends Input {
    /** The next plain varint is the length plus one of an array, map or collection. */
    boolean lengthNext;

    BoundedInput(byte[] bytes) {
      super(bytes);
    }

    /** Array elements and map entries take at least one byte each, as a string's characters do. */
    @Override
    public int readVarInt(boolean optimizePositive) throws KryoException {
      int value = super.readVarInt(optimizePositive);
      if (lengthNext) {
        lengthNext = false;
        if (value < 0 || value - 1 > limit - position) {
          throw new KryoException(
              "an array or map length claims "
                  + (value - 1)
                  + " elements but only "
                  + (limit - position)
                  + " bytes remain");
        }
      }
      return value;
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

    /**
     * String lengths and collection sizes (Kryo reads both here, as the count plus one): each
     * character or element takes at least one of the bytes that remain, so a larger claim is a lie
     * that would only make Kryo allocate it before running out of input.
     */
    @Override
    public int readVarIntFlag(boolean optimizePositive) throws KryoException {
      int value = super.readVarIntFlag(optimizePositive);
      // A collection's length read this way is checked here, not by the next plain varint.
      lengthNext = false;
      if (optimizePositive && (value < 0 || value - 1 > limit - position)) {
        throw new KryoException(
            "a length field claims "
                + (value - 1)
                + " characters or elements but only "
                + (limit - position)
                + " bytes remain");
      }
      return value;
    }
  }
}
