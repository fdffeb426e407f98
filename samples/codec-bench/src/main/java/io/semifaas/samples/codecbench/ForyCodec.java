package io.semifaas.samples.codecbench;

import org.apache.fory.Fory;
import org.apache.fory.config.Language;

/**
 * Apache Fory with reference tracking on and class registration off (the project cannot list
 * application classes in advance), one instance per class loader as Fory requires.
 *
 * <p>Fory keeps one output buffer per instance but replaces it after any call that grew it past
 * {@code bufferSizeLimitBytes} (128 KiB by default), so larger payloads pay for regrowth each
 * call unless the limit is raised.
 */
final class ForyCodec implements Codec {

    private final Fory writer;
    private final Fory reader;
    private final int bufferLimit;

    /** @param bufferLimit Fory's {@code bufferSizeLimitBytes}, or -1 for its default */
    ForyCodec(ClassLoader writeLoader, ClassLoader readLoader, int bufferLimit) {
        this.bufferLimit = bufferLimit;
        writer = newFory(writeLoader, bufferLimit);
        reader = newFory(readLoader, bufferLimit);
    }

    private static Fory newFory(ClassLoader loader, int bufferLimit) {
        return Fory.builder()
                .withBufferSizeLimitBytes(bufferLimit)
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
        return bufferLimit < 0 ? name : name + " (buffer limit " + (bufferLimit >> 20) + " MiB)";
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
