package io.semifaas.samples.blog.markdown;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** SimHash over word 3-shingles, each shingle hashed with SHA-256 (deterministic, JDK only). */
final class Fingerprint {

  private static final int SHINGLE = 3;

  private Fingerprint() {}

  static String simHash(List<String> words) {
    MessageDigest sha256 = sha256();
    int[] weights = new int[64];
    for (int i = 0; i + SHINGLE <= words.size(); i++) {
      String shingle = String.join(" ", words.subList(i, i + SHINGLE));
      byte[] digest = sha256.digest(shingle.getBytes(StandardCharsets.UTF_8));
      long hash = ByteBuffer.wrap(digest).getLong();
      for (int bit = 0; bit < 64; bit++) {
        weights[bit] += ((hash >>> bit) & 1) == 1 ? 1 : -1;
      }
    }
    long fingerprint = 0;
    for (int bit = 0; bit < 64; bit++) {
      if (weights[bit] > 0) {
        fingerprint |= 1L << bit;
      }
    }
    return HexFormat.of().toHexDigits(fingerprint);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
