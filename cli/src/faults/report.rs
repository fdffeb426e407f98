//! One row per fault: the table on stdout, `faults.json` and `faults.png`.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{json, Value};

use semifaas_cli::plot_bars::{grouped_bars, BarSeries};

use super::{agent_counts::AgentCounts, reconcile::Reconciled};

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub fault: &'static str,
    #[serde(flatten)]
    pub reconciled: Reconciled,
    pub agent: AgentCounts,
    pub injections: usize,
    /// What an injection is, for the reader of the JSON.
    pub injected: &'static str,
    /// Latency of every request from its scheduled instant (failures included).
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Datagrams the relay dropped (`fallback-drop`).
    pub dropped_datagrams: u64,
    /// Invocations faas-local refused with 429 (`throttle`; the last platform's count).
    pub platform_throttles: u64,
}

pub const HEADER: &str = "fault             requests answered failed written-but-failed lost dup re-executed diverged abandoned offloaded injections  p50 ms   p99 ms";

pub fn line(row: &Row) -> String {
    let r = &row.reconciled;
    format!(
        "{:<17} {:>8} {:>8} {:>6} {:>18} {:>4} {:>3} {:>11} {:>8} {:>9} {:>9} {:>10} {:>7.1} {:>8.1}",
        row.fault,
        r.requests,
        r.answered,
        r.failed,
        r.written_but_failed,
        r.lost,
        r.duplicated,
        row.agent.reexecuted,
        row.agent.diverged,
        row.agent.abandoned,
        row.agent.create_offloaded,
        row.injections,
        row.p50_ms,
        row.p99_ms,
    )
}

pub fn write(out: &Path, config: Value, rows: &[Row]) -> Result<()> {
    let path = out.join("faults.json");
    let report = json!({ "bench": "faults", "config": config, "faults": rows });
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", path.display()))?;
    let groups: Vec<String> = rows.iter().map(|r| r.fault.to_owned()).collect();
    let series = |name: &str, value: fn(&Row) -> usize| BarSeries {
        name: name.into(),
        values: rows.iter().map(|r| value(r) as f64).collect(),
    };
    grouped_bars(
        &out.join("faults.png"),
        "Write requests under injected faults",
        "requests",
        &groups,
        &[
            series("failed", |r| r.reconciled.failed),
            series("written but failed", |r| r.reconciled.written_but_failed),
            series("lost", |r| r.reconciled.lost),
            series("duplicated", |r| r.reconciled.duplicated),
            series("re-executed", |r| r.agent.reexecuted as usize),
            series("diverged", |r| r.agent.diverged as usize),
            series("abandoned", |r| r.agent.abandoned as usize),
        ],
    )
}
