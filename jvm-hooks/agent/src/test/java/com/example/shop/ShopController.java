package com.example.shop;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;

/** A stand-in for an application's controller: plain state, handlers with and without DTOs. */
public class ShopController extends BaseController {
  /** How often a handler body ran in this JVM (static: not part of the receiver's state). */
  public static final AtomicInteger BODY_RUNS = new AtomicInteger();

  final PriceList prices = new PriceList();

  public ShopController() {
    prices.items.add(new Item("apple", 30));
    prices.discounts.put("apple", new Discount(10));
  }

  @PostMapping("/buy")
  public Receipt buy(Order order) {
    BODY_RUNS.incrementAndGet();
    if (order.quantity() <= 0) {
      throw new OutOfStock("no " + order.sku() + " left");
    }
    long unit = prices.items.get(0).cents();
    return new Receipt(order.sku(), unit * order.quantity(), region);
  }

  @GetMapping("/greet")
  public String greet(Object name) {
    BODY_RUNS.incrementAndGet();
    return "hello " + name;
  }

  @RequestMapping("/count")
  public int count(int a, int b) {
    BODY_RUNS.incrementAndGet();
    return a + b;
  }

  /** Not deterministic: a different ticket on every run, wherever it runs. */
  @GetMapping("/ticket")
  public long ticket() {
    BODY_RUNS.incrementAndGet();
    return System.nanoTime();
  }

  @GetMapping("/later")
  public CompletableFuture<String> later() {
    BODY_RUNS.incrementAndGet();
    return CompletableFuture.completedFuture("later");
  }

  @ExceptionHandler(OutOfStock.class)
  public String outOfStock(OutOfStock e) {
    BODY_RUNS.incrementAndGet();
    return "sorry: " + e.getMessage();
  }
}
