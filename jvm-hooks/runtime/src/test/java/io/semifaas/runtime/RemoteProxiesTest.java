package io.semifaas.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.semifaas.common.CodecException;
import io.semifaas.common.ExportScope;
import io.semifaas.common.ObjectCodec;
import io.semifaas.common.Outcome;
import io.semifaas.common.RemoteClasses;
import io.semifaas.runtime.fixture.Catalog;
import io.semifaas.runtime.fixture.Library;
import io.semifaas.runtime.fixture.Shelf;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Remote references end to end inside one JVM: the test's own class loader plays the server (its
 * objects are exported in scopes), a closure class loader plays the function (its classes come by
 * fallback), and the fallback answers remote calls the way the agent does.
 */
class RemoteProxiesTest {
  private static final ClassLoader SERVER = RemoteProxiesTest.class.getClassLoader();
  private static final String SHELF = Shelf.class.getName();

  private final Library library = new Library();
  private final List<String> described = new ArrayList<>();
  private final Catalog catalog =
      (Catalog)
          Proxy.newProxyInstance(
              SERVER,
              new Class<?>[] {Catalog.class},
              (p, m, a) -> {
                described.add((String) a[0]);
                return "catalog: " + a[0];
              });
  private ExportScope closureScope;
  private ExportScope invocation;
  private Server server;
  private String closureId;

  /** The server side of the fallback: classes from the test class path, remote calls by scope. */
  final class Server extends FunctionRuntimeTest.MapFallback {
    volatile String refuse;
    final List<String> calls = new ArrayList<>();

    @Override
    public byte[] invokeRemote(long refId, String method, String descriptor, byte[] args) {
      calls.add(method);
      if (method.equals(refuse)) {
        return Outcome.failed("shadow execution refused a write: Library#" + method);
      }
      ExportScope scope = invocation != null ? invocation : closureScope;
      Object target = scope.resolve(refId);
      if (target == null) {
        return Outcome.failed("reference " + refId + " was not exported to this invocation");
      }
      try {
        Object[] decoded = (Object[]) ObjectCodec.deserialize(args, SERVER, scope);
        for (Method m : target.getClass().getMethods()) {
          if (m.getName().equals(method) && Descriptors.of(m).equals(descriptor)) {
            m.setAccessible(true);
            try {
              return Outcome.returned(m.invoke(target, decoded), scope);
            } catch (InvocationTargetException e) {
              return Outcome.threw(e.getCause());
            }
          }
        }
        return Outcome.failed("no method " + method + descriptor);
      } catch (CodecException | ReflectiveOperationException e) {
        return Outcome.failed(e.toString());
      }
    }
  }

  @BeforeEach
  void install() throws Exception {
    RemoteClasses.configure(Library.class.getName(), null);
    closureScope = new ExportScope(null);
    server = new Server();
    for (String name : List.of(SHELF, Library.class.getName(), Catalog.class.getName())) {
      server.classes.put(name, FunctionRuntimeTest.classFile(name));
    }
    byte[] receiver = ObjectCodec.serialize(new Shelf(library, catalog), closureScope);
    assertEquals(2, closureScope.exportedCount(), "library and catalog stay on the server");
    closureId = "c".repeat(64);
    FunctionRuntime.install(
        closureId,
        SHELF,
        "shelve",
        "(Ljava/lang/String;Ljava/util/Map;)Ljava/lang/String;",
        receiver,
        new String[0],
        new byte[0][],
        new String[0],
        new byte[0][],
        server);
    invocation = new ExportScope(closureScope);
  }

  @AfterEach
  void uninstall() {
    FunctionRuntime.uninstall(closureId);
    RemoteClasses.configure(null, null);
  }

  private Object invoke(Object... args) throws Throwable {
    byte[] outcome = FunctionRuntime.invoke(closureId, ObjectCodec.serialize(args, invocation));
    if (Outcome.tag(outcome) == Outcome.FAILED) {
      throw new AssertionError(Outcome.body(outcome, SERVER));
    }
    return Outcome.unwrap(outcome, SERVER);
  }

  @Test
  void callsOnProxiesRunOnTheServerObjectsAndInOutArgumentsComeBack() throws Throwable {
    Map<String, Object> model = new LinkedHashMap<>();
    Object[] wrapped = assertInstanceOf(Object[].class, invoke("Dune", model));
    assertEquals("catalog: Dune", wrapped[0]);
    assertEquals(Map.of("size", 1), wrapped[1], "the model comes back filled");
    assertNotSame(model, wrapped[1]);
    assertEquals(List.of("Dune"), library.titles(), "the write happened on the server");
    assertEquals(List.of("Dune"), described);
    assertEquals(List.of("add", "size", "describe"), server.calls);
  }

  @Test
  void refusedCallsFailTheInvocationWithTheServersMessage() throws Exception {
    server.refuse = "add";
    byte[] outcome =
        FunctionRuntime.invoke(
            closureId,
            ObjectCodec.serialize(new Object[] {"Dune", new LinkedHashMap<>()}, invocation));
    // A refused call fails the invocation (the server then runs the handler locally).
    assertEquals(Outcome.FAILED, Outcome.tag(outcome));
    String message = (String) Outcome.body(outcome, SERVER);
    assertTrue(
        message.contains("shadow execution refused a write: Library#add"), message);
    assertEquals(List.of(), library.titles());
  }

  @Test
  void theServersClassLoaderIsTheClosuresHere() throws Exception {
    ClosureClassLoader loader = new ClosureClassLoader("q".repeat(64), Map.of(), Map.of(), server);
    RemoteProxies proxies = new RemoteProxies(loader, server);
    ExportScope scope = new ExportScope(null);
    ClassLoader serverLoader = new java.net.URLClassLoader(new java.net.URL[0]);
    Object[] decoded =
        (Object[])
            ObjectCodec.deserialize(
                ObjectCodec.serialize(new Object[] {serverLoader}, scope), loader, proxies);
    assertSame(loader, decoded[0], "never a proxy of a class loader, which would crash the JVM");
  }

  @Test
  void proxiesOfBothKindsAreMadeForTheFunction() throws Exception {
    ClosureClassLoader loader = new ClosureClassLoader("p".repeat(64), Map.of(), Map.of(), server);
    RemoteProxies proxies = new RemoteProxies(loader, server);
    ExportScope scope = new ExportScope(null);
    Object[] decoded =
        (Object[])
            ObjectCodec.deserialize(
                ObjectCodec.serialize(new Object[] {library, catalog}, scope), loader, proxies);
    assertEquals(Library.class.getName(), decoded[0].getClass().getSuperclass().getName());
    assertTrue(decoded[0].getClass().getName().endsWith("$SemifaasRemote"));
    assertTrue(Proxy.isProxyClass(decoded[1].getClass()));
    assertEquals(Catalog.class.getName(), decoded[1].getClass().getInterfaces()[0].getName());
    // Sent back, both become their references again and resolve to the server's objects.
    Object[] back =
        (Object[])
            ObjectCodec.deserialize(ObjectCodec.serialize(decoded, proxies), SERVER, scope);
    assertSame(library, back[0]);
    assertSame(catalog, back[1]);
  }

  @Test
  void exceptionsOfRemoteCallsKeepTheirTypeAndMessage() throws Exception {
    FunctionRuntime.install(
        "b".repeat(64),
        SHELF,
        "borrow",
        "(I)Ljava/lang/String;",
        ObjectCodec.serialize(new Shelf(library, catalog), closureScope),
        new String[0],
        new byte[0][],
        new String[0],
        new byte[0][],
        server);
    try {
      byte[] outcome =
          FunctionRuntime.invoke("b".repeat(64), ObjectCodec.serialize(new Object[] {7}));
      assertEquals(Outcome.THREW, Outcome.tag(outcome));
      Throwable thrown = (Throwable) Outcome.body(outcome, SERVER);
      assertInstanceOf(IndexOutOfBoundsException.class, thrown);
      assertEquals("no book 7", thrown.getMessage());
    } finally {
      FunctionRuntime.uninstall("b".repeat(64));
    }
  }

  @Test
  void aProxyPassedBackToTheServerIsTheSameObjectThere() throws Throwable {
    FunctionRuntime.install(
        "d".repeat(64),
        SHELF,
        "check",
        "()Z",
        ObjectCodec.serialize(new Shelf(library, catalog), closureScope),
        new String[0],
        new byte[0][],
        new String[0],
        new byte[0][],
        server);
    try {
      byte[] outcome = FunctionRuntime.invoke("d".repeat(64), ObjectCodec.serialize(new Object[0]));
      assertEquals(true, Outcome.unwrap(outcome, SERVER));
      assertEquals(List.of("holds"), server.calls);
    } finally {
      FunctionRuntime.uninstall("d".repeat(64));
    }
  }
}
