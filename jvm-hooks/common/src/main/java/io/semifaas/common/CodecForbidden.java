package io.semifaas.common;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a class (and its subclasses) that the server never decodes from a function's bytes,
 * whatever {@link CodecAllowList} allows: types an application never wants rebuilt from the
 * network. Matched by name, so an application may declare an annotation of the same name instead
 * of depending on this jar.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface CodecForbidden {}
