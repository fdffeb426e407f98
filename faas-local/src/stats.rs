//! Per-function counters and the `/local/stats` document.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

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
}

/// Counters shared by a function's pool, its instances and its invocations.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    inner: Mutex<CounterValues>,
}

#[derive(Debug, Default)]
struct CounterValues {
    cold_starts: u64,
    cold_start_ms: VecDeque<u64>,
    invocations: u64,
    throttles: u64,
    errors: u64,
    billed_ms: u64,
    init_ms: u64,
}

/// `duration` in whole milliseconds, rounded up (Lambda's billing granularity).
pub(crate) fn billed_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

impl Counters {
    pub(crate) fn cold_start(&self, duration: Duration) {
        let mut c = self.inner.lock();
        c.cold_starts += 1;
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
    pub(crate) fn snapshot(&self, idle: usize, busy: usize, memory_mb: u32) -> FunctionStats {
        let c = self.inner.lock();
        FunctionStats {
            instances: idle + busy,
            idle,
            busy,
            cold_starts: c.cold_starts,
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
    fn invocations_and_cold_starts_add_up_their_billed_time() {
        let counters = Counters::default();
        counters.cold_start(Duration::from_micros(800_400));
        counters.invocation(false, Some(Duration::from_micros(12_300)));
        counters.invocation(true, Some(Duration::from_millis(3)));
        // Never taken by a runtime: counted, not billed.
        counters.invocation(true, None);
        counters.throttle();
        let stats = counters.snapshot(1, 0, 512);
        assert_eq!(stats.invocations, 3);
        assert_eq!(stats.errors, 2);
        assert_eq!(stats.throttles, 1);
        assert_eq!(stats.billed_ms, 13 + 3);
        assert_eq!(stats.init_ms, 801);
        assert_eq!(stats.cold_start_ms, vec![800]);
        assert_eq!(stats.memory_mb, 512);
    }
}
