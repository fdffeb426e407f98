//! Platform and function configuration, with the validation both the library API and
//! CreateFunction go through.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::openwhisk_names;

/// Instances a function may run at once unless configured otherwise.
pub const DEFAULT_CONCURRENCY_LIMIT: usize = 8;
/// How long an idle instance is kept warm unless configured otherwise.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(600);
/// Function timeout unless configured otherwise. Longer than Lambda's 3 s because a cold
/// start of a JVM-hosting instance counts against nothing else.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Memory size reported to instances unless configured otherwise (informational locally).
pub const DEFAULT_MEMORY_MB: u32 = 1024;
/// How long a new instance may take to ask for its first invocation (Lambda's init limit).
pub const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Lambda's longest function timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(900);
/// Lambda's memory bounds, in MB.
pub const MEMORY_MB_RANGE: std::ops::RangeInclusive<u32> = 128..=10_240;

/// Environment variables the platform sets itself; a function may not override them.
const RESERVED_ENV: &[&str] = &[
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_REGION",
    "LAMBDA_TASK_ROOT",
    "_HANDLER",
    "SEMIFAAS_ACTION_ADDR",
    semifaas_closure::checkpoint::CHECKPOINTABLE_ENV,
    "SEMIFAAS_INSTANCE_ID",
];

/// The platform: where it listens and the functions it starts with.
#[derive(Debug, Clone)]
pub struct FaasLocalConfig {
    /// Address of the Lambda API (port 0 picks a free port; see `FaasLocal::addr`).
    pub bind: SocketAddr,
    /// Functions deployed at start; more can be created through CreateFunction.
    pub functions: Vec<FunctionConfig>,
    /// How long a new instance may take before its first `/next` call.
    pub init_timeout: Duration,
    /// Region used in ARNs and `AWS_REGION`.
    pub region: String,
    /// Limits of functions created through CreateFunction or an OpenWhisk action PUT (neither
    /// API has a keep-alive).
    pub created_functions: CreatedFunctionLimits,
    /// The API the platform serves, which also decides how its instances are driven.
    pub api: PlatformApi,
    /// Start instances from checkpoints of warm ones (Lambda API only); `None`: never.
    pub snapshots: Option<SnapshotConfig>,
}

/// Snapshot starts, as Lambda's SnapStart does them: once an instance of a function version
/// has served `after_invocations` invocations, the platform checkpoints it with CRIU (it keeps
/// serving), and the version's later cold starts restore a copy of it instead of starting a
/// process and a JVM. Needs root (CRIU, and a PID namespace per instance) and `unshare`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotConfig {
    /// The `criu` executable.
    pub criu: PathBuf,
    /// Invocations an instance serves before it is checkpointed: enough for the JIT to have
    /// compiled what its handlers run.
    pub after_invocations: u64,
}

/// Invocations before a checkpoint unless configured otherwise.
pub const DEFAULT_SNAPSHOT_AFTER: u64 = 20;

/// The API a platform serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformApi {
    /// AWS Lambda's API; instances speak the Lambda Runtime API.
    Lambda,
    /// Apache OpenWhisk's REST API; instances speak the OpenWhisk action protocol.
    OpenWhisk(OpenWhiskConfig),
}

/// The OpenWhisk REST API's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenWhiskConfig {
    /// `UUID:KEY`, the Basic credentials every API call needs; `None` draws a fresh one from the
    /// operating system's RNG (see `FaasLocal::openwhisk_auth`).
    pub auth: Option<String>,
    /// How long a blocking invoke waits before it answers 202 with the activation id (the
    /// activation keeps running; its record appears under `activations/{id}`).
    pub blocking_wait: Duration,
    /// The directory whose `bootstrap` actions created through the API run: an action's image
    /// cannot run here, so every action runs this code.
    pub code_dir: PathBuf,
}

/// OpenWhisk's default for how long a blocking invoke waits.
pub const DEFAULT_BLOCKING_WAIT: Duration = Duration::from_secs(60);

impl OpenWhiskConfig {
    pub fn new(code_dir: impl Into<PathBuf>) -> Self {
        Self {
            auth: None,
            blocking_wait: DEFAULT_BLOCKING_WAIT,
            code_dir: code_dir.into(),
        }
    }
}

/// The limits a function created through the API starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedFunctionLimits {
    pub concurrency_limit: usize,
    pub keep_alive: Duration,
}

impl Default for CreatedFunctionLimits {
    fn default() -> Self {
        Self {
            concurrency_limit: DEFAULT_CONCURRENCY_LIMIT,
            keep_alive: DEFAULT_KEEP_ALIVE,
        }
    }
}

impl FaasLocalConfig {
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            functions: Vec::new(),
            init_timeout: DEFAULT_INIT_TIMEOUT,
            region: "us-east-1".to_owned(),
            created_functions: CreatedFunctionLimits::default(),
            api: PlatformApi::Lambda,
            snapshots: None,
        }
    }
}

impl Default for FaasLocalConfig {
    fn default() -> Self {
        Self::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 9000)))
    }
}

/// How the platform drives a function's instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActionProtocol {
    /// `bootstrap` polls the instance's Lambda Runtime API for invocations.
    #[default]
    LambdaRuntime,
    /// `bootstrap --openwhisk` serves OpenWhisk's action protocol (`/init`, `/run`) on
    /// `SEMIFAAS_ACTION_ADDR`, and the platform posts each invocation to it.
    OpenWhisk,
}

/// One function: a directory holding an executable `bootstrap`, and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    pub name: String,
    /// Holds `bootstrap`; becomes the instances' working directory and `LAMBDA_TASK_ROOT`.
    pub code_dir: PathBuf,
    /// Longest time one invocation may run before its instance is killed.
    pub timeout: Duration,
    pub memory_mb: u32,
    /// Most instances running at once; invocations past it are throttled (429).
    pub concurrency_limit: usize,
    /// Idle instances older than this are stopped.
    pub keep_alive: Duration,
    /// Instances kept started at all times (provisioned concurrency): started with the
    /// function, replaced when they exit, never reaped below this. At most `concurrency_limit`.
    pub provisioned: usize,
    /// Most instances starting at once for invocations (0: no limit); an invocation that would
    /// start one more is throttled (429). Instances that share CPUs slow each other's start
    /// (JVM start, class loading, JIT), so starting them one CPU's worth at a time gets the
    /// first ones serving sooner. An instance is starting until its first invocation ends.
    /// Provisioned instances and prewarms are not paced.
    pub max_starting: usize,
    /// Extra environment for the instances.
    pub env: BTreeMap<String, String>,
    /// Instances start from the platform's environment (a code directory on this host); when
    /// false (an uploaded package) they get only Lambda's variables and `PATH`.
    pub inherit_env: bool,
    /// How instances are driven. `FaasLocal::start` sets it from the API it serves; it also
    /// picks the naming rule (Lambda's, or OpenWhisk's `[package/]action`).
    pub protocol: ActionProtocol,
}

impl FunctionConfig {
    /// A function with the default limits.
    pub fn new(name: impl Into<String>, code_dir: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            code_dir: code_dir.into(),
            timeout: DEFAULT_TIMEOUT,
            memory_mb: DEFAULT_MEMORY_MB,
            concurrency_limit: DEFAULT_CONCURRENCY_LIMIT,
            keep_alive: DEFAULT_KEEP_ALIVE,
            provisioned: 0,
            max_starting: 0,
            env: BTreeMap::new(),
            inherit_env: true,
            protocol: ActionProtocol::LambdaRuntime,
        }
    }

    /// The executable each instance runs.
    pub fn bootstrap_path(&self) -> PathBuf {
        self.code_dir.join("bootstrap")
    }

    /// Checks everything that would otherwise fail later, at the first invocation.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.protocol {
            ActionProtocol::LambdaRuntime => validate_function_name(&self.name)?,
            ActionProtocol::OpenWhisk => openwhisk_names::validate_action_path(&self.name)
                .map_err(|_| ConfigError::ActionName(self.name.clone()))?,
        }
        let function = || self.name.clone();
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(ConfigError::Timeout {
                function: function(),
                timeout: self.timeout,
            });
        }
        if !MEMORY_MB_RANGE.contains(&self.memory_mb) {
            return Err(ConfigError::Memory {
                function: function(),
                memory_mb: self.memory_mb,
            });
        }
        if self.concurrency_limit == 0 {
            return Err(ConfigError::ZeroConcurrency {
                function: function(),
            });
        }
        if self.provisioned > self.concurrency_limit {
            return Err(ConfigError::Provisioned {
                function: function(),
                provisioned: self.provisioned,
                limit: self.concurrency_limit,
            });
        }
        if let Some(key) = self.env.keys().find(|k| is_reserved_env(k)) {
            return Err(ConfigError::ReservedEnv {
                function: function(),
                key: key.clone(),
            });
        }
        let bootstrap = self.bootstrap_path();
        if !bootstrap.is_file() {
            return Err(ConfigError::MissingBootstrap {
                function: function(),
                path: bootstrap,
            });
        }
        Ok(())
    }
}

/// Lambda's rule: 1 to 64 letters, digits, hyphens or underscores.
pub(crate) fn validate_function_name(name: &str) -> Result<(), ConfigError> {
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ConfigError::Name(name.to_owned()))
    }
}

fn is_reserved_env(key: &str) -> bool {
    RESERVED_ENV.contains(&key)
}

/// A function configuration that cannot be deployed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("function name {0:?} is invalid: use 1 to 64 letters, digits, '-' or '_'")]
    Name(String),
    #[error("action name {0:?} is invalid: use [package/]name, each part letters, digits, '_', '@', '.', '-' or spaces, starting with a letter, digit or '_', at most 256 characters")]
    ActionName(String),
    #[error("OpenWhisk auth is not UUID:KEY (two non-empty parts of printable characters without spaces, joined by one ':')")]
    Auth,
    #[error("function {function}: timeout {timeout:?} is out of range; use more than 0 and at most 900 s")]
    Timeout { function: String, timeout: Duration },
    #[error(
        "function {function}: memory size {memory_mb} MB is out of range; use 128 to 10240 MB"
    )]
    Memory { function: String, memory_mb: u32 },
    #[error("function {function}: concurrency limit is 0; allow at least 1 instance")]
    ZeroConcurrency { function: String },
    #[error("function {function}: {provisioned} provisioned instances exceed the concurrency limit {limit}; provision at most the limit")]
    Provisioned {
        function: String,
        provisioned: usize,
        limit: usize,
    },
    #[error("function {function}: environment variable {key} is set by the platform and cannot be overridden")]
    ReservedEnv { function: String, key: String },
    #[error("function {function}: no `bootstrap` file at {path}; point the code directory at the folder that holds it", path = path.display())]
    MissingBootstrap { function: String, path: PathBuf },
}
