package io.semifaas.samples.codecbench;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Measures Kryo 5 and Apache Fory on the image sample's payloads: encoded size, the wall time of
 * the first encode and decode of each payload type in a fresh codec (what a new function instance
 * pays), and the median CPU time to encode (server side) and decode with a separate class loader
 * (function side). Prints a Markdown table.
 *
 * <p>Arguments name the codecs to run ({@code kryo}, {@code fory}, {@code fory-tuned}; default
 * all). Run one per JVM for clean first-round-trip numbers: codecs in the same JVM share
 * already-loaded JDK and library classes.
 */
public final class CodecBench {

  private static final String PAYLOAD_PACKAGE = "io.semifaas.samples.codecbench.payload";
  private static final String[] CODECS = {"kryo", "fory", "fory-tuned"};

  private CodecBench() {}

  public static void main(String[] args) {
    ClassLoader app = CodecBench.class.getClassLoader();
    Set<String> selected = new LinkedHashSet<>(List.of(args.length > 0 ? args : CODECS));
    if (!Set.of(CODECS).containsAll(selected)) {
      System.err.println("usage: codec-bench [" + String.join("|", CODECS) + "]...");
      System.exit(2);
    }
    // One closure loader per codec, so each pays for defining the payload classes itself.
    List<ClassLoader> closures = new ArrayList<>();
    List<Codec> codecs = new ArrayList<>();
    List<Long> buildMicros = new ArrayList<>();
    for (String name : selected) {
      ClassLoader closure = new ChildFirstLoader(app, PAYLOAD_PACKAGE);
      closures.add(closure);
      long start = System.nanoTime();
      codecs.add(
          switch (name) {
            case "kryo" -> new KryoCodec(app, closure);
            case "fory" -> new ForyCodec(app, closure, false);
            default -> new ForyCodec(app, closure, true);
          });
      buildMicros.add((System.nanoTime() - start) / 1_000);
    }

    System.out.println(
        "JVM: "
            + System.getProperty("java.vm.name")
            + " "
            + Runtime.version()
            + ", "
            + Runtime.getRuntime().availableProcessors()
            + " CPUs");
    System.out.println();
    System.out.println(
        "| payload | codec | bytes | first round trip µs | encode CPU ns/op | decode CPU ns/op |");
    System.out.println("| --- | --- | ---: | ---: | ---: | ---: |");
    for (Map.Entry<String, Object> payload : Payloads.all().entrySet()) {
      Object value = payload.getValue();
      String[] cells = new String[codecs.size()];
      List<Integer> working = new ArrayList<>();
      List<Supplier<?>> encodes = new ArrayList<>();
      List<Supplier<?>> decodes = new ArrayList<>();
      for (int i = 0; i < codecs.size(); i++) {
        Codec codec = codecs.get(i);
        long start = System.nanoTime();
        Object decoded;
        try {
          decoded = codec.decode(codec.encode(value));
        } catch (RuntimeException | LinkageError e) {
          cells[i] =
              "fails: "
                  + e.getClass().getSimpleName()
                  + ": "
                  + firstLine(e.getMessage())
                  + " | | |";
          continue;
        }
        long firstMicros = (System.nanoTime() - start) / 1_000;
        String problem = problemWith(value, decoded, closures.get(i));
        if (problem != null) {
          cells[i] = problem + " | | |";
          continue;
        }
        byte[] bytes = codec.encode(value);
        cells[i] = bytes.length + " | " + firstMicros;
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
    System.out.println();
    System.out.println("| codec | building both instances µs |");
    System.out.println("| --- | ---: |");
    for (int i = 0; i < codecs.size(); i++) {
      System.out.println("| " + codecs.get(i).name() + " | " + buildMicros.get(i) + " |");
    }
  }

  private static void row(String payload, Codec codec, String cells) {
    System.out.println("| " + payload + " | " + codec.name() + " | " + cells + " |");
  }

  /** Why a decoded graph is unusable, or null when it matches the original. */
  private static String problemWith(Object original, Object decoded, ClassLoader closure) {
    if (!Structure.same(original, decoded)) {
      return "decoded graph differs";
    }
    if (!loadedBy(decoded, closure)) {
      return "decoded with the wrong class loader";
    }
    return null;
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
