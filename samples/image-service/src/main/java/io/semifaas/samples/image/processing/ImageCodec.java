package io.semifaas.samples.image.processing;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Decodes request bodies (any format ImageIO reads: PNG, JPEG, ...) and encodes PNG responses.
 * Streams are memory-cached explicitly so no temporary files are written, whatever the process-wide
 * {@code ImageIO.setUseCache} setting is.
 */
final class ImageCodec {

  private ImageCodec() {}

  /**
   * Decodes an image, checking its declared size before the pixels are allocated so that a small
   * body declaring a huge image is rejected cheaply.
   */
  static Pixels decode(byte[] body, int maxDimension) {
    if (body == null || body.length == 0) {
      throw new InvalidImageException("the request body is empty; send PNG or JPEG bytes");
    }
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(body))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new InvalidImageException(
            "the request body (" + body.length + " bytes) is not a PNG or JPEG image");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        Limits.checkDimensions(reader.getWidth(0), reader.getHeight(0), maxDimension);
        return Pixels.of(reader.read(0));
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof ImageRequestException known) {
        throw known;
      }
      // Readers fail with IIOException or with runtime exceptions on corrupt data; the cause's
      // text varies by reader, so the client gets one stable message.
      throw new InvalidImageException(
          "the request body (" + body.length + " bytes) could not be decoded as an image");
    }
  }

  static byte[] encodePng(Pixels pixels) {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(pixels.width() * pixels.height());
    try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      writer.write(pixels.toImage());
    } catch (IOException e) {
      throw new UncheckedIOException("encoding a PNG in memory failed", e);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }
}
