package io.semifaas.samples.codecbench.payload;

/** Same shape as the sample's histogram response record. */
public record Histogram(
    int width, int height, int[] red, int[] green, int[] blue, double meanBrightness) {}
