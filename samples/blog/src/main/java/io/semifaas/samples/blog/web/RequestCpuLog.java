package io.semifaas.samples.blog.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.servlet.HandlerMapping;

/**
 * Logs the request thread's CPU time per request at DEBUG ({@code cpu-us GET /api/posts/{id}
 * 1234}), grouped by route pattern, for {@code measure.sh}. Off by default; it never changes a
 * response.
 */
@Component
public class RequestCpuLog extends OncePerRequestFilter {

  private static final Logger log = LoggerFactory.getLogger(RequestCpuLog.class);
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  @Override
  protected void doFilterInternal(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    if (!log.isDebugEnabled()) {
      chain.doFilter(request, response);
      return;
    }
    long start = THREADS.getCurrentThreadCpuTime();
    try {
      chain.doFilter(request, response);
    } finally {
      long micros = (THREADS.getCurrentThreadCpuTime() - start) / 1_000;
      Object pattern = request.getAttribute(HandlerMapping.BEST_MATCHING_PATTERN_ATTRIBUTE);
      String route = pattern == null ? request.getRequestURI() : pattern.toString();
      log.debug("cpu-us {} {} {}", request.getMethod(), route, micros);
    }
  }
}
