package com.example.shop;

public final class Discount {
  final int percent;

  public Discount(int percent) {
    this.percent = percent;
  }
}
