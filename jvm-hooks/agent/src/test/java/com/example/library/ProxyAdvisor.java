package com.example.library;

/** Deeper inside a proxy's wiring. */
public class ProxyAdvisor {}
