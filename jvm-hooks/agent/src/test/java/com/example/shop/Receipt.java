package com.example.shop;

public record Receipt(String sku, long totalCents, String region) {}
