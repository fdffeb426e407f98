package io.semifaas.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jakarta.servlet.http.HttpServletRequest;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Export scopes, the server-bound classification, packageables and in/out arguments. */
class RemoteReferencesTest {
  private static final ClassLoader LOADER = RemoteReferencesTest.class.getClassLoader();

  @AfterEach
  void reset() {
    RemoteClasses.configure(null, null);
  }

  /**
   * An application object holding a server-bound resource and plain state. Not final: Kryo writes
   * no class name for fields of a final type, so those cannot be substituted.
   */
  static class Service {
    final String name = "posts";
    final InputStream source = new ByteArrayInputStream(new byte[] {1});
    final ReentrantLock lock = new ReentrantLock();
  }

  static final class Receiver {
    final Service service = new Service();
    final Service again = service;
    final List<String> tags = List.of("a");
  }

  static class Settings {
    String theme = "dark";
  }

  @Test
  void serverBoundObjectsCrossAsReferencesAndResolveBack() throws Exception {
    Receiver receiver = new Receiver();
    ExportScope scope = new ExportScope(null);
    byte[] bytes = ObjectCodec.serialize(receiver, scope);
    assertEquals(1, scope.exportedCount(), "the service is exported once, the root never");

    Receiver copy = assertInstanceOf(Receiver.class, ObjectCodec.deserialize(bytes, LOADER, scope));
    assertSame(receiver.service, copy.service, "the reference resolves to the server's object");
    assertSame(copy.service, copy.again);
    assertEquals(List.of("a"), copy.tags);
  }

  @Test
  void referencesInsideCollectionsRoundTripThroughTheScope() throws Exception {
    Service service = new Service();
    ExportScope scope = new ExportScope(null);
    Object[] args = {"x", service, List.of(service), Map.of("s", service)};
    byte[] bytes = ObjectCodec.serialize(args, scope);
    Object[] seen = (Object[]) ObjectCodec.deserialize(bytes, LOADER);
    RemoteRef ref = assertInstanceOf(RemoteRef.class, seen[1]);
    assertEquals(Service.class.getName(), ref.className());
    assertSame(seen[1], ((List<?>) seen[2]).get(0), "one reference per object");

    Object[] back = (Object[]) ObjectCodec.deserialize(bytes, LOADER, scope);
    assertSame(service, back[1]);
    assertSame(service, ((List<?>) back[2]).get(0));
    assertSame(service, ((Map<?, ?>) back[3]).get("s"));
  }

  @Test
  void aReferenceFromAnotherScopeIsRefusedByName() throws Exception {
    ExportScope exporting = new ExportScope(null);
    byte[] bytes = ObjectCodec.serialize(new Object[] {new Service()}, exporting);
    ExportScope other = new ExportScope(null);
    CodecException e =
        assertThrows(CodecException.class, () -> ObjectCodec.deserialize(bytes, LOADER, other));
    assertTrue(e.getMessage().contains("was not exported to this invocation"), e.getMessage());
    ExportScope child = new ExportScope(exporting);
    Object[] ok = (Object[]) ObjectCodec.deserialize(bytes, LOADER, child);
    assertInstanceOf(Service.class, ok[0]);
  }

  @Test
  void classificationFollowsDefaultsAndConfiguration() {
    assertTrue(RemoteClasses.isServerBound(ByteArrayInputStream.class));
    assertTrue(RemoteClasses.isServerBound(ReentrantLock.class));
    assertTrue(RemoteClasses.isServerBound(Service.class), "holds a stream and a lock");
    assertTrue(RemoteClasses.isServerBound(HttpServletRequest.class));
    Runnable jdkProxy =
        (Runnable) Proxy.newProxyInstance(LOADER, new Class<?>[] {Runnable.class}, (p, m, a) -> null);
    assertTrue(RemoteClasses.isServerBound(jdkProxy.getClass()));
    assertFalse(RemoteClasses.isServerBound(String.class));
    assertFalse(RemoteClasses.isServerBound(Settings.class));

    RemoteClasses.configure("io.semifaas.common.RemoteReferencesTest$Settings", Service.class.getName());
    assertTrue(RemoteClasses.isServerBound(Settings.class));
    assertFalse(RemoteClasses.isServerBound(Service.class), "copy-classes wins");
    RemoteClasses.configure("io.semifaas.", null);
    assertTrue(RemoteClasses.isServerBound(Settings.class), "package prefixes match");
  }

  @Test
  void aJdkProxyIsPresentedAsItsInterface() throws Exception {
    Runnable jdkProxy =
        (Runnable) Proxy.newProxyInstance(LOADER, new Class<?>[] {Runnable.class}, (p, m, a) -> null);
    ExportScope scope = new ExportScope(null);
    RemoteRef ref = scope.export(jdkProxy);
    assertEquals("java.lang.Runnable", ref.className());
    assertArrayEquals(new String[] {"java.lang.Runnable"}, ref.interfaces());
    assertNotEquals(ref.id(), new ExportScope(null).export(jdkProxy).id());
  }

  /** A server request, read through the servlet interface. */
  static final class ServerRequest implements HttpServletRequest {
    public String getMethod() {
      return "POST";
    }

    public String getRequestURI() {
      return "/posts/7";
    }

    public String getQueryString() {
      return "draft=true";
    }

    public String getContextPath() {
      return "";
    }

    public String getServletPath() {
      return "/posts/7";
    }

    public String getPathInfo() {
      return null;
    }

    public String getScheme() {
      return "http";
    }

    public String getServerName() {
      return "blog.local";
    }

    public int getServerPort() {
      return 8080;
    }

    public String getRemoteAddr() {
      return "10.0.0.1";
    }

    public String getContentType() {
      return "application/x-www-form-urlencoded";
    }

    public String getCharacterEncoding() {
      return "UTF-8";
    }

    public String getProtocol() {
      return "HTTP/1.1";
    }

    public boolean isSecure() {
      return false;
    }

    public Locale getLocale() {
      return Locale.FRANCE;
    }

    public Enumeration<String> getHeaderNames() {
      return Collections.enumeration(List.of("Accept", "X-Trace"));
    }

    public Enumeration<String> getHeaders(String name) {
      return Collections.enumeration(
          name.equals("Accept") ? List.of("text/html", "*/*") : List.of("t-1"));
    }

    public String getHeader(String name) {
      throw new AssertionError("the snapshot reads getHeaders");
    }

    public Map<String, String[]> getParameterMap() {
      Map<String, String[]> map = new LinkedHashMap<>();
      map.put("title", new String[] {"Hello"});
      map.put("tag", new String[] {"a", "b"});
      return map;
    }

    public String getParameter(String name) {
      throw new AssertionError("the snapshot reads getParameterMap");
    }

    public Enumeration<String> getAttributeNames() {
      return Collections.enumeration(List.of("user", "thread"));
    }

    public Object getAttribute(String name) {
      return name.equals("user") ? "ann" : Thread.currentThread();
    }

    public Object getSession() {
      throw new AssertionError("never called");
    }
  }

  @Test
  void aRequestCrossesAsASnapshotTheFunctionCanRead() throws Exception {
    ExportScope scope = new ExportScope(null);
    byte[] bytes = ObjectCodec.serialize(new Object[] {new ServerRequest()}, scope);
    assertEquals(0, scope.exportedCount(), "packed, not exported");
    Object[] raw = (Object[]) ObjectCodec.deserialize(bytes, LOADER);
    RequestSnapshot snapshot = assertInstanceOf(RequestSnapshot.class, raw[0]);
    assertEquals("/posts/7", snapshot.requestUri());

    HttpServletRequest request =
        (HttpServletRequest) Packageables.unpack(snapshot, LOADER);
    assertEquals("POST", request.getMethod());
    assertEquals("text/html", request.getHeader("accept"), "header names ignore case");
    assertEquals(List.of("text/html", "*/*"), Collections.list(request.getHeaders("Accept")));
    assertEquals("Hello", request.getParameter("title"));
    assertArrayEquals(new String[] {"a", "b"}, request.getParameterMap().get("tag"));
    assertEquals("ann", request.getAttribute("user"));
    assertNull(request.getAttribute("thread"), "only plain attribute values are captured");
    assertEquals(Locale.FRANCE, request.getLocale());
    assertEquals(8080, request.getServerPort());
    UnsupportedOperationException e =
        assertThrows(UnsupportedOperationException.class, request::getSession);
    assertTrue(e.getMessage().contains("HttpServletRequest#getSession"), e.getMessage());
  }

  @Test
  void inOutArgumentsAreFoundWrappedAndCopiedBack() {
    Map<String, Object> model = new LinkedHashMap<>(Map.of("stale", 1));
    Object[] args = {"id", model, Map.of("frozen", 1), null};
    int[] positions = InOutArguments.positions(args, a -> true);
    assertArrayEquals(new int[] {1}, positions, "immutable maps and plain values are not in/out");
    assertArrayEquals(new int[0], InOutArguments.positions(args, a -> false));

    Map<String, Object> functionCopy = new LinkedHashMap<>(Map.of("title", "T"));
    Object[] wrapped = InOutArguments.wrap("view", new Object[] {"id", functionCopy}, positions);
    assertEquals("view", wrapped[0]);
    InOutArguments.copyBack(args, positions, wrapped);
    assertEquals(Map.of("title", "T"), model);

    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> InOutArguments.copyBack(args, positions, new Object[] {"view"}));
    assertTrue(e.getMessage().contains("returned 0 in/out arguments, expected 1"), e.getMessage());
    assertEquals(Map.of("title", "T"), model, "a refused copy-back changes nothing");
  }
}
