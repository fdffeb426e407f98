package io.semifaas.samples.codecbench.payload;

/** Stands for the sample's stateless service bean: only final primitive/String config. */
public class ImageService {

  private final int maxDimension;
  private final int maxBodyBytes;
  private final String format;

  public ImageService(int maxDimension, int maxBodyBytes, String format) {
    this.maxDimension = maxDimension;
    this.maxBodyBytes = maxBodyBytes;
    this.format = format;
  }

  @Override
  public String toString() {
    return "ImageService[" + maxDimension + ", " + maxBodyBytes + ", " + format + "]";
  }
}
