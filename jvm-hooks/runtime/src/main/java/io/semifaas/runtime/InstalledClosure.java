package io.semifaas.runtime;

import java.lang.reflect.Method;

/** A closure ready to run: its class loader, its decoded receiver and its resolved handler. */
record InstalledClosure(ClosureClassLoader loader, Object receiver, Method handler) {}
