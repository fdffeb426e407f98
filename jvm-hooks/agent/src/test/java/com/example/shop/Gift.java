package com.example.shop;

/** Referenced by no shipped class: a function must fetch it through the fallback. */
public record Gift(String name) {}
