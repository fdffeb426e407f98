//! What a burst scenario's offloads cost at Lambda's list price, against keeping the same extra
//! capacity as always-on servers (part of `semifaas bench burst`).
//!
//! Lambda's side comes from the platform's own accounting (faas-local's `/local/stats`, as
//! Lambda's REPORT lines would): requests, and billed time × configured memory in GB-seconds.
//! The always-on side sizes servers for the peak offloaded concurrency: Lambda gives an instance
//! one vCPU per [`LAMBDA_MB_PER_VCPU`] of its memory, so the peak's vCPUs, in whole servers of
//! `--server-vcpus`, kept for `--always-on-s`.

use clap::Args;
use serde::Serialize;
use serde_json::{json, Value};

/// Lambda's list prices (us-east-1, x86_64) and the default server: c7i.large (2 vCPU, 4 GiB),
/// Linux on-demand, us-east-1.
pub const DEFAULT_PRICE_GB_SECOND: f64 = 0.000_016_666_7;
pub const DEFAULT_PRICE_REQUEST: f64 = 0.000_000_2;
pub const DEFAULT_PRICE_SERVER_HOUR: f64 = 0.089_25;
pub const DEFAULT_SERVER_VCPUS: u32 = 2;
pub const DEFAULT_ALWAYS_ON_S: f64 = 3600.0;
/// Lambda allocates CPU in proportion to memory: one vCPU at 1,769 MB.
pub const LAMBDA_MB_PER_VCPU: f64 = 1769.0;
/// EC2 bills a Linux on-demand instance per second, at least 60 s.
pub const SERVER_MIN_BILLED_S: f64 = 60.0;

/// The prices the report uses (USD) and the server the always-on alternative runs on.
#[derive(Debug, Clone, Args)]
pub struct Prices {
    /// Lambda's price per GB-second of billed duration, USD [AWS list price, us-east-1, x86_64].
    #[arg(long, value_name = "USD", allow_negative_numbers = true, default_value_t = DEFAULT_PRICE_GB_SECOND, value_parser = price)]
    pub price_gb_second: f64,
    /// Lambda's price per request, USD [0.20 per million: AWS list price, us-east-1].
    #[arg(long, value_name = "USD", allow_negative_numbers = true, default_value_t = DEFAULT_PRICE_REQUEST, value_parser = price)]
    pub price_request: f64,
    /// An always-on server's price per hour, USD [c7i.large, 2 vCPU / 4 GiB, Linux on-demand,
    /// us-east-1].
    #[arg(long, value_name = "USD", allow_negative_numbers = true, default_value_t = DEFAULT_PRICE_SERVER_HOUR, value_parser = price)]
    pub price_server_hour: f64,
    /// vCPUs of that server: the peak offloaded concurrency's vCPUs are served by whole servers.
    #[arg(long, default_value_t = DEFAULT_SERVER_VCPUS, value_parser = clap::value_parser!(u32).range(1..))]
    pub server_vcpus: u32,
    /// How long the always-on servers are kept and billed, in seconds (at least EC2's 60 s
    /// minimum is billed); compare with the Lambda cost of the bursts in that time.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, default_value_t = DEFAULT_ALWAYS_ON_S, value_parser = seconds)]
    pub always_on_s: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            price_gb_second: DEFAULT_PRICE_GB_SECOND,
            price_request: DEFAULT_PRICE_REQUEST,
            price_server_hour: DEFAULT_PRICE_SERVER_HOUR,
            server_vcpus: DEFAULT_SERVER_VCPUS,
            always_on_s: DEFAULT_ALWAYS_ON_S,
        }
    }
}

fn number(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{text:?} is not a number"))
}

fn price(text: &str) -> Result<f64, String> {
    let value = number(text)?;
    if value < 0.0 {
        return Err(format!("a price cannot be negative ({text})"));
    }
    Ok(value)
}

fn seconds(text: &str) -> Result<f64, String> {
    let value = number(text)?;
    if value <= 0.0 {
        return Err(format!("use a positive number of seconds ({text})"));
    }
    Ok(value)
}

/// What the platform served one scenario, from its `/local/stats` before and after.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Invocations that got an instance (throttled ones are not billed).
    pub requests: u64,
    /// Invocations' billed time plus the cold starts' init time.
    pub billed_ms: u64,
    pub memory_mb: u32,
    /// The most invocations running at once.
    pub peak_concurrency: u64,
}

impl Usage {
    /// The counts `before` → `after` of one function's `/local/stats` entry; `None` when the
    /// platform did not say (an older faas-local without billing counters).
    pub fn between(before: &Value, after: &Value, peak_concurrency: u64) -> Option<Usage> {
        let delta = |key: &str| -> Option<u64> {
            Some(
                after[key]
                    .as_u64()?
                    .saturating_sub(before[key].as_u64().unwrap_or(0)),
            )
        };
        Some(Usage {
            requests: delta("invocations")?,
            billed_ms: delta("billed_ms")? + delta("init_ms")?,
            memory_mb: u32::try_from(after["memory_mb"].as_u64()?).ok()?,
            peak_concurrency,
        })
    }
}

/// One scenario's cost both ways.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cost {
    pub requests: u64,
    pub gb_seconds: f64,
    pub lambda_cost_usd: f64,
    pub peak_concurrency: u64,
    /// Servers of `--server-vcpus` holding the peak's vCPUs.
    pub servers: u64,
    pub always_on_cost_usd: f64,
}

impl Cost {
    pub fn of(usage: &Usage, prices: &Prices) -> Cost {
        let gb_seconds = usage.billed_ms as f64 / 1000.0 * f64::from(usage.memory_mb) / 1024.0;
        let peak_vcpus =
            usage.peak_concurrency as f64 * f64::from(usage.memory_mb) / LAMBDA_MB_PER_VCPU;
        let servers = (peak_vcpus / f64::from(prices.server_vcpus)).ceil() as u64;
        let billed_hours = prices.always_on_s.max(SERVER_MIN_BILLED_S) / 3600.0;
        Cost {
            requests: usage.requests,
            gb_seconds,
            lambda_cost_usd: usage.requests as f64 * prices.price_request
                + gb_seconds * prices.price_gb_second,
            peak_concurrency: usage.peak_concurrency,
            servers,
            always_on_cost_usd: servers as f64 * prices.price_server_hour * billed_hours,
        }
    }
}

/// The prices and the definitions, once per report.
pub fn model_json(prices: &Prices) -> Value {
    json!({
        "price_gb_second_usd": prices.price_gb_second,
        "price_request_usd": prices.price_request,
        "price_server_hour_usd": prices.price_server_hour,
        "server_vcpus": prices.server_vcpus,
        "always_on_s": prices.always_on_s,
        "source": "defaults: AWS Lambda list price, us-east-1, x86_64; server c7i.large Linux on-demand, us-east-1",
        "gb_seconds": "(the platform's billed ms of the run's invocations, each from the runtime taking it to its end rounded up to 1 ms, + its cold starts' init ms) / 1000 × memory MB / 1024",
        "lambda_cost_usd": "requests × price_request_usd + gb_seconds × price_gb_second_usd",
        "always_on_cost_usd": format!(
            "servers × price_server_hour_usd × max(always_on_s, {SERVER_MIN_BILLED_S}) / 3600, servers = ceil(peak_concurrency × memory MB / {LAMBDA_MB_PER_VCPU} / server_vcpus): the peak offloaded concurrency (the platform's most invocations running at once, from 2 s into the run) as Lambda's vCPUs, on always-on servers"
        ),
    })
}

/// Money for people: cents, and under a dollar up to six decimals (a burst costs fractions of
/// a cent).
pub fn usd(value: f64) -> String {
    if value >= 1.0 {
        return format!("${value:.2}");
    }
    let text = format!("{value:.6}");
    let trimmed = text.trim_end_matches('0');
    // At least the cents.
    let cents = text.find('.').map_or(text.len(), |dot| dot + 3);
    format!("${}", &text[..trimmed.len().max(cents)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_cost_is_requests_plus_gb_seconds_and_servers_hold_the_peak() {
        let usage = Usage {
            requests: 1_000,
            // 1,000 invocations of 150 ms and one 850 ms cold start.
            billed_ms: 150_850,
            memory_mb: 2048,
            peak_concurrency: 3,
        };
        let cost = Cost::of(&usage, &Prices::default());
        // 150.85 s × 2 GB.
        assert!((cost.gb_seconds - 301.7).abs() < 1e-9);
        let lambda = 1_000.0 * 0.000_000_2 + 301.7 * 0.000_016_666_7;
        assert!((cost.lambda_cost_usd - lambda).abs() < 1e-12);
        // 3 × 2048 / 1769 = 3.47 vCPUs: two 2-vCPU servers for an hour.
        assert_eq!(cost.servers, 2);
        assert!((cost.always_on_cost_usd - 2.0 * 0.089_25).abs() < 1e-12);

        // Nothing offloaded: no server; a period under a minute is billed a minute.
        let idle = Usage {
            requests: 0,
            billed_ms: 0,
            memory_mb: 1024,
            peak_concurrency: 0,
        };
        assert_eq!(Cost::of(&idle, &Prices::default()).always_on_cost_usd, 0.0);
        let short = Prices {
            always_on_s: 10.0,
            ..Prices::default()
        };
        let one = Usage {
            peak_concurrency: 1,
            ..idle
        };
        let cost = Cost::of(&one, &short);
        assert_eq!((cost.servers, cost.lambda_cost_usd), (1, 0.0));
        assert!((cost.always_on_cost_usd - 0.089_25 / 60.0).abs() < 1e-12);
    }

    #[test]
    fn usage_is_the_platform_counters_difference() {
        let before =
            json!({"invocations": 10, "billed_ms": 500, "init_ms": 900, "memory_mb": 1024});
        let after =
            json!({"invocations": 110, "billed_ms": 20_500, "init_ms": 1_700, "memory_mb": 1024});
        assert_eq!(
            Usage::between(&before, &after, 3),
            Some(Usage {
                requests: 100,
                billed_ms: 20_800,
                memory_mb: 1024,
                peak_concurrency: 3
            })
        );
        // A platform without the billing counters: no figure rather than a wrong one.
        assert_eq!(
            Usage::between(&json!({}), &json!({"invocations": 5}), 1),
            None
        );
    }

    #[test]
    fn money_reads_at_any_scale() {
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(0.002_812_4), "$0.002812");
        assert_eq!(usd(0.089_25), "$0.08925");
        assert_eq!(usd(0.5), "$0.50");
        assert_eq!(usd(2.141), "$2.14");
    }

    #[test]
    fn bad_prices_are_refused() {
        assert!(price("-0.1").unwrap_err().contains("negative"));
        assert!(price("cheap").unwrap_err().contains("not a number"));
        assert!(price("inf").is_err());
        assert_eq!(price("0"), Ok(0.0));
        assert!(seconds("0").is_err());
    }
}
