package io.semifaas.samples.image.processing;

/**
 * Per-channel value counts of an image (256 bins each) and its mean brightness (Rec. 601 luma, 0 to
 * 255, rounded to three decimals). Serialized as JSON by the web layer.
 */
public record Histogram(
    int width, int height, int[] red, int[] green, int[] blue, double meanBrightness) {

  static Histogram of(Pixels pixels) {
    int[] red = new int[256];
    int[] green = new int[256];
    int[] blue = new int[256];
    long lumaSum = 0;
    for (int p : pixels.argb()) {
      int r = (p >> 16) & 0xFF;
      int g = (p >> 8) & 0xFF;
      int b = p & 0xFF;
      red[r]++;
      green[g]++;
      blue[b]++;
      lumaSum += 299L * r + 587L * g + 114L * b;
    }
    long count = (long) pixels.width() * pixels.height();
    // Integer sums then one division: the same value wherever it is computed.
    double mean = Math.round(lumaSum / (double) count) / 1000.0;
    return new Histogram(pixels.width(), pixels.height(), red, green, blue, mean);
  }
}
