package io.semifaas.runtime;

import java.lang.reflect.Method;

/**
 * A closure ready to run: its class loader, its decoded receiver, its resolved handler and where
 * its remote calls go.
 */
record InstalledClosure(
    ClosureClassLoader loader, Object receiver, Method handler, FallbackSource fallback) {}
