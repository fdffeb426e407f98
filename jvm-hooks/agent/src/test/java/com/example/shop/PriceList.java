package com.example.shop;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

public final class PriceList {
  final List<Item> items = new ArrayList<>();
  final Map<String, Discount> discounts = new HashMap<>();
  PriceList self = this;
}
