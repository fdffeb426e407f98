package io.semifaas.samples.image.web;

/** JSON body of every error response: a stable code and a message naming what was wrong. */
public record ErrorBody(String error, String message) {}
