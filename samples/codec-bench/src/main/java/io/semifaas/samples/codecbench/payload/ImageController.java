package io.semifaas.samples.codecbench.payload;

/** Stands for the sample's controller: the receiver that crosses with every closure. */
public class ImageController {

  private final ImageService service;

  public ImageController(ImageService service) {
    this.service = service;
  }

  @Override
  public String toString() {
    return "ImageController[" + service + "]";
  }
}
