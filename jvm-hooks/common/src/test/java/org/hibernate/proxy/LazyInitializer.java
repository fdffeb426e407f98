package org.hibernate.proxy;

/** Stands for Hibernate's. */
public interface LazyInitializer {
  boolean isUninitialized();

  Object getImplementation();
}
