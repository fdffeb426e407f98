package io.semifaas.samples.image.processing;

/**
 * Applies a separable filter: one pass along rows, then one along columns, each output sample a
 * weighted sum of source samples. Resizing and blurring are both this with different taps.
 */
final class SeparableFilter {

  private static final int HALF = Taps.ONE >> 1;

  private SeparableFilter() {}

  /**
   * @param horizontal taps per output column (its length is the output width)
   * @param vertical taps per output row (its length is the output height)
   */
  static Pixels apply(Pixels src, Taps[] horizontal, Taps[] vertical) {
    int outWidth = horizontal.length;
    int outHeight = vertical.length;
    int[] rows = new int[outWidth * src.height()];
    for (int y = 0; y < src.height(); y++) {
      int rowStart = y * src.width();
      for (int x = 0; x < outWidth; x++) {
        rows[y * outWidth + x] = combine(src.argb(), rowStart, 1, horizontal[x]);
      }
    }
    int[] out = new int[outWidth * outHeight];
    for (int y = 0; y < outHeight; y++) {
      for (int x = 0; x < outWidth; x++) {
        out[y * outWidth + x] = combine(rows, x, outWidth, vertical[y]);
      }
    }
    return new Pixels(outWidth, outHeight, out, src.alpha());
  }

  /** Weighted sum of the samples at {@code base + (first + k) * stride}, per ARGB channel. */
  private static int combine(int[] samples, int base, int stride, Taps taps) {
    int[] weights = taps.weights();
    int index = base + taps.first() * stride;
    long a = HALF;
    long r = HALF;
    long g = HALF;
    long b = HALF;
    for (int w : weights) {
      int p = samples[index];
      a += (long) (p >>> 24) * w;
      r += (long) ((p >> 16) & 0xFF) * w;
      g += (long) ((p >> 8) & 0xFF) * w;
      b += (long) (p & 0xFF) * w;
      index += stride;
    }
    return channel(a) << 24 | channel(r) << 16 | channel(g) << 8 | channel(b);
  }

  private static int channel(long weighted) {
    return (int) Math.min(255, Math.max(0, weighted >> Taps.SHIFT));
  }
}
