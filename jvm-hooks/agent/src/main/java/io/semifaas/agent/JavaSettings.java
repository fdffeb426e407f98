package io.semifaas.agent;

import io.semifaas.common.ByteCountSetting;
import io.semifaas.common.CodecAllowList;
import io.semifaas.common.RemoteClasses;
import java.util.Map;

/** The configuration keys the Java side acts on itself (docs/internals.md, configuration). */
record JavaSettings(int shadowSamples, double verifyShare) {
  static final String SHADOW_SAMPLES = "semifaas.shadow.samples";
  /** The share of offloaded invocations re-run locally to compare (validated natively too). */
  static final String VERIFY = "semifaas.verify";
  static final String REMOTE_CLASSES = "semifaas.remote-classes";
  static final String COPY_CLASSES = "semifaas.copy-classes";
  static final String READ_ONLY_METHODS = "semifaas.read-only-methods";

  static final JavaSettings DEFAULTS = new JavaSettings(3, 0.0);

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
    double verifyShare = DEFAULTS.verifyShare;
    String verify = config.get(VERIFY);
    if (verify != null) {
      try {
        verifyShare = Double.parseDouble(verify.strip());
      } catch (NumberFormatException e) {
        throw new ConfigException(VERIFY + " must be a share in [0, 1], not '" + verify + "'", e);
      }
      if (!(verifyShare >= 0 && verifyShare <= 1)) {
        throw new ConfigException(VERIFY + " must be a share in [0, 1], not " + verify);
      }
    }
    CallLog.configure(
        new CallLog.Limits(
            bytes(config, CallLog.MAX_BYTES, CallLog.Limits.DEFAULTS.perInvocation()),
            bytes(config, CallLog.TOTAL_MAX_BYTES, CallLog.Limits.DEFAULTS.total())));
    RemoteClasses.configure(config.get(REMOTE_CLASSES), config.get(COPY_CLASSES));
    CodecAllowList.configure(config.get(CodecAllowList.KEY));
    ReadOnlyMethods.configure(config.get(READ_ONLY_METHODS));
    RemoteCallAllowList.configure(config.get(RemoteCallAllowList.KEY));
    DeniedResources.configure(config.get(DeniedResources.KEY));
    PlacementHeader.configure(config.get(PlacementHeader.KEY));
    LibraryJars.configure(config.get(LibraryJars.KEY));
    return new JavaSettings(shadowSamples, verifyShare);
  }

  /** A byte count: a whole number, 0 or more (validated natively too). */
  private static long bytes(Map<String, String> config, String key, long fallback)
      throws ConfigException {
    try {
      return ByteCountSetting.parse(key, config.get(key), fallback);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage(), null);
    }
  }
}
