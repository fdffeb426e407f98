//! A load run cut into fixed windows (rate, latency, where requests ran, live instances) and the
//! burst summary computed from them: the SLO, how long the burst kept latency above it, the peak,
//! the rate completed during the burst; comparing two runs window by window; and sizing a burst
//! experiment's load from the capacities measured on the machine.

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
    /// The platform's most invocations running at once in this second and the one before
    /// (`None`: no answer).
    pub peak_concurrency: Option<u64>,
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
    sorted_latencies_ms(records.filter(|r| r.ok()))
}

/// The records' latencies in ms, sorted (for [`percentile`]).
pub fn sorted_latencies_ms<'a>(records: impl Iterator<Item = &'a RequestRecord>) -> Vec<f64> {
    let mut out: Vec<f64> = records
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
    /// `slo_factor ×` the baseline p99 (or the SLO given to [`summarize_against`]).
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
    /// Successful responses that arrived during the burst, per second of burst.
    pub burst_completed_rps: f64,
    /// Offloaded share of the requests scheduled during the burst (placement headers); `None`
    /// when none of them said where it ran.
    pub burst_offloaded_share: Option<f64>,
}

/// Summarizes a run whose burst lasts from `burst_start` to `burst_end`; the SLO is `slo_factor`
/// times the p99 of the requests scheduled before it.
pub fn summarize(
    records: &[RequestRecord],
    windows: &[Window],
    width: Duration,
    (burst_start, burst_end): (Duration, Duration),
    slo_factor: f64,
) -> BurstSummary {
    let slo_ms = baseline_p99_ms(records, burst_start) * slo_factor;
    summarize_against(records, windows, width, (burst_start, burst_end), slo_ms)
}

/// p99 of the requests scheduled before `burst_start` (0 without any).
pub fn baseline_p99_ms(records: &[RequestRecord], burst_start: Duration) -> f64 {
    let baseline = latencies_ms(records.iter().filter(|r| r.scheduled < burst_start));
    percentile(&baseline, 0.99).unwrap_or(0.0)
}

/// Like [`summarize`], against a given SLO (e.g. one SLO for every scenario of an experiment).
pub fn summarize_against(
    records: &[RequestRecord],
    windows: &[Window],
    width: Duration,
    (burst_start, burst_end): (Duration, Duration),
    slo_ms: f64,
) -> BurstSummary {
    let baseline_p99_ms = baseline_p99_ms(records, burst_start);
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
        burst_completed_rps: completed_rps(records, burst_start, burst_end),
        burst_offloaded_share: offloaded_share(records, burst_start, burst_end),
    }
}

/// Successful responses that arrived in `[from, to)`, per second.
pub fn completed_rps(records: &[RequestRecord], from: Duration, to: Duration) -> f64 {
    let span = to.saturating_sub(from).as_secs_f64();
    if span <= 0.0 {
        return 0.0;
    }
    let done = records
        .iter()
        .filter(|r| r.ok() && r.done >= from && r.done < to)
        .count();
    done as f64 / span
}

/// Offloaded share of the requests scheduled in `[from, to)` whose response said where it ran.
pub fn offloaded_share(records: &[RequestRecord], from: Duration, to: Duration) -> Option<f64> {
    let placed: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| r.scheduled >= from && r.scheduled < to && r.ran.is_some())
        .collect();
    let offloaded = placed.iter().filter(|r| r.offloaded()).count();
    (!placed.is_empty()).then(|| offloaded as f64 / placed.len() as f64)
}

/// A window in which the first of two runs completed fewer requests than the second.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shortfall {
    pub start_s: f64,
    pub first_rps: f64,
    pub second_rps: f64,
}

/// The windows starting in `[from_s, to_s)` where `first` completed less than `second` (runs of
/// the same profile and window width; windows are matched by their start).
pub fn windows_completing_less(
    first: &[Window],
    second: &[Window],
    from_s: f64,
    to_s: f64,
) -> Vec<Shortfall> {
    let in_span = |w: &&Window| w.start_s + 1e-9 >= from_s && w.start_s + 1e-9 < to_s;
    first
        .iter()
        .filter(in_span)
        .filter_map(|a| {
            let b = second
                .iter()
                .find(|b| (b.start_s - a.start_s).abs() < 1e-6)?;
            (a.completed_rps < b.completed_rps).then_some(Shortfall {
                start_s: a.start_s,
                first_rps: a.completed_rps,
                second_rps: b.completed_rps,
            })
        })
        .collect()
}

/// The windows starting in `[from_s, to_s)` at whose end `first` had completed fewer requests
/// since `onset_s` than `second`: the completed rate since the onset, window by window. Unlike one
/// window's count (a few requests, which two runs' scheduling alone moves by ±2), it shows a
/// scenario falling behind and staying behind. Rates in the shortfalls are since the onset.
pub fn windows_behind_since(
    first: &[Window],
    second: &[Window],
    width: Duration,
    onset_s: f64,
    from_s: f64,
    to_s: f64,
) -> Vec<Shortfall> {
    let width_s = width.as_secs_f64();
    let (mut done_first, mut done_second) = (0.0, 0.0);
    let mut behind = vec![];
    for a in first
        .iter()
        .filter(|w| w.start_s + 1e-9 >= onset_s && w.start_s + 1e-9 < to_s)
    {
        let Some(b) = second.iter().find(|b| (b.start_s - a.start_s).abs() < 1e-6) else {
            break;
        };
        done_first += a.completed_rps * width_s;
        done_second += b.completed_rps * width_s;
        let elapsed = a.start_s + width_s - onset_s;
        if a.start_s + 1e-9 >= from_s && done_first + 1e-9 < done_second {
            behind.push(Shortfall {
                start_s: a.start_s,
                first_rps: done_first / elapsed,
                second_rps: done_second / elapsed,
            });
        }
    }
    behind
}

/// Completed requests/s measured on this machine before a burst experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Capacity {
    /// The service alone (ratio 0, its core).
    pub local_rps: f64,
    /// Every invocation offloaded to the platform's warm instances (ratio 1, the other core).
    pub platform_rps: f64,
    /// The server CPU one offload costs (serialising, the round trip, the fallbacks), as a share
    /// of what one local run costs it.
    pub offload_cost: f64,
}

impl Capacity {
    /// What offloading adds to the server's own rate: each offload frees a local run's CPU but
    /// spends `offload_cost` of one, so the platform's rate counts for `1 - offload_cost`.
    pub fn offload_gain_rps(&self) -> f64 {
        self.platform_rps * (1.0 - self.offload_cost).clamp(0.0, 1.0)
    }

    /// What server and platform complete together, the server's core being the limit.
    pub fn together_rps(&self) -> f64 {
        self.local_rps + self.offload_gain_rps()
    }
}

/// The load of a step burst, requests/s.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Load {
    pub base_rps: f64,
    pub burst_rps: f64,
}

/// The baseline as a share of the local capacity: the server idles 70 % of the time, so its
/// baseline latency (the SLO's reference) is the service time, not queueing.
pub const BASE_OF_LOCAL: f64 = 0.3;
/// The burst is the local capacity plus this share of what offloading adds to it
/// ([`Capacity::offload_gain_rps`]): the server alone falls behind by that much every second,
/// while the two together keep spare capacity to drain what queued before the controller
/// reacted. (Sized on the platform's rate alone, ignoring what offloads cost the server, the
/// two ran at 90 % and recovery took seconds.)
pub const BURST_OF_GAIN: f64 = 0.4;
/// ... and at least this multiple of the local capacity, so the server's queue grows fast enough
/// (0.2 × its capacity per second) that `none` stays over the SLO for the whole burst.
pub const BURST_MIN_OF_LOCAL: f64 = 1.2;

/// The sizing rule in words, for reports.
pub fn load_rule() -> String {
    format!(
        "base {BASE_OF_LOCAL} × local; burst max(local + {BURST_OF_GAIN} × platform × (1 - offload cost), {BURST_MIN_OF_LOCAL} × local); flags override"
    )
}

impl Load {
    /// The default load for measured capacities: see [`BASE_OF_LOCAL`], [`BURST_OF_GAIN`]
    /// and [`BURST_MIN_OF_LOCAL`].
    pub fn from_capacity(capacity: &Capacity) -> Load {
        Load {
            base_rps: BASE_OF_LOCAL * capacity.local_rps,
            burst_rps: (capacity.local_rps + BURST_OF_GAIN * capacity.offload_gain_rps())
                .max(BURST_MIN_OF_LOCAL * capacity.local_rps),
        }
    }

    /// Whether server and platform together complete more than the burst sends; `false` means
    /// no controller can absorb it on this machine.
    pub fn absorbable(&self, capacity: &Capacity) -> bool {
        self.burst_rps < capacity.together_rps()
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
            location: None,
        }
    }

    const W: Duration = Duration::from_millis(100);

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

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
                peak_concurrency: None,
            },
            CounterSample {
                at_s: 0.1,
                offloaded: 0,
                local: 2,
                instances: Some(0),
                peak_concurrency: None,
            },
            CounterSample {
                at_s: 0.2,
                offloaded: 3,
                local: 3,
                instances: Some(2),
                peak_concurrency: None,
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
        let s = summarize(&placed, &w, W, (ms(5), ms(100)), 4.0);
        assert_eq!(s.offloaded, 2);
        // In the burst (from 5 ms): local, offloaded, abandoned.
        assert_eq!(s.burst_offloaded_share, Some(1.0 / 3.0));
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
        let s = summarize(
            &records,
            &w,
            W,
            (Duration::from_secs(1), Duration::from_millis(1500)),
            4.0,
        );
        assert_eq!((s.baseline_p99_ms, s.slo_ms), (10.0, 40.0));
        let recovery = s.recovery_s.unwrap();
        assert!((recovery - 0.3).abs() < 1e-9, "{recovery}");
        assert_eq!(s.peak_p99_ms, 100.0);
        assert_eq!((s.completed, s.failed), (15, 0));

        // Still over in the last window: never recovered.
        records.push(record(1450, 500, None));
        let w = windows(&records, &[], W, Duration::from_millis(1500));
        let s = summarize(
            &records,
            &w,
            W,
            (Duration::from_secs(1), Duration::from_millis(1500)),
            4.0,
        );
        assert_eq!(s.recovery_s, None);
        assert_eq!(s.failed, 1);

        // Against a stricter SLO given from outside (another run's), it is still over at 1.4 s.
        let w15 = windows(&records[..15], &[], W, ms(1500));
        let strict = summarize_against(&records[..15], &w15, W, (ms(1000), ms(1500)), 15.0);
        assert_eq!((strict.baseline_p99_ms, strict.slo_ms), (10.0, 15.0));
        assert_eq!(strict.recovery_s, None);

        // Never over: recovered at once.
        let calm: Vec<RequestRecord> = (0..15).map(|i| record(i * 100, 10, Some(200))).collect();
        let w = windows(&calm, &[], W, Duration::from_millis(1500));
        assert_eq!(
            summarize(
                &calm,
                &w,
                W,
                (Duration::from_secs(1), Duration::from_millis(1500)),
                4.0
            )
            .recovery_s,
            Some(0.0)
        );
    }

    #[test]
    fn completed_rate_during_the_burst_counts_responses_that_arrived_in_it() {
        // Burst from 1 s to 2 s: 5 responses arrive in it (one failed, one arrives at 2.05 s).
        let records = vec![
            record(900, 150, Some(200)),  // done 1.05 s: counts
            record(1000, 100, Some(200)), // 1.1 s
            record(1200, 300, Some(200)), // 1.5 s
            record(1500, 100, None),      // failed
            record(1900, 50, Some(200)),  // 1.95 s
            record(1950, 100, Some(200)), // 2.05 s: after the burst
            record(500, 100, Some(200)),  // 0.6 s: before
        ];
        assert_eq!(completed_rps(&records, ms(1000), ms(2000)), 4.0);
        assert_eq!(completed_rps(&records, ms(1000), ms(1500)), 4.0);
        assert_eq!(completed_rps(&records, ms(1000), ms(1000)), 0.0);
        let w = windows(&records, &[], W, ms(2100));
        let s = summarize(&records, &w, W, (ms(1000), ms(2000)), 4.0);
        assert_eq!(s.burst_completed_rps, 4.0);
        assert_eq!(s.burst_offloaded_share, None, "no placement headers");
    }

    fn window(start_s: f64, completed_rps: f64) -> Window {
        Window {
            start_s,
            sent_rps: 100.0,
            completed_rps,
            failed: 0,
            p50_ms: None,
            p99_ms: None,
            offload_ratio: None,
            instances: None,
        }
    }

    #[test]
    fn falling_behind_counts_completions_since_the_onset() {
        let rates = |r: &[f64]| -> Vec<Window> {
            r.iter()
                .enumerate()
                .map(|(i, &v)| window(i as f64 * 0.1, v))
                .collect()
        };
        // Onset at 0.2 s. `cold` completes nothing for 300 ms, then more than `none`: by the end
        // of the 0.5 s window it has 9 against 12, by the end of the next 18 against 15.
        let cold = rates(&[10.0, 10.0, 0.0, 0.0, 0.0, 90.0, 90.0, 90.0, 90.0, 90.0]);
        let none = rates(&[10.0, 10.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0]);
        let behind = windows_behind_since(&cold, &none, W, 0.2, 0.2, 1.0);
        let starts: Vec<u32> = behind
            .iter()
            .map(|s| (s.start_s * 10.0).round() as u32)
            .collect();
        assert_eq!(starts, vec![2, 3, 4, 5]);
        // Rates since the onset: 9 requests in 0.4 s against 12.
        assert!((behind[3].first_rps - 22.5).abs() < 1e-9, "{behind:?}");
        assert!((behind[3].second_rps - 30.0).abs() < 1e-9, "{behind:?}");
        // Skipping the first 300 ms of the burst leaves the window from 0.5 s.
        let later = windows_behind_since(&cold, &none, W, 0.2, 0.5, 1.0);
        assert_eq!(later.len(), 1);
        // The other way round, `none` is behind once `cold` has caught up.
        let reverse = windows_behind_since(&none, &cold, W, 0.2, 0.2, 1.0);
        assert!(!reverse.is_empty() && reverse.iter().all(|s| s.start_s > 0.55));
    }

    #[test]
    fn window_comparison_reports_where_the_first_completes_less() {
        let rates = |r: &[f64]| -> Vec<Window> {
            r.iter()
                .enumerate()
                .map(|(i, &v)| window(i as f64 * 0.1, v))
                .collect()
        };
        // Burst from 0.2 s to 0.9 s; the first 300 ms of it (0.2–0.5 s) are not compared.
        let cold = rates(&[10.0, 10.0, 0.0, 0.0, 0.0, 60.0, 40.0, 70.0, 50.0, 10.0]);
        let none = rates(&[10.0, 10.0, 60.0, 60.0, 60.0, 60.0, 60.0, 60.0, 60.0, 60.0]);
        let less = windows_completing_less(&cold, &none, 0.2 + 0.3, 0.9);
        let found: Vec<(u32, f64, f64)> = less
            .iter()
            .map(|s| ((s.start_s * 10.0).round() as u32, s.first_rps, s.second_rps))
            .collect();
        assert_eq!(found, vec![(6, 40.0, 60.0), (8, 50.0, 60.0)]);
        assert!(windows_completing_less(&none, &cold, 0.5, 0.9)
            .iter()
            .all(|s| s.start_s > 0.65 && s.start_s < 0.75));
        // A run with fewer windows is compared where both have one.
        assert!(windows_completing_less(&cold[..6], &none, 0.5, 0.9).is_empty());
    }

    #[test]
    fn load_is_sized_from_the_capacities() {
        let capacity = Capacity {
            local_rps: 66.0,
            platform_rps: 100.0,
            offload_cost: 0.25,
        };
        // Offloading adds 75 req/s: the burst is 66 + 0.4 × 75.
        let load = Load::from_capacity(&capacity);
        assert!((load.base_rps - 19.8).abs() < 1e-9, "{load:?}");
        assert!((load.burst_rps - 96.0).abs() < 1e-9, "{load:?}");
        assert!((capacity.together_rps() - 141.0).abs() < 1e-9);
        assert!(load.absorbable(&capacity));

        // Offloads that cost the server as much as local runs add nothing: the floor of
        // 1.2 × local decides, and it cannot be absorbed.
        let useless = Capacity {
            offload_cost: 1.0,
            ..capacity
        };
        let load = Load::from_capacity(&useless);
        assert!((load.burst_rps - 79.2).abs() < 1e-9, "{load:?}");
        assert!(!load.absorbable(&useless));

        // A small platform: the floor decides, and it still fits.
        let small = Capacity {
            local_rps: 100.0,
            platform_rps: 40.0,
            offload_cost: 0.2,
        };
        let load = Load::from_capacity(&small);
        assert!((load.burst_rps - 120.0).abs() < 1e-9, "{load:?}");
        assert!(load.absorbable(&small));
    }
}
