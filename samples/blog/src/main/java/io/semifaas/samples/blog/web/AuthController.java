package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.domain.UserRepository;
import io.semifaas.samples.blog.service.BadCredentialsException;
import io.semifaas.samples.blog.service.PasswordHasher;
import jakarta.servlet.http.HttpSession;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** Login sessions: the session attribute {@code user} holds the logged-in username. */
@RestController
public class AuthController {

  private final UserRepository users;
  private final PasswordHasher hasher;

  public AuthController(UserRepository users, PasswordHasher hasher) {
    this.users = users;
    this.hasher = hasher;
  }

  /** Form fields {@code username} and {@code password}; 401 if they do not match a user. */
  @PostMapping("/login")
  public SessionView login(
      @RequestParam("username") String username,
      @RequestParam("password") String password,
      HttpSession session) {
    boolean valid =
        users
            .findByUsername(username)
            .map(user -> hasher.matches(password, user.getPasswordHash()))
            .orElse(false);
    if (!valid) {
      throw new BadCredentialsException();
    }
    session.setAttribute(SessionState.USER, username);
    return SessionState.view(session);
  }

  @PostMapping("/logout")
  public SessionView logout(HttpSession session) {
    session.invalidate();
    return new SessionView(null, List.of());
  }

  @GetMapping("/api/session")
  public SessionView session(HttpSession session) {
    return SessionState.view(session);
  }
}
