package io.semifaas.samples.image.processing;

/**
 * Generates images from a seed alone: a diagonal gradient between two seed-chosen colors, blended
 * towards a third by fractal value noise, plus per-pixel grain (like a photo's sensor noise). Only
 * integer hashing and basic floating-point arithmetic are used, so the same seed gives the same
 * pixels on every JVM.
 */
final class PatternGenerator {

  private static final int OCTAVES = 4;
  private static final int GRAIN = 8;

  private PatternGenerator() {}

  static Pixels generate(int width, int height, long seed) {
    int from = color(seed, 1);
    int to = color(seed, 2);
    int accent = color(seed, 3);
    int cell = Math.max(4, Math.min(width, height) / 4);
    int[] argb = new int[width * height];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        double t = ((x + 0.5) / width + (y + 0.5) / height) / 2;
        double noise = fractalNoise(x, y, cell, seed);
        int base = lerp(from, to, t);
        int color = lerp(base, accent, noise * 0.75);
        argb[y * width + x] = grain(color, splitMix(seed ^ ((long) y << 32 | x)));
      }
    }
    return new Pixels(width, height, argb, false);
  }

  /** Sum of value-noise octaves, each half the cell size and half the amplitude; in [0, 1). */
  private static double fractalNoise(int x, int y, int cell, long seed) {
    double total = 0;
    double amplitude = 0.5;
    double norm = 0;
    for (int octave = 0; octave < OCTAVES && cell >= 1; octave++) {
      total += amplitude * valueNoise(x, y, cell, seed + octave);
      norm += amplitude;
      amplitude /= 2;
      cell /= 2;
    }
    return total / norm;
  }

  /** Random values on a lattice of the given cell size, smoothly interpolated between. */
  private static double valueNoise(int x, int y, int cell, long seed) {
    int cx = x / cell;
    int cy = y / cell;
    double fx = smooth((double) (x % cell) / cell);
    double fy = smooth((double) (y % cell) / cell);
    double top = mixDouble(lattice(cx, cy, seed), lattice(cx + 1, cy, seed), fx);
    double bottom = mixDouble(lattice(cx, cy + 1, seed), lattice(cx + 1, cy + 1, seed), fx);
    return mixDouble(top, bottom, fy);
  }

  private static double lattice(int cx, int cy, long seed) {
    long h = splitMix(seed ^ splitMix(((long) cx << 32) ^ (cy & 0xFFFFFFFFL)));
    return (h >>> 11) * 0x1.0p-53;
  }

  private static double smooth(double t) {
    return t * t * (3 - 2 * t);
  }

  private static double mixDouble(double a, double b, double t) {
    return a + (b - a) * t;
  }

  /** Offsets each channel by up to +-GRAIN/2, taking the offsets from the bits of {@code hash}. */
  private static int grain(int color, long hash) {
    int out = 0xFF000000;
    for (int shift = 0; shift <= 16; shift += 8) {
      int offset = (int) ((hash >>> (shift * 2)) & 0xFF) * GRAIN / 256 - GRAIN / 2;
      int c = Math.min(255, Math.max(0, ((color >> shift) & 0xFF) + offset));
      out |= c << shift;
    }
    return out;
  }

  /** An opaque color derived from the seed; {@code index} picks one of several per seed. */
  private static int color(long seed, int index) {
    return 0xFF000000 | (int) (splitMix(seed * 31 + index) & 0xFFFFFF);
  }

  /** Per-channel linear interpolation between two opaque colors. */
  private static int lerp(int a, int b, double t) {
    int out = 0xFF000000;
    for (int shift = 0; shift <= 16; shift += 8) {
      int ca = (a >> shift) & 0xFF;
      int cb = (b >> shift) & 0xFF;
      int c = (int) Math.round(ca + (cb - ca) * t);
      out |= c << shift;
    }
    return out;
  }

  /** The SplitMix64 finalizer: a fixed, well-mixed 64-bit hash. */
  static long splitMix(long z) {
    z += 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
