package io.semifaas.samples.library;

import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

/**
 * A lending library: members borrow and return books, librarians add and edit them. A
 * conventional Spring MVC + Security + Data JPA + Thymeleaf application.
 */
@SpringBootApplication
public class LibraryApplication {

  public static void main(String[] args) {
    SpringApplication.run(LibraryApplication.class, args);
  }

  /**
   * The library's calendar: midnight UTC of {@code library.today} (an ISO date), so loan dates and
   * due dates are the same on every run.
   */
  @Bean
  Clock clock(@Value("${library.today}") String today) {
    LocalDate date = LocalDate.parse(today);
    return Clock.fixed(date.atStartOfDay(ZoneOffset.UTC).toInstant(), ZoneOffset.UTC);
  }
}
