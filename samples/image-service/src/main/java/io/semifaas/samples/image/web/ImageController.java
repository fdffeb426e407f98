package io.semifaas.samples.image.web;

import io.semifaas.samples.image.processing.Histogram;
import io.semifaas.samples.image.processing.ImageProcessor;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The offloadable handlers. Kept free of proxies (no AOP, no {@code @Validated}) and limited to
 * plain argument and return types, so each call can be shipped to a function and run there as plain
 * Java; validation happens in {@link ImageProcessor}, inside the handler.
 */
@RestController
@RequestMapping("/images")
public class ImageController {

  private final ImageProcessor processor;

  public ImageController(ImageProcessor processor) {
    this.processor = processor;
  }

  @PostMapping(value = "/resize", produces = MediaType.IMAGE_PNG_VALUE)
  public byte[] resize(
      @RequestParam("width") int width,
      @RequestParam("height") int height,
      @RequestBody byte[] image) {
    return processor.resize(image, width, height);
  }

  @PostMapping(value = "/blur/{radius}", produces = MediaType.IMAGE_PNG_VALUE)
  public byte[] blur(@PathVariable("radius") int radius, @RequestBody byte[] image) {
    return processor.blur(image, radius);
  }

  @GetMapping(value = "/thumbnails/{count}", produces = MediaType.IMAGE_PNG_VALUE)
  public byte[] thumbnails(
      @PathVariable("count") int count,
      @RequestParam(name = "seed", defaultValue = "1") long seed,
      @RequestParam(name = "size", defaultValue = "64") int size) {
    return processor.thumbnails(count, size, seed);
  }

  @PostMapping(value = "/histogram", produces = MediaType.APPLICATION_JSON_VALUE)
  public Histogram histogram(@RequestBody byte[] image) {
    return processor.histogram(image);
  }

  @GetMapping(value = "/generate/{width}/{height}", produces = MediaType.IMAGE_PNG_VALUE)
  public byte[] generate(
      @PathVariable("width") int width,
      @PathVariable("height") int height,
      @RequestParam(name = "seed", defaultValue = "1") long seed) {
    return processor.generate(width, height, seed);
  }
}
