package com.example.shop;

import org.springframework.web.bind.annotation.GetMapping;

/** A controller whose state cannot leave the server (it holds a live thread). */
public class SocketController {
  final Thread worker = new Thread(() -> {});

  @GetMapping("/ping")
  public String ping() {
    return "pong";
  }
}
