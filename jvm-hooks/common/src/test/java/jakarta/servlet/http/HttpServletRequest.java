package jakarta.servlet.http;

import java.util.Enumeration;
import java.util.Locale;
import java.util.Map;

/** The part of the servlet API's request interface the snapshot reads (test stand-in). */
public interface HttpServletRequest {
  String getMethod();

  String getRequestURI();

  String getQueryString();

  String getContextPath();

  String getServletPath();

  String getPathInfo();

  String getScheme();

  String getServerName();

  int getServerPort();

  String getRemoteAddr();

  String getContentType();

  String getCharacterEncoding();

  String getProtocol();

  boolean isSecure();

  Locale getLocale();

  Enumeration<String> getHeaderNames();

  Enumeration<String> getHeaders(String name);

  String getHeader(String name);

  Map<String, String[]> getParameterMap();

  String getParameter(String name);

  Enumeration<String> getAttributeNames();

  Object getAttribute(String name);

  Object getSession();
}
