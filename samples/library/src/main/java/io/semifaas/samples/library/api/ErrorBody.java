package io.semifaas.samples.library.api;

/** The JSON body of a failed API request. */
public record ErrorBody(String error, String message) {}
