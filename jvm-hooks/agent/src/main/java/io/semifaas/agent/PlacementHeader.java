package io.semifaas.agent;

import io.semifaas.common.Interfaces;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Opt-in ({@code semifaas.placement-header=NAME}): the response carries a header saying where the
 * request's handler ran, {@code offloaded}, {@code local}, {@code reexecuted} (its offload failed
 * after a remote write and it ran again on the server with its call log), {@code diverged} (see
 * {@link OffloadDivergedException}) or {@code abandoned} (see {@link OffloadAbandonedException}),
 * so a load generator can attribute each
 * request (the burst experiment does). Off by default: responses stay as the application makes
 * them. The first handler of a request decides (an error page rendered afterwards does not
 * overwrite it). Spring's current response is reached by reflection through the application's
 * class loader; anything unexpected leaves the response alone.
 */
final class PlacementHeader {
  static final String KEY = "semifaas.placement-header";
  static final String OFFLOADED = "offloaded";
  static final String LOCAL = "local";
  static final String ABANDONED = "abandoned";
  static final String REEXECUTED = "reexecuted";
  static final String DIVERGED = "diverged";

  private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}");
  private static final String HOLDER =
      "org.springframework.web.context.request.RequestContextHolder";

  private static volatile String name;

  /** The holder's {@code getRequestAttributes()}, per application class loader. */
  private static final Map<ClassLoader, Method> ATTRIBUTES = new ConcurrentHashMap<>();

  private PlacementHeader() {}

  /** Applies the key: null or blank turns the header off; anything but a header name is refused. */
  static void configure(String value) throws ConfigException {
    if (value == null || value.isBlank()) {
      name = null;
      return;
    }
    String header = value.strip();
    if (!TOKEN.matcher(header).matches()) {
      throw new ConfigException(
          KEY + " must be an HTTP header name (letters, digits, '-'), not '" + value + "'", null);
    }
    name = header;
  }

  /** Sets the header on the current request's response, if on and not set yet. Never throws. */
  static void mark(Object bean, String where) {
    String header = name;
    if (header == null || bean == null) {
      return;
    }
    try {
      ClassLoader loader = bean.getClass().getClassLoader();
      Method attributes =
          ATTRIBUTES.computeIfAbsent(
              loader == null ? ClassLoader.getSystemClassLoader() : loader,
              PlacementHeader::attributesMethod);
      Object current = attributes.invoke(null);
      if (current == null) {
        return;
      }
      Method getResponse = GET_RESPONSE.get(current.getClass());
      Object response = getResponse == null ? null : getResponse.invoke(current);
      if (response == null) {
        return;
      }
      Method[] headers = HEADER_METHODS.get(response.getClass());
      if (headers.length == 2 && !(Boolean) headers[0].invoke(response, header)) {
        headers[1].invoke(response, header, where);
      }
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      // Not a servlet request, or no Spring web on this loader: nothing to mark.
    }
  }

  private static final List<String> RESPONSE_INTERFACES =
      List.of("jakarta.servlet.http.HttpServletResponse", "javax.servlet.http.HttpServletResponse");

  /** The request attributes' {@code getResponse()} per class; null when it has none. */
  private static final ClassValue<Method> GET_RESPONSE =
      new ClassValue<>() {
        @Override
        protected Method computeValue(Class<?> type) {
          try {
            return type.getMethod("getResponse");
          } catch (NoSuchMethodException e) {
            return null;
          }
        }
      };

  /**
   * {@code containsHeader} and {@code setHeader} per response class, through the servlet interface:
   * during an error dispatch the response is a filter's wrapper, often of a class that is not
   * public. Empty when the class is no servlet response. Looked up once per class, not per request.
   */
  private static final ClassValue<Method[]> HEADER_METHODS =
      new ClassValue<>() {
        @Override
        protected Method[] computeValue(Class<?> type) {
          Class<?> servlet = Interfaces.named(type, RESPONSE_INTERFACES);
          if (servlet == null) {
            return new Method[0];
          }
          try {
            return new Method[] {
              servlet.getMethod("containsHeader", String.class),
              servlet.getMethod("setHeader", String.class, String.class)
            };
          } catch (NoSuchMethodException e) {
            return new Method[0];
          }
        }
      };

  private static Method attributesMethod(ClassLoader loader) {
    try {
      return Class.forName(HOLDER, false, loader).getMethod("getRequestAttributes");
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("no Spring web on " + loader, e);
    }
  }
}
