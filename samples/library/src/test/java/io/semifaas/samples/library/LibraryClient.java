package io.semifaas.samples.library;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One browser over real HTTP: keeps its cookies (the session), never follows redirects, asks for
 * HTML like a browser does, and remembers the CSRF token of the last form it was served.
 */
final class LibraryClient {

  record Reply(int status, String contentType, String body, String location) {

    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON (" + status + "): " + body, e);
      }
    }

    /** The number in the page footer ("page views: N"), or -1 if the page has none. */
    long visits() {
      Matcher m = VISITS.matcher(body);
      return m.find() ? Long.parseLong(m.group(1)) : -1;
    }
  }

  static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern CSRF = Pattern.compile("name=\"_csrf\"\\s+value=\"([^\"]+)\"");
  private static final Pattern VISITS = Pattern.compile("page views: (\\d+)");
  private static final String HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";

  private final String base;
  private final HttpClient http =
      HttpClient.newBuilder()
          .cookieHandler(new CookieManager())
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();
  private String csrf;
  private int pagesServed;
  private int requestsSent;

  LibraryClient(int port) {
    this.base = "http://127.0.0.1:" + port;
  }

  String base() {
    return base;
  }

  /** Pages served with a page-view count in their footer, counted by this client. */
  int pagesServed() {
    return pagesServed;
  }

  /** Requests this client has sent. */
  int requestsSent() {
    return requestsSent;
  }

  /** The CSRF token of the last form served (null before any). */
  String csrf() {
    return csrf;
  }

  /** A request with no Accept header, as a script would send it. */
  Reply get(String path) {
    return send(request(path).GET());
  }

  Reply page(String path) {
    return send(request(path).header("Accept", HTML).GET());
  }

  Reply page(String path, String referer) {
    return send(request(path).header("Accept", HTML).header("Referer", base + referer).GET());
  }

  Reply api(String path) {
    return send(request(path).header("Accept", "application/json").GET());
  }

  /** Posts a form with the CSRF token of the last form served, as the browser would. */
  Reply submit(String path, Map<String, String> fields) {
    Map<String, String> all = new LinkedHashMap<>(fields);
    if (csrf == null) {
      throw new AssertionError("no form was served yet, so there is no CSRF token");
    }
    all.put("_csrf", csrf);
    return post(path, all);
  }

  /** Posts a form as it is, without adding a CSRF token. */
  Reply post(String path, Map<String, String> fields) {
    String form =
        fields.entrySet().stream()
            .map(e -> encode(e.getKey()) + "=" + encode(e.getValue()))
            .collect(Collectors.joining("&"));
    return send(
        request(path)
            .header("Accept", HTML)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form)));
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(base + path));
  }

  private Reply send(HttpRequest.Builder request) {
    requestsSent++;
    try {
      HttpResponse<String> response =
          http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      Reply reply =
          new Reply(
              response.statusCode(),
              response.headers().firstValue("Content-Type").orElse(""),
              response.body(),
              response.headers().firstValue("Location").orElse(null));
      Matcher token = CSRF.matcher(reply.body());
      if (token.find()) {
        csrf = token.group(1);
      }
      if (reply.visits() >= 0) {
        pagesServed++;
      }
      return reply;
    } catch (IOException e) {
      throw new AssertionError("request failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
