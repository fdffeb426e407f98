//! The agent's configuration, parsed from the flat `semifaas.*` key/value list the Java side
//! merged (system properties > `SEMIFAAS_*` environment > properties file).
//!
//! Every key lives in [`KEYS`]: adding one is one line there plus its field.

use std::{
    collections::HashSet,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use tracing_subscriber::EnvFilter;

/// Where offloaded invocations run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// `semifaas local`: the Lambda Invoke API on a local port, with test credentials.
    Local,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// Global offload ratio in [0, 1].
    pub ratio: f64,
    pub platform: Platform,
    /// Base URL of the Lambda Invoke API.
    pub lambda_endpoint: String,
    /// Function name (or ARN) invoked for every offload.
    pub function: String,
    pub admin_host: IpAddr,
    /// 0 picks an ephemeral port.
    pub admin_port: u16,
    /// Host name or address functions use to reach the fallback server.
    pub fallback_host: String,
    /// 0 picks an ephemeral port.
    pub fallback_port: u16,
    /// How long an offload may take before the handler runs locally instead.
    pub timeout: Duration,
    /// `tracing` filter directive, e.g. `info` or `semifaas_agent=debug`.
    pub log_filter: String,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            ratio: 0.0,
            platform: Platform::Local,
            lambda_endpoint: "http://127.0.0.1:9000".into(),
            function: "semifaas".into(),
            admin_host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            admin_port: 7071,
            fallback_host: "127.0.0.1".into(),
            fallback_port: 0,
            timeout: Duration::from_millis(30_000),
            log_filter: "info".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown configuration key {key:?}; known keys: {known}")]
    UnknownKey { key: String, known: String },
    #[error("configuration key {key} has invalid value {value:?}: expected {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("configuration key {key} is given more than once")]
    Duplicate { key: String },
}

/// One configuration key: its name, the form its value must have, and how it sets the config.
struct Key {
    name: &'static str,
    expected: &'static str,
    /// Returns `None` when the value does not have the expected form.
    apply: fn(&mut AgentConfig, &str) -> Option<()>,
}

#[rustfmt::skip]
const KEYS: &[Key] = &[
    Key { name: "semifaas.ratio", expected: "a number in [0, 1], e.g. 0.25", apply: |c, v| set(&mut c.ratio, parse_ratio(v)) },
    Key { name: "semifaas.platform", expected: "one of: local (aws and openwhisk are not supported yet)", apply: |c, v| set(&mut c.platform, parse_platform(v)) },
    Key { name: "semifaas.lambda.endpoint", expected: "an http:// or https:// URL, e.g. http://127.0.0.1:9000", apply: |c, v| set(&mut c.lambda_endpoint, parse_url(v)) },
    Key { name: "semifaas.function", expected: "a Lambda function name or ARN (letters, digits, '-', '_', ':', at most 170 characters)", apply: |c, v| set(&mut c.function, parse_function(v)) },
    Key { name: "semifaas.admin.port", expected: "a TCP port 0-65535 (0 = any free port)", apply: |c, v| set(&mut c.admin_port, v.trim().parse().ok()) },
    Key { name: "semifaas.admin.host", expected: "an IP address to bind, e.g. 127.0.0.1", apply: |c, v| set(&mut c.admin_host, v.trim().parse().ok()) },
    Key { name: "semifaas.fallback.port", expected: "a UDP port 0-65535 (0 = any free port)", apply: |c, v| set(&mut c.fallback_port, v.trim().parse().ok()) },
    Key { name: "semifaas.fallback.host", expected: "a host name or IP address functions can reach this server at", apply: |c, v| set(&mut c.fallback_host, parse_host(v)) },
    Key { name: "semifaas.timeout-ms", expected: "a whole number of milliseconds greater than 0", apply: |c, v| set(&mut c.timeout, parse_timeout(v)) },
    // Read by the Java side (the properties file); listed so that it is not unknown here.
    Key { name: "semifaas.config", expected: "a file path", apply: |_, _| Some(()) },
    Key { name: "semifaas.log", expected: "a tracing filter, e.g. info or semifaas_agent=debug", apply: |c, v| set(&mut c.log_filter, parse_log_filter(v)) },
];

fn set<T>(field: &mut T, value: Option<T>) -> Option<()> {
    *field = value?;
    Some(())
}

/// Parses an offload ratio: a finite number in [0, 1].
pub fn parse_ratio(v: &str) -> Option<f64> {
    let r: f64 = v.trim().parse().ok()?;
    (r.is_finite() && (0.0..=1.0).contains(&r)).then_some(r)
}

fn parse_platform(v: &str) -> Option<Platform> {
    match v.trim() {
        "local" => Some(Platform::Local),
        _ => None,
    }
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

fn parse_function(v: &str) -> Option<String> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 170
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'));
    ok.then(|| v.to_owned())
}

fn parse_host(v: &str) -> Option<String> {
    let v = v.trim();
    let ok =
        !v.is_empty() && v.len() <= 253 && !v.contains(|c: char| c.is_whitespace() || c == '/');
    ok.then(|| v.to_owned())
}

fn parse_timeout(v: &str) -> Option<Duration> {
    let ms: u64 = v.trim().parse().ok()?;
    (ms > 0).then(|| Duration::from_millis(ms))
}

fn parse_log_filter(v: &str) -> Option<String> {
    let v = v.trim();
    EnvFilter::try_new(v).ok().map(|_| v.to_owned())
}

impl AgentConfig {
    /// Builds the configuration from `(key, value)` pairs; keys not given keep their defaults.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<AgentConfig, ConfigError> {
        let mut config = AgentConfig::default();
        let mut seen = HashSet::new();
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref());
            let Some(spec) = KEYS.iter().find(|k| k.name == key) else {
                return Err(ConfigError::UnknownKey {
                    key: key.to_owned(),
                    known: KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", "),
                });
            };
            if !seen.insert(spec.name) {
                return Err(ConfigError::Duplicate {
                    key: key.to_owned(),
                });
            }
            (spec.apply)(&mut config, value).ok_or_else(|| ConfigError::BadValue {
                key: key.to_owned(),
                value: value.to_owned(),
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
    fn empty_list_gives_defaults() {
        let config = parse(&[]).unwrap();
        assert_eq!(config, AgentConfig::default());
        assert_eq!(config.ratio, 0.0);
        assert_eq!(config.platform, Platform::Local);
        assert_eq!(config.lambda_endpoint, "http://127.0.0.1:9000");
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
            ("semifaas.platform", "local"),
            ("semifaas.lambda.endpoint", "http://localhost:9001/"),
            ("semifaas.function", "image-resize_2"),
            ("semifaas.admin.port", "0"),
            ("semifaas.admin.host", "0.0.0.0"),
            ("semifaas.fallback.port", "4433"),
            ("semifaas.fallback.host", "server.internal"),
            ("semifaas.timeout-ms", "1500"),
            ("semifaas.config", "/etc/semifaas.properties"),
            ("semifaas.log", "semifaas_agent=debug,warn"),
        ])
        .unwrap();
        assert_eq!(config.ratio, 0.25);
        assert_eq!(config.lambda_endpoint, "http://localhost:9001");
        assert_eq!(config.function, "image-resize_2");
        assert_eq!(config.admin_addr(), "0.0.0.0:0".parse().unwrap());
        assert_eq!(config.fallback_host, "server.internal");
        assert_eq!(config.fallback_bind_addr(), "0.0.0.0:4433".parse().unwrap());
        assert_eq!(config.timeout, Duration::from_millis(1500));
        assert_eq!(config.log_filter, "semifaas_agent=debug,warn");
        let ratio_one = parse(&[("semifaas.ratio", "1")]).unwrap();
        assert_eq!(ratio_one.ratio, 1.0);
        let v6 = parse(&[("semifaas.fallback.host", "::1")]).unwrap();
        assert_eq!(v6.fallback_bind_addr(), "[::1]:0".parse().unwrap());
    }

    #[test]
    fn every_key_rejects_a_bad_value_naming_the_key_and_form() {
        for v in ["", "abc", "-0.1", "1.01", "NaN", "inf"] {
            assert!(bad("semifaas.ratio", v).contains("[0, 1]"));
        }
        let platform = bad("semifaas.platform", "kubernetes");
        assert!(
            platform.contains("local")
                && platform.contains("aws")
                && platform.contains("openwhisk")
        );
        bad("semifaas.platform", "aws");
        for v in ["127.0.0.1:9000", "ftp://x", "http://", "http://a b"] {
            assert!(bad("semifaas.lambda.endpoint", v).contains("URL"));
        }
        for v in ["", "has space", "slash/name", &"f".repeat(171)] {
            bad("semifaas.function", v);
        }
        for v in ["-1", "65536", "port", ""] {
            assert!(bad("semifaas.admin.port", v).contains("port"));
            bad("semifaas.fallback.port", v);
        }
        for v in ["localhost", "300.1.1.1", ""] {
            assert!(bad("semifaas.admin.host", v).contains("IP address"));
        }
        for v in ["", "a b", "http://x"] {
            bad("semifaas.fallback.host", v);
        }
        for v in ["0", "-5", "1.5", "soon"] {
            assert!(bad("semifaas.timeout-ms", v).contains("greater than 0"));
        }
        bad("semifaas.log", "semifaas_agent=loud");
    }

    #[test]
    fn unknown_key_is_named_with_the_known_ones() {
        let err = parse(&[("semifaas.ration", "0.5")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"semifaas.ration\""), "{err}");
        assert!(err.contains("semifaas.ratio"), "{err}");
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
}
