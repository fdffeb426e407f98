//! The names of the checkpoint exchange between faas-local and `bootstrap` (docs/internals.md,
//! "Snapshot starts"): one definition both sides read.

/// The `/next` answer header (value `prepare`) that asks an instance to prepare for a checkpoint.
pub const HEADER: &str = "semifaas-checkpoint";
/// The instance's stdout line: no socket left, ready to be dumped.
pub const READY_MARKER: &str = "SEMIFAAS-CHECKPOINT-READY";
/// The instance's stdout line when it could not prepare; a space and the reason follow.
pub const REFUSED_MARKER: &str = "SEMIFAAS-CHECKPOINT-REFUSED";
/// Set to `1` by the platform for an instance it may checkpoint.
pub const CHECKPOINTABLE_ENV: &str = "SEMIFAAS_CHECKPOINTABLE";
