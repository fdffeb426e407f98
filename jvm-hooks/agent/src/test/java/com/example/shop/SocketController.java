package com.example.shop;

import org.springframework.web.bind.annotation.GetMapping;

/**
 * A controller whose state cannot be encoded: a graph deeper than the codec follows. (A live
 * thread or socket would now cross as a remote reference.)
 */
public class SocketController {
  final Object[] state;

  public SocketController() {
    Object[] deep = new Object[0];
    for (int i = 0; i < 200_000; i++) {
      deep = new Object[] {deep};
    }
    state = deep;
  }

  @GetMapping("/ping")
  public String ping() {
    return "pong";
  }
}
