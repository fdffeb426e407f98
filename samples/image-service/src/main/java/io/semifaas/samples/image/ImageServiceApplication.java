package io.semifaas.samples.image;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** Sample service whose CPU-bound image handlers are candidates for Semi-FaaS offloading. */
@SpringBootApplication
public class ImageServiceApplication {

  public static void main(String[] args) {
    SpringApplication.run(ImageServiceApplication.class, args);
  }
}
