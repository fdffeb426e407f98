package io.semifaas.common;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The offloading agent never decodes a class marked with this from a function's bytes. The agent
 * matches the annotation by name, so an application declares its own copy instead of depending on
 * the agent's jar (docs/security.md, "The codec").
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface CodecForbidden {}
