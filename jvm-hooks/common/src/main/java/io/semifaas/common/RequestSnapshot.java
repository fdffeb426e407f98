package io.semifaas.common;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The by-value stand-in for an {@code HttpServletRequest} (jakarta or javax): what a handler reads
 * from its request without a round trip. The server builds it by reflection (the agent cannot link
 * against the application's servlet API); the function sees a JDK proxy of the same servlet
 * interface, loaded through the closure's class loader, whose unsupported methods throw {@link
 * Unsupported} naming the method (the offload fails and the handler runs on the server). The request body is not captured: reading it
 * here would consume it for a local run.
 */
public final class RequestSnapshot {
  private static final List<String> REQUEST_INTERFACES =
      List.of("jakarta.servlet.http.HttpServletRequest", "javax.servlet.http.HttpServletRequest");

  String requestInterface;
  String method;
  String requestUri;
  String queryString;
  String contextPath;
  String servletPath;
  String pathInfo;
  String scheme;
  String serverName;
  int serverPort;
  String remoteAddr;
  String contentType;
  String characterEncoding;
  String protocol;
  boolean secure;
  String locale;
  LinkedHashMap<String, ArrayList<String>> headers = new LinkedHashMap<>();
  LinkedHashMap<String, String[]> parameters = new LinkedHashMap<>();
  LinkedHashMap<String, Object> attributes = new LinkedHashMap<>();

  RequestSnapshot() {}

  /** A request method the snapshot does not carry: the offload's failure, not the handler's. */
  public static final class Unsupported extends UnsupportedOperationException {
    private static final long serialVersionUID = 1L;

    Unsupported(String message) {
      super(message);
    }
  }

  public String method() {
    return method;
  }

  public String requestUri() {
    return requestUri;
  }

  public String header(String name) {
    List<String> values = headerValues(name);
    return values.isEmpty() ? null : values.get(0);
  }

  public String parameter(String name) {
    String[] values = parameters.get(name);
    return values == null || values.length == 0 ? null : values[0];
  }

  private List<String> headerValues(String name) {
    for (Map.Entry<String, ArrayList<String>> e : headers.entrySet()) {
      if (e.getKey().equalsIgnoreCase(name)) {
        return e.getValue();
      }
    }
    return List.of();
  }

  /** The servlet request interface {@code value} implements, or null. */
  static Class<?> requestInterface(Class<?> type) {
    return REQUEST_INTERFACE.get(type).orElse(null);
  }

  /** {@link #requestInterface} per class: asked on every offload, it changes with no class. */
  private static final ClassValue<Optional<Class<?>>> REQUEST_INTERFACE =
      new ClassValue<>() {
        @Override
        protected Optional<Class<?>> computeValue(Class<?> type) {
          return Optional.ofNullable(Interfaces.named(type, REQUEST_INTERFACES));
        }
      };

  /** The servlet interface's methods by name (and parameter type), looked up once per interface. */
  private static final ClassValue<Map<String, Method>> METHODS =
      new ClassValue<>() {
        @Override
        protected Map<String, Method> computeValue(Class<?> type) {
          return new ConcurrentHashMap<>();
        }
      };

  /** Reads the snapshot of {@code request} through {@code api}, its servlet interface. */
  static RequestSnapshot of(Object request, Class<?> api) {
    Reader r = new Reader(request, api);
    RequestSnapshot s = new RequestSnapshot();
    s.requestInterface = api.getName();
    s.method = (String) r.call("getMethod");
    s.requestUri = (String) r.call("getRequestURI");
    s.queryString = (String) r.call("getQueryString");
    s.contextPath = (String) r.call("getContextPath");
    s.servletPath = (String) r.call("getServletPath");
    s.pathInfo = (String) r.call("getPathInfo");
    s.scheme = (String) r.call("getScheme");
    s.serverName = (String) r.call("getServerName");
    s.serverPort = (Integer) r.call("getServerPort");
    s.remoteAddr = (String) r.call("getRemoteAddr");
    s.contentType = (String) r.call("getContentType");
    s.characterEncoding = (String) r.call("getCharacterEncoding");
    s.protocol = (String) r.call("getProtocol");
    s.secure = (Boolean) r.call("isSecure");
    Locale locale = (Locale) r.call("getLocale");
    s.locale = locale == null ? null : locale.toLanguageTag();
    for (Object name : list((Enumeration<?>) r.call("getHeaderNames"))) {
      ArrayList<String> values = new ArrayList<>();
      for (Object value : list((Enumeration<?>) r.call("getHeaders", String.class, name))) {
        values.add((String) value);
      }
      s.headers.put((String) name, values);
    }
    Map<?, ?> parameters = (Map<?, ?>) r.call("getParameterMap");
    for (Map.Entry<?, ?> e : parameters.entrySet()) {
      s.parameters.put((String) e.getKey(), ((String[]) e.getValue()).clone());
    }
    for (Object name : list((Enumeration<?>) r.call("getAttributeNames"))) {
      Object value = r.call("getAttribute", String.class, name);
      if (isPlainValue(value)) {
        s.attributes.put((String) name, value);
      }
    }
    return s;
  }

  /** Request headers that carry credentials: a recorded sample keeps none of them. */
  private static final List<String> CREDENTIAL_HEADERS =
      List.of("cookie", "authorization", "proxy-authorization");

  /** This snapshot without its credential headers (a recorded sample outlives its request). */
  RequestSnapshot withoutCredentials() {
    headers.keySet().removeIf(name -> CREDENTIAL_HEADERS.contains(name.toLowerCase(Locale.ROOT)));
    return this;
  }

  private static boolean isPlainValue(Object value) {
    return value instanceof String
        || value instanceof Number
        || value instanceof Boolean
        || value instanceof Character;
  }

  private static List<?> list(Enumeration<?> e) {
    return e == null ? List.of() : Collections.list(e);
  }

  private static final Class<?>[] NO_PARAMETERS = {};
  private static final Object[] NO_ARGUMENTS = {};

  /**
   * Calls public methods of the servlet interface on the server's request. Methods are kept by
   * name alone: this reader calls each name with one signature.
   */
  private record Reader(Object request, Class<?> api) {
    Object call(String name) {
      return call(name, NO_PARAMETERS, NO_ARGUMENTS);
    }

    Object call(String name, Class<?> type, Object arg) {
      return call(name, new Class<?>[] {type}, new Object[] {arg});
    }

    private Object call(String name, Class<?>[] types, Object[] args) {
      try {
        Map<String, Method> methods = METHODS.get(api);
        Method method = methods.get(name);
        if (method == null) {
          method = api.getMethod(name, types);
          methods.put(name, method);
        }
        return method.invoke(request, args);
      } catch (InvocationTargetException e) {
        throw new IllegalStateException(
            "cannot snapshot the request: " + name + " threw " + e.getCause(), e.getCause());
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("cannot snapshot the request: " + name + ": " + e, e);
      }
    }
  }

  /** The packageable for servlet requests. */
  static final class Packer implements Packageable {
    @Override
    public boolean packs(Class<?> type) {
      return !Proxy.isProxyClass(type) && requestInterface(type) != null;
    }

    @Override
    public Class<?> packedType() {
      return RequestSnapshot.class;
    }

    @Override
    public Object pack(Object value) {
      return of(value, requestInterface(value.getClass()));
    }

    @Override
    public boolean unpacks(Object packed) {
      return packed instanceof RequestSnapshot;
    }

    @Override
    public Object unpack(Object packed, ClassLoader loader) {
      RequestSnapshot snapshot = (RequestSnapshot) packed;
      Class<?> api;
      try {
        api = Class.forName(snapshot.requestInterface, false, loader);
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException(
            "the request's servlet API " + snapshot.requestInterface + " cannot be loaded", e);
      }
      return Proxy.newProxyInstance(loader, new Class<?>[] {api}, new Handler(snapshot));
    }
  }

  /** The function-side request: answers reads from the snapshot. */
  static final class Handler implements InvocationHandler {
    private final RequestSnapshot s;
    private final Map<String, Object> attributes;

    Handler(RequestSnapshot snapshot) {
      this.s = snapshot;
      this.attributes = Collections.synchronizedMap(new LinkedHashMap<>(snapshot.attributes));
    }

    @Override
    public Object invoke(Object proxy, Method m, Object[] args) {
      String name = m.getName();
      Object arg = args == null || args.length == 0 ? null : args[0];
      switch (name) {
        case "getMethod":
          return s.method;
        case "getRequestURI":
          return s.requestUri;
        case "getRequestURL":
          return new StringBuffer(
              s.scheme + "://" + s.serverName + ":" + s.serverPort + s.requestUri);
        case "getQueryString":
          return s.queryString;
        case "getContextPath":
          return s.contextPath;
        case "getServletPath":
          return s.servletPath;
        case "getPathInfo":
          return s.pathInfo;
        case "getScheme":
          return s.scheme;
        case "getServerName":
          return s.serverName;
        case "getServerPort":
          return s.serverPort;
        case "getRemoteAddr":
          return s.remoteAddr;
        case "getContentType":
          return s.contentType;
        case "getCharacterEncoding":
          return s.characterEncoding;
        case "getProtocol":
          return s.protocol;
        case "isSecure":
          return s.secure;
        case "getLocale":
          return s.locale == null ? Locale.getDefault() : Locale.forLanguageTag(s.locale);
        case "getLocales":
          return Collections.enumeration(
              List.of(s.locale == null ? Locale.getDefault() : Locale.forLanguageTag(s.locale)));
        case "getHeader":
          return s.header((String) arg);
        case "getHeaders":
          return Collections.enumeration(s.headerValues((String) arg));
        case "getHeaderNames":
          return Collections.enumeration(new ArrayList<>(s.headers.keySet()));
        case "getIntHeader":
          String header = s.header((String) arg);
          return header == null ? -1 : Integer.parseInt(header.strip());
        case "getContentLength":
          String length = s.header("Content-Length");
          return length == null ? -1 : Integer.parseInt(length.strip());
        case "getContentLengthLong":
          String longLength = s.header("Content-Length");
          return longLength == null ? -1L : Long.parseLong(longLength.strip());
        case "getParameter":
          return s.parameter((String) arg);
        case "getParameterValues":
          String[] values = s.parameters.get((String) arg);
          return values == null ? null : values.clone();
        case "getParameterNames":
          return Collections.enumeration(new ArrayList<>(s.parameters.keySet()));
        case "getParameterMap":
          return Collections.unmodifiableMap(s.parameters);
        case "getAttribute":
          return attributes.get((String) arg);
        case "getAttributeNames":
          synchronized (attributes) {
            return Collections.enumeration(new ArrayList<>(attributes.keySet()));
          }
        case "setAttribute":
          attributes.put((String) arg, args[1]);
          return null;
        case "removeAttribute":
          attributes.remove((String) arg);
          return null;
        case "toString":
          return "RequestSnapshot[" + s.method + " " + s.requestUri + "]";
        case "hashCode":
          return System.identityHashCode(proxy);
        case "equals":
          return proxy == arg;
        default:
          throw new Unsupported(
              s.requestInterface
                  + "#"
                  + name
                  + " is not available in an offloaded handler (the request is a snapshot)");
      }
    }
  }
}
