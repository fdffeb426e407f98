package com.example.library;

/** Stands for what a proxy's callback holds (advisors, the bean factory): never crosses. */
public class ProxyWiring {
  final Object advisor = new ProxyAdvisor();
}
