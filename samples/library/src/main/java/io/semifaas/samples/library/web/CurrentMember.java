package io.semifaas.samples.library.web;

import io.semifaas.samples.library.domain.Member;
import io.semifaas.samples.library.domain.MemberRepository;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Optional;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.stereotype.Component;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

/**
 * The member behind the current request and details of the request itself, found through the
 * thread-bound holders ({@link SecurityContextHolder}, {@link RequestContextHolder}) rather than
 * handler arguments.
 */
@Component
public class CurrentMember {

  private final MemberRepository members;

  public CurrentMember(MemberRepository members) {
    this.members = members;
  }

  /** The logged-in member's username, or empty for an anonymous request. */
  public Optional<String> username() {
    Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
    if (authentication == null
        || !authentication.isAuthenticated()
        || authentication instanceof AnonymousAuthenticationToken) {
      return Optional.empty();
    }
    return Optional.of(authentication.getName());
  }

  /** The logged-in member, or empty for an anonymous request. */
  public Optional<Member> find() {
    return username().flatMap(members::findByUsername);
  }

  /** The logged-in member; only for pages that the security rules keep from anonymous users. */
  public Member require() {
    return find().orElseThrow(() -> new IllegalStateException("no member is logged in"));
  }

  /** The path (and query) of the page being served. */
  public String requestPath() {
    HttpServletRequest request = request();
    String query = request.getQueryString();
    return query == null ? request.getRequestURI() : request.getRequestURI() + "?" + query;
  }

  /**
   * Where a "back" link should lead: the page the browser came from (its {@code Referer}) if that
   * is another page of this site, otherwise {@code fallback}. Only the path and query are kept, so
   * the link does not depend on the host name the site was reached by.
   */
  public String backLink(String fallback) {
    HttpServletRequest request = request();
    String referer = request.getHeader("Referer");
    if (referer == null) {
      return fallback;
    }
    try {
      URI uri = new URI(referer);
      String path = uri.getRawPath();
      if (path == null || !path.startsWith("/") || path.startsWith("//")) {
        return fallback;
      }
      if (uri.getHost() != null && !uri.getHost().equalsIgnoreCase(request.getServerName())) {
        return fallback;
      }
      String back = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
      return back.equals(requestPath()) ? fallback : back;
    } catch (URISyntaxException e) {
      return fallback;
    }
  }

  private static HttpServletRequest request() {
    ServletRequestAttributes attributes =
        (ServletRequestAttributes) RequestContextHolder.currentRequestAttributes();
    return attributes.getRequest();
  }
}
