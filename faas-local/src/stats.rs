//! Per-function counters and the `/local/stats` document.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::registry::Registry;

/// `GET /local/stats`, beside whichever API the platform serves.
pub(crate) fn routes<S>(registry: Arc<Registry>) -> Router<S> {
    Router::new()
        .route("/local/stats", get(stats))
        .with_state(registry)
}

async fn stats(State(registry): State<Arc<Registry>>) -> Json<PlatformStats> {
    Json(registry.stats())
}

/// Cold-start durations kept per function (the most recent ones).
const COLD_START_HISTORY: usize = 1000;

/// `GET /local/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformStats {
    pub functions: BTreeMap<String, FunctionStats>,
}

/// One function's instances and counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionStats {
    /// Instances alive or starting (`idle + busy`).
    pub instances: usize,
    pub idle: usize,
    /// Instances running an invocation or starting for one.
    pub busy: usize,
    /// Instances that started and asked for their first invocation.
    pub cold_starts: u64,
    /// Spawn to first `/next` call of the most recent cold starts, in milliseconds.
    pub cold_start_ms: Vec<u64>,
    /// Invocations that got an instance (successful or not; throttles excluded).
    pub invocations: u64,
    /// Invocations refused with 429.
    pub throttles: u64,
    /// Invocations that ended in a function error (runtime error, crash, timeout, init failure).
    pub errors: u64,
    /// The function's configured memory: what Lambda multiplies billed time by.
    pub memory_mb: u32,
    /// Billed duration of every invocation, as Lambda's REPORT line counts it: from the runtime
    /// taking the invocation (`/next`) to its end (answer, crash or timeout), each rounded up to
    /// 1 ms. Invocations no runtime took (throttled, start failures) bill nothing.
    pub billed_ms: u64,
    /// Cold starts' init durations (spawn to first `/next`), each rounded up to 1 ms: Lambda
    /// bills an on-demand function's INIT phase like its invocations (since August 2025).
    pub init_ms: u64,
    /// The most invocations running at once (holding an instance) in this whole second of the
    /// platform's clock and the one before: polled at least once a second, the largest value
    /// seen is the peak concurrency over the polled span.
    pub recent_peak_concurrency: usize,
    /// Cold starts that restored a snapshot (counted in `cold_starts` too).
    #[serde(default)]
    pub snapshot_restores: u64,
    /// The version's snapshot: `off`, `none`, `taking`, `ready (N MB)`, or why there is none.
    #[serde(default)]
    pub snapshot: String,
}

/// Counters shared by a function's pool, its instances and its invocations.
#[derive(Debug)]
pub(crate) struct Counters {
    inner: Mutex<CounterValues>,
    /// Where the seconds of `recent_peak_concurrency` count from.
    epoch: Instant,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            inner: Mutex::default(),
            epoch: Instant::now(),
        }
    }
}

/// An invocation holding an instance, counted in the concurrency until dropped (also when the
/// invoke is abandoned midway).
pub(crate) struct Running<'a>(&'a Counters);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let second = self.0.second();
        self.0.inner.lock().running_ends(second);
    }
}

#[derive(Debug, Default)]
struct CounterValues {
    cold_starts: u64,
    snapshot_restores: u64,
    cold_start_ms: VecDeque<u64>,
    invocations: u64,
    throttles: u64,
    errors: u64,
    billed_ms: u64,
    init_ms: u64,
    running: usize,
    peak: RecentPeak,
}

impl CounterValues {
    fn running_starts(&mut self, second: u64) {
        self.peak.roll(second, self.running);
        self.running += 1;
        self.peak.current = self.peak.current.max(self.running);
    }

    fn running_ends(&mut self, second: u64) {
        self.peak.roll(second, self.running);
        self.running -= 1;
    }

    fn recent_peak(&mut self, second: u64) -> usize {
        self.peak.roll(second, self.running);
        self.peak.current.max(self.peak.previous)
    }
}

/// The most invocations running at once in the current whole second and the one before.
#[derive(Debug, Default)]
struct RecentPeak {
    second: u64,
    current: usize,
    previous: usize,
}

impl RecentPeak {
    /// Moves on to `second`; `held`: the invocations running since the last change.
    fn roll(&mut self, second: u64, held: usize) {
        if second == self.second {
            return;
        }
        self.previous = if second == self.second + 1 {
            self.current
        } else {
            held
        };
        self.current = held;
        self.second = second;
    }
}

/// `duration` in whole milliseconds, rounded up (Lambda's billing granularity).
pub(crate) fn billed_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

impl Counters {
    fn second(&self) -> u64 {
        self.epoch.elapsed().as_secs()
    }

    /// An invocation got an instance: it runs until the guard is dropped.
    pub(crate) fn running(&self) -> Running<'_> {
        let second = self.second();
        self.inner.lock().running_starts(second);
        Running(self)
    }

    /// An instance is ready; `restored` from a snapshot.
    pub(crate) fn cold_start(&self, duration: Duration, restored: bool) {
        let mut c = self.inner.lock();
        c.cold_starts += 1;
        c.snapshot_restores += u64::from(restored);
        c.init_ms = c.init_ms.saturating_add(billed_ms(duration));
        if c.cold_start_ms.len() == COLD_START_HISTORY {
            c.cold_start_ms.pop_front();
        }
        c.cold_start_ms
            .push_back(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
    }

    /// One invocation that got an instance; `ran`: how long the runtime had it, if it took it.
    pub(crate) fn invocation(&self, function_error: bool, ran: Option<Duration>) {
        let mut c = self.inner.lock();
        c.invocations += 1;
        c.errors += u64::from(function_error);
        c.billed_ms = c.billed_ms.saturating_add(ran.map_or(0, billed_ms));
    }

    pub(crate) fn throttle(&self) {
        self.inner.lock().throttles += 1;
    }

    /// The counters, with the instance numbers and memory filled in by the pool.
    pub(crate) fn snapshot(
        &self,
        idle: usize,
        busy: usize,
        memory_mb: u32,
        snapshot: String,
    ) -> FunctionStats {
        let second = self.second();
        let mut c = self.inner.lock();
        FunctionStats {
            recent_peak_concurrency: c.recent_peak(second),
            instances: idle + busy,
            idle,
            busy,
            cold_starts: c.cold_starts,
            snapshot_restores: c.snapshot_restores,
            snapshot,
            cold_start_ms: c.cold_start_ms.iter().copied().collect(),
            invocations: c.invocations,
            throttles: c.throttles,
            errors: c.errors,
            memory_mb,
            billed_ms: c.billed_ms,
            init_ms: c.init_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_billed_in_whole_milliseconds_rounded_up() {
        assert_eq!(billed_ms(Duration::ZERO), 0);
        assert_eq!(billed_ms(Duration::from_nanos(1)), 1);
        assert_eq!(billed_ms(Duration::from_micros(1_000)), 1);
        assert_eq!(billed_ms(Duration::from_micros(1_001)), 2);
        assert_eq!(billed_ms(Duration::from_millis(250)), 250);
        assert_eq!(billed_ms(Duration::MAX), u64::MAX);
    }

    #[test]
    fn the_recent_peak_covers_this_second_and_the_one_before() {
        let mut c = CounterValues::default();
        c.running_starts(0);
        c.running_starts(0);
        c.running_starts(0);
        c.running_ends(0);
        c.running_ends(0);
        assert_eq!(c.recent_peak(0), 3);
        assert_eq!(c.recent_peak(1), 3, "the second before still counts");
        assert_eq!(c.recent_peak(2), 1, "one invocation still running");
        c.running_ends(2);
        c.running_starts(3);
        c.running_starts(3);
        c.running_ends(3);
        // Held since second 3, nothing changed in the seconds between.
        assert_eq!(c.recent_peak(9), 1);
        c.running_ends(9);
        assert_eq!(c.recent_peak(9), 1);
        assert_eq!(c.recent_peak(11), 0);
    }

    #[test]
    fn invocations_and_cold_starts_add_up_their_billed_time() {
        let counters = Counters::default();
        counters.cold_start(Duration::from_micros(800_400), true);
        counters.invocation(false, Some(Duration::from_micros(12_300)));
        counters.invocation(true, Some(Duration::from_millis(3)));
        // Never taken by a runtime: counted, not billed.
        counters.invocation(true, None);
        counters.throttle();
        let stats = counters.snapshot(1, 0, 512, "off".into());
        assert_eq!(stats.invocations, 3);
        assert_eq!(stats.errors, 2);
        assert_eq!(stats.throttles, 1);
        assert_eq!(stats.billed_ms, 13 + 3);
        assert_eq!(stats.init_ms, 801);
        assert_eq!(stats.cold_start_ms, vec![800]);
        assert_eq!(stats.memory_mb, 512);
        assert_eq!((stats.cold_starts, stats.snapshot_restores), (1, 1));
    }
}
