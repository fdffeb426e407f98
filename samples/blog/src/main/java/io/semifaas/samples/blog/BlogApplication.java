package io.semifaas.samples.blog;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cache.annotation.EnableCaching;

/**
 * Stateful sample service: login sessions, JPA repositories, a cache and server-side views, whose
 * handlers hold references that must stay on the server when they are offloaded.
 */
@SpringBootApplication
@EnableCaching
public class BlogApplication {

  public static void main(String[] args) {
    SpringApplication.run(BlogApplication.class, args);
  }
}
