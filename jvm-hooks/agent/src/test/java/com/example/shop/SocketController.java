package com.example.shop;

/** A controller whose state cannot leave the server (it holds a live thread). */
public class SocketController {
  final Thread worker = new Thread(() -> {});

  public String ping() {
    return "pong";
  }
}
