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
}

impl Counters {
    pub(crate) fn cold_start(&self, duration: Duration) {
        let mut c = self.inner.lock();
        c.cold_starts += 1;
        if c.cold_start_ms.len() == COLD_START_HISTORY {
            c.cold_start_ms.pop_front();
        }
        c.cold_start_ms
            .push_back(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
    }

    pub(crate) fn invocation(&self, function_error: bool) {
        let mut c = self.inner.lock();
        c.invocations += 1;
        c.errors += u64::from(function_error);
    }

    pub(crate) fn throttle(&self) {
        self.inner.lock().throttles += 1;
    }

    /// The counters, with the instance numbers filled in by the pool.
    pub(crate) fn snapshot(&self, idle: usize, busy: usize) -> FunctionStats {
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
        }
    }
}
