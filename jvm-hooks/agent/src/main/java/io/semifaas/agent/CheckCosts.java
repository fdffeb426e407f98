package io.semifaas.agent;

import io.semifaas.common.CodecAllowList;
import io.semifaas.common.CodecException;
import io.semifaas.common.ExportScope;
import io.semifaas.common.ObjectCodec;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What the trust boundary's checks cost per use on this JVM, for {@code semifaas bench overhead}
 * (which multiplies them by how often an offload uses them and prints the sum per offload):
 *
 * <ul>
 *   <li>the codec allow-list: decoding a payload with it, minus decoding the same bytes without
 *       it, for the payloads an offload decodes (arguments, a handler's image, a page of rows);
 *   <li>the remote-call allow-list: deciding one call.
 * </ul>
 *
 * <p>Each figure is the median over rounds that alternate the checked and unchecked loops, so a
 * JIT or GC pause hits both. Prints one JSON object: {@code java -cp semifaas-agent.jar
 * io.semifaas.agent.CheckCosts [rounds]}.
 */
public final class CheckCosts {
  private static final int DECODES_PER_ROUND = 20_000;
  private static final int LOOKUPS_PER_ROUND = 1_000_000;

  private CheckCosts() {}

  /** A page row as a repository returns it: the shape of the blog's remote-call outcomes. */
  static final class Row {
    long id;
    String title;
    String body;
    Instant created;
    List<String> tags;

    Row() {}

    Row(long id) {
      this.id = id;
      title = "Post number " + id;
      body = "Lorem ipsum dolor sit amet. ".repeat(8);
      created = Instant.ofEpochSecond(1_700_000_000L + id);
      tags = new ArrayList<>(List.of("java", "faas"));
    }
  }

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
    List<Row> page = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      page.add(new Row(i));
    }
    byte[] image = new byte[4096];
    Arrays.fill(image, (byte) 7);
    StringBuilder json = new StringBuilder("{\"codec\":[");
    json.append(codec("arguments (int, int, long)", new Object[] {4, 32, 1L}, rounds)).append(',');
    json.append(codec("a 4 KB image (byte[])", image, rounds)).append(',');
    json.append(codec("a page of 20 rows (List<Row>)", page, rounds));
    json.append("],\"remote_call_ns\":").append(format(remoteCall(rounds))).append('}');
    System.out.println(json);
  }

  /** One payload's decode times without and with the allow-list, as a JSON object. */
  private static String codec(String name, Object value, int rounds) throws CodecException {
    byte[] bytes = ObjectCodec.serialize(value);
    ClassLoader loader = CheckCosts.class.getClassLoader();
    ExportScope checked = new ExportScope(null);
    checked.allow(CodecAllowList.of(Set.of(Row.class.getName()), Set.of()));
    double[] plain = new double[rounds];
    double[] withChecks = new double[rounds];
    for (int round = -2; round < rounds; round++) { // two rounds of warm-up
      long t0 = System.nanoTime();
      for (int i = 0; i < DECODES_PER_ROUND; i++) {
        ObjectCodec.deserialize(bytes, loader, null);
      }
      long t1 = System.nanoTime();
      for (int i = 0; i < DECODES_PER_ROUND; i++) {
        ObjectCodec.deserialize(bytes, loader, checked);
      }
      long t2 = System.nanoTime();
      if (round >= 0) {
        plain[round] = (t1 - t0) / (double) DECODES_PER_ROUND;
        withChecks[round] = (t2 - t1) / (double) DECODES_PER_ROUND;
      }
    }
    double plainNs = median(plain);
    double checkedNs = median(withChecks);
    return String.format(
        Locale.ROOT,
        "{\"payload\":\"%s\",\"bytes\":%d,\"plain_ns\":%s,\"checked_ns\":%s,\"check_ns\":%s}",
        name,
        bytes.length,
        format(plainNs),
        format(checkedNs),
        format(Math.max(0, checkedNs - plainNs)));
  }

  /** Nanoseconds to decide one remote call the closure's code makes (the common case). */
  private static double remoteCall(int rounds) throws IOException {
    ClosureReferences code = ClosureReferences.of(List.of(ownClassFile()));
    ServedClasses served = new ServedClasses();
    double[] times = new double[rounds];
    int allowed = 0;
    for (int round = -2; round < rounds; round++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < LOOKUPS_PER_ROUND; i++) {
        if (RemoteCallAllowList.refusal(
                code, served, ArrayList.class, "java.util.ArrayList", "add", "(Ljava/lang/Object;)Z")
            == null) {
          allowed++;
        }
      }
      if (round >= 0) {
        times[round] = (System.nanoTime() - t0) / (double) LOOKUPS_PER_ROUND;
      }
    }
    if (allowed != (rounds + 2) * LOOKUPS_PER_ROUND) {
      // This class calls List.add, so the call must be allowed: otherwise the figure measured a
      // refusal, not the common path.
      throw new IllegalStateException("the measured remote call was refused");
    }
    return median(times);
  }

  private static byte[] ownClassFile() throws IOException {
    try (InputStream in = CheckCosts.class.getResourceAsStream("CheckCosts.class")) {
      if (in == null) {
        throw new IOException("CheckCosts.class is not readable from its jar");
      }
      return in.readAllBytes();
    }
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  private static String format(double ns) {
    return String.format(Locale.ROOT, "%.1f", ns);
  }
}
