package io.semifaas.samples.image.processing;

import java.util.Arrays;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Service;

/**
 * The image operations behind the HTTP handlers. Stateless apart from final limits, so the
 * controller holding it can be copied to another JVM and run there unchanged.
 */
@Service
public class ImageProcessor {

  static final int MAX_BLUR_RADIUS = 64;
  static final int MAX_THUMBNAILS = 64;
  static final int MIN_THUMBNAIL_SIZE = 16;
  static final int MAX_THUMBNAIL_SIZE = 256;
  private static final int GRID_GAP = 4;
  private static final int GRID_BACKGROUND = 0xFF202020;

  private final int maxDimension;
  private final int maxBodyBytes;

  public ImageProcessor(
      @Value("${images.max-dimension:4096}") int maxDimension,
      @Value("${images.max-body-bytes:16777216}") int maxBodyBytes) {
    this.maxDimension = maxDimension;
    this.maxBodyBytes = maxBodyBytes;
  }

  /** Resamples the image to exactly {@code width} x {@code height}. */
  public byte[] resize(byte[] image, int width, int height) {
    Limits.checkDimensions(width, height, maxDimension);
    Pixels src = decode(image);
    Pixels out =
        SeparableFilter.apply(
            src, Taps.resampling(src.width(), width), Taps.resampling(src.height(), height));
    return ImageCodec.encodePng(out);
  }

  /** Gaussian blur with the given radius in pixels; the size is unchanged. */
  public byte[] blur(byte[] image, int radius) {
    Limits.checkRange("radius", radius, 1, MAX_BLUR_RADIUS);
    Pixels src = decode(image);
    Pixels out =
        SeparableFilter.apply(
            src, Taps.gaussian(src.width(), radius), Taps.gaussian(src.height(), radius));
    return ImageCodec.encodePng(out);
  }

  public Histogram histogram(byte[] image) {
    return Histogram.of(decode(image));
  }

  public byte[] generate(int width, int height, long seed) {
    Limits.checkDimensions(width, height, maxDimension);
    return ImageCodec.encodePng(PatternGenerator.generate(width, height, seed));
  }

  /**
   * A near-square grid of {@code count} thumbnails of {@code size} pixels, each generated at twice
   * the size from its own seed and scaled down.
   */
  public byte[] thumbnails(int count, int size, long seed) {
    Limits.checkRange("count", count, 1, MAX_THUMBNAILS);
    Limits.checkRange("size", size, MIN_THUMBNAIL_SIZE, MAX_THUMBNAIL_SIZE);
    int columns = (int) Math.ceil(Math.sqrt(count));
    int rows = (count + columns - 1) / columns;
    Pixels grid =
        Pixels.blank(
            columns * size + (columns + 1) * GRID_GAP, rows * size + (rows + 1) * GRID_GAP);
    Arrays.fill(grid.argb(), GRID_BACKGROUND);
    Taps[] taps = Taps.resampling(2 * size, size);
    for (int i = 0; i < count; i++) {
      long thumbSeed = PatternGenerator.splitMix(seed + i);
      Pixels thumb =
          SeparableFilter.apply(
              PatternGenerator.generate(2 * size, 2 * size, thumbSeed), taps, taps);
      int left = GRID_GAP + (i % columns) * (size + GRID_GAP);
      int top = GRID_GAP + (i / columns) * (size + GRID_GAP);
      for (int y = 0; y < size; y++) {
        System.arraycopy(
            thumb.argb(), y * size, grid.argb(), (top + y) * grid.width() + left, size);
      }
    }
    return ImageCodec.encodePng(grid);
  }

  private Pixels decode(byte[] image) {
    if (image != null && image.length > maxBodyBytes) {
      throw new ImageTooLargeException(
          "the request body has " + image.length + " bytes, the limit is " + maxBodyBytes);
    }
    return ImageCodec.decode(image, maxDimension);
  }
}
