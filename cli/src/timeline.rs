//! A load run cut into fixed windows (rate, latency, where requests ran, live instances) and the
//! burst summary computed from them: the SLO, how long the burst kept latency above it, the peak.

use std::time::Duration;

use serde::Serialize;

use crate::loadgen::RequestRecord;

/// The agent's and the platform's counters at one instant of the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CounterSample {
    /// Seconds from the start of the run.
    pub at_s: f64,
    pub offloaded: u64,
    pub local: u64,
    /// Live function instances (`None` when the platform did not answer).
    pub instances: Option<u64>,
}

/// One window of the run. Requests belong to the window they were *scheduled* in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub start_s: f64,
    /// Requests scheduled in the window, per second.
    pub sent_rps: f64,
    /// Successful responses that arrived in the window, per second.
    pub completed_rps: f64,
    /// Requests scheduled in the window that got no 200.
    pub failed: usize,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Offloaded share of the requests scheduled in the window, from each response's placement
    /// header; without those headers, of the invocations the agent counted in the window.
    pub offload_ratio: Option<f64>,
    pub instances: Option<u64>,
}

/// The value at quantile `q` of `sorted` (nearest rank).
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[((sorted.len() - 1) as f64 * q).round() as usize])
}

fn latencies_ms<'a>(records: impl Iterator<Item = &'a RequestRecord>) -> Vec<f64> {
    let mut out: Vec<f64> = records
        .filter(|r| r.ok())
        .map(|r| r.latency().as_secs_f64() * 1000.0)
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

/// Cuts `[0, total)` into windows of `width`.
pub fn windows(
    records: &[RequestRecord],
    samples: &[CounterSample],
    width: Duration,
    total: Duration,
) -> Vec<Window> {
    let w = width.as_secs_f64();
    let count = total.as_nanos().div_ceil(width.as_nanos()) as usize;
    // Integer division: float division puts 1.2 s in the window of 1.1 s.
    let index = |d: Duration| (d.as_nanos() / width.as_nanos()) as usize;
    let mut scheduled: Vec<Vec<&RequestRecord>> = vec![vec![]; count];
    let mut completed = vec![0usize; count];
    for r in records {
        if let Some(bucket) = scheduled.get_mut(index(r.scheduled)) {
            bucket.push(r);
        }
        if r.ok() {
            if let Some(c) = completed.get_mut(index(r.done)) {
                *c += 1;
            }
        }
    }
    // The last sample at or before `t`.
    let sample_at = |t: f64| samples.iter().rev().find(|s| s.at_s <= t);
    (0..count)
        .map(|i| {
            let (start, end) = (i as f64 * w, (i + 1) as f64 * w);
            let sorted = latencies_ms(scheduled[i].iter().copied());
            let placed: Vec<&&RequestRecord> =
                scheduled[i].iter().filter(|r| r.ran.is_some()).collect();
            let offload_ratio = if placed.is_empty() {
                match (sample_at(start), sample_at(end)) {
                    (Some(a), Some(b)) => {
                        let offloaded = b.offloaded.saturating_sub(a.offloaded);
                        let total = offloaded + b.local.saturating_sub(a.local);
                        (total > 0).then(|| offloaded as f64 / total as f64)
                    }
                    _ => None,
                }
            } else {
                let offloaded = placed.iter().filter(|r| r.offloaded()).count();
                Some(offloaded as f64 / placed.len() as f64)
            };
            Window {
                start_s: start,
                sent_rps: scheduled[i].len() as f64 / w,
                completed_rps: completed[i] as f64 / w,
                failed: scheduled[i].iter().filter(|r| !r.ok()).count(),
                p50_ms: percentile(&sorted, 0.5),
                p99_ms: percentile(&sorted, 0.99),
                offload_ratio,
                instances: sample_at(end).and_then(|s| s.instances),
            }
        })
        .collect()
}

/// How one run absorbed its burst.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurstSummary {
    /// p99 of the requests scheduled before the burst.
    pub baseline_p99_ms: f64,
    /// `slo_factor ×` the baseline p99.
    pub slo_ms: f64,
    /// From burst onset until the windowed p99 is under the SLO for good: 0 when it never went
    /// over, `None` when it was still over in the last window.
    pub recovery_s: Option<f64>,
    /// Highest windowed p99 from the burst onset on.
    pub peak_p99_ms: f64,
    pub completed: usize,
    pub failed: usize,
    /// Requests whose response said their handler was offloaded.
    pub offloaded: usize,
}

/// Summarizes a run whose burst starts at `burst_start`; the SLO is `slo_factor` times the p99
/// of the requests scheduled before it.
pub fn summarize(
    records: &[RequestRecord],
    windows: &[Window],
    width: Duration,
    burst_start: Duration,
    slo_factor: f64,
) -> BurstSummary {
    let baseline = latencies_ms(records.iter().filter(|r| r.scheduled < burst_start));
    let baseline_p99_ms = percentile(&baseline, 0.99).unwrap_or(0.0);
    let slo_ms = baseline_p99_ms * slo_factor;
    let onset = burst_start.as_secs_f64();
    let after: Vec<&Window> = windows
        .iter()
        .filter(|w| w.start_s + 1e-9 >= onset && w.sent_rps > 0.0)
        .collect();
    // A window whose requests all failed is over the SLO too.
    let over = |w: &Window| w.p99_ms.is_none_or(|p| p > slo_ms) || w.failed > 0;
    let recovery_s = match after.iter().rposition(|w| over(w)) {
        None => Some(0.0),
        Some(last) if last + 1 == after.len() => None,
        Some(last) => Some(after[last].start_s + width.as_secs_f64() - onset),
    };
    BurstSummary {
        baseline_p99_ms,
        slo_ms,
        recovery_s,
        peak_p99_ms: after.iter().filter_map(|w| w.p99_ms).fold(0.0, f64::max),
        completed: records.iter().filter(|r| r.ok()).count(),
        failed: records.iter().filter(|r| !r.ok()).count(),
        offloaded: records.iter().filter(|r| r.offloaded()).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(scheduled_ms: u64, latency_ms: u64, status: Option<u16>) -> RequestRecord {
        RequestRecord {
            scheduled: Duration::from_millis(scheduled_ms),
            sent: Duration::from_millis(scheduled_ms),
            done: Duration::from_millis(scheduled_ms + latency_ms),
            status,
            ran: None,
        }
    }

    const W: Duration = Duration::from_millis(100);

    #[test]
    fn windows_hold_rate_latency_ratio_and_instances() {
        let records = vec![
            record(0, 10, Some(200)),
            record(20, 20, Some(200)),
            record(50, 30, Some(200)),
            record(120, 200, Some(200)),
            record(150, 5, None),
        ];
        let samples = vec![
            CounterSample {
                at_s: 0.0,
                offloaded: 0,
                local: 0,
                instances: Some(0),
            },
            CounterSample {
                at_s: 0.1,
                offloaded: 0,
                local: 2,
                instances: Some(0),
            },
            CounterSample {
                at_s: 0.2,
                offloaded: 3,
                local: 3,
                instances: Some(2),
            },
        ];
        let w = windows(&records, &samples, W, Duration::from_millis(400));
        assert_eq!(w.len(), 4);
        assert_eq!(w[0].sent_rps, 30.0);
        assert_eq!(w[0].completed_rps, 30.0);
        assert_eq!((w[0].p50_ms, w[0].p99_ms), (Some(20.0), Some(30.0)));
        assert_eq!(w[0].offload_ratio, Some(0.0));
        assert_eq!(w[1].failed, 1);
        assert_eq!(w[1].p99_ms, Some(200.0));
        assert_eq!(w[1].offload_ratio, Some(0.75));
        assert_eq!(w[1].instances, Some(2));
        assert_eq!(
            w[3].completed_rps, 10.0,
            "the 200 ms request completed at 320 ms"
        );
        assert_eq!(w[3].p99_ms, None);

        // With placement headers the share is per request, whatever the counters say.
        let placed: Vec<RequestRecord> = ["offloaded", "local", "offloaded", "abandoned"]
            .iter()
            .enumerate()
            .map(|(i, ran)| RequestRecord {
                ran: Some((*ran).into()),
                ..record(i as u64 * 10, 5, Some(200))
            })
            .collect();
        let w = windows(&placed, &samples, W, Duration::from_millis(100));
        assert_eq!(w[0].offload_ratio, Some(0.5));
        let s = summarize(&placed, &w, W, Duration::from_millis(50), 4.0);
        assert_eq!(s.offloaded, 2);
    }

    #[test]
    fn recovery_counts_until_p99_stays_under_the_slo() {
        // Baseline p99 10 ms (SLO 40 ms); the burst at 1 s pushes p99 over until 1.3 s.
        let mut records: Vec<RequestRecord> =
            (0..10).map(|i| record(i * 100, 10, Some(200))).collect();
        records.extend([
            record(1000, 100, Some(200)),
            record(1100, 20, Some(200)),
            record(1200, 90, Some(200)),
            record(1300, 20, Some(200)),
            record(1400, 20, Some(200)),
        ]);
        let w = windows(&records, &[], W, Duration::from_millis(1500));
        let s = summarize(&records, &w, W, Duration::from_secs(1), 4.0);
        assert_eq!((s.baseline_p99_ms, s.slo_ms), (10.0, 40.0));
        let recovery = s.recovery_s.unwrap();
        assert!((recovery - 0.3).abs() < 1e-9, "{recovery}");
        assert_eq!(s.peak_p99_ms, 100.0);
        assert_eq!((s.completed, s.failed), (15, 0));

        // Still over in the last window: never recovered.
        records.push(record(1450, 500, None));
        let w = windows(&records, &[], W, Duration::from_millis(1500));
        let s = summarize(&records, &w, W, Duration::from_secs(1), 4.0);
        assert_eq!(s.recovery_s, None);
        assert_eq!(s.failed, 1);

        // Never over: recovered at once.
        let calm: Vec<RequestRecord> = (0..15).map(|i| record(i * 100, 10, Some(200))).collect();
        let w = windows(&calm, &[], W, Duration::from_millis(1500));
        assert_eq!(
            summarize(&calm, &w, W, Duration::from_secs(1), 4.0).recovery_s,
            Some(0.0)
        );
    }
}
