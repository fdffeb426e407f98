package io.semifaas.samples.image.processing;

/**
 * The source samples one output sample is made of: {@code weights.length} consecutive samples
 * starting at {@code first}, with fixed-point weights summing to {@link #ONE}. Integer weights keep
 * results bit-identical on every JVM.
 */
record Taps(int first, int[] weights) {

  static final int SHIFT = 14;
  static final int ONE = 1 << SHIFT;

  /** Scales non-negative real weights to integers that sum to exactly {@link #ONE}. */
  static Taps normalized(int first, double[] real) {
    double sum = 0;
    for (double w : real) {
      sum += w;
    }
    int[] weights = new int[real.length];
    int total = 0;
    int largest = 0;
    for (int i = 0; i < real.length; i++) {
      weights[i] = (int) Math.round(real[i] / sum * ONE);
      total += weights[i];
      if (weights[i] > weights[largest]) {
        largest = i;
      }
    }
    // Rounding leaves a small residue; giving it to the largest tap keeps flat areas exact.
    weights[largest] += ONE - total;
    return new Taps(first, weights);
  }

  /**
   * Taps for resampling {@code in} samples to {@code out} with a triangle filter that widens when
   * shrinking, so every source sample contributes (no aliasing from skipped pixels). The source
   * sample nearest the center always has weight at least 1/2, so no row of taps is empty.
   */
  static Taps[] resampling(int in, int out) {
    double scale = (double) in / out;
    double support = Math.max(1.0, scale);
    Taps[] taps = new Taps[out];
    for (int i = 0; i < out; i++) {
      double center = (i + 0.5) * scale;
      int lo = Math.max(0, (int) Math.floor(center - support));
      int hi = Math.min(in, (int) Math.ceil(center + support));
      double[] real = new double[hi - lo];
      for (int j = lo; j < hi; j++) {
        real[j - lo] = Math.max(0.0, 1.0 - Math.abs((j + 0.5 - center) / support));
      }
      taps[i] = normalized(lo, real);
    }
    return taps;
  }

  /**
   * Taps for a Gaussian blur of the given radius (sigma = radius / 2) over {@code n} samples. Near
   * the edges the kernel is cut to the image and renormalized, so edges do not darken.
   */
  static Taps[] gaussian(int n, int radius) {
    double sigma = radius / 2.0;
    double[] kernel = new double[2 * radius + 1];
    for (int k = -radius; k <= radius; k++) {
      kernel[k + radius] = StrictMath.exp(-(k * k) / (2 * sigma * sigma));
    }
    Taps[] taps = new Taps[n];
    for (int i = 0; i < n; i++) {
      int lo = Math.max(0, i - radius);
      int hi = Math.min(n, i + radius + 1);
      double[] real = new double[hi - lo];
      System.arraycopy(kernel, lo - (i - radius), real, 0, real.length);
      taps[i] = normalized(lo, real);
    }
    return taps;
  }
}
