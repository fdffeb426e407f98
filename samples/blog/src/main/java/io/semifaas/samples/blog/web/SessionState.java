package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.service.NotLoggedInException;
import jakarta.servlet.http.HttpSession;
import java.util.ArrayList;
import java.util.List;

/**
 * The session attributes the handlers maintain. Attributes are always replaced, never mutated in
 * place, so a change is one {@code setAttribute} call whichever side of the session it runs on.
 */
final class SessionState {

  /** The logged-in username (a {@code String}). */
  static final String USER = "user";

  /** Ids of the posts viewed in this session, oldest first (an {@code ArrayList<Long>}). */
  static final String VISITED = "visited";

  private SessionState() {}

  static String user(HttpSession session) {
    return (String) session.getAttribute(USER);
  }

  static String requireUser(HttpSession session, String action) {
    String user = user(session);
    if (user == null) {
      throw new NotLoggedInException(action);
    }
    return user;
  }

  @SuppressWarnings("unchecked")
  static List<Long> visited(HttpSession session) {
    Object visited = session.getAttribute(VISITED);
    return visited == null ? List.of() : List.copyOf((List<Long>) visited);
  }

  static void recordVisit(HttpSession session, long postId) {
    List<Long> visited = new ArrayList<>(visited(session));
    visited.add(postId);
    session.setAttribute(VISITED, visited);
  }

  static SessionView view(HttpSession session) {
    return new SessionView(user(session), visited(session));
  }
}
