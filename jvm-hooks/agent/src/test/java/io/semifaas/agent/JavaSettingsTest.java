package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.semifaas.common.RemoteClasses;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The keys the Java side reads itself. */
class JavaSettingsTest {
  @AfterEach
  void reset() {
    RemoteClasses.configure(null, null);
    ReadOnlyMethods.configure(null);
    try {
      PlacementHeader.configure(null);
    } catch (ConfigException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void defaultsApplyWithoutKeys() throws Exception {
    assertEquals(3, JavaSettings.from(Map.of()).shadowSamples());
    assertFalse(ReadOnlyMethods.isReadOnly("a.B", "save"));
    assertTrue(ReadOnlyMethods.isReadOnly("a.B", "findAll"));
    assertTrue(ReadOnlyMethods.isReadOnly("a.B", "get"));
    assertFalse(ReadOnlyMethods.isReadOnly("a.B", "getaway"), "a prefix must end a word");
  }

  @Test
  void keysConfigureClassesAndReadOnlyMethods() throws Exception {
    JavaSettings settings =
        JavaSettings.from(
            Map.of(
                "semifaas.shadow.samples", " 5 ",
                "semifaas.remote-classes", "io.semifaas.agent.JavaSettingsTest",
                "semifaas.read-only-methods", "a.B#render, preview"));
    assertEquals(5, settings.shadowSamples());
    assertTrue(RemoteClasses.isServerBound(JavaSettingsTest.class));
    assertTrue(ReadOnlyMethods.isReadOnly("a.B", "render"));
    assertFalse(ReadOnlyMethods.isReadOnly("c.D", "render"));
    assertTrue(ReadOnlyMethods.isReadOnly("c.D", "preview"));
  }

  @Test
  void badValuesNameTheKey() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> JavaSettings.from(Map.of("semifaas.shadow.samples", "many")));
    assertEquals("semifaas.shadow.samples must be a whole number, not 'many'", e.getMessage());
    ConfigException negative =
        assertThrows(
            ConfigException.class, () -> JavaSettings.from(Map.of("semifaas.shadow.samples", "-1")));
    assertTrue(negative.getMessage().startsWith("semifaas.shadow.samples must not be negative"));
    ConfigException header =
        assertThrows(
            ConfigException.class,
            () -> JavaSettings.from(Map.of("semifaas.placement-header", "X Ran: yes")));
    assertTrue(header.getMessage().startsWith("semifaas.placement-header must be an HTTP header"));
  }
}
