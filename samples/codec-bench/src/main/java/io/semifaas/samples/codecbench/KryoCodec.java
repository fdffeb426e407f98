package io.semifaas.samples.codecbench;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import com.esotericsoftware.kryo.util.DefaultInstantiatorStrategy;
import org.objenesis.strategy.StdInstantiatorStrategy;

/**
 * Kryo 5 configured and called like {@code io.semifaas.common.ObjectCodec}: a fresh growing output
 * per call, Throwables through Java serialization.
 */
final class KryoCodec implements Codec {

  private final Kryo writer;
  private final Kryo reader;

  KryoCodec(ClassLoader writeLoader, ClassLoader readLoader) {
    writer = newKryo(writeLoader);
    reader = newKryo(readLoader);
  }

  private static Kryo newKryo(ClassLoader loader) {
    Kryo kryo = new Kryo();
    kryo.setClassLoader(loader);
    kryo.setRegistrationRequired(false);
    kryo.setReferences(true);
    kryo.setInstantiatorStrategy(new DefaultInstantiatorStrategy(new StdInstantiatorStrategy()));
    kryo.addDefaultSerializer(Throwable.class, JavaSerializer.class);
    return kryo;
  }

  @Override
  public String name() {
    return "Kryo " + Versions.of("com.esotericsoftware", "kryo");
  }

  @Override
  public byte[] encode(Object value) {
    try (Output output = new Output(256, -1)) {
      writer.writeClassAndObject(output, value);
      return output.toBytes();
    }
  }

  @Override
  public Object decode(byte[] bytes) {
    try (Input input = new Input(bytes)) {
      return reader.readClassAndObject(input);
    }
  }
}
