package io.semifaas.samples.codecbench;

import org.apache.fory.Fory;
import org.apache.fory.config.Language;

/**
 * Apache Fory with reference tracking on and class registration off (the project cannot list
 * application classes in advance), one instance per class loader as Fory requires.
 *
 * <p>Fory keeps one output buffer per instance but replaces it after any call that grew it past
 * {@code bufferSizeLimitBytes} (128 KiB by default), so larger payloads pay for regrowth each call
 * unless the limit is raised.
 */
final class ForyCodec implements Codec {

  private final Fory writer;
  private final Fory reader;
  private final boolean tuned;

  /**
   * @param tuned raise the buffer limit to 8 MiB and compile serializers in the background
   *     (interpreted until then), instead of Fory's defaults
   */
  ForyCodec(ClassLoader writeLoader, ClassLoader readLoader, boolean tuned) {
    this.tuned = tuned;
    writer = newFory(writeLoader, tuned);
    reader = newFory(readLoader, tuned);
  }

  private static Fory newFory(ClassLoader loader, boolean tuned) {
    return Fory.builder()
        .withBufferSizeLimitBytes(tuned ? 8 << 20 : -1)
        .withAsyncCompilation(tuned)
        .withLanguage(Language.JAVA)
        .withRefTracking(true)
        .requireClassRegistration(false)
        .suppressClassRegistrationWarnings(true)
        .withClassLoader(loader)
        .build();
  }

  @Override
  public String name() {
    String name = "Fory " + Versions.of("org.apache.fory", "fory-core");
    return tuned ? name + " tuned" : name;
  }

  @Override
  public byte[] encode(Object value) {
    return writer.serialize(value);
  }

  @Override
  public Object decode(byte[] bytes) {
    return reader.deserialize(bytes);
  }
}
