package org.hibernate.proxy;

/** Stands for Hibernate's: lazy entities are recognised by this name. */
public interface HibernateProxy {
  LazyInitializer getHibernateLazyInitializer();
}
