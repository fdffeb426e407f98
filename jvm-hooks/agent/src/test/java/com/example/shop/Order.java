package com.example.shop;

public record Order(String sku, int quantity) {}
