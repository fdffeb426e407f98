//! The agent's configuration, parsed from the flat `semifaas.*` key/value list the Java side
//! merged (system properties > `SEMIFAAS_*` environment > properties file).
//!
//! Every key lives in [`KEYS`]: adding one is one line there plus its field.

use std::{
    collections::HashSet,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use semifaas_closure::{limits::SHADOW_ROUNDS_MAX, FallbackEndpoint};
use semifaas_fallback::FallbackServer;
use tracing_subscriber::EnvFilter;

use semifaas_openwhisk::{api_base, check_entity, ActionName, Auth, TargetSettings};

use crate::admin_access::AdminToken;

/// Who sets the global offload ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The operator, through `PUT /ratio` (or `semifaas.ratio`).
    Manual,
    /// The burst controller ([`crate::controller`]).
    Auto,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Manual => "manual",
            Mode::Auto => "auto",
        }
    }
}

/// Where offloaded invocations run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// `semifaas local`: the Lambda Invoke API on a local port, with test credentials.
    Local,
    /// AWS Lambda (or a Lambda-compatible service at `semifaas.lambda.endpoint`), with the
    /// standard AWS configuration chain for credentials and region.
    Aws,
    /// Apache OpenWhisk's REST API (or `semifaas local --api openwhisk`), with `semifaas.openwhisk.*`
    /// and the `wsk` CLI's properties.
    OpenWhisk,
}

/// Where `semifaas local` listens unless told otherwise: the local platform's default endpoint.
pub const LOCAL_ENDPOINT: &str = "http://127.0.0.1:9000";

#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// Global offload ratio in [0, 1].
    pub ratio: f64,
    pub platform: Platform,
    /// Base URL of the Lambda Invoke API; `None`: the platform's own ([`LOCAL_ENDPOINT`], or the
    /// AWS region's).
    pub lambda_endpoint: Option<String>,
    /// aws: the shared configuration profile (`None`: `AWS_PROFILE`, else `default`).
    pub aws_profile: Option<String>,
    /// aws: the region (`None`: from the configuration chain).
    pub aws_region: Option<String>,
    /// Function name (or ARN), or OpenWhisk action (`action` or `package/action`), invoked
    /// for every offload.
    pub function: String,
    /// openwhisk: what was set explicitly; the rest comes from the `wsk` properties at start.
    pub openwhisk: TargetSettings,
    pub admin_host: IpAddr,
    /// 0 picks an ephemeral port.
    pub admin_port: u16,
    /// `None`: a random token at each start.
    pub admin_token: Option<AdminToken>,
    /// `None`: the default location for the bound address (`semifaas_admin_token`).
    pub admin_token_file: Option<PathBuf>,
    /// Host name or address functions use to reach the fallback server (and, when it is an IP
    /// address and `fallback_bind` is unset, the address it binds).
    pub fallback_host: String,
    /// The address the fallback server binds (`None`: from `fallback_host`).
    pub fallback_bind: Option<IpAddr>,
    /// `host:port` functions dial, when it differs from the bound address (NAT, a load
    /// balancer, a port mapping).
    pub fallback_advertise: Option<String>,
    /// 0 picks an ephemeral port.
    pub fallback_port: u16,
    /// How long an offload may take before the handler runs locally instead.
    pub timeout: Duration,
    /// `tracing` filter directive, e.g. `info` or `semifaas_agent=debug`.
    pub log_filter: String,
    pub mode: Mode,
    /// In-flight requests the server serves without queueing.
    pub auto_capacity: u32,
    /// The highest ratio the burst controller sets.
    pub auto_max_ratio: f64,
    /// The burst controller's tick.
    pub auto_interval: Duration,
    /// Candidates are handlers whose median local CPU time is at least this.
    pub min_cpu: Duration,
    /// Local runs profiled before a handler can be a candidate.
    pub profile_samples: u32,
    /// Handler keys or class-name prefixes that are always candidates.
    pub include: Vec<String>,
    /// Handler keys or class-name prefixes that are never candidates (beats `include`).
    pub exclude: Vec<String>,
    /// Recorded invocations kept per handler for shadow execution.
    pub shadow_samples: u32,
    /// Times a prewarmed instance replays the recorded invocations.
    pub shadow_rounds: u32,
    /// Offloads in flight at most; `None` learns the platform's room from its throttling.
    pub offload_max_in_flight: Option<u64>,
    /// The do-no-harm guard also bounds manual ratios (auto mode always has it).
    pub do_no_harm: bool,
}

/// The number of CPUs, the default capacity: one request per core runs without queueing. In a
/// JVM the agent uses the JVM's count instead (`Runtime.availableProcessors`, which follows
/// `-XX:ActiveProcessorCount` and container limits).
fn cpu_count() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            ratio: 0.0,
            platform: Platform::Local,
            lambda_endpoint: None,
            aws_profile: None,
            aws_region: None,
            function: "semifaas".into(),
            openwhisk: TargetSettings::default(),
            admin_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            admin_port: 7071,
            admin_token: None,
            admin_token_file: None,
            fallback_host: "127.0.0.1".into(),
            fallback_bind: None,
            fallback_advertise: None,
            fallback_port: 0,
            timeout: Duration::from_millis(30_000),
            log_filter: "info".into(),
            mode: Mode::Manual,
            auto_capacity: cpu_count(),
            auto_max_ratio: 1.0,
            auto_interval: Duration::from_millis(100),
            min_cpu: Duration::from_millis(5),
            profile_samples: 3,
            include: Vec::new(),
            exclude: Vec::new(),
            shadow_samples: 3,
            shadow_rounds: 10,
            offload_max_in_flight: None,
            do_no_harm: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown configuration key {key:?}; {}", unknown_key_hint(.suggestion))]
    UnknownKey {
        key: String,
        /// The known key closest to `key`, when it is close enough to be a typo of it.
        suggestion: Option<&'static str>,
    },
    #[error("configuration key {key} has invalid value {value:?}: expected {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("configuration key {key} is given more than once")]
    Duplicate { key: String },
}

fn unknown_key_hint(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(name) => format!("did you mean {name}?"),
        None => format!("known keys: {}", key_names().collect::<Vec<_>>().join(", ")),
    }
}

/// One configuration key: its name, the form its value must have, and how it sets the config.
struct Key {
    name: &'static str,
    /// A valid value, for tests and documentation.
    example: &'static str,
    expected: &'static str,
    /// Returns `None` when the value does not have the expected form.
    apply: fn(&mut AgentConfig, &str) -> Option<()>,
}

#[rustfmt::skip]
const KEYS: &[Key] = &[
    // Read by the Java side before anything else: `false` turns the whole agent off.
    Key { name: "semifaas.enabled", example: "true", expected: "true or false", apply: |_, v| parse_bool(v).map(|_| ()) },
    Key { name: "semifaas.ratio", example: "0.25", expected: "a number in [0, 1], e.g. 0.25", apply: |c, v| set(&mut c.ratio, parse_ratio(v)) },
    Key { name: "semifaas.platform", example: "local", expected: "one of: local, aws, openwhisk", apply: |c, v| set(&mut c.platform, parse_platform(v)) },
    Key { name: "semifaas.lambda.endpoint", example: "http://127.0.0.1:9000", expected: "an http:// or https:// URL, e.g. http://127.0.0.1:9000", apply: |c, v| set(&mut c.lambda_endpoint, parse_url(v).map(Some)) },
    Key { name: "semifaas.aws.profile", example: "default", expected: "a profile name of the AWS shared config files (letters, digits, '-', '_', '.', '@', '+', '=', ',')", apply: |c, v| set(&mut c.aws_profile, parse_aws_word(v, 128).map(Some)) },
    Key { name: "semifaas.aws.region", example: "eu-west-1", expected: "an AWS region, e.g. eu-west-1", apply: |c, v| set(&mut c.aws_region, parse_aws_region(v).map(Some)) },
    Key { name: "semifaas.function", example: "semifaas", expected: "a Lambda function name or ARN (letters, digits, '-', '_', ':', at most 170 characters), or an OpenWhisk action or package/action", apply: |c, v| set(&mut c.function, parse_function(v)) },
    Key { name: "semifaas.openwhisk.apihost", example: "https://openwhisk.example.com", expected: "host, host:port or an http(s) URL of the OpenWhisk API (no scheme: https); default: APIHOST of ~/.wskprops", apply: |c, v| set(&mut c.openwhisk.apihost, api_base(v).ok().map(|_| Some(v.trim().to_owned()))) },
    Key { name: "semifaas.openwhisk.namespace", example: "_", expected: "an OpenWhisk namespace, or _ for the credentials' own; default: NAMESPACE of ~/.wskprops, else _", apply: |c, v| set(&mut c.openwhisk.namespace, parse_namespace(v).map(Some)) },
    Key { name: "semifaas.openwhisk.auth", example: "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP", expected: "uuid:key, as `wsk property get --auth` prints it; default: AUTH of ~/.wskprops", apply: |c, v| set(&mut c.openwhisk.auth, Auth::parse(v).ok().map(Some)) },
    Key { name: "semifaas.openwhisk.insecure", example: "false", expected: "true or false (true: accept a self-signed controller certificate, as wsk -i)", apply: |c, v| set(&mut c.openwhisk.insecure, parse_bool(v)) },
    Key { name: "semifaas.admin.port", example: "7071", expected: "a TCP port 0-65535 (0 = any free port)", apply: |c, v| set(&mut c.admin_port, v.trim().parse().ok()) },
    Key { name: "semifaas.admin.host", example: "127.0.0.1", expected: "an IP address to bind, e.g. 127.0.0.1", apply: |c, v| set(&mut c.admin_host, v.trim().parse().ok()) },
    Key { name: "semifaas.admin.token", example: "0123456789abcdef0123456789abcdef", expected: "a secret of 32 to 256 characters: letters, digits and - . _ ~ + / = (e.g. openssl rand -hex 32)", apply: |c, v| set(&mut c.admin_token, AdminToken::parse(v).map(Some)) },
    Key { name: "semifaas.admin.token-file", example: "/run/semifaas/admin.token", expected: "an absolute file path", apply: |c, v| set(&mut c.admin_token_file, parse_absolute_path(v).map(Some)) },
    Key { name: "semifaas.fallback.port", example: "0", expected: "a UDP port 0-65535 (0 = any free port)", apply: |c, v| set(&mut c.fallback_port, v.trim().parse().ok()) },
    Key { name: "semifaas.fallback.host", example: "127.0.0.1", expected: "a host name or IP address functions can reach this server at", apply: |c, v| set(&mut c.fallback_host, parse_host(v)) },
    Key { name: "semifaas.fallback.bind", example: "0.0.0.0", expected: "an IP address of this machine to bind the fallback server to, e.g. 0.0.0.0", apply: |c, v| set(&mut c.fallback_bind, v.trim().trim_start_matches('[').trim_end_matches(']').parse().ok().map(Some)) },
    Key { name: "semifaas.fallback.advertise", example: "203.0.113.7:4433", expected: "host:port that functions dial to reach the fallback server, e.g. 203.0.113.7:4433 or [2001:db8::7]:4433", apply: |c, v| set(&mut c.fallback_advertise, parse_host_port(v).map(Some)) },
    Key { name: "semifaas.timeout-ms", example: "30000", expected: "a whole number of milliseconds greater than 0", apply: |c, v| set(&mut c.timeout, parse_timeout(v)) },
    // Read by the Java side (the properties file); listed so that it is not unknown here.
    Key { name: "semifaas.config", example: "/etc/semifaas.properties", expected: "a file path", apply: |_, _| Some(()) },
    Key { name: "semifaas.log", example: "info", expected: "a tracing filter, e.g. info or semifaas_agent=debug", apply: |c, v| set(&mut c.log_filter, parse_log_filter(v)) },
    Key { name: "semifaas.mode", example: "manual", expected: "one of: manual, auto", apply: |c, v| set(&mut c.mode, parse_mode(v)) },
    Key { name: "semifaas.auto.capacity", example: "4", expected: "a whole number of in-flight requests greater than 0", apply: |c, v| set(&mut c.auto_capacity, parse_positive(v)) },
    Key { name: "semifaas.auto.max-ratio", example: "0.8", expected: "a number in [0, 1], e.g. 0.8", apply: |c, v| set(&mut c.auto_max_ratio, parse_ratio(v)) },
    Key { name: "semifaas.auto.interval-ms", example: "100", expected: "a whole number of milliseconds greater than 0", apply: |c, v| set(&mut c.auto_interval, parse_timeout(v)) },
    Key { name: "semifaas.min-cpu-ms", example: "5", expected: "a number of milliseconds, 0 or more, e.g. 5 or 0.5", apply: |c, v| set(&mut c.min_cpu, parse_millis(v)) },
    Key { name: "semifaas.profile.samples", example: "3", expected: "a whole number, 0 or more", apply: |c, v| set(&mut c.profile_samples, v.trim().parse().ok()) },
    Key { name: "semifaas.include", example: "com.example.ImageController#resize", expected: "comma-separated handler keys (Class#method) or class-name prefixes", apply: |c, v| set(&mut c.include, parse_patterns(v)) },
    Key { name: "semifaas.exclude", example: "com.example.HealthController", expected: "comma-separated handler keys (Class#method) or class-name prefixes", apply: |c, v| set(&mut c.exclude, parse_patterns(v)) },
    Key { name: "semifaas.do-no-harm", example: "true", expected: "true or false (false: manual ratios are not capped when offloads do worse than local runs)", apply: |c, v| set(&mut c.do_no_harm, parse_bool(v)) },
    Key { name: "semifaas.offload.max-in-flight", example: "0", expected: "a whole number of offloads, 0 or more (0 = learn the platform's room from its throttling)", apply: |c, v| set(&mut c.offload_max_in_flight, v.trim().parse::<u64>().ok().map(|n| (n > 0).then_some(n))) },
    Key { name: "semifaas.shadow.rounds", example: "10", expected: "a whole number from 1 to 1000", apply: |c, v| set(&mut c.shadow_rounds, parse_positive(v).filter(|n| *n <= SHADOW_ROUNDS_MAX)) },
    Key { name: "semifaas.shadow.samples", example: "3", expected: "a whole number, 0 or more", apply: |c, v| set(&mut c.shadow_samples, v.trim().parse().ok()) },
    // Read by the Java side (remote references, read-only methods, placement header, codec
    // allow-list, remote-call additions, withheld resources); listed so that they are not unknown.
    Key { name: "semifaas.remote-classes", example: "com.example.Repository", expected: "comma-separated class names or package prefixes", apply: |_, _| Some(()) },
    Key { name: "semifaas.copy-classes", example: "com.example.Dto", expected: "comma-separated class names or package prefixes", apply: |_, _| Some(()) },
    Key { name: "semifaas.codec.allow", example: "com.example.Report", expected: "comma-separated class names or package prefixes", apply: |_, _| Some(()) },
    Key { name: "semifaas.read-only-methods", example: "fetch", expected: "comma-separated method names or Class#method", apply: |_, _| Some(()) },
    Key { name: "semifaas.library-jars", example: "false", expected: "true or false (false: functions load library classes one by one)", apply: |_, v| parse_bool(v).map(|_| ()) },
    Key { name: "semifaas.placement-header", example: "X-Semifaas-Ran", expected: "an HTTP header name, e.g. X-Semifaas-Ran", apply: |_, _| Some(()) },
    Key { name: "semifaas.remote.allow", example: "com.example.Repo#deleteById", expected: "comma-separated Class#method or Class#method(descriptor)", apply: |_, _| Some(()) },
    Key { name: "semifaas.fallback.deny-resources", example: "secrets/*.json", expected: "comma-separated glob patterns of resource names", apply: |_, _| Some(()) },
    // Checked here, applied by the Java side (it re-runs handlers).
    Key { name: "semifaas.verify", example: "0.05", expected: "a share in [0, 1] of offloaded invocations to re-run locally and compare", apply: |_, v| parse_ratio(v).map(|_| ()) },
    // The Java side keeps each offloaded invocation's log of remote calls (docs/internals.md, "Failed offloads").
    Key { name: "semifaas.call-log.max-bytes", example: "4194304", expected: "a whole number of bytes, 0 or more: the most one invocation's call log holds", apply: |_, v| v.trim().parse::<u64>().ok().map(|_| ()) },
    Key { name: "semifaas.call-log.total-max-bytes", example: "67108864", expected: "a whole number of bytes, 0 or more: the most all call logs hold together", apply: |_, v| v.trim().parse::<u64>().ok().map(|_| ()) },
    // Read by each function instance's runtime (a `-D` of its `SEMIFAAS_JVM_OPTS`); listed so that
    // it is known, and checked here when set on the server too.
    Key { name: "semifaas.library-jars.cache-max-bytes", example: "536870912", expected: "a whole number of bytes, 0 or more: the most an instance's library-jar cache holds (jars in use stay)", apply: |_, v| v.trim().parse::<u64>().ok().map(|_| ()) },
];

/// Every configuration key, in table order. The Java side asks for this list (through
/// `NativeBridge.configKeys`) to map `SEMIFAAS_*` environment variables to keys.
pub fn key_names() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|k| k.name)
}

/// Every configuration key with a valid value for it.
pub fn key_examples() -> impl Iterator<Item = (&'static str, &'static str)> {
    KEYS.iter().map(|k| (k.name, k.example))
}

/// The known key `unknown` is most likely a typo of: the closest one by optimal string
/// alignment distance (a swap of two neighbouring characters counts as one edit), if at most a
/// third of the longer name (without `semifaas.`, at most 3) differs.
pub fn suggest_key(unknown: &str) -> Option<&'static str> {
    let strip = |k: &str| {
        let k = k.to_ascii_lowercase();
        k.strip_prefix("semifaas.").unwrap_or(&k).to_owned()
    };
    let wanted = strip(unknown);
    KEYS.iter()
        .filter_map(|k| {
            let known = strip(k.name);
            let distance = strsim::osa_distance(&wanted, &known);
            let allowed = (wanted.chars().count().max(known.chars().count()) / 3).clamp(1, 3);
            (distance <= allowed).then_some((distance, k.name))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

fn set<T>(field: &mut T, value: Option<T>) -> Option<()> {
    *field = value?;
    Some(())
}

/// Parses an offload ratio: a plain decimal in [0, 1] (`0`, `0.25`, `1.0`). No sign, exponent,
/// hex, `NaN` or `inf`, so `-0` and `+0` are refused too.
pub fn parse_ratio(v: &str) -> Option<f64> {
    let v = v.trim();
    let (whole, fraction) = v.split_once('.').unwrap_or((v, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return None;
    }
    let r: f64 = v.parse().ok()?;
    (0.0..=1.0).contains(&r).then_some(r)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn parse_platform(v: &str) -> Option<Platform> {
    match v.trim() {
        "local" => Some(Platform::Local),
        "aws" => Some(Platform::Aws),
        "openwhisk" => Some(Platform::OpenWhisk),
        _ => None,
    }
}

fn parse_aws_word(v: &str, max: usize) -> Option<String> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= max
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@+=,".contains(c));
    ok.then(|| v.to_owned())
}

/// `eu-west-1`, `us-gov-east-1`, `cn-north-1`: lower-case words and a number, dash-separated.
fn parse_aws_region(v: &str) -> Option<String> {
    let v = v.trim();
    let parts: Vec<&str> = v.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    ok.then(|| v.to_owned())
}

fn parse_url(v: &str) -> Option<String> {
    let v = v.trim();
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    (!host.is_empty() && !v.contains(char::is_whitespace))
        .then(|| v.trim_end_matches('/').to_owned())
}

/// A Lambda function name or ARN, or an OpenWhisk action; [`AgentConfig::check`] checks that it
/// is the platform's kind.
fn parse_function(v: &str) -> Option<String> {
    let v = v.trim();
    (is_lambda_function(v) || ActionName::parse(v).is_ok()).then(|| v.to_owned())
}

fn is_lambda_function(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 170
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
}

fn parse_namespace(v: &str) -> Option<String> {
    let v = v.trim();
    (v == semifaas_openwhisk::DEFAULT_NAMESPACE || check_entity(v).is_ok()).then(|| v.to_owned())
}

/// `host:port` with a port from 1; an IPv6 host in brackets.
fn parse_host_port(v: &str) -> Option<String> {
    let v = v.trim();
    let (host, port) = v.rsplit_once(':')?;
    let port_ok = port.parse::<u16>().is_ok_and(|p| p > 0);
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        parse_host(host).is_some() && !host.contains(':')
    };
    (port_ok && host_ok).then(|| v.to_owned())
}

fn parse_host(v: &str) -> Option<String> {
    let v = v.trim();
    let ok =
        !v.is_empty() && v.len() <= 253 && !v.contains(|c: char| c.is_whitespace() || c == '/');
    ok.then(|| v.to_owned())
}

fn parse_absolute_path(v: &str) -> Option<PathBuf> {
    let path = PathBuf::from(v.trim());
    (path.is_absolute() && path.file_name().is_some()).then_some(path)
}

fn parse_timeout(v: &str) -> Option<Duration> {
    let ms: u64 = v.trim().parse().ok()?;
    (ms > 0).then(|| Duration::from_millis(ms))
}

fn parse_mode(v: &str) -> Option<Mode> {
    match v.trim() {
        "manual" => Some(Mode::Manual),
        "auto" => Some(Mode::Auto),
        _ => None,
    }
}

fn parse_positive(v: &str) -> Option<u32> {
    v.trim().parse().ok().filter(|n| *n > 0)
}

fn parse_millis(v: &str) -> Option<Duration> {
    let ms: f64 = v.trim().parse().ok()?;
    (0.0..3_600_000.0)
        .contains(&ms)
        .then(|| Duration::from_secs_f64(ms / 1000.0))
}

/// Comma-separated handler keys or class-name prefixes; empty entries are skipped.
fn parse_patterns(v: &str) -> Option<Vec<String>> {
    let patterns: Vec<String> = v
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let valid = |p: &String| match p.split_once('#') {
        Some(_) => crate::policy::check_handler_key(p).is_ok(),
        None => !p.contains(char::is_whitespace) && !p.starts_with('.'),
    };
    patterns.iter().all(valid).then_some(patterns)
}

fn parse_log_filter(v: &str) -> Option<String> {
    let v = v.trim();
    EnvFilter::try_new(v).ok().map(|_| v.to_owned())
}

impl AgentConfig {
    /// Checks what no single key can: functions in AWS's own cloud (`aws`, no endpoint of a
    /// Lambda-compatible service) cannot dial a loopback fallback address.
    pub fn check(&self) -> Result<(), String> {
        let host = self.advertised_host();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
        let action = ActionName::parse(&self.function);
        match self.platform {
            Platform::OpenWhisk => {
                if let Err(e) = action {
                    return Err(format!("semifaas.function: {e}"));
                }
            }
            Platform::Local | Platform::Aws if !is_lambda_function(&self.function) => {
                return Err(format!(
                    "semifaas.function {:?} is an OpenWhisk action name, not a Lambda function's; \
                     set semifaas.platform=openwhisk or name a Lambda function",
                    self.function
                ));
            }
            _ => {}
        }
        if self.platform == Platform::Aws && self.lambda_endpoint.is_none() && loopback {
            return Err(format!(
                "semifaas.platform=aws hands functions the fallback address {host}, which they \
                 cannot reach from AWS: set semifaas.fallback.host (or semifaas.fallback.advertise \
                 host:port, behind NAT) to an address of this server that Lambda's network \
                 reaches (a public address, or one in the function's VPC), and open the fallback \
                 port (UDP) to it"
            ));
        }
        Ok(())
    }

    /// The host functions dial: `semifaas.fallback.advertise`'s, else `semifaas.fallback.host`.
    fn advertised_host(&self) -> &str {
        self.fallback_advertise
            .as_deref()
            .and_then(|a| a.rsplit_once(':'))
            .map_or(self.fallback_host.as_str(), |(host, _)| host)
    }

    /// What functions dial to reach `server`: its address as advertised.
    pub fn fallback_endpoint(&self, server: &FallbackServer) -> FallbackEndpoint {
        let mut endpoint = server.endpoint(&self.fallback_host);
        if let Some(advertised) = &self.fallback_advertise {
            endpoint.addr = advertised.clone();
        }
        endpoint
    }

    /// Builds the configuration from `(key, value)` pairs; keys not given keep their defaults.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<AgentConfig, ConfigError> {
        AgentConfig::default().with_pairs(pairs)
    }

    /// This configuration with `(key, value)` pairs applied over it.
    pub fn with_pairs<K: AsRef<str>, V: AsRef<str>>(
        self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<AgentConfig, ConfigError> {
        let mut config = self;
        let mut seen = HashSet::new();
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref());
            let Some(spec) = KEYS.iter().find(|k| k.name == key) else {
                return Err(ConfigError::UnknownKey {
                    key: key.to_owned(),
                    suggestion: suggest_key(key),
                });
            };
            if !seen.insert(spec.name) {
                return Err(ConfigError::Duplicate {
                    key: key.to_owned(),
                });
            }
            (spec.apply)(&mut config, value).ok_or_else(|| ConfigError::BadValue {
                key: key.to_owned(),
                // A mistyped secret is still a secret: it must not reach the log.
                value: if spec.name == "semifaas.admin.token" {
                    "(not shown)".to_owned()
                } else {
                    value.to_owned()
                },
                expected: spec.expected,
            })?;
        }
        Ok(config)
    }

    pub fn admin_addr(&self) -> SocketAddr {
        SocketAddr::new(self.admin_host, self.admin_port)
    }

    /// The UDP address the fallback server binds: the advertised address itself when it is an
    /// IP (or `localhost`), every interface otherwise (a name that resolves elsewhere).
    pub fn fallback_bind_addr(&self) -> SocketAddr {
        if let Some(ip) = self.fallback_bind {
            return SocketAddr::new(ip, self.fallback_port);
        }
        let host = self
            .fallback_host
            .trim_start_matches('[')
            .trim_end_matches(']');
        let ip = match host.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) if host.eq_ignore_ascii_case("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Err(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        SocketAddr::new(ip, self.fallback_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<AgentConfig, ConfigError> {
        AgentConfig::from_pairs(pairs.iter().copied())
    }

    fn bad(key: &str, value: &str) -> String {
        let err = parse(&[(key, value)]).unwrap_err();
        assert!(
            matches!(err, ConfigError::BadValue { .. }),
            "{key}={value:?} gave {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(key),
            "message {message:?} must name the key"
        );
        message
    }

    #[test]
    fn aws_refuses_a_fallback_address_functions_in_aws_cannot_reach() {
        let aws = |pairs: &[(&str, &str)]| {
            parse(&[[("semifaas.platform", "aws")].as_slice(), pairs].concat())
                .unwrap()
                .check()
        };
        let error = aws(&[]).unwrap_err();
        assert!(error.contains("semifaas.fallback.host"), "{error}");
        assert!(aws(&[("semifaas.fallback.host", "localhost")]).is_err());
        assert!(aws(&[("semifaas.fallback.host", "0.0.0.0")]).is_err());
        assert!(aws(&[("semifaas.fallback.host", "203.0.113.7")]).is_ok());
        assert!(aws(&[("semifaas.fallback.host", "server.example.com")]).is_ok());
        assert!(aws(&[("semifaas.fallback.advertise", "203.0.113.7:4433")]).is_ok());
        let advertised_loopback = aws(&[
            ("semifaas.fallback.host", "203.0.113.7"),
            ("semifaas.fallback.advertise", "127.0.0.1:4433"),
        ]);
        assert!(advertised_loopback.unwrap_err().contains("127.0.0.1"));
        // A Lambda-compatible service on this machine can reach loopback.
        assert!(aws(&[("semifaas.lambda.endpoint", "http://127.0.0.1:9001")]).is_ok());
        assert!(parse(&[]).unwrap().check().is_ok(), "local needs nothing");
    }

    #[test]
    fn empty_list_gives_defaults() {
        let config = parse(&[]).unwrap();
        assert_eq!(config, AgentConfig::default());
        assert_eq!(config.ratio, 0.0);
        assert_eq!(config.platform, Platform::Local);
        assert_eq!(config.lambda_endpoint, None);
        assert_eq!(config.function, "semifaas");
        assert_eq!(config.admin_addr(), "127.0.0.1:7071".parse().unwrap());
        assert_eq!(config.fallback_bind_addr(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert_eq!(config.log_filter, "info");
    }

    #[test]
    fn every_key_accepts_a_good_value() {
        let config = parse(&[
            ("semifaas.ratio", "0.25"),
            ("semifaas.platform", "aws"),
            ("semifaas.aws.profile", "offload-role"),
            ("semifaas.aws.region", "us-gov-west-1"),
            ("semifaas.lambda.endpoint", "http://localhost:9001/"),
            ("semifaas.function", "image-resize_2"),
            ("semifaas.admin.port", "0"),
            ("semifaas.admin.host", "0.0.0.0"),
            ("semifaas.fallback.port", "4433"),
            ("semifaas.fallback.host", "server.internal"),
            ("semifaas.fallback.bind", "10.0.0.5"),
            ("semifaas.fallback.advertise", "[2001:db8::7]:4433"),
            ("semifaas.timeout-ms", "1500"),
            ("semifaas.config", "/etc/semifaas.properties"),
            ("semifaas.log", "semifaas_agent=debug,warn"),
        ])
        .unwrap();
        assert_eq!(config.ratio, 0.25);
        assert_eq!(config.platform, Platform::Aws);
        assert_eq!(config.aws_profile.as_deref(), Some("offload-role"));
        assert_eq!(config.aws_region.as_deref(), Some("us-gov-west-1"));
        assert_eq!(
            config.lambda_endpoint.as_deref(),
            Some("http://localhost:9001")
        );
        assert_eq!(config.function, "image-resize_2");
        assert_eq!(config.admin_addr(), "0.0.0.0:0".parse().unwrap());
        assert_eq!(config.fallback_host, "server.internal");
        assert_eq!(
            config.fallback_bind_addr(),
            "10.0.0.5:4433".parse().unwrap()
        );
        assert_eq!(
            config.fallback_advertise.as_deref(),
            Some("[2001:db8::7]:4433")
        );
        assert_eq!(config.timeout, Duration::from_millis(1500));
        assert_eq!(config.log_filter, "semifaas_agent=debug,warn");
        let ratio_one = parse(&[("semifaas.ratio", "1")]).unwrap();
        assert_eq!(ratio_one.ratio, 1.0);
        let v6 = parse(&[("semifaas.fallback.host", "::1")]).unwrap();
        assert_eq!(v6.fallback_bind_addr(), "[::1]:0".parse().unwrap());
    }

    #[test]
    fn every_key_rejects_a_bad_value_naming_the_key_and_form() {
        for v in [
            "", "abc", "-0.1", "1.01", "NaN", "inf", "-0", "+0", "0x1", "1e0", "1.", ".5",
        ] {
            assert!(bad("semifaas.ratio", v).contains("[0, 1]"));
            assert!(bad("semifaas.verify", v).contains("[0, 1]"));
        }
        let platform = bad("semifaas.platform", "kubernetes");
        assert!(
            platform.contains("local")
                && platform.contains("aws")
                && platform.contains("openwhisk")
        );
        for v in ["", "has space", "a/b", &"p".repeat(129)] {
            bad("semifaas.aws.profile", v);
        }
        for v in [
            "",
            "eu-west",
            "EU-WEST-1",
            "eu--1",
            "eu-west-x",
            "eu west 1",
        ] {
            assert!(bad("semifaas.aws.region", v).contains("region"), "{v}");
        }
        for v in [
            "",
            "host",
            "host:0",
            "host:x",
            "a b:1",
            "2001:db8::7:4433",
            "[x]:1",
        ] {
            bad("semifaas.fallback.advertise", v);
        }
        for v in ["", "server.internal", "10.0.0.300"] {
            bad("semifaas.fallback.bind", v);
        }
        for v in ["127.0.0.1:9000", "ftp://x", "http://", "http://a b"] {
            assert!(bad("semifaas.lambda.endpoint", v).contains("URL"));
        }
        for v in ["", "tools/", "a/b/c", "/name", "a%b", &"f".repeat(300)] {
            bad("semifaas.function", v);
        }
        for v in ["-1", "65536", "port", ""] {
            assert!(bad("semifaas.admin.port", v).contains("port"));
            bad("semifaas.fallback.port", v);
        }
        for v in ["localhost", "300.1.1.1", ""] {
            assert!(bad("semifaas.admin.host", v).contains("IP address"));
        }
        for v in ["admin.token", "", "/"] {
            assert!(bad("semifaas.admin.token-file", v).contains("absolute file path"));
        }
        for v in ["", "a b", "http://x"] {
            bad("semifaas.fallback.host", v);
        }
        for v in ["0", "-5", "1.5", "soon"] {
            assert!(bad("semifaas.timeout-ms", v).contains("greater than 0"));
        }
        bad("semifaas.log", "semifaas_agent=loud");
        assert!(bad("semifaas.mode", "burst").contains("manual, auto"));
        for v in ["0", "-1", "x", "1.5"] {
            assert!(bad("semifaas.auto.capacity", v).contains("greater than 0"));
        }
        for v in ["1.2", "-0.5", "most"] {
            bad("semifaas.auto.max-ratio", v);
        }
        for v in ["0", "fast"] {
            bad("semifaas.auto.interval-ms", v);
        }
        for v in ["-1", "NaN", "inf", "five"] {
            bad("semifaas.min-cpu-ms", v);
        }
        for v in ["-1", "2.5", "many"] {
            bad("semifaas.profile.samples", v);
            bad("semifaas.shadow.samples", v);
            bad("semifaas.offload.max-in-flight", v);
        }
        for v in ["0", "1001", "-1", "ten"] {
            assert!(bad("semifaas.shadow.rounds", v).contains("1 to 1000"));
        }
        for v in ["a b#c", "com.x.C#", ".com.x", "com.x.A, has space"] {
            assert!(bad("semifaas.include", v).contains("Class#method"));
            bad("semifaas.exclude", v);
        }
    }

    #[test]
    fn control_plane_keys_have_documented_defaults_and_parse() {
        let d = AgentConfig::default();
        assert_eq!(d.mode, Mode::Manual);
        assert!(d.auto_capacity >= 1);
        assert_eq!(d.auto_max_ratio, 1.0);
        assert_eq!(d.auto_interval, Duration::from_millis(100));
        assert_eq!(d.min_cpu, Duration::from_millis(5));
        assert_eq!(
            (d.profile_samples, d.shadow_samples, d.shadow_rounds),
            (3, 3, 10)
        );
        assert!(d.include.is_empty() && d.exclude.is_empty());
        assert_eq!(d.offload_max_in_flight, None, "learned by default");
        let c = parse(&[
            ("semifaas.mode", "auto"),
            ("semifaas.auto.capacity", "8"),
            ("semifaas.auto.max-ratio", "0.8"),
            ("semifaas.auto.interval-ms", "250"),
            ("semifaas.min-cpu-ms", "0.5"),
            ("semifaas.profile.samples", "0"),
            (
                "semifaas.include",
                "com.example.ImageController#resize, com.example.batch.",
            ),
            ("semifaas.exclude", " com.example.Health ,"),
            ("semifaas.shadow.samples", "5"),
            ("semifaas.offload.max-in-flight", "4"),
            ("semifaas.shadow.rounds", "25"),
            ("semifaas.remote-classes", "com.example.Db"),
            ("semifaas.copy-classes", "com.example.Dto"),
            (
                "semifaas.codec.allow",
                "com.example.Report,com.example.dto.",
            ),
            ("semifaas.read-only-methods", "fetch,com.example.Repo#load"),
        ])
        .unwrap();
        assert_eq!(c.mode, Mode::Auto);
        assert_eq!(c.auto_capacity, 8);
        assert_eq!(c.auto_max_ratio, 0.8);
        assert_eq!(c.auto_interval, Duration::from_millis(250));
        assert_eq!(c.min_cpu, Duration::from_micros(500));
        assert_eq!(c.profile_samples, 0);
        assert_eq!(
            c.include,
            ["com.example.ImageController#resize", "com.example.batch."]
        );
        assert_eq!(c.exclude, ["com.example.Health"]);
        assert_eq!(c.shadow_samples, 5);
        assert_eq!(c.offload_max_in_flight, Some(4));
        assert_eq!(c.shadow_rounds, 25);
        let learned = parse(&[("semifaas.offload.max-in-flight", "0")]).unwrap();
        assert_eq!(learned.offload_max_in_flight, None);
    }

    #[test]
    fn unknown_key_is_named_with_a_suggestion() {
        let err = parse(&[("semifaas.ration", "0.5")]).unwrap_err();
        assert_eq!(
            err,
            ConfigError::UnknownKey {
                key: "semifaas.ration".into(),
                suggestion: Some("semifaas.ratio"),
            }
        );
        assert_eq!(
            err.to_string(),
            "unknown configuration key \"semifaas.ration\"; did you mean semifaas.ratio?"
        );
        assert!(!err.to_string().contains('\n'), "one line");
    }

    #[test]
    fn suggestions_are_given_only_for_close_names() {
        assert_eq!(suggest_key("semifaas.ration"), Some("semifaas.ratio"));
        assert_eq!(suggest_key("semifaas.raito"), Some("semifaas.ratio"));
        assert_eq!(suggest_key("semifaas.timeout"), Some("semifaas.timeout-ms"));
        assert_eq!(
            suggest_key("semifaas.timeout_ms"),
            Some("semifaas.timeout-ms")
        );
        assert_eq!(
            suggest_key("semifaas.admin.prot"),
            Some("semifaas.admin.port")
        );
        assert_eq!(suggest_key("semifaas.enable"), Some("semifaas.enabled"));
        assert_eq!(suggest_key("semifaas.foo"), None);
        assert_eq!(suggest_key("semifaas.no.such.key"), None);
        let far = parse(&[("semifaas.foo", "1")]).unwrap_err().to_string();
        assert!(far.contains("\"semifaas.foo\"") && far.contains("known keys: semifaas.enabled"));
        assert!(!far.contains("did you mean"), "{far}");
    }

    #[test]
    fn every_key_in_the_table_is_settable() {
        let names: Vec<_> = key_names().collect();
        let unique: HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "no key is listed twice");
        for (name, example) in key_examples() {
            assert!(name.starts_with("semifaas."), "{name}");
            parse(&[(name, example)])
                .unwrap_or_else(|e| panic!("{name}={example:?} is rejected: {e}"));
            assert_eq!(suggest_key(name), Some(name), "a known key suggests itself");
        }
        let all = parse(&key_examples().collect::<Vec<_>>()).unwrap();
        assert_eq!(all.ratio, 0.25);
        for (v, ok) in [
            ("true", true),
            ("FALSE", true),
            (" false ", true),
            ("yes", false),
        ] {
            assert_eq!(parse(&[("semifaas.enabled", v)]).is_ok(), ok, "{v}");
        }
    }

    #[test]
    fn the_admin_token_is_checked_and_never_shown() {
        let secret = "s3cret-s3cret-s3cret-s3cret-s3cret";
        let c = parse(&[
            ("semifaas.admin.token", secret),
            ("semifaas.admin.token-file", "/run/x/admin.token"),
        ])
        .unwrap();
        assert_eq!(c.admin_token.as_ref().map(|t| t.secret()), Some(secret));
        assert_eq!(
            c.admin_token_file.as_deref(),
            Some(std::path::Path::new("/run/x/admin.token"))
        );
        assert!(!format!("{c:?}").contains(secret), "Debug hides it");
        for short in ["s3cret", "s3cret s3cret s3cret s3cret s3cret"] {
            let message = bad("semifaas.admin.token", short);
            assert!(message.contains("32 to 256 characters"), "{message}");
            assert!(
                !message.contains("s3cret"),
                "the value is not shown: {message}"
            );
        }
        for ratio in ["0", "0.25", "1", "1.0", "0.000"] {
            assert!(parse_ratio(ratio).is_some(), "{ratio}");
        }
        assert!(!parse_ratio("0").unwrap().is_sign_negative());
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let err = parse(&[("semifaas.ratio", "0.5"), ("semifaas.ratio", "1")]).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Duplicate {
                key: "semifaas.ratio".into()
            }
        );
    }

    #[test]
    fn openwhisk_takes_its_target_and_an_action_name() {
        let config = parse(&[
            ("semifaas.platform", "openwhisk"),
            ("semifaas.function", "tools/semifaas"),
            ("semifaas.openwhisk.apihost", "10.0.0.5:31001"),
            ("semifaas.openwhisk.namespace", "team-a"),
            ("semifaas.openwhisk.auth", "uuid:key"),
            ("semifaas.openwhisk.insecure", "true"),
        ])
        .unwrap();
        assert_eq!(config.platform, Platform::OpenWhisk);
        assert_eq!(config.openwhisk.apihost.as_deref(), Some("10.0.0.5:31001"));
        assert_eq!(config.openwhisk.namespace.as_deref(), Some("team-a"));
        assert_eq!(
            config.openwhisk.auth.as_ref().map(|a| a.uuid()),
            Some("uuid")
        );
        assert!(config.openwhisk.insecure);
        assert_eq!(config.check(), Ok(()));
        assert!(bad("semifaas.openwhisk.apihost", "ftp://x").contains("http(s) URL"));
        assert!(bad("semifaas.openwhisk.auth", "nokey").contains("uuid:key"));
        assert!(bad("semifaas.openwhisk.namespace", "a/b").contains("namespace"));
        bad("semifaas.openwhisk.insecure", "yes");
        // An action name is not a Lambda function's, and the other way round.
        let packaged = parse(&[("semifaas.function", "tools/semifaas")]).unwrap();
        assert!(packaged
            .check()
            .unwrap_err()
            .contains("semifaas.platform=openwhisk"));
        let arn = parse(&[
            ("semifaas.platform", "openwhisk"),
            ("semifaas.function", "arn:aws:lambda:eu-west-1:1:function:f"),
        ])
        .unwrap();
        assert!(arn.check().unwrap_err().contains("semifaas.function"));
    }
}
