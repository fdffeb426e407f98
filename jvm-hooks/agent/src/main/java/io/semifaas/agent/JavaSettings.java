package io.semifaas.agent;

import io.semifaas.common.RemoteClasses;
import java.util.Map;

/** The configuration keys the Java side acts on itself (docs/internals.md, configuration). */
record JavaSettings(int shadowSamples) {
  static final String SHADOW_SAMPLES = "semifaas.shadow.samples";
  static final String REMOTE_CLASSES = "semifaas.remote-classes";
  static final String COPY_CLASSES = "semifaas.copy-classes";
  static final String READ_ONLY_METHODS = "semifaas.read-only-methods";

  static final JavaSettings DEFAULTS = new JavaSettings(3);

  /** Reads the settings from the merged configuration; a bad value names its key. */
  static JavaSettings from(Map<String, String> config) throws ConfigException {
    String samples = config.get(SHADOW_SAMPLES);
    int shadowSamples = DEFAULTS.shadowSamples;
    if (samples != null) {
      try {
        shadowSamples = Integer.parseInt(samples.strip());
      } catch (NumberFormatException e) {
        throw new ConfigException(
            SHADOW_SAMPLES + " must be a whole number, not '" + samples + "'", e);
      }
      if (shadowSamples < 0) {
        throw new ConfigException(SHADOW_SAMPLES + " must not be negative, not " + samples);
      }
    }
    RemoteClasses.configure(config.get(REMOTE_CLASSES), config.get(COPY_CLASSES));
    ReadOnlyMethods.configure(config.get(READ_ONLY_METHODS));
    PlacementHeader.configure(config.get(PlacementHeader.KEY));
    return new JavaSettings(shadowSamples);
  }
}
