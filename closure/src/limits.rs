//! Size limits for everything decoded from a peer. Decoding checks these before allocating.

/// AWS Lambda's limit for a synchronous request or response payload.
pub const LAMBDA_SYNC_PAYLOAD_MAX: usize = 6 * 1024 * 1024;

/// Largest encoded closure (code + data) a server ships or a function accepts.
pub const CLOSURE_MAX: usize = 64 * 1024 * 1024;

/// Largest single class file or resource.
pub const CLASS_MAX: usize = 16 * 1024 * 1024;

/// Largest serialized argument list of one invocation. The base64 JSON envelope must still fit
/// in [`LAMBDA_SYNC_PAYLOAD_MAX`], so this leaves room for the 4/3 expansion and the header.
pub const ARGS_MAX: usize = LAMBDA_SYNC_PAYLOAD_MAX / 4 * 3 - 64 * 1024;

/// Longest class, method, descriptor or resource name.
pub const NAME_MAX: usize = 4096;

/// Most closures one prewarm invocation installs.
pub const PREWARM_CLOSURES_MAX: usize = 1024;

/// Most shadow calls one prewarm invocation replays.
pub const SHADOW_CALLS_MAX: usize = 4096;

/// Most times one prewarm invocation replays its shadow calls.
pub const SHADOW_ROUNDS_MAX: u32 = 1000;

/// Most library jars in a server's library manifest.
pub const LIBRARY_JARS_MAX: usize = 4096;

/// Most packages a library manifest names, over all its jars.
pub const LIBRARY_PACKAGES_MAX: usize = 65_536;

/// Largest library jar a server ships (in [`LIBRARY_JAR_CHUNK`] pieces).
pub const LIBRARY_JAR_MAX: u64 = 512 * 1024 * 1024;

/// Bytes of a library jar one request fetches at most.
pub const LIBRARY_JAR_CHUNK: usize = 4 * 1024 * 1024;

/// Most class names one report of classes defined from library jars carries.
pub const LIBRARY_REPORT_NAMES_MAX: usize = 1024;
