//! Statistics: totals and per handler, served as JSON (`GET /stats`) and as Prometheus text
//! (`GET /metrics`, rendered by the `prometheus-client` crate: counters and gauges from the
//! report, latencies as histograms in seconds).
//!
//! Counting: `invocations = offloaded + local + reexecuted + diverged + abandoned`; `failures` are
//! offloads that failed, and then ran locally (so they are also in `local`) or, when the function
//! had already made remote calls that may write, ran again on the server with the invocation's
//! call log (`reexecuted`), left that log in doing so and failed (`diverged`), or could not be run
//! again and failed (`abandoned`): no write is ever done twice.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use hdrhistogram::Histogram;
use parking_lot::{Mutex, RwLock};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{
        counter::ConstCounter, gauge::ConstGauge, histogram::Histogram as PromHistogram, MetricType,
    },
    registry::Registry,
};
use semifaas_closure::FunctionStats;
use semifaas_fallback::FallbackKind;
use serde::{Deserialize, Serialize};

use crate::{
    breaker::BreakerReport,
    keyed_entries,
    policy::Ratios,
    refusals::{Refusals, RefusedReport},
};

/// Why an offload did not produce a usable result (the handler then ran locally).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    /// The platform refused the invocation for lack of capacity (HTTP 429).
    Throttled,
    /// No answer before `semifaas.timeout-ms`.
    Timeout,
    /// The platform could not be reached (connection refused, DNS, reset).
    PlatformUnreachable,
    /// The platform answered with an error other than throttling (unknown function, 5xx).
    PlatformError,
    /// The function crashed (Lambda `X-Amz-Function-Error`).
    FunctionError,
    /// The function ran but could not run the handler (`InvocationOutcome::Failed`).
    FunctionFailed,
    /// The reply could not be decoded, here or on the Java side.
    ResultUnusable,
    /// The invocation or its result is over the platform's synchronous payload limit.
    PayloadTooLarge,
    /// The platform has no such function (or qualifier): retrying will not help.
    FunctionNotFound,
    /// The credentials may not invoke the function: retrying will not help.
    AccessDenied,
    /// There are no credentials, or the platform does not accept them: retrying will not help.
    BadCredentials,
}

impl FailureReason {
    pub const ALL: [FailureReason; 11] = [
        FailureReason::Throttled,
        FailureReason::Timeout,
        FailureReason::PlatformUnreachable,
        FailureReason::PlatformError,
        FailureReason::FunctionError,
        FailureReason::FunctionFailed,
        FailureReason::ResultUnusable,
        FailureReason::PayloadTooLarge,
        FailureReason::FunctionNotFound,
        FailureReason::AccessDenied,
        FailureReason::BadCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Throttled => "throttled",
            FailureReason::Timeout => "timeout",
            FailureReason::PlatformUnreachable => "platform_unreachable",
            FailureReason::PlatformError => "platform_error",
            FailureReason::FunctionError => "function_error",
            FailureReason::FunctionFailed => "function_failed",
            FailureReason::ResultUnusable => "result_unusable",
            FailureReason::PayloadTooLarge => "payload_too_large",
            FailureReason::FunctionNotFound => "function_not_found",
            FailureReason::AccessDenied => "access_denied",
            FailureReason::BadCredentials => "bad_credentials",
        }
    }

    /// Whether the platform will give the same answer however often it is asked, until the
    /// operator changes something (see [`crate::breaker`]).
    pub fn is_permanent(self) -> bool {
        matches!(
            self,
            FailureReason::FunctionNotFound
                | FailureReason::AccessDenied
                | FailureReason::BadCredentials
        )
    }

    fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|r| *r == self)
            .expect("every reason is in ALL")
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Latency histogram in microseconds, up to an hour, 2 significant digits (1% precision).
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("static histogram bounds are valid")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

struct HandlerStats {
    invocations: u64,
    offloaded: u64,
    local: u64,
    failures: u64,
    failure_reasons: [u64; FailureReason::ALL.len()],
    last_failure: Option<String>,
    ineligible: u64,
    ineligible_reason: Option<String>,
    fallbacks: [u64; FallbackKind::ALL.len()],
    cold_starts: u64,
    spilled: u64,
    platform_full: u64,
    abandoned: u64,
    reexecuted: u64,
    diverged: u64,
    verified: u64,
    verify_mismatch: u64,
    local_wall: Histogram<u64>,
    local_cpu: Histogram<u64>,
    offload_round_trip: Histogram<u64>,
    jvm_start: Histogram<u64>,
    closure_fetch: Histogram<u64>,
    install: Histogram<u64>,
    handler: Histogram<u64>,
    /// The latencies of `GET /metrics`, in seconds.
    exported: LatencyHistograms,
}

/// Upper bounds of the exported latency histograms' buckets, in seconds (1 ms to 1 min).
const LATENCY_BUCKETS_S: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The per-handler latency histograms exported to Prometheus (shared handles: clones observe
/// the same buckets).
#[derive(Debug, Clone)]
struct LatencyHistograms {
    local_wall: PromHistogram,
    local_cpu: PromHistogram,
    offload_round_trip: PromHistogram,
}

impl Default for LatencyHistograms {
    fn default() -> Self {
        let new = || PromHistogram::new(LATENCY_BUCKETS_S);
        LatencyHistograms {
            local_wall: new(),
            local_cpu: new(),
            offload_round_trip: new(),
        }
    }
}

impl Default for HandlerStats {
    fn default() -> Self {
        HandlerStats {
            invocations: 0,
            offloaded: 0,
            local: 0,
            failures: 0,
            failure_reasons: Default::default(),
            last_failure: None,
            ineligible: 0,
            ineligible_reason: None,
            fallbacks: Default::default(),
            cold_starts: 0,
            spilled: 0,
            platform_full: 0,
            abandoned: 0,
            reexecuted: 0,
            diverged: 0,
            verified: 0,
            verify_mismatch: 0,
            local_wall: histogram(),
            local_cpu: histogram(),
            offload_round_trip: histogram(),
            jvm_start: histogram(),
            closure_fetch: histogram(),
            install: histogram(),
            handler: histogram(),
            exported: LatencyHistograms::default(),
        }
    }
}

/// Counters shared by the totals and each handler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub invocations: u64,
    pub offloaded: u64,
    pub local: u64,
    pub failures: u64,
    /// Failures by reason (`throttled`, `timeout`, ...), every reason present.
    pub failure_reasons: BTreeMap<String, u64>,
    /// Fallback requests served, by kind (`fetch_closure`, `load_class`, `get_resource`).
    pub fallbacks: BTreeMap<String, u64>,
    pub cold_starts: u64,
    pub ineligible: u64,
    /// Offloads beyond the ratio: requests that would have queued behind the local runs went to
    /// a free platform slot (auto mode).
    #[serde(default)]
    pub spilled: u64,
    /// Offloads the ratio asked for that ran locally because the platform had no room
    /// (offloads in flight at its limit, see `semifaas.offload.max-in-flight`).
    #[serde(default)]
    pub platform_full: u64,
    /// Failed offloads not run again here because the function had already made remote calls
    /// that may write: the request got an error instead of doing them twice.
    #[serde(default)]
    pub abandoned: u64,
    /// Failed offloads that had made remote writes and ran again on the server with their call
    /// log (the calls already made answered from the log): the request was answered.
    #[serde(default)]
    pub reexecuted: u64,
    /// Such re-executions that did not make the calls the first run made: the request failed
    /// rather than write differently.
    #[serde(default)]
    pub diverged: u64,
    /// Offloaded invocations re-run here to compare (`semifaas.verify`), and those whose local
    /// run's outcome differed (the handler is then demoted).
    #[serde(default)]
    pub verified: u64,
    #[serde(default)]
    pub verify_mismatch: u64,
}

impl Counters {
    fn add(&mut self, other: &Counters) {
        self.invocations += other.invocations;
        self.offloaded += other.offloaded;
        self.local += other.local;
        self.failures += other.failures;
        self.cold_starts += other.cold_starts;
        self.ineligible += other.ineligible;
        self.spilled += other.spilled;
        self.platform_full += other.platform_full;
        self.abandoned += other.abandoned;
        self.reexecuted += other.reexecuted;
        self.diverged += other.diverged;
        self.verified += other.verified;
        self.verify_mismatch += other.verify_mismatch;
        for (k, v) in &other.failure_reasons {
            *self.failure_reasons.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.fallbacks {
            *self.fallbacks.entry(k.clone()).or_default() += v;
        }
    }
}

/// Percentiles of one latency histogram, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    /// Sum of the recorded values (from the histogram, so within its 1% precision).
    pub sum: f64,
}

impl LatencySummary {
    fn of(h: &Histogram<u64>) -> LatencySummary {
        let ms = |us: u64| us as f64 / 1000.0;
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.5)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            sum: h.mean() * h.len() as f64 / 1000.0,
        }
    }
}

/// Where the time of offloaded invocations went on the function side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionPhases {
    /// Cold invocations only.
    pub jvm_start_ms: LatencySummary,
    /// Invocations that fetched their closure (not cached on the instance) only.
    pub closure_fetch_ms: LatencySummary,
    pub install_ms: LatencySummary,
    pub handler_ms: LatencySummary,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HandlerReport {
    #[serde(flatten)]
    pub counters: Counters,
    pub last_failure: Option<String>,
    pub ineligible_reason: Option<String>,
    pub local_wall_ms: LatencySummary,
    pub local_cpu_ms: LatencySummary,
    pub offload_round_trip_ms: LatencySummary,
    pub function_phases: FunctionPhases,
    /// Whether the handler is a candidate for offloading, and why (filled in by the admin
    /// endpoint from [`crate::candidates`]).
    #[serde(default)]
    pub candidate: bool,
    #[serde(default)]
    pub reason: String,
    /// In one word: `candidate`, `profiling` (fewer local runs than
    /// `semifaas.profile.samples`), `ineligible` (see `ineligible_reason`) or `not_candidate`
    /// (see `reason`). Filled in by the admin endpoint.
    #[serde(default)]
    pub status: String,
    /// Local runs profiled so far (timed: the Java side times every run of a handler until it has
    /// 64, then one in 16) and how many are needed.
    #[serde(default)]
    pub profiled_runs: u64,
    #[serde(default)]
    pub profile_samples: u64,
}

/// The `GET /stats` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    /// `manual` or `auto` (filled in by the admin endpoint, like `phase` and `in_flight`).
    #[serde(default)]
    pub mode: String,
    /// The burst controller's phase: `manual`, `absorb`, `offload` or `handover`.
    #[serde(default)]
    pub phase: String,
    /// Requests in flight on the server (running locally or waiting for an offload).
    #[serde(default)]
    pub in_flight: u64,
    /// Offloads in flight and the platform's room, `None` while not configured or learned
    /// (filled in by the admin endpoint).
    #[serde(default)]
    pub offloads_in_flight: u64,
    #[serde(default)]
    pub offload_limit: Option<u64>,
    /// Function instances known to be up (answered in the last minute).
    #[serde(default)]
    pub instances_up: u64,
    pub ratio: f64,
    /// Per-handler ratio overrides.
    pub ratio_overrides: BTreeMap<String, f64>,
    pub totals: Counters,
    pub handlers: BTreeMap<String, HandlerReport>,
    /// What the trust boundary refused (filled in by the admin endpoint).
    #[serde(default)]
    pub refused: RefusedReport,
    /// The remote-call logs of offloaded invocations.
    #[serde(default)]
    pub call_log: CallLogReport,
    /// Whether offloading is paused after a failure retrying will not fix (filled in by the
    /// admin endpoint).
    #[serde(default)]
    pub platform: BreakerReport,
}

impl HandlerStats {
    fn report(&self) -> HandlerReport {
        let counters = Counters {
            invocations: self.invocations,
            offloaded: self.offloaded,
            local: self.local,
            failures: self.failures,
            failure_reasons: FailureReason::ALL
                .iter()
                .map(|r| (r.as_str().to_owned(), self.failure_reasons[r.index()]))
                .collect(),
            fallbacks: FallbackKind::ALL
                .iter()
                .enumerate()
                .map(|(i, k)| (k.as_str().to_owned(), self.fallbacks[i]))
                .collect(),
            cold_starts: self.cold_starts,
            ineligible: self.ineligible,
            spilled: self.spilled,
            platform_full: self.platform_full,
            abandoned: self.abandoned,
            reexecuted: self.reexecuted,
            diverged: self.diverged,
            verified: self.verified,
            verify_mismatch: self.verify_mismatch,
        };
        HandlerReport {
            counters,
            last_failure: self.last_failure.clone(),
            ineligible_reason: self.ineligible_reason.clone(),
            local_wall_ms: LatencySummary::of(&self.local_wall),
            local_cpu_ms: LatencySummary::of(&self.local_cpu),
            offload_round_trip_ms: LatencySummary::of(&self.offload_round_trip),
            function_phases: FunctionPhases {
                jvm_start_ms: LatencySummary::of(&self.jvm_start),
                closure_fetch_ms: LatencySummary::of(&self.closure_fetch),
                install_ms: LatencySummary::of(&self.install),
                handler_ms: LatencySummary::of(&self.handler),
            },
            candidate: false,
            reason: String::new(),
            status: String::new(),
            profiled_runs: 0,
            profile_samples: 0,
        }
    }
}

/// Process-wide statistics. Each handler has its own lock, so handlers never contend.
#[derive(Default)]
pub struct Stats {
    handlers: RwLock<HashMap<String, HandlerEntry>>,
    refusals: Refusals,
    call_log: Mutex<CallLogReport>,
}

/// The logs of remote calls the Java side keeps per offloaded invocation (docs/internals.md,
/// "Failed offloads"), as reported when each invocation that logged calls ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLogReport {
    /// Invocations that logged at least one call.
    pub logs: u64,
    /// The most calls and bytes (arguments and answers) one invocation's log held.
    pub max_entries: u64,
    pub max_bytes: u64,
    /// Logs that went over `semifaas.call-log.max-bytes` or `total-max-bytes` and gave up.
    pub over_cap: u64,
    /// Bytes all open logs held when the last one ended.
    pub bytes_in_use: u64,
}

/// Longest free-text reason kept in the statistics.
const REASON_MAX: usize = 500;

fn clip(text: &str) -> String {
    text.chars().take(REASON_MAX).collect()
}

/// One handler's statistics, held by the request path so it needs no lookup
/// ([`crate::handler_ids`]).
#[derive(Clone, Default)]
pub struct HandlerEntry(Arc<Mutex<HandlerStats>>);

impl HandlerEntry {
    /// One invocation reached the policy.
    pub fn record_invocation(&self) {
        self.0.lock().invocations += 1;
    }

    /// A local run finished (including runs after a failed offload); `cpu` is `None` when its
    /// CPU time was not measured.
    pub fn record_local(&self, wall: Duration, cpu: Option<Duration>) {
        let mut h = self.0.lock();
        h.local += 1;
        h.local_wall.saturating_record(micros(wall));
        h.exported.local_wall.observe(wall.as_secs_f64());
        if let Some(cpu) = cpu {
            h.local_cpu.saturating_record(micros(cpu));
            h.exported.local_cpu.observe(cpu.as_secs_f64());
        }
    }
}

impl Stats {
    pub fn new() -> Stats {
        Stats::default()
    }

    /// Requests of authenticated functions that the application withheld.
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// The handler's entry, made on first use.
    pub fn entry(&self, handler_key: &str) -> HandlerEntry {
        keyed_entries::entry(&self.handlers, handler_key)
    }

    fn with<R>(&self, handler_key: &str, f: impl FnOnce(&mut HandlerStats) -> R) -> R {
        f(&mut self.entry(handler_key).0.lock())
    }

    /// One invocation reached the policy.
    pub fn record_invocation(&self, handler_key: &str) {
        self.entry(handler_key).record_invocation();
    }

    /// An offload returned a usable outcome (returned or threw).
    pub fn record_offloaded(
        &self,
        handler_key: &str,
        round_trip: Duration,
        function: &FunctionStats,
    ) {
        self.with(handler_key, |h| {
            h.offloaded += 1;
            h.offload_round_trip.saturating_record(micros(round_trip));
            h.exported
                .offload_round_trip
                .observe(round_trip.as_secs_f64());
            if function.cold {
                h.cold_starts += 1;
                h.jvm_start.saturating_record(function.jvm_start_us);
            }
            // Only fetches count: 0 means the instance had the closure cached.
            if function.closure_fetch_us > 0 {
                h.closure_fetch.saturating_record(function.closure_fetch_us);
            }
            h.install.saturating_record(function.install_us);
            h.handler.saturating_record(function.handler_us);
        });
    }

    /// The invocation is offloaded although the ratio kept it here: the server was queueing.
    pub fn record_spilled(&self, handler_key: &str) {
        self.with(handler_key, |h| h.spilled += 1);
    }

    /// The ratio offloaded the invocation but the platform had no room: it runs here.
    pub fn record_platform_full(&self, handler_key: &str) {
        self.with(handler_key, |h| h.platform_full += 1);
    }

    /// A failed offload is not run again (see [`Counters::abandoned`]).
    pub fn record_abandoned(&self, handler_key: &str, reason: &str) {
        self.with(handler_key, |h| {
            h.abandoned += 1;
            h.last_failure = Some(clip(&format!("abandoned: {reason}")));
        });
    }

    /// A failed offload ran again on the server with its call log and answered the request.
    pub fn record_reexecuted(&self, handler_key: &str) {
        self.with(handler_key, |h| h.reexecuted += 1);
    }

    /// A re-execution left its call log; the request failed (see [`Counters::diverged`]).
    pub fn record_diverged(&self, handler_key: &str, reason: &str) {
        self.with(handler_key, |h| {
            h.diverged += 1;
            h.last_failure = Some(clip(&format!("diverged: {reason}")));
        });
    }

    /// An invocation that logged remote calls ended (see [`CallLogReport`]).
    pub fn record_call_log(&self, entries: u64, bytes: u64, over_cap: bool, bytes_in_use: u64) {
        let mut log = self.call_log.lock();
        log.logs += 1;
        log.max_entries = log.max_entries.max(entries);
        log.max_bytes = log.max_bytes.max(bytes);
        log.over_cap += u64::from(over_cap);
        log.bytes_in_use = bytes_in_use;
    }

    /// An offloaded invocation was re-run here and compared (`semifaas.verify`); `mismatch`
    /// names what differed, if anything.
    pub fn record_verified(&self, handler_key: &str, mismatch: Option<&str>) {
        self.with(handler_key, |h| {
            h.verified += 1;
            if let Some(diff) = mismatch {
                h.verify_mismatch += 1;
                h.last_failure = Some(clip(&format!("verify mismatch: {diff}")));
            }
        });
    }

    /// A local run finished (including runs after a failed offload).
    pub fn record_local(&self, handler_key: &str, wall: Duration, cpu: Option<Duration>) {
        self.entry(handler_key).record_local(wall, cpu);
    }

    /// An offload failed before producing a result; the handler runs locally.
    pub fn record_failure(&self, handler_key: &str, reason: FailureReason, message: &str) {
        self.with(handler_key, |h| {
            h.failures += 1;
            h.failure_reasons[reason.index()] += 1;
            h.last_failure = Some(clip(&format!("{reason}: {message}")));
        });
    }

    /// The Java side could not use an outcome already counted as offloaded: it moves from
    /// `offloaded` to `failures` (the local run that follows is counted by [`Self::record_local`]).
    pub fn record_result_unusable(&self, handler_key: &str, message: &str) {
        self.with(handler_key, |h| {
            h.offloaded = h.offloaded.saturating_sub(1);
            h.failures += 1;
            h.failure_reasons[FailureReason::ResultUnusable.index()] += 1;
            h.last_failure = Some(clip(&format!(
                "{}: {message}",
                FailureReason::ResultUnusable
            )));
        });
    }

    /// The handler cannot be offloaded; `reason` says why.
    pub fn record_ineligible(&self, handler_key: &str, reason: &str) {
        self.with(handler_key, |h| {
            h.ineligible += 1;
            if h.ineligible_reason.as_deref() != Some(reason) {
                h.ineligible_reason = Some(clip(reason));
            }
        });
    }

    /// The fallback server answered a request of an invocation of this handler.
    pub fn record_fallback(&self, handler_key: &str, kind: FallbackKind) {
        let index = FallbackKind::ALL
            .iter()
            .position(|k| *k == kind)
            .expect("every kind is in ALL");
        self.with(handler_key, |h| h.fallbacks[index] += 1);
    }

    pub fn report(&self, ratios: &Ratios) -> StatsReport {
        let handlers: Vec<(String, HandlerEntry)> = self
            .handlers
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut report = StatsReport {
            mode: String::new(),
            phase: String::new(),
            in_flight: 0,
            offloads_in_flight: 0,
            offload_limit: None,
            instances_up: 0,
            ratio: ratios.global,
            ratio_overrides: ratios.overrides.clone(),
            totals: HandlerStats::default().report().counters,
            handlers: BTreeMap::new(),
            refused: RefusedReport::default(),
            call_log: *self.call_log.lock(),
            platform: BreakerReport::default(),
        };
        for (key, handler) in handlers {
            let handler_report = handler.0.lock().report();
            report.totals.add(&handler_report.counters);
            report.handlers.insert(key, handler_report);
        }
        report
    }

    /// The handler keys seen so far (sorted).
    pub fn handler_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.handlers.read().keys().cloned().collect();
        keys.sort_unstable();
        keys
    }

    /// Prometheus text exposition format (version 0.0.4) of `report` (made by [`Self::report`],
    /// completed by the admin endpoint) and of the latency histograms.
    pub fn prometheus(&self, report: &StatsReport) -> String {
        let latencies = self
            .handlers
            .read()
            .iter()
            .map(|(k, h)| (k.clone(), h.0.lock().exported.clone()))
            .collect::<BTreeMap<_, _>>();
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Exposition {
            report: report.clone(),
            latencies,
        }));
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
            .expect("writing to a String does not fail");
        text
    }
}

/// The `Content-Type` of [`Stats::prometheus`].
pub const PROMETHEUS_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The controller phases exported as `semifaas_controller_phase{phase=...}` (and the current one
/// if it is not among them).
const PHASES: [&str; 4] = ["manual", "absorb", "offload", "handover"];
const MODES: [&str; 2] = ["manual", "auto"];
const PLATFORM_STATES: [&str; 3] = ["closed", "paused", "probing"];

/// One scrape: the report and the histograms, encoded by `prometheus-client`.
#[derive(Debug)]
struct Exposition {
    report: StatsReport,
    latencies: BTreeMap<String, LatencyHistograms>,
}

/// A counter family read from each handler: name (the encoder appends `_total`), help, accessor.
type CounterFamily = (&'static str, &'static str, fn(&HandlerReport) -> u64);
type HistogramFamily = (
    &'static str,
    &'static str,
    fn(&LatencyHistograms) -> &PromHistogram,
);

/// Writes one metric family of `kind`: its HELP and TYPE, then one sample per label set.
fn family<L: EncodeLabelSet, M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (L, M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, sample) in samples {
        sample.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A one-hot gauge family: `name{label="value"} 1` for `current`, 0 for the other `values`.
fn one_hot(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &'static str,
    values: &[&str],
    current: &str,
) -> Result<(), std::fmt::Error> {
    let mut all: Vec<&str> = values.to_vec();
    if !all.contains(&current) {
        all.push(current);
    }
    family(
        encoder,
        name,
        help,
        MetricType::Gauge,
        all.into_iter()
            .map(|v| ([(label, v)], ConstGauge::new(i64::from(v == current)))),
    )
}

impl Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let r = &self.report;
        let e = &mut encoder;
        let none: [(&str, &str); 0] = [];
        let handler = |k: &str| [("handler", k.to_owned())];
        family(
            e,
            "semifaas_ratio",
            "Global offload ratio.",
            MetricType::Gauge,
            [(none, ConstGauge::new(r.ratio))],
        )?;
        family(
            e,
            "semifaas_in_flight",
            "Requests in flight on the server (local or waiting for an offload).",
            MetricType::Gauge,
            [(none, ConstGauge::new(r.in_flight as i64))],
        )?;
        family(
            e,
            "semifaas_offloads_in_flight",
            "Offloads in flight on the platform.",
            MetricType::Gauge,
            [(none, ConstGauge::new(r.offloads_in_flight as i64))],
        )?;
        family(
            e,
            "semifaas_offload_limit",
            "Offloads in flight the platform takes (configured or learned from throttling); absent while unknown.",
            MetricType::Gauge,
            r.offload_limit
                .map(|l| (none, ConstGauge::new(l as i64))),
        )?;
        family(
            e,
            "semifaas_instances_up",
            "Function instances known to be up (answered an offload or a prewarm in the last minute); in auto mode offloads go only to these.",
            MetricType::Gauge,
            [(none, ConstGauge::new(r.instances_up as i64))],
        )?;
        family(
            e,
            "semifaas_refused",
            "What the trust boundary refused, by kind: fallback connections and frames, requests of invocations not in flight here, and withheld remote calls, classes and resources.",
            MetricType::Counter,
            r.refused
                .by_kind()
                .map(|(what, n)| ([("what", what)], ConstCounter::new(n))),
        )?;
        family(
            e,
            "semifaas_call_log_bytes_in_use",
            "Bytes the remote-call logs of offloaded invocations held when the last one ended.",
            MetricType::Gauge,
            [(none, ConstGauge::new(r.call_log.bytes_in_use as i64))],
        )?;
        family(
            e,
            "semifaas_call_log_over_cap",
            "Remote-call logs that went over semifaas.call-log.max-bytes or total-max-bytes and gave up.",
            MetricType::Counter,
            [(none, ConstCounter::new(r.call_log.over_cap))],
        )?;
        if !r.platform.state.is_empty() {
            one_hot(
                e,
                "semifaas_platform_state",
                "1 for the platform breaker's state: closed (offloading), paused (after a failure retrying will not fix) or probing.",
                "state",
                &PLATFORM_STATES,
                &r.platform.state,
            )?;
        }
        if !r.mode.is_empty() {
            one_hot(
                e,
                "semifaas_mode",
                "1 for the mode in force: manual (the operator sets the ratio) or auto (the burst controller does).",
                "mode",
                &MODES,
                &r.mode,
            )?;
        }
        if !r.phase.is_empty() {
            one_hot(
                e,
                "semifaas_controller_phase",
                "1 for the burst controller's phase.",
                "phase",
                &PHASES,
                &r.phase,
            )?;
        }
        family(
            e,
            "semifaas_handler_candidate",
            "1 when the handler is a candidate for offloading.",
            MetricType::Gauge,
            r.handlers
                .iter()
                .map(|(k, h)| (handler(k), ConstGauge::new(i64::from(h.candidate)))),
        )?;
        family(
            e,
            "semifaas_handler_ratio",
            "Per-handler offload ratio overrides.",
            MetricType::Gauge,
            r.ratio_overrides
                .iter()
                .map(|(k, ratio)| (handler(k), ConstGauge::new(*ratio))),
        )?;
        let counters: [CounterFamily; 13] = [
            (
                "semifaas_invocations",
                "Handler invocations seen by the policy.",
                |h| h.counters.invocations,
            ),
            (
                "semifaas_offloaded",
                "Invocations that ran on the platform.",
                |h| h.counters.offloaded,
            ),
            ("semifaas_local", "Invocations that ran locally.", |h| {
                h.counters.local
            }),
            (
                "semifaas_failures",
                "Offloads that failed and ran locally instead.",
                |h| h.counters.failures,
            ),
            (
                "semifaas_cold_starts",
                "Offloads served by a cold function instance.",
                |h| h.counters.cold_starts,
            ),
            (
                "semifaas_ineligible",
                "Invocations of handlers that cannot be offloaded.",
                |h| h.counters.ineligible,
            ),
            (
                "semifaas_spilled",
                "Offloads beyond the ratio, of requests that would have queued (auto mode).",
                |h| h.counters.spilled,
            ),
            (
                "semifaas_platform_full",
                "Offloads the ratio chose that ran locally: the platform had no room.",
                |h| h.counters.platform_full,
            ),
            (
                "semifaas_abandoned",
                "Failed offloads not run again because the function had made remote writes.",
                |h| h.counters.abandoned,
            ),
            (
                "semifaas_reexecuted",
                "Failed offloads after remote writes, run again on the server with their call log.",
                |h| h.counters.reexecuted,
            ),
            (
                "semifaas_diverged",
                "Re-executions that left their call log: the request failed, nothing was written twice.",
                |h| h.counters.diverged,
            ),
            (
                "semifaas_verified",
                "Offloaded invocations re-run locally and compared (semifaas.verify).",
                |h| h.counters.verified,
            ),
            (
                "semifaas_verify_mismatch",
                "Verified invocations whose local outcome differed; the handler is demoted.",
                |h| h.counters.verify_mismatch,
            ),
        ];
        for (name, help, value) in counters {
            family(
                e,
                name,
                help,
                MetricType::Counter,
                r.handlers
                    .iter()
                    .map(|(k, h)| (handler(k), ConstCounter::new(value(h)))),
            )?;
        }
        family(
            e,
            "semifaas_failure_reasons",
            "Failed offloads by reason.",
            MetricType::Counter,
            r.handlers.iter().flat_map(|(k, h)| {
                h.counters.failure_reasons.iter().map(move |(reason, n)| {
                    (
                        [("handler", k.as_str()), ("reason", reason.as_str())],
                        ConstCounter::new(*n),
                    )
                })
            }),
        )?;
        family(
            e,
            "semifaas_fallbacks",
            "Fallback requests served, by kind.",
            MetricType::Counter,
            r.handlers.iter().flat_map(|(k, h)| {
                h.counters.fallbacks.iter().map(move |(kind, n)| {
                    (
                        [("handler", k.as_str()), ("kind", kind.as_str())],
                        ConstCounter::new(*n),
                    )
                })
            }),
        )?;
        let histograms: [HistogramFamily; 3] = [
            (
                "semifaas_local_wall_seconds",
                "Wall time of local runs.",
                |h| &h.local_wall,
            ),
            (
                "semifaas_local_cpu_seconds",
                "CPU time of local runs.",
                |h| &h.local_cpu,
            ),
            (
                "semifaas_offload_round_trip_seconds",
                "Round trip of successful offloads.",
                |h| &h.offload_round_trip,
            ),
        ];
        for (name, help, histogram) in histograms {
            family(
                e,
                name,
                help,
                MetricType::Histogram,
                self.latencies
                    .iter()
                    .map(|(k, h)| (handler(k), histogram(h).clone())),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const H: &str = "com.example.C#m";

    fn sample() -> Stats {
        let stats = Stats::new();
        for _ in 0..4 {
            stats.record_invocation(H);
        }
        let cold = FunctionStats {
            cold: true,
            jvm_start_us: 400_000,
            handler_us: 2_000,
            ..Default::default()
        };
        stats.record_offloaded(H, Duration::from_millis(450), &cold);
        stats.record_local(H, Duration::from_millis(10), Some(Duration::from_millis(8)));
        stats.record_failure(H, FailureReason::Throttled, "429 from the platform");
        stats.record_local(H, Duration::from_millis(12), Some(Duration::from_millis(9)));
        stats.record_local(
            H,
            Duration::from_millis(30),
            Some(Duration::from_millis(20)),
        );
        stats.record_fallback(H, FallbackKind::LoadClass);
        stats.record_fallback(H, FallbackKind::LoadClass);
        stats.record_fallback(H, FallbackKind::FetchClosure);
        stats.record_spilled(H);
        stats.record_platform_full(H);
        stats.record_platform_full(H);
        stats.record_invocation(H);
        stats.record_failure(H, FailureReason::Timeout, "no answer in 30000 ms");
        stats.record_abandoned(H, "the function had made 1 remote call that may write");
        stats.record_invocation(H);
        stats.record_failure(H, FailureReason::FunctionError, "the instance exited");
        stats.record_reexecuted(H);
        stats.record_invocation(H);
        stats.record_failure(H, FailureReason::Timeout, "no answer in 30000 ms");
        stats.record_diverged(H, "call #2 called save with other arguments");
        stats.record_invocation("com.example.D#n");
        stats.record_ineligible("com.example.D#n", "returns a CompletableFuture");
        // An untimed run (the Java side times a sample of runs): counted, no CPU time.
        stats.record_local("com.example.D#n", Duration::from_millis(1), None);
        stats
    }

    #[test]
    fn json_has_the_agreed_shape() {
        let ratios = Ratios {
            global: 0.25,
            overrides: BTreeMap::from([(H.to_owned(), 1.0)]),
        };
        let json: Value = serde_json::to_value(sample().report(&ratios)).unwrap();
        assert_eq!(json["ratio"], 0.25);
        assert_eq!(json["ratio_overrides"][H], 1.0);
        let totals = &json["totals"];
        assert_eq!(totals["invocations"], 8);
        assert_eq!(totals["offloaded"], 1);
        assert_eq!(totals["local"], 4);
        assert_eq!(
            (
                &totals["reexecuted"],
                &totals["diverged"],
                &totals["abandoned"]
            ),
            (&1.into(), &1.into(), &1.into()),
            "invocations = offloaded + local + reexecuted + diverged + abandoned"
        );
        assert_eq!(totals["failures"], 4);
        assert_eq!(totals["fallbacks"]["load_class"], 2);
        assert_eq!(totals["fallbacks"]["fetch_closure"], 1);
        assert_eq!(totals["fallbacks"]["get_resource"], 0);
        let h = &json["handlers"][H];
        assert_eq!(h["invocations"], 7);
        assert_eq!(h["failure_reasons"]["throttled"], 1);
        assert_eq!(h["failure_reasons"]["timeout"], 2);
        assert_eq!((&h["reexecuted"], &h["diverged"]), (&1.into(), &1.into()));
        assert_eq!(h["cold_starts"], 1);
        assert_eq!(
            (h["spilled"].as_u64(), h["platform_full"].as_u64()),
            (Some(1), Some(2))
        );
        assert_eq!(totals["platform_full"], 2);
        assert_eq!(h["local_wall_ms"]["count"], 3);
        assert!((h["local_wall_ms"]["max"].as_f64().unwrap() - 30.0).abs() < 0.5);
        assert!((h["offload_round_trip_ms"]["p50"].as_f64().unwrap() - 450.0).abs() < 5.0);
        assert!(
            (h["function_phases"]["jvm_start_ms"]["max"]
                .as_f64()
                .unwrap()
                - 400.0)
                .abs()
                < 5.0
        );
        assert!(h["last_failure"]
            .as_str()
            .unwrap()
            .starts_with("diverged: call #2 called save"));
        let d = &json["handlers"]["com.example.D#n"];
        assert_eq!(d["ineligible"], 1);
        assert_eq!(d["ineligible_reason"], "returns a CompletableFuture");
        assert_eq!(d["local"], 1);
        assert_eq!(
            d["local_cpu_ms"]["count"], 0,
            "an untimed run has no CPU time: {d}"
        );
        let back: StatsReport = serde_json::from_value(json).unwrap();
        assert_eq!(back.totals.invocations, 8);
    }

    #[test]
    fn counts_add_up_when_a_result_is_unusable() {
        let stats = Stats::new();
        stats.record_invocation(H);
        stats.record_offloaded(H, Duration::from_millis(5), &FunctionStats::default());
        stats.record_result_unusable(H, "could not decode the return value");
        stats.record_local(H, Duration::from_millis(5), Some(Duration::from_millis(5)));
        let t = stats.report(&Ratios::default()).totals;
        assert_eq!(
            (t.invocations, t.offloaded, t.local, t.failures),
            (1, 0, 1, 1)
        );
        assert_eq!(t.failure_reasons["result_unusable"], 1);
    }

    #[test]
    fn prometheus_text_has_help_type_and_labelled_samples() {
        let stats = sample();
        let mut report = stats.report(&Ratios {
            global: 0.5,
            overrides: BTreeMap::new(),
        });
        report.mode = "auto".into();
        report.phase = "offload".into();
        report.offloads_in_flight = 3;
        report.instances_up = 2;
        report.platform.state = "paused".into();
        let text = stats.prometheus(&report);
        assert!(
            text.contains("semifaas_platform_state{state=\"paused\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("semifaas_platform_state{state=\"closed\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("# HELP semifaas_invocations_total "),
            "{text}"
        );
        assert!(text.contains("# TYPE semifaas_invocations_total counter"));
        assert!(text.contains("semifaas_invocations_total{handler=\"com.example.C#m\"} 7"));
        assert!(text.contains("semifaas_abandoned_total{handler=\"com.example.C#m\"} 1"));
        assert!(text.contains("semifaas_reexecuted_total{handler=\"com.example.C#m\"} 1"));
        assert!(text.contains("semifaas_diverged_total{handler=\"com.example.C#m\"} 1"));
        assert!(text.contains("semifaas_call_log_bytes_in_use 0"), "{text}");
        assert!(
            text.contains("semifaas_call_log_over_cap_total 0"),
            "{text}"
        );
        assert!(text.contains(
            "semifaas_failure_reasons_total{handler=\"com.example.C#m\",reason=\"throttled\"} 1"
        ));
        assert!(text.contains(
            "semifaas_fallbacks_total{handler=\"com.example.C#m\",kind=\"load_class\"} 2"
        ));
        assert!(text.contains("semifaas_ratio 0.5"));
        assert!(text.contains("semifaas_platform_full_total{handler=\"com.example.C#m\"} 2"));
        assert!(text.contains("semifaas_offloads_in_flight 3"));
        assert!(text.contains("semifaas_instances_up 2"));
        assert!(text.contains("semifaas_mode{mode=\"auto\"} 1"));
        assert!(text.contains("semifaas_mode{mode=\"manual\"} 0"));
        assert!(text.contains("semifaas_controller_phase{phase=\"offload\"} 1"));
        assert!(text.contains("semifaas_controller_phase{phase=\"absorb\"} 0"));
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("semifaas_offload_limit")),
            "no limit known: no sample"
        );
        // Latencies are histograms in seconds: 10, 12 and 30 ms local runs.
        assert!(text.contains("# TYPE semifaas_local_wall_seconds histogram"));
        let bucket = |le: &str| {
            format!("semifaas_local_wall_seconds_bucket{{handler=\"com.example.C#m\",le=\"{le}\"}}")
        };
        assert!(text.contains(&format!("{} 0\n", bucket("0.005"))), "{text}");
        assert!(text.contains(&format!("{} 2\n", bucket("0.025"))), "{text}");
        assert!(text.contains(&format!("{} 3\n", bucket("0.05"))), "{text}");
        assert!(text.contains(&format!("{} 3\n", bucket("+Inf"))), "{text}");
        assert!(text.contains("semifaas_local_wall_seconds_count{handler=\"com.example.C#m\"} 3"));
        let sum: f64 = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("semifaas_local_wall_seconds_sum{handler=\"com.example.C#m\"} ")
            })
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 0.052).abs() < 1e-9, "{sum}");
        assert!(text.contains(
            "semifaas_offload_round_trip_seconds_bucket{handler=\"com.example.C#m\",le=\"0.5\"} 1"
        ));
        assert!(!text.contains("quantile"), "no summaries any more");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(
                value.parse::<f64>().is_ok(),
                "sample line {line:?} must end in a number"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let stats = Stats::new();
        stats.record_invocation("a.\"B\\#m\n");
        let text = stats.prometheus(&stats.report(&Ratios::default()));
        assert!(
            text.contains(r#"semifaas_invocations_total{handler="a.\"B\\#m\n"} 1"#),
            "{text}"
        );
    }
}
