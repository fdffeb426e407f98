package io.semifaas.samples.image.processing;

/** Range checks for request parameters, with messages that name the offending value. */
final class Limits {

  private Limits() {}

  static void checkDimensions(int width, int height, int maxDimension) {
    if (width <= 0 || height <= 0) {
      throw new BadParameterException(
          "width and height must be positive, got " + width + "x" + height);
    }
    if (width > maxDimension || height > maxDimension) {
      throw new ImageTooLargeException(
          width + "x" + height + " exceeds the limit of " + maxDimension + " pixels per side");
    }
  }

  static void checkRange(String name, long value, long min, long max) {
    if (value < min || value > max) {
      throw new BadParameterException(
          name + " must be between " + min + " and " + max + ", got " + value);
    }
  }
}
