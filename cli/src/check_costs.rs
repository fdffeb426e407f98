//! What the trust boundary's checks add to an offload (part of `semifaas bench overhead`).
//!
//! A fraction of a millisecond is lost in the noise of an end-to-end latency, so the checks are
//! timed on their own: the agent jar's `CheckCosts` times the codec allow-list per decode and the
//! remote-call allow-list per call on this JVM; this module multiplies them by how often the
//! measured offloads used them (from `/stats`) and prints the sum per offload.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use semifaas_cli::{
    harness::Dist,
    plot_bars::{self, BarSeries},
};

/// The budget the checks must stay under, per offload.
pub const BUDGET_US: f64 = 200.0;

/// How often the measured offloads used each check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub offloads: u64,
    /// Handler runs the agent counted as local.
    pub local_runs: u64,
    /// Remote calls (`invoke` and `lazy_data` fallbacks) the offloads made.
    pub remote_calls: u64,
}

impl Usage {
    /// The counts `before` → `after` of the agent's `/stats`.
    pub fn between(before: &Value, after: &Value) -> Usage {
        let count = |stats: &Value, path: &[&str]| {
            path.iter()
                .fold(stats, |v, key| &v[*key])
                .as_u64()
                .unwrap_or(0)
        };
        let delta = |path: &[&str]| count(after, path).saturating_sub(count(before, path));
        Usage {
            offloads: delta(&["totals", "offloaded"]),
            local_runs: delta(&["totals", "local"]),
            remote_calls: delta(&["totals", "fallbacks", "invoke"])
                + delta(&["totals", "fallbacks", "lazy_data"]),
        }
    }

    /// Fails unless the agent counted each of `sent` requests as offloaded: a benchmark's
    /// "offloaded" figures are only what they say if `/stats` agrees.
    pub fn all_offloaded(&self, sent: u64) -> Result<(), String> {
        if self.offloads == sent {
            return Ok(());
        }
        Err(format!(
            "{sent} requests answered, but the agent's /stats counted {} offloads",
            self.offloads
        ))
    }

    /// Fails unless the agent offloaded none of `sent` requests and ran them here, counted (a
    /// request may run more than one handler).
    pub fn all_local(&self, sent: u64) -> Result<(), String> {
        if self.offloads == 0 && self.local_runs >= sent {
            return Ok(());
        }
        Err(format!(
            "{sent} requests answered, but the agent's /stats counted {} offloads and {} local runs, not 0 and at least {sent}",
            self.offloads, self.local_runs
        ))
    }
}

/// Times the checks on this machine's JVM and prices `usage` with them; prints a line and writes
/// `checks.png` in `out`. Returns the JSON section of the report.
pub fn measure(dist: &Dist, java: &Path, out: &Path, usage: &Usage) -> Result<Value> {
    let output = std::process::Command::new(java)
        .args(["-cp", &dist.agent_jar()?.display().to_string()])
        .arg("io.semifaas.agent.CheckCosts")
        .output()
        .with_context(|| format!("running {} for the check costs", java.display()))?;
    if !output.status.success() {
        bail!(
            "CheckCosts failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let costs: Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "CheckCosts printed {:?}",
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    let payloads = costs["codec"]
        .as_array()
        .context("CheckCosts: no codec figures")?;
    // Every decode is priced as the costliest payload measured: an upper bound.
    let decode_ns = payloads
        .iter()
        .filter_map(|p| p["check_ns"].as_f64())
        .fold(0.0, f64::max);
    let call_ns = costs["remote_call_ns"]
        .as_f64()
        .context("CheckCosts: no remote-call figure")?;
    if usage.offloads == 0 {
        bail!("no request was offloaded: nothing to price the checks for");
    }
    let calls_per_offload = usage.remote_calls as f64 / usage.offloads as f64;
    // An offload decodes its arguments (function) and its result (server); a remote call its
    // arguments (server) and its outcome (function), after one allow-list decision.
    let decodes_per_offload = 2.0 + 2.0 * calls_per_offload;
    let per_offload_us = (decodes_per_offload * decode_ns + calls_per_offload * call_ns) / 1000.0;
    println!(
        "trust-boundary checks: {per_offload_us:.2} µs per offload (budget {BUDGET_US:.0} µs): \
         {decodes_per_offload:.1} decodes × ≤{decode_ns:.0} ns + {calls_per_offload:.1} remote calls × {call_ns:.0} ns"
    );
    for p in payloads {
        println!(
            "  decode {:<32} {:>6} bytes: {:>8.0} ns plain, {:>8.0} ns checked",
            p["payload"].as_str().unwrap_or("?"),
            p["bytes"].as_u64().unwrap_or(0),
            p["plain_ns"].as_f64().unwrap_or(f64::NAN),
            p["checked_ns"].as_f64().unwrap_or(f64::NAN)
        );
    }
    plot(out, payloads)?;
    Ok(json!({
        "per_offload_us": per_offload_us,
        "budget_us": BUDGET_US,
        "within_budget": per_offload_us < BUDGET_US,
        "offloads": usage.offloads,
        "remote_calls": usage.remote_calls,
        "decode_check_ns_max": decode_ns,
        "remote_call_check_ns": call_ns,
        "decodes": payloads,
    }))
}

fn plot(out: &Path, payloads: &[Value]) -> Result<()> {
    let groups: Vec<String> = payloads
        .iter()
        .map(|p| p["payload"].as_str().unwrap_or("?").to_owned())
        .collect();
    let series = |name: &str, key: &str| BarSeries {
        name: name.into(),
        values: payloads
            .iter()
            .map(|p| p[key].as_f64().unwrap_or(0.0) / 1000.0)
            .collect(),
    };
    plot_bars::grouped_bars(
        &out.join("checks.png"),
        "One decode without and with the codec allow-list",
        "µs per decode",
        &groups,
        &[
            series("no checks", "plain_ns"),
            series("allow-list", "checked_ns"),
        ],
    )
}
