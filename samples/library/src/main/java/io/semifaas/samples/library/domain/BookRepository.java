package io.semifaas.samples.library.domain;

import java.util.List;
import java.util.Optional;
import org.springframework.data.jpa.repository.JpaRepository;

public interface BookRepository extends JpaRepository<Book, Long> {

  /** The catalogue order: by title, then by id for equal titles. */
  List<Book> findAllByOrderByTitleAscIdAsc();

  List<Book> findAllByOrderByIdAsc();

  Optional<Book> findByIsbn(String isbn);
}
