package com.example.library;

import java.util.Optional;

/** A repository as Spring Data declares one: a derived query, implemented by a proxy. */
public interface Catalogue {
  Optional<String> findByIsbn(String isbn);
}
