package io.semifaas.common;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Base64;
import org.junit.jupiter.api.Test;

/**
 * Inputs the fuzzer (CodecFuzzTest) found: each must be refused with a CodecException, within the
 * fuzz tests' allocation bound.
 */
class CodecFindingsTest {
  private static final ClassLoader LOADER = CodecFindingsTest.class.getClassLoader();

  private static void refusedCheaply(String base64) {
    byte[] input = Base64.getDecoder().decode(base64);
    CodecFuzzTest.boundedAllocation(
        input,
        () -> assertThrows(CodecException.class, () -> ObjectCodec.deserialize(input, LOADER)));
  }

  /**
   * A string whose UTF-8 length prefix claims about 2^30 characters in an 8-byte input: the decoder
   * must refuse it before allocating the characters (it allocated 2 GB). Class names read the same
   * way: 109 bytes naming a class allocated 1.5 GB and took 10 s.
   */
  @Test
  void aStringLengthPrefixCannotClaimGigabytes() {
    refusedCheaply("AwH/////Z3M=");
    refusedCheaply(
        "AeXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl"
            + "5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eUAAQ==");
  }

  /**
   * A java.util.ArrayList whose size field claims 2^28 elements in 60 bytes: the collection must
   * not be allocated at the claimed capacity (it allocated 512 MB).
   */
  @Test
  void aCollectionSizeCannotClaimHundredsOfMegabytes() {
    refusedCheaply(
        "AQBqYXZhLnV0aWwuQXJyYXlMaXP0Af////8AAAAB/wQBAGphdvT09PRMaXP0gmICBgMBggCAAYL9nf35");
  }

  /**
   * A remote call's outcome (an ArgumentUpdates) whose array length claims about 10^8 elements in
   * 152 bytes: it allocated 400 MB before running out of input.
   */
  @Test
  void anArrayLengthCannotClaimHundredsOfMegabytes() {
    byte[] input =
        Base64.getDecoder()
            .decode(
                "AAEAaW8uc2VtaWZhYXMuY29tbW9uLkFyZ3VtZW50VXBkYXRl8wEBwcHBwcHBwcHBwcHBwcHBwcEB"
                    + "AmlvLnNlbWlmYWFzLmNvbW1vbi5Db2RlY0Z1enpUZXN0JFBvc/QBAcgBAQNqYXZhLnV0aWwuQXJy"
                    + "YXlMaXP0AQEBaGVsbO8BAgADAXNhdmVlbWlmYWFzLuhjb21tb+Q=");
    CodecFuzzTest.boundedAllocation(
        input, () -> assertThrows(CodecException.class, () -> Outcome.body(input, LOADER)));
  }

  /**
   * A java.util.HashMap whose size claims about 10^9 entries in 33 bytes: the map must not be
   * allocated at the claimed capacity (it allocated 4 GB).
   */
  @Test
  void aMapSizeCannotClaimGigabytes() {
    refusedCheaply("AQBqYXZhLnV0aWwuSGFzaE1h8AH+9fb2wQkJCQkJAGoJ");
  }

  /**
   * An interface (java.util.List, java.util.Map) named as an object's class: instantiating it threw
   * InstantiationError, an Error that escaped the decoder instead of a refusal.
   */
  @Test
  void anInterfaceNamedAsAnObjectsClassIsRefused() {
    refusedCheaply("AQBqYXZhLnV0aWwuTGlz9AFRAAQDAXieAgICAgIAAgICAgICCSCYAgKY");
    refusedCheaply(
        "AQBqYXZhLnV0aWwuTWHwAQIDAYJraE1h8AECAwGCawEBamF2YS51dGlsLkltbXV0YWJsZUNvbGxlY3Rpb25zJExp"
            + "c3QwsgEAAAABgwICBA==");
  }

  /**
   * A remote call's outcome holding an immutable list (List.of) whose size claims about 10^8
   * elements in 93 bytes: Kryo reads that size without the flag the other lengths use, and
   * allocated 270 MB.
   */
  @Test
  void anImmutableListSizeCannotClaimHundredsOfMegabytes() {
    byte[] input =
        Base64.getDecoder()
            .decode(
                "AAEAaW8uc2VtaWZhYXMuY29tbW9uLkNvZGVjRnV6elRlc3QkUG9z9AEByAEBA2phdmEudXRpbC5J"
            + "bW11dGFibGVDb2xsZWN0aW9ucyRMaXN0MbIBoKCgoKCgoKBt");
    CodecFuzzTest.boundedAllocation(
        input, () -> assertThrows(CodecException.class, () -> Outcome.body(input, LOADER)));
  }

  /**
   * Argument updates whose positions and arguments do not pair up (here: no positions) are
   * refused with the reason, not a NullPointerException.
   */
  @Test
  void malformedArgumentUpdatesAreRefused() {
    byte[] input =
        Base64.getDecoder()
            .decode(
                "AAEAaW8uc2VtaWZhYXMuY29tbW9uLkFyZ3VtZW50VXBkYXRl8wEBAAEAgQABAAEjAAAAqKioqKj8"
            + "DgCoqKiorKioqGZhYXMuY29tbW9uLkFyZ3VtZW50VXBkYXRl8wEBAAEAgQABCGlv");
    assertThrows(
        IllegalArgumentException.class,
        () -> ArgumentUpdates.apply(Outcome.body(input, LOADER), CodecFuzzTest.sentArguments()));
  }
}
