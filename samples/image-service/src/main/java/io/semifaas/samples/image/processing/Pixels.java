package io.semifaas.samples.image.processing;

import java.awt.image.BufferedImage;

/**
 * An image as packed ARGB ints, row by row: the one representation every operation works on, so
 * results depend only on pixel arithmetic and not on Java2D rendering pipelines.
 *
 * @param alpha whether the alpha channel carries information (decides the encoded PNG type)
 */
public record Pixels(int width, int height, int[] argb, boolean alpha) {

  public Pixels {
    if (width <= 0 || height <= 0 || argb.length != width * height) {
      throw new IllegalArgumentException(
          "pixel buffer of " + argb.length + " does not match " + width + "x" + height);
    }
  }

  /** An opaque black image of the given size. */
  public static Pixels blank(int width, int height) {
    return new Pixels(width, height, new int[width * height], false);
  }

  public static Pixels of(BufferedImage image) {
    int width = image.getWidth();
    int height = image.getHeight();
    int[] argb = image.getRGB(0, 0, width, height, null, 0, width);
    return new Pixels(width, height, argb, image.getColorModel().hasAlpha());
  }

  public BufferedImage toImage() {
    int type = alpha ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB;
    BufferedImage image = new BufferedImage(width, height, type);
    image.setRGB(0, 0, width, height, argb, 0, width);
    return image;
  }

  public int get(int x, int y) {
    return argb[y * width + x];
  }

  public void set(int x, int y, int value) {
    argb[y * width + x] = value;
  }
}
