package io.semifaas.common;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Writes the seed inputs of {@link CodecFuzzTest}: values encoded by the real codec, so the fuzzer
 * starts from what peers really send. Run on demand, from jvm-hooks:
 * {@code mvn -pl common test -Dtest=CodecFuzzSeedsTest -Dsemifaas.fuzz.seeds=write}.
 */
@EnabledIfSystemProperty(named = "semifaas.fuzz.seeds", matches = "write")
class CodecFuzzSeedsTest {
  private static final ClassLoader LOADER = CodecFuzzSeedsTest.class.getClassLoader();
  private static final Path INPUTS =
      Path.of("src/test/resources/io/semifaas/common/CodecFuzzTestInputs");

  private static Map<String, Object> values() {
    Map<String, Object> values = new LinkedHashMap<>();
    values.put("null", null);
    values.put("string", "héllo");
    values.put("long", 42L);
    values.put("list", new ArrayList<>(List.of("a", "b", 3)));
    values.put("map", new LinkedHashMap<>(Map.of("k", List.of(1, 2))));
    CodecFuzzTest.Post post = new CodecFuzzTest.Post("title");
    post.id = 9L;
    post.tags.add("news");
    values.put("post", post);
    values.put("arguments", CodecFuzzTest.sentArguments());
    return values;
  }

  @Test
  void writeSeeds() throws Exception {
    for (Map.Entry<String, Object> value : values().entrySet()) {
      byte[] bytes = ObjectCodec.serialize(value.getValue());
      write("objectCodec", value.getKey(), bytes);
      Object back = ObjectCodec.deserialize(bytes, LOADER);
      assertEquals(className(value.getValue()), className(back), value.getKey());
      write("outcome", "returned-" + value.getKey(), Outcome.returned(value.getValue()));
    }
    RuntimeException thrown = new IllegalStateException("closed", new ArithmeticException("/0"));
    thrown.setStackTrace(new StackTraceElement[0]);
    thrown.getCause().setStackTrace(new StackTraceElement[0]);
    write("outcome", "threw", Outcome.threw(thrown));
    write("outcome", "failed", Outcome.failed("class com.example.Missing not found"));

    // What a server returns for a call that changed a by-value argument (a generated id).
    Object[] sent = CodecFuzzTest.sentArguments();
    ((CodecFuzzTest.Post) sent[0]).id = 100L;
    Predicate<Object> byValue = CodecFuzzTest.Post.class::isInstance;
    byte[] updates = Outcome.returned(ArgumentUpdates.of("saved", sent, byValue));
    write("outcome", "argument-updates", updates);
    Object[] mine = CodecFuzzTest.sentArguments();
    assertEquals("saved", ArgumentUpdates.apply(Outcome.body(updates, LOADER), mine));
    assertEquals(100L, ((CodecFuzzTest.Post) mine[0]).id);
  }

  private static String className(Object value) {
    return value == null ? "null" : value.getClass().getName();
  }

  private static void write(String method, String name, byte[] bytes) throws IOException {
    Path dir = INPUTS.resolve(method);
    Files.createDirectories(dir);
    Files.write(dir.resolve("seed-" + name), bytes);
  }
}
