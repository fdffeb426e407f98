package io.semifaas.samples.codecbench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Measures Kryo 5 and Apache Fory on the image sample's payloads: encoded size and median time
 * to encode (server side) and decode with a separate class loader (function side). Prints a
 * Markdown table.
 */
public final class CodecBench {

    private static final String PAYLOAD_PACKAGE = "io.semifaas.samples.codecbench.payload";

    private CodecBench() {}

    public static void main(String[] args) {
        ClassLoader app = CodecBench.class.getClassLoader();
        ClassLoader closure = new ChildFirstLoader(app, PAYLOAD_PACKAGE);
        List<Codec> codecs = List.of(
                new KryoCodec(app, closure),
                new ForyCodec(app, closure, -1),
                new ForyCodec(app, closure, 8 << 20));

        System.out.println("JVM: " + System.getProperty("java.vm.name") + " "
                + Runtime.version() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs");
        System.out.println();
        System.out.println("| payload | codec | bytes | encode CPU ns/op | decode CPU ns/op |");
        System.out.println("| --- | --- | ---: | ---: | ---: |");
        for (Map.Entry<String, Object> payload : Payloads.all().entrySet()) {
            Object value = payload.getValue();
            String[] cells = new String[codecs.size()];
            List<Integer> working = new ArrayList<>();
            List<Supplier<?>> encodes = new ArrayList<>();
            List<Supplier<?>> decodes = new ArrayList<>();
            for (int i = 0; i < codecs.size(); i++) {
                Codec codec = codecs.get(i);
                String problem = roundTripProblem(codec, value, closure);
                if (problem != null) {
                    cells[i] = problem + " | |";
                    continue;
                }
                byte[] bytes = codec.encode(value);
                cells[i] = String.valueOf(bytes.length);
                working.add(i);
                encodes.add(() -> codec.encode(value));
                decodes.add(() -> codec.decode(bytes));
            }
            long[] encodeNanos = Timing.medianCpuNanos(encodes);
            long[] decodeNanos = Timing.medianCpuNanos(decodes);
            for (int w = 0; w < working.size(); w++) {
                cells[working.get(w)] += " | " + encodeNanos[w] + " | " + decodeNanos[w];
            }
            for (int i = 0; i < codecs.size(); i++) {
                row(payload.getKey(), codecs.get(i), cells[i]);
            }
        }
    }

    private static void row(String payload, Codec codec, String cells) {
        System.out.println("| " + payload + " | " + codec.name() + " | " + cells + " |");
    }

    /** Encodes and decodes once; returns why the result is unusable, or null when it is right. */
    private static String roundTripProblem(Codec codec, Object value, ClassLoader closure) {
        try {
            Object decoded = codec.decode(codec.encode(value));
            if (!Structure.same(value, decoded)) {
                return "decoded graph differs";
            }
            if (!loadedBy(decoded, closure)) {
                return "decoded with the wrong class loader";
            }
            return null;
        } catch (RuntimeException | LinkageError e) {
            return "fails: " + e.getClass().getSimpleName() + ": " + firstLine(e.getMessage());
        }
    }

    /** Payload classes must come from the closure loader, not the application loader. */
    private static boolean loadedBy(Object decoded, ClassLoader closure) {
        Class<?> type = decoded.getClass();
        return !type.getName().startsWith(PAYLOAD_PACKAGE) || type.getClassLoader() == closure;
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "no message";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
