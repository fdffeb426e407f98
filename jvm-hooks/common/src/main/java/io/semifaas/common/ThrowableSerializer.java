package io.semifaas.common;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.objenesis.strategy.StdInstantiatorStrategy;

/**
 * Exceptions cross as data (docs/internals.md, "Object bytes"): type name, message, stack trace,
 * cause chain and suppressed exceptions (bounded), and the fields their own classes add. The
 * codec writes every Throwable under the wire class {@link Data}, so the reader never resolves the
 * exception's class before deciding: a type the reader's hooks accept is rebuilt exactly (without
 * running its constructors, like any decoded object); any other arrives as an {@link
 * OffloadedThrowable} that names it.
 */
final class ThrowableSerializer extends Serializer<Object> {
  /** Causes followed at most; deeper ones are cut. */
  static final int MAX_DEPTH = 16;

  /** Suppressed exceptions sent at most per exception. */
  static final int MAX_SUPPRESSED = 16;

  /** Stack frames sent at most per exception (the JVM's default recording depth). */
  static final int MAX_FRAMES = 1024;

  /** The class name written in place of every exception's own. */
  static final class Data {
    private Data() {}
  }

  private static final StdInstantiatorStrategy OBJENESIS = new StdInstantiatorStrategy();

  /** How deep in a cause/suppressed chain the current write or read is (Kryo is single-threaded). */
  private int depth;

  @Override
  public void write(Kryo kryo, Output output, Object object) {
    Throwable thrown = (Throwable) object;
    output.writeString(thrown.getClass().getName());
    output.writeString(ThrowableFields.message(thrown));
    StackTraceElement[] frames = thrown.getStackTrace();
    int frameCount = Math.min(frames.length, MAX_FRAMES);
    output.writeVarInt(frameCount, true);
    for (int i = 0; i < frameCount; i++) {
      writeFrame(output, frames[i]);
    }
    depth++;
    try {
      Throwable cause = thrown.getCause();
      kryo.writeClassAndObject(output, depth < MAX_DEPTH ? cause : null);
      Throwable[] suppressed = depth < MAX_DEPTH ? thrown.getSuppressed() : new Throwable[0];
      int suppressedCount = Math.min(suppressed.length, MAX_SUPPRESSED);
      output.writeVarInt(suppressedCount, true);
      for (int i = 0; i < suppressedCount; i++) {
        kryo.writeClassAndObject(output, suppressed[i]);
      }
      List<Field> fields = ThrowableFields.own(thrown.getClass());
      output.writeVarInt(fields.size(), true);
      for (Field field : fields) {
        output.writeString(field.getDeclaringClass().getName());
        output.writeString(field.getName());
        kryo.writeClassAndObject(output, ThrowableFields.get(field, thrown));
      }
    } finally {
      depth--;
    }
  }

  @Override
  public Object read(Kryo kryo, Input input, Class<? extends Object> type) {
    String typeName = input.readString();
    String message = input.readString();
    int frameCount = input.readVarInt(true);
    if (frameCount < 0 || frameCount > MAX_FRAMES) {
      throw new KryoException("an exception claims " + frameCount + " stack frames");
    }
    StackTraceElement[] frames = new StackTraceElement[frameCount];
    for (int i = 0; i < frameCount; i++) {
      frames[i] = readFrame(input);
    }
    if (++depth > MAX_DEPTH) {
      throw new KryoException("an exception's causes nest deeper than " + MAX_DEPTH);
    }
    try {
      Throwable cause = asThrowable(kryo.readClassAndObject(input), "cause");
      int suppressedCount = input.readVarInt(true);
      if (suppressedCount < 0 || suppressedCount > MAX_SUPPRESSED) {
        throw new KryoException("an exception claims " + suppressedCount + " suppressed ones");
      }
      List<Throwable> suppressed = new ArrayList<>(suppressedCount);
      for (int i = 0; i < suppressedCount; i++) {
        suppressed.add(asThrowable(kryo.readClassAndObject(input), "suppressed exception"));
      }
      int fieldCount = input.readVarInt(true);
      if (fieldCount < 0 || fieldCount > input.limit() - input.position()) {
        throw new KryoException("an exception claims " + fieldCount + " fields");
      }
      String[][] names = new String[fieldCount][];
      Object[] values = new Object[fieldCount];
      for (int i = 0; i < fieldCount; i++) {
        names[i] = new String[] {input.readString(), input.readString()};
        values[i] = kryo.readClassAndObject(input);
      }
      Class<?> rebuilt = rebuildable(kryo, typeName);
      Throwable result =
          rebuilt != null
              ? rebuild(rebuilt, message, cause, names, values)
              : new OffloadedThrowable(typeName, message, cause);
      result.setStackTrace(frames);
      for (Throwable s : suppressed) {
        result.addSuppressed(s);
      }
      return result;
    } finally {
      depth--;
    }
  }

  /** The class named {@code typeName} if it is a Throwable the reader may build, else null. */
  private static Class<?> rebuildable(Kryo kryo, String typeName) {
    Class<?> type;
    try {
      type = Class.forName(typeName, false, kryo.getClassLoader());
    } catch (ClassNotFoundException | LinkageError | RuntimeException e) {
      return null;
    }
    if (!Throwable.class.isAssignableFrom(type)
        || Modifier.isAbstract(type.getModifiers())
        || type == OffloadedThrowable.class) {
      return null;
    }
    return ObjectCodec.mayDecode(kryo, type) ? type : null;
  }

  private static Throwable rebuild(
      Class<?> type, String message, Throwable cause, String[][] names, Object[] values) {
    Throwable result = (Throwable) OBJENESIS.newInstantiatorOf(type).newInstance();
    ThrowableFields.init(result, message, cause);
    for (int i = 0; i < names.length; i++) {
      ThrowableFields.set(result, names[i][0], names[i][1], values[i]);
    }
    return result;
  }

  private static Throwable asThrowable(Object value, String what) {
    if (value == null || value instanceof Throwable) {
      return (Throwable) value;
    }
    throw new KryoException("an exception's " + what + " is a " + value.getClass().getName());
  }

  private static void writeFrame(Output output, StackTraceElement frame) {
    output.writeString(frame.getClassLoaderName());
    output.writeString(frame.getModuleName());
    output.writeString(frame.getModuleVersion());
    output.writeString(frame.getClassName());
    output.writeString(frame.getMethodName());
    output.writeString(frame.getFileName());
    output.writeVarInt(frame.getLineNumber(), false);
  }

  private static StackTraceElement readFrame(Input input) {
    String loader = input.readString();
    String module = input.readString();
    String version = input.readString();
    String className = input.readString();
    String method = input.readString();
    if (className == null || method == null) {
      throw new KryoException("a stack frame has no class or method name");
    }
    return new StackTraceElement(
        loader, module, version, className, method, input.readString(), input.readVarInt(false));
  }

  /** Throwable's own state and the fields of its subclasses, reached by reflection. */
  private static final class ThrowableFields {
    private static final Field DETAIL_MESSAGE = throwableField("detailMessage");
    private static final Field CAUSE = throwableField("cause");
    private static final Field STACK_TRACE = throwableField("stackTrace");
    private static final Field SUPPRESSED = throwableField("suppressedExceptions");

    private static final ClassValue<List<Field>> OWN =
        new ClassValue<>() {
          @Override
          protected List<Field> computeValue(Class<?> type) {
            List<Field> fields = new ArrayList<>();
            for (Class<?> c = type; c != null && c != Throwable.class; c = c.getSuperclass()) {
              for (Field field : c.getDeclaredFields()) {
                int modifiers = field.getModifiers();
                if (!Modifier.isStatic(modifiers)
                    && !Modifier.isTransient(modifiers)
                    && field.trySetAccessible()) {
                  fields.add(field);
                }
              }
            }
            return List.copyOf(fields);
          }
        };

    private static Field throwableField(String name) {
      try {
        Field field = Throwable.class.getDeclaredField(name);
        return field.trySetAccessible() ? field : null;
      } catch (NoSuchFieldException e) {
        return null;
      }
    }

    /** The message the exception was created with (getMessage may be computed). */
    static String message(Throwable thrown) {
      if (DETAIL_MESSAGE == null) {
        return thrown.getMessage();
      }
      return (String) get(DETAIL_MESSAGE, thrown);
    }

    static List<Field> own(Class<?> type) {
      return OWN.get(type);
    }

    static Object get(Field field, Object target) {
      try {
        return field.get(target);
      } catch (IllegalAccessException e) {
        throw new KryoException("reading " + field + ": " + e, e);
      }
    }

    /** Gives an instance built without constructors the state Throwable's constructor sets. */
    static void init(Throwable target, String message, Throwable cause) {
      if (DETAIL_MESSAGE == null || CAUSE == null || STACK_TRACE == null || SUPPRESSED == null) {
        throw new KryoException(
            "exceptions are rebuilt through Throwable's fields, which needs java.base/java.lang"
                + " opened to the codec");
      }
      try {
        DETAIL_MESSAGE.set(target, message);
        CAUSE.set(target, cause);
        STACK_TRACE.set(target, new StackTraceElement[0]);
        SUPPRESSED.set(target, new ArrayList<Throwable>());
      } catch (IllegalAccessException e) {
        throw new KryoException("rebuilding a " + target.getClass().getName() + ": " + e, e);
      }
    }

    /** Sets a field the writer's class declared; one this class lacks is left out. */
    static void set(Throwable target, String declaringClass, String name, Object value) {
      for (Field field : own(target.getClass())) {
        if (field.getName().equals(name)
            && field.getDeclaringClass().getName().equals(declaringClass)) {
          if (value != null && !box(field.getType()).isInstance(value)) {
            throw new KryoException(
                "field "
                    + declaringClass
                    + "."
                    + name
                    + " cannot hold a "
                    + value.getClass().getName());
          }
          try {
            field.set(target, value);
          } catch (IllegalAccessException | RuntimeException e) {
            throw new KryoException("setting " + declaringClass + "." + name + ": " + e, e);
          }
          return;
        }
      }
    }

    private static Class<?> box(Class<?> type) {
      if (!type.isPrimitive()) {
        return type;
      }
      return java.lang.invoke.MethodType.methodType(type).wrap().returnType();
    }
  }
}
