package io.semifaas.common;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.util.ArrayList;
import java.util.List;

/**
 * Refuses objects that are bound to the JVM holding them (threads, class loaders, sockets, streams,
 * database connections): copied field by field they would arrive as plausible-looking but dead
 * objects. A graph that reaches one cannot be encoded, and the message names its type.
 */
final class ServerBoundSerializer extends Serializer<Object> {
  /** Types by name, so optional modules (java.sql) need not be present. */
  private static final List<String> TYPE_NAMES =
      List.of(
          "java.lang.Thread",
          "java.lang.ThreadGroup",
          "java.lang.ClassLoader",
          "java.lang.Process",
          "java.lang.ProcessHandle",
          "java.net.Socket",
          "java.net.ServerSocket",
          "java.net.DatagramSocket",
          "java.nio.channels.Channel",
          "java.io.InputStream",
          "java.io.OutputStream",
          "java.io.Reader",
          "java.io.Writer",
          "java.io.FileDescriptor",
          "java.sql.Connection",
          "javax.sql.DataSource");

  private final String typeName;

  private ServerBoundSerializer(String typeName) {
    this.typeName = typeName;
  }

  /** Makes {@code kryo} refuse every server-bound type present in this JVM. */
  static void register(Kryo kryo) {
    for (Class<?> type : presentTypes()) {
      kryo.addDefaultSerializer(type, new ServerBoundSerializer(type.getName()));
    }
  }

  private static List<Class<?>> presentTypes() {
    List<Class<?>> types = new ArrayList<>();
    for (String name : TYPE_NAMES) {
      try {
        types.add(Class.forName(name, false, ClassLoader.getPlatformClassLoader()));
      } catch (ClassNotFoundException e) {
        // Module not in this runtime image: nothing of that type can exist here.
      }
    }
    return types;
  }

  @Override
  public void write(Kryo kryo, Output output, Object object) {
    throw new KryoException(
        "a "
            + object.getClass().getName()
            + " ("
            + typeName
            + ") cannot leave the JVM that holds it");
  }

  @Override
  public Object read(Kryo kryo, Input input, Class<? extends Object> type) {
    throw new KryoException("the input holds a " + type.getName() + ", which never crosses JVMs");
  }
}
