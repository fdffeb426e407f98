package com.example.shop;

public record Item(String sku, long cents) {}
