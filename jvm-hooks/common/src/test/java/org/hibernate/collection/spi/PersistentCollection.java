package org.hibernate.collection.spi;

/** Stands for Hibernate's: lazy collections are recognised by this name. */
public interface PersistentCollection {
  boolean wasInitialized();
}
