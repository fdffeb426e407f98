package io.semifaas.samples.codecbench;

/** One serializer configured as the project would use it: encode here, decode in another loader. */
interface Codec {

  String name();

  byte[] encode(Object value);

  /** Decodes with the class loader the codec was built for. */
  Object decode(byte[] bytes);
}
