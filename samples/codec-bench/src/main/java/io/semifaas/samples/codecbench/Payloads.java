package io.semifaas.samples.codecbench;

import io.semifaas.samples.codecbench.payload.Histogram;
import io.semifaas.samples.codecbench.payload.ImageController;
import io.semifaas.samples.codecbench.payload.ImageService;
import io.semifaas.samples.codecbench.payload.InvalidImageException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

/** The object graphs that cross in the image sample, built deterministically. */
final class Payloads {

  private Payloads() {}

  static Map<String, Object> all() {
    Map<String, Object> payloads = new LinkedHashMap<>();
    byte[] input = png(192, 192, 1);
    byte[] result = png(272, 272, 2);
    payloads.put("args (int, int, byte[" + input.length + "] PNG)", new Object[] {640, 480, input});
    payloads.put("result byte[" + result.length + "] PNG", result);
    payloads.put("histogram record (3 x int[256])", histogram());
    payloads.put(
        "receiver (controller -> service)",
        new ImageController(new ImageService(4096, 16 << 20, "png")));
    payloads.put("exception with message", exception());
    return payloads;
  }

  /** A gradient with noise in the low bits: compresses about as badly as a photo. */
  private static byte[] png(int width, int height, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int r = (x * 255 / width) ^ random.nextInt(8);
        int g = (y * 255 / height) ^ random.nextInt(8);
        int b = ((x + y) * 127 / (width + height)) ^ random.nextInt(8);
        image.setRGB(x, y, r << 16 | g << 8 | b);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static Histogram histogram() {
    SplittableRandom random = new SplittableRandom(3);
    int[][] bins = new int[3][256];
    for (int[] channel : bins) {
      for (int i = 0; i < channel.length; i++) {
        channel[i] = random.nextInt(10_000);
      }
    }
    return new Histogram(1024, 768, bins[0], bins[1], bins[2], 118.437);
  }

  /** Thrown a few frames deep, as a handler's exception would be. */
  private static InvalidImageException exception() {
    try {
      decodeBody(new byte[23], 3);
      throw new IllegalStateException("unreachable");
    } catch (InvalidImageException e) {
      return e;
    }
  }

  private static void decodeBody(byte[] body, int depth) {
    if (depth > 0) {
      decodeBody(body, depth - 1);
      return;
    }
    throw new InvalidImageException(
        "the request body (" + body.length + " bytes) is not a PNG or JPEG image");
  }
}
