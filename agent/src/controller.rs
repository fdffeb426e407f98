//! The burst controller (`semifaas.mode=auto`): sets the global offload ratio from saturation
//! signals, in the phases of a "scale up, then scale out" burst buffer:
//!
//! - `absorb`: the load fits the server (in-flight requests within `semifaas.auto.capacity`, no
//!   queueing): ratio 0.
//! - `offload`: saturated. The ratio jumps within one tick to the largest of the excess share
//!   `(in_flight - capacity) / in_flight`, the *needed share* `1 - local_rate / arrival_rate`
//!   (the part of the arrivals the server cannot serve at its calm service time) and, when local
//!   latency shows queueing, the current ratio plus [`QUEUE_STEP`]; capped by
//!   `semifaas.auto.max-ratio`. With an arrival estimate the excess counts at most
//!   [`QUEUE_STEP`] over the need, and a tick with throttled offloads never raises the ratio.
//!   It comes down with hysteresis: only after [`CALM_TICKS`] calm ticks, halving each time, to
//!   0 below [`MIN_RATIO`], but never below the needed share of the recent arrivals: offloading
//!   itself makes the server look calm while the burst lasts.
//! - spill (auto mode, outside `handover`): between ticks, a request that finds
//!   [`SPILL_FACTOR`] × capacity local runs already in progress is offloaded to a free platform
//!   slot whatever the ratio, so the first requests of a burst do not queue while the next tick
//!   is awaited, and the backlog drains to the platform as fast as it has room.
//! - `handover`: new server capacity is ready (`POST /capacity-ready`): ratio 0, held until
//!   `POST /capacity-ready?ready=false`, or until a burst saturates the server again after
//!   [`HANDOVER_HOLD`].
//!
//! - do no harm: every tick the [`HarmGuard`] compares what offloads achieve with local runs;
//!   when they do worse it caps the offloads in flight and the ratio is not raised (a throttled
//!   tick is treated the same). With `semifaas.do-no-harm` (default on) the cap also bounds
//!   manual ratios.
//!
//! [`Controller`] is the pure decision (numbers in, ratio out); [`BurstControl`] gathers the
//! signals, runs the tick task and applies the ratio to the [`Policy`].

use std::{
    cell::Cell,
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use serde::Serialize;
use tracing::{debug, info};

use crate::{
    config::{AgentConfig, Mode},
    harm_guard::{GuardAction, GuardSignals, GuardVerdict, HarmGuard},
    offload_slots::{OffloadSlots, SlotsState},
    policy::Policy,
};

/// Calm ticks in a row before the ratio is lowered one step.
pub const CALM_TICKS: u32 = 5;
/// Below this the ratio drops to 0 instead of halving again.
pub const MIN_RATIO: f64 = 0.05;
/// Window p50 over baseline p50 of local latency that counts as queueing.
pub const QUEUE_FACTOR: f64 = 2.0;
/// How much one queueing tick raises the ratio when in-flight requests do not show the excess.
pub const QUEUE_STEP: f64 = 0.25;
/// A request that finds this many local runs per unit of capacity already in progress is
/// spilled to the platform in auto mode: the server stays busy, and what would wait behind it
/// runs where there is room.
pub const SPILL_FACTOR: u64 = 2;
/// How long a handover holds the ratio at 0 before a new burst may end it.
pub const HANDOVER_HOLD: Duration = Duration::from_secs(30);
/// Local runs of a handler in one window needed to compare its latency with its baseline.
const MIN_WINDOW_SAMPLES: usize = 3;
/// Weight of a calm window in a handler's baseline p50.
const BASELINE_WEIGHT: f64 = 0.2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// `semifaas.mode=manual`: the operator sets the ratio.
    Manual,
    Absorb,
    Offload,
    Handover,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Manual => "manual",
            Phase::Absorb => "absorb",
            Phase::Offload => "offload",
            Phase::Handover => "handover",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControllerSettings {
    pub capacity: u32,
    pub max_ratio: f64,
    /// Ticks a handover holds before a new burst may end it.
    pub handover_hold_ticks: u32,
}

impl ControllerSettings {
    pub fn from_config(config: &AgentConfig) -> ControllerSettings {
        let interval = config.auto_interval.as_millis().max(1);
        ControllerSettings {
            capacity: config.auto_capacity,
            max_ratio: config.auto_max_ratio,
            handover_hold_ticks: u32::try_from(HANDOVER_HOLD.as_millis().div_ceil(interval))
                .unwrap_or(u32::MAX),
        }
    }
}

/// What the controller sees at one tick.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Signals {
    /// Peak in-flight requests (local and offloaded) during the tick.
    pub in_flight: u64,
    /// Worst local latency over the tick against its calm baseline (window p50 / baseline
    /// p50); `None` when no handler had enough runs to compare.
    pub queueing: Option<f64>,
    /// Requests that arrived during the tick, per second.
    pub arrivals_per_s: f64,
    /// Calm local wall time of one request (ms); `None` before any calm local run.
    pub service_ms: Option<f64>,
    /// Offloads the platform refused during the tick (throttled: it has no room).
    pub throttled: u64,
    /// The do-no-harm guard backed off this tick: offloads do worse than local runs.
    pub harm: bool,
}

/// The ratio the controller set, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub phase: Phase,
    pub ratio: f64,
    pub why: String,
}

/// The pure burst controller: feed it [`Signals`] once per tick.
#[derive(Debug, Clone)]
pub struct Controller {
    settings: ControllerSettings,
    calm_ticks: u32,
    /// Ticks since capacity was reported ready; `None` outside a handover.
    handover: Option<u32>,
    /// Needed shares of the last [`CALM_TICKS`] ticks, newest last.
    recent_needs: Vec<f64>,
    decision: Decision,
}

impl Controller {
    pub fn new(settings: ControllerSettings) -> Controller {
        Controller {
            settings,
            calm_ticks: 0,
            handover: None,
            recent_needs: Vec::with_capacity(CALM_TICKS as usize),
            decision: Decision {
                phase: Phase::Absorb,
                ratio: 0.0,
                why: "started: no load seen yet".into(),
            },
        }
    }

    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    pub fn settings(&self) -> &ControllerSettings {
        &self.settings
    }

    pub fn in_handover(&self) -> bool {
        self.handover.is_some()
    }

    fn set(&mut self, phase: Phase, ratio: f64, why: String) -> &Decision {
        self.decision = Decision { phase, ratio, why };
        &self.decision
    }

    /// New server capacity is ready (`true`): drop the ratio to 0 and hold it; `false` ends
    /// the handover and the next tick decides from the load again.
    pub fn capacity_ready(&mut self, ready: bool) -> &Decision {
        self.calm_ticks = 0;
        if ready {
            self.handover = Some(0);
            return self.set(
                Phase::Handover,
                0.0,
                "capacity ready: new server capacity takes the load, ratio held at 0".into(),
            );
        }
        self.handover = None;
        let ratio = self.decision.ratio;
        let phase = if ratio > 0.0 {
            Phase::Offload
        } else {
            Phase::Absorb
        };
        self.set(
            phase,
            ratio,
            "capacity no longer ready: the load decides again".into(),
        )
    }

    /// Takes over from the operator's `ratio` (auto mode switched on): the load decides from
    /// the next tick, lowering it with the usual hysteresis.
    pub fn resume(&mut self, ratio: f64) -> &Decision {
        self.calm_ticks = 0;
        let ratio = ratio.clamp(0.0, self.settings.max_ratio);
        let phase = if self.handover.is_some() {
            Phase::Handover
        } else if ratio > 0.0 {
            Phase::Offload
        } else {
            Phase::Absorb
        };
        self.set(
            phase,
            ratio,
            format!("auto mode on: starting from ratio {ratio:.3}"),
        )
    }

    /// The share of `arrivals_per_s` over what `capacity` requests in flight serve at the calm
    /// service time: `1 - local_rate / arrival_rate`, 0 when the server keeps up.
    fn needed_share(&self, signals: &Signals) -> (f64, Option<f64>) {
        let Some(service_ms) = signals.service_ms.filter(|ms| *ms > 0.0) else {
            return (0.0, None);
        };
        let local_rate = f64::from(self.settings.capacity) * 1000.0 / service_ms;
        let need = if signals.arrivals_per_s > local_rate {
            1.0 - local_rate / signals.arrivals_per_s
        } else {
            0.0
        };
        (need, Some(local_rate))
    }

    pub fn tick(&mut self, signals: Signals) -> &Decision {
        let s = self.settings;
        let capacity = u64::from(s.capacity);
        let current = self.decision.ratio;
        let excess = if signals.in_flight > capacity {
            (signals.in_flight - capacity) as f64 / signals.in_flight as f64
        } else {
            0.0
        };
        let (need, local_rate) = self.needed_share(&signals);
        if self.recent_needs.len() == CALM_TICKS as usize {
            self.recent_needs.remove(0);
        }
        self.recent_needs.push(need);
        // The floor under lowering: the mean need of the recent ticks, so one quiet tick in a
        // burst does not drop the ratio.
        let floor = (self.recent_needs.iter().sum::<f64>() / self.recent_needs.len() as f64)
            .min(s.max_ratio);
        let queueing = signals.queueing.filter(|q| *q >= QUEUE_FACTOR);
        let queue_target = queueing.map_or(0.0, |_| current + QUEUE_STEP);
        // Queued-up or slowed-down requests hold the ratio; arrivals alone only raise it.
        let saturated = excess > 0.0 || queueing.is_some() || need.min(s.max_ratio) > current;
        // The in-flight excess includes the backlog already queued, which offloading new
        // arrivals cannot move: with an arrival estimate it only adds QUEUE_STEP over the need,
        // so a small capacity (16 queued of 1) does not send nearly everything to a platform
        // that then throttles.
        let excess = match local_rate {
            Some(_) => excess.min(need + QUEUE_STEP),
            None => excess,
        };
        let target = excess.max(need).max(queue_target).min(s.max_ratio);
        let load = format!(
            "in-flight {} of capacity {}{}{}",
            signals.in_flight,
            capacity,
            local_rate.map_or(String::new(), |rate| format!(
                ", arrivals {:.0}/s against a local rate of {rate:.0}/s",
                signals.arrivals_per_s
            )),
            queueing.map_or(String::new(), |q| format!(
                ", local latency {q:.1}x its calm p50"
            ))
        );

        if let Some(held) = self.handover.as_mut() {
            *held = held.saturating_add(1);
            if !(saturated && *held >= s.handover_hold_ticks) {
                return self.set(
                    Phase::Handover,
                    0.0,
                    format!("capacity ready: holding ratio 0 ({load})"),
                );
            }
            self.handover = None;
        }

        if saturated {
            self.calm_ticks = 0;
            if target > current && signals.harm {
                return self.set(
                    Phase::Offload,
                    current,
                    format!(
                        "saturated ({load}) but offloads do worse than local runs: ratio held at {current:.3}"
                    ),
                );
            }
            if target > current && signals.throttled > 0 {
                // More offloads would be refused too, and each refusal costs the server a
                // round trip before it runs the request itself.
                return self.set(
                    Phase::Offload,
                    current,
                    format!(
                        "saturated ({load}) but the platform throttled {} offloads: ratio held at {current:.3}",
                        signals.throttled
                    ),
                );
            }
            if target > current {
                return self.set(
                    Phase::Offload,
                    target,
                    format!("saturated ({load}): ratio raised to {target:.3}"),
                );
            }
            return self.set(
                Phase::Offload,
                current,
                format!("saturated ({load}): ratio held at {current:.3}"),
            );
        }

        self.calm_ticks += 1;
        if current <= 0.0 {
            return self.set(Phase::Absorb, 0.0, format!("within capacity ({load})"));
        }
        if self.calm_ticks < CALM_TICKS {
            return self.set(
                Phase::Offload,
                current,
                format!(
                    "calm tick {} of {CALM_TICKS} ({load}): ratio held at {current:.3}",
                    self.calm_ticks
                ),
            );
        }
        self.calm_ticks = 0;
        let halved = if current / 2.0 < MIN_RATIO {
            0.0
        } else {
            current / 2.0
        };
        let lowered = if floor >= MIN_RATIO {
            halved.max(floor).min(current)
        } else {
            halved
        };
        if lowered >= current {
            return self.set(
                Phase::Offload,
                current,
                format!(
                    "calm ({load}) but the recent arrivals need {floor:.3}: ratio held at {current:.3}"
                ),
            );
        }
        let phase = if lowered > 0.0 {
            Phase::Offload
        } else {
            Phase::Absorb
        };
        self.set(
            phase,
            lowered,
            format!("calm for {CALM_TICKS} ticks ({load}): ratio lowered to {lowered:.3}"),
        )
    }
}

thread_local! {
    /// Whether the request on this thread holds an in-flight slot. A request stays on one
    /// servlet thread from `shouldOffload` to its end, so this makes release exact even when
    /// an offload result turns out unusable and the handler runs locally after all.
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

/// In-flight requests: counted in `shouldOffload`, released when the local run is recorded or
/// the offload returns a result.
#[derive(Default)]
pub struct LoadGauge {
    current: AtomicU64,
    peak: AtomicU64,
    arrivals: AtomicU64,
    throttled: AtomicU64,
    offloads_done: AtomicU64,
    offload_rtt_us: AtomicU64,
}

impl LoadGauge {
    /// The request on this thread is in flight (once, however often it is called).
    pub fn enter(&self) {
        if HOLDING.with(|h| h.replace(true)) {
            return;
        }
        self.arrivals.fetch_add(1, Ordering::AcqRel);
        let now = self.current.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak.fetch_max(now, Ordering::AcqRel);
    }

    /// Requests that entered since the last call.
    pub fn take_arrivals(&self) -> u64 {
        self.arrivals.swap(0, Ordering::AcqRel)
    }

    /// The platform refused an offload (throttled).
    pub fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::AcqRel);
    }

    /// Offloads throttled since the last call.
    pub fn take_throttled(&self) -> u64 {
        self.throttled.swap(0, Ordering::AcqRel)
    }

    /// An offload came back with a result after `rtt`.
    pub fn offload_done(&self, rtt: Duration) {
        self.offload_rtt_us.fetch_add(
            u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX),
            Ordering::AcqRel,
        );
        self.offloads_done.fetch_add(1, Ordering::AcqRel);
    }

    /// Offloads done since the last call and their mean round trip (ms).
    pub fn take_offloads_done(&self) -> (u64, Option<f64>) {
        let done = self.offloads_done.swap(0, Ordering::AcqRel);
        let us = self.offload_rtt_us.swap(0, Ordering::AcqRel);
        (done, (done > 0).then(|| us as f64 / done as f64 / 1000.0))
    }

    /// The request on this thread is done (no-op when it holds no slot).
    pub fn leave(&self) {
        if HOLDING.with(|h| h.replace(false)) {
            let _ = self
                .current
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                    Some(c.saturating_sub(1))
                });
        }
    }

    pub fn current(&self) -> u64 {
        self.current.load(Ordering::Acquire)
    }

    /// The peak since the last call, which starts the next window at the current value.
    pub fn take_peak(&self) -> u64 {
        let current = self.current();
        self.peak.swap(current, Ordering::AcqRel).max(current)
    }
}

/// One handler's local wall times (µs) in the current tick. The request path holds it
/// ([`crate::handler_ids`]), so recording a run takes only this handler's lock, not the
/// controller's.
#[derive(Clone, Default)]
pub struct LatencyWindow(Arc<Mutex<Vec<u64>>>);

impl LatencyWindow {
    /// A local run finished: its latency feeds the queueing signal.
    pub fn record(&self, wall: Duration) {
        let us = u64::try_from(wall.as_micros()).unwrap_or(u64::MAX);
        self.0.lock().push(us);
    }

    fn take(&self) -> Vec<u64> {
        std::mem::take(&mut *self.0.lock())
    }
}

/// Local latencies per handler over the current tick, and each handler's calm baseline p50.
#[derive(Default)]
struct LatencyWindows {
    window: HashMap<String, LatencyWindow>,
    baseline: HashMap<String, f64>,
    /// Calm local wall time of a request over all handlers (µs).
    service_us: Option<f64>,
}

/// One ended latency window.
#[derive(Debug, Default)]
struct WindowSummary {
    /// The p50 of each handler with at least [`MIN_WINDOW_SAMPLES`] runs.
    p50s: HashMap<String, f64>,
    /// The mean wall time of every local run in the window.
    mean_us: Option<f64>,
    /// Local runs in the window.
    runs: usize,
}

impl LatencyWindows {
    fn window(&mut self, handler_key: &str) -> LatencyWindow {
        self.window
            .entry(handler_key.to_owned())
            .or_default()
            .clone()
    }

    /// Ends the window.
    fn take(&mut self) -> WindowSummary {
        let samples: Vec<(&String, Vec<u64>)> = self
            .window
            .iter()
            .map(|(k, w)| (k, w.take()))
            .filter(|(_, s)| !s.is_empty())
            .collect();
        let (sum, runs) = samples
            .iter()
            .flat_map(|(_, s)| s)
            .fold((0.0, 0usize), |(sum, n), us| (sum + *us as f64, n + 1));
        let mean_us = (runs > 0).then(|| sum / runs as f64);
        let p50s = samples
            .into_iter()
            .filter(|(_, s)| s.len() >= MIN_WINDOW_SAMPLES)
            .map(|(k, mut s)| {
                s.sort_unstable();
                (k.clone(), s[(s.len() - 1) / 2] as f64)
            })
            .collect();
        WindowSummary {
            p50s,
            mean_us,
            runs,
        }
    }

    /// The calm service time of one local request (ms), for the needed share.
    fn service_ms(&self) -> Option<f64> {
        self.service_us.map(|us| us / 1000.0)
    }

    /// The worst window p50 over its handler's baseline.
    fn queueing(&self, p50s: &HashMap<String, f64>) -> Option<f64> {
        p50s.iter()
            .filter_map(|(k, p50)| {
                let base = *self.baseline.get(k)?;
                (base > 0.0).then(|| p50 / base)
            })
            .reduce(f64::max)
    }

    /// Folds a calm window into the baselines.
    fn calm(&mut self, window: WindowSummary) {
        if let Some(mean) = window.mean_us {
            let base = self.service_us.get_or_insert(mean);
            *base += BASELINE_WEIGHT * (mean - *base);
        }
        for (k, p50) in window.p50s {
            let base = self.baseline.entry(k).or_insert(p50);
            *base += BASELINE_WEIGHT * (p50 - *base);
        }
    }
}

/// The controller's state as served by `GET /controller`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControllerState {
    pub mode: &'static str,
    pub phase: Phase,
    pub ratio: f64,
    pub in_flight: u64,
    pub capacity: u32,
    pub max_ratio: f64,
    pub interval_ms: u64,
    pub capacity_ready: bool,
    /// Offloads in flight and the platform's room (configured or learned).
    #[serde(flatten)]
    pub slots: SlotsState,
    pub last_decision: Decision,
    /// Milliseconds since the last decision.
    pub last_decision_ms_ago: u64,
    /// The calm local service time (ms) the needed share is estimated from.
    pub service_ms: Option<f64>,
    /// Whether the do-no-harm guard bounds manual ratios too (`semifaas.do-no-harm`).
    pub do_no_harm: bool,
    /// The do-no-harm guard's last verdict: what offloads achieve against local runs.
    pub guard: GuardVerdict,
}

struct ControlState {
    mode: Mode,
    controller: Controller,
    guard: HarmGuard,
    latencies: LatencyWindows,
    decided_at: Instant,
}

/// The live control plane: in-flight gauge, latency windows, the controller and its task.
pub struct BurstControl {
    policy: Arc<Policy>,
    gauge: LoadGauge,
    slots: OffloadSlots,
    /// Auto mode outside a handover: requests may spill (read on every request, so not under
    /// the state lock).
    spilling: AtomicBool,
    capacity: u64,
    interval: Duration,
    do_no_harm: bool,
    state: Mutex<ControlState>,
}

impl BurstControl {
    pub fn new(config: &AgentConfig, policy: Arc<Policy>) -> BurstControl {
        let slots = OffloadSlots::new(config.offload_max_in_flight);
        slots.set_warm_first(config.mode == Mode::Auto);
        BurstControl {
            policy,
            gauge: LoadGauge::default(),
            slots,
            spilling: AtomicBool::new(config.mode == Mode::Auto),
            capacity: u64::from(config.auto_capacity),
            interval: config.auto_interval,
            do_no_harm: config.do_no_harm,
            state: Mutex::new(ControlState {
                mode: config.mode,
                controller: Controller::new(ControllerSettings::from_config(config)),
                guard: HarmGuard::default(),
                latencies: LatencyWindows::default(),
                decided_at: Instant::now(),
            }),
        }
    }

    /// Ticks every `semifaas.auto.interval-ms` in the current tokio runtime, while in auto mode.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let control = Arc::downgrade(self);
        let interval = self.interval;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(control) = control.upgrade() else {
                    return;
                };
                control.tick();
            }
        })
    }

    pub fn gauge(&self) -> &LoadGauge {
        &self.gauge
    }

    pub fn slots(&self) -> &OffloadSlots {
        &self.slots
    }

    /// Whether the request on this thread (already counted in flight) should go to the
    /// platform because it would queue: auto mode outside a handover, [`SPILL_FACTOR`] ×
    /// capacity local runs already in progress, and a free platform slot.
    pub fn should_spill(&self) -> bool {
        if !self.spilling.load(Ordering::Acquire) {
            return false;
        }
        let offloading = self.slots.in_flight();
        let others_local = self
            .gauge
            .current()
            .saturating_sub(offloading)
            .saturating_sub(1);
        others_local >= SPILL_FACTOR * self.capacity && self.slots.has_room()
    }

    /// The handler's latency window, for the request path to record into without this lock.
    pub fn latency_window(&self, handler_key: &str) -> LatencyWindow {
        self.state.lock().latencies.window(handler_key)
    }

    /// One controller tick: the do-no-harm guard, then in auto mode the controller; in manual
    /// mode only the guard (when `semifaas.do-no-harm` is on) and the end of the latency window.
    pub fn tick(&self) -> Decision {
        let in_flight = self.gauge.take_peak();
        let arrivals = self.gauge.take_arrivals();
        let throttled = self.gauge.take_throttled();
        let (offloads_done, offload_mean_ms) = self.gauge.take_offloads_done();
        let tick_s = self.interval.as_secs_f64().max(1e-3);
        let arrivals_per_s = arrivals as f64 / tick_s;
        let mut state = self.state.lock();
        let window = state.latencies.take();
        let service_ms = state.latencies.service_ms();
        let guarded = state.mode == Mode::Auto || self.do_no_harm;
        let harm = guarded
            && self.guard(
                &mut state.guard,
                GuardSignals {
                    tick_s,
                    in_flight,
                    capacity: self.capacity,
                    arrivals_per_s,
                    server_alone_per_s: service_ms
                        .filter(|ms| *ms > 0.0)
                        .map(|ms| self.capacity as f64 * 1000.0 / ms),
                    local_runs: window.runs as u64,
                    local_mean_ms: window.mean_us.map(|us| us / 1000.0),
                    offloads_done,
                    offload_mean_ms,
                    offloads_in_flight: self.slots.in_flight(),
                    oldest_offload_ms: self.slots.oldest().map(|d| d.as_secs_f64() * 1000.0),
                },
            );
        if state.mode == Mode::Manual {
            return self.manual_decision();
        }
        let queueing = state.latencies.queueing(&window.p50s);
        let before = state.controller.decision().clone();
        let decision = state
            .controller
            .tick(Signals {
                in_flight,
                queueing,
                arrivals_per_s,
                service_ms,
                throttled,
                harm,
            })
            .clone();
        // Any window the server kept up with measures its service time, whatever the ratio: a
        // baseline learned only at ratio 0 could never recover from a slow calm spell (a
        // prewarm's fallbacks, a GC), since the need estimated from it keeps the ratio above 0.
        if in_flight <= self.capacity && queueing.is_none_or(|q| q < QUEUE_FACTOR) {
            state.latencies.calm(window);
        }
        self.apply(&mut state, &before, &decision);
        decision
    }

    /// Runs the guard for one tick and applies its verdict to the offload slots; returns
    /// whether it backed off.
    fn guard(&self, guard: &mut HarmGuard, signals: GuardSignals) -> bool {
        let before = guard.verdict().action;
        let verdict = guard.tick(signals);
        self.slots
            .set_holding(verdict.action == GuardAction::HoldInstances);
        match verdict.action {
            GuardAction::BackOff => {
                let cap = self.slots.back_off();
                info!(offload_cap = cap, why = %verdict.why, "do no harm");
                true
            }
            action => {
                if action != before {
                    debug!(?action, why = %verdict.why, "do no harm");
                }
                false
            }
        }
    }

    /// Mirrors the mode and handover state into `spilling`, which requests read without the lock.
    fn sync_spilling(&self, state: &ControlState) {
        self.spilling.store(
            state.mode == Mode::Auto && !state.controller.in_handover(),
            Ordering::Release,
        );
    }

    fn apply(&self, state: &mut ControlState, before: &Decision, decision: &Decision) {
        state.decided_at = Instant::now();
        self.sync_spilling(state);
        if decision.phase == Phase::Absorb && before.phase != Phase::Absorb {
            self.slots.clear_harm_cap();
        }
        if self.policy.set_global_ratio(decision.ratio).is_err() {
            // Unreachable: the controller's ratios are clamped to [0, max-ratio].
            debug!(ratio = decision.ratio, "controller ratio rejected");
        }
        if before.phase != decision.phase || before.ratio != decision.ratio {
            info!(phase = decision.phase.as_str(), ratio = %format_args!("{:.3}", decision.ratio), why = %decision.why, "burst controller");
        }
    }

    fn manual_decision(&self) -> Decision {
        Decision {
            phase: Phase::Manual,
            ratio: self.policy.global_ratio(),
            why: "manual mode: the ratio is set with PUT /ratio".into(),
        }
    }

    /// `POST /capacity-ready[?ready=false]`. In manual mode it only records the state.
    pub fn capacity_ready(&self, ready: bool) -> Decision {
        let mut state = self.state.lock();
        let before = state.controller.decision().clone();
        let decision = state.controller.capacity_ready(ready).clone();
        if state.mode == Mode::Auto {
            self.apply(&mut state, &before, &decision);
        }
        decision
    }

    /// Switches the mode; returns the previous one. Entering auto starts from the current ratio
    /// at the next tick.
    pub fn set_mode(&self, mode: Mode) -> Mode {
        let mut state = self.state.lock();
        let previous = std::mem::replace(&mut state.mode, mode);
        if previous != mode {
            info!(mode = mode.as_str(), "offload mode changed");
            self.sync_spilling(&state);
            self.slots.set_warm_first(mode == Mode::Auto);
            if mode == Mode::Auto {
                let ratio = self.policy.global_ratio();
                state.controller.resume(ratio);
                state.decided_at = Instant::now();
            }
        }
        previous
    }

    pub fn mode(&self) -> Mode {
        self.state.lock().mode
    }

    pub fn state(&self) -> ControllerState {
        let state = self.state.lock();
        let settings = *state.controller.settings();
        let manual = state.mode == Mode::Manual;
        let last_decision = if manual {
            self.manual_decision()
        } else {
            state.controller.decision().clone()
        };
        ControllerState {
            mode: state.mode.as_str(),
            phase: last_decision.phase,
            ratio: self.policy.global_ratio(),
            in_flight: self.gauge.current(),
            capacity: settings.capacity,
            max_ratio: settings.max_ratio,
            interval_ms: u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX),
            capacity_ready: state.controller.in_handover(),
            slots: self.slots.state(),
            last_decision,
            last_decision_ms_ago: u64::try_from(state.decided_at.elapsed().as_millis())
                .unwrap_or(u64::MAX),
            service_ms: state.latencies.service_ms(),
            do_no_harm: self.do_no_harm,
            guard: state.guard.verdict().clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controller() -> Controller {
        Controller::new(ControllerSettings {
            capacity: 4,
            max_ratio: 1.0,
            handover_hold_ticks: 10,
        })
    }

    fn load(in_flight: u64) -> Signals {
        Signals {
            in_flight,
            ..Signals::default()
        }
    }

    #[test]
    fn load_within_capacity_is_absorbed() {
        let mut c = controller();
        for n in [0, 1, 4] {
            let d = c.tick(load(n));
            assert_eq!((d.phase, d.ratio), (Phase::Absorb, 0.0), "{}", d.why);
        }
    }

    #[test]
    fn saturation_raises_the_ratio_to_the_excess_share_within_one_tick() {
        let mut c = controller();
        c.tick(load(2));
        let d = c.tick(load(16));
        assert_eq!(d.phase, Phase::Offload);
        assert_eq!(d.ratio, 0.75, "12 of 16 requests are over capacity 4");
        assert!(d.why.contains("in-flight 16 of capacity 4"), "{}", d.why);
        // A smaller excess while saturated keeps the ratio: lowering waits for calm.
        let d = c.tick(load(8));
        assert_eq!((d.phase, d.ratio), (Phase::Offload, 0.75));
    }

    #[test]
    fn the_ratio_is_capped_by_max_ratio() {
        let mut c = Controller::new(ControllerSettings {
            capacity: 1,
            max_ratio: 0.5,
            handover_hold_ticks: 10,
        });
        assert_eq!(c.tick(load(100)).ratio, 0.5);
    }

    #[test]
    fn queueing_raises_the_ratio_without_an_in_flight_excess() {
        let mut c = controller();
        let d = c.tick(Signals {
            in_flight: 3,
            queueing: Some(3.0),
            ..Signals::default()
        });
        assert_eq!((d.phase, d.ratio), (Phase::Offload, QUEUE_STEP));
        assert!(d.why.contains("3.0x"), "{}", d.why);
        let d = c.tick(Signals {
            in_flight: 3,
            queueing: Some(2.5),
            ..Signals::default()
        });
        assert_eq!(d.ratio, 2.0 * QUEUE_STEP);
        // Latency below the factor is not queueing.
        let mut c = controller();
        assert_eq!(
            c.tick(Signals {
                in_flight: 3,
                queueing: Some(1.5),
                ..Signals::default()
            })
            .ratio,
            0.0
        );
    }

    /// 100 requests/s against capacity 4 at 50 ms each (a local rate of 80/s).
    fn arrivals(in_flight: u64, arrivals_per_s: f64) -> Signals {
        Signals {
            in_flight,
            queueing: None,
            arrivals_per_s,
            service_ms: Some(50.0),
            throttled: 0,
            harm: false,
        }
    }

    #[test]
    fn arrivals_over_the_local_rate_raise_the_ratio_to_the_needed_share_in_one_tick() {
        let mut c = controller();
        let d = c.tick(arrivals(2, 40.0));
        assert_eq!((d.phase, d.ratio), (Phase::Absorb, 0.0), "{}", d.why);
        // Not yet queued up (in-flight within capacity), but 200/s is 2.5x the local 80/s.
        let d = c.tick(arrivals(3, 200.0));
        assert_eq!(d.phase, Phase::Offload);
        assert!((d.ratio - 0.6).abs() < 1e-9, "{}", d.ratio);
        assert!(
            d.why
                .contains("arrivals 200/s against a local rate of 80/s"),
            "{}",
            d.why
        );
        // Without a calm service time there is no estimate: only in-flight counts.
        let mut c = controller();
        let d = c.tick(Signals {
            service_ms: None,
            ..arrivals(3, 200.0)
        });
        assert_eq!(d.ratio, 0.0, "{}", d.why);
    }

    #[test]
    fn with_an_arrival_estimate_the_backlog_adds_one_step_over_the_need() {
        let mut c = controller();
        // 16 in flight of capacity 4 is an excess of 0.75; 100/s against 80/s needs 0.2.
        let d = c.tick(arrivals(16, 100.0));
        assert!((d.ratio - (0.2 + QUEUE_STEP)).abs() < 1e-9, "{}", d.why);
    }

    #[test]
    fn throttled_offloads_stop_the_ratio_from_rising() {
        let mut c = controller();
        assert!((c.tick(arrivals(3, 200.0)).ratio - 0.6).abs() < 1e-9);
        let d = c.tick(Signals {
            throttled: 5,
            ..arrivals(8, 400.0)
        });
        assert_eq!(d.phase, Phase::Offload);
        assert!((d.ratio - 0.6).abs() < 1e-9, "{}", d.why);
        assert!(d.why.contains("throttled 5 offloads"), "{}", d.why);
        // Without throttling the same load raises it.
        assert!(c.tick(arrivals(8, 400.0)).ratio > 0.6);
    }

    #[test]
    fn harm_stops_the_ratio_from_rising() {
        let mut c = controller();
        assert!((c.tick(arrivals(3, 200.0)).ratio - 0.6).abs() < 1e-9);
        let d = c.tick(Signals {
            harm: true,
            ..arrivals(8, 400.0)
        });
        assert!((d.ratio - 0.6).abs() < 1e-9, "{}", d.why);
        assert!(
            d.why.contains("offloads do worse than local runs"),
            "{}",
            d.why
        );
    }

    #[test]
    fn calm_ticks_do_not_lower_the_ratio_below_what_the_arrivals_need() {
        let mut c = controller();
        assert_eq!(c.tick(load(16)).ratio, 0.75);
        // Offloading keeps the server calm while 160/s keep arriving (needed share 0.5):
        // the calm ticks halve 0.75 only down to 0.5, then hold.
        for _ in 0..CALM_TICKS * 3 {
            let d = c.tick(arrivals(2, 160.0));
            assert_eq!(d.phase, Phase::Offload, "{}", d.why);
            assert!(d.ratio >= 0.5 - 1e-9, "{}", d.why);
        }
        assert!((c.decision().ratio - 0.5).abs() < 1e-9);
        assert!(
            c.decision().why.contains("need 0.500"),
            "{}",
            c.decision().why
        );
        // The burst ends: the ratio comes down stepwise to 0.
        for _ in 0..CALM_TICKS * 6 {
            c.tick(arrivals(1, 20.0));
        }
        assert_eq!(
            (c.decision().phase, c.decision().ratio),
            (Phase::Absorb, 0.0)
        );
    }

    #[test]
    fn the_ratio_comes_down_stepwise_only_after_calm_ticks() {
        let mut c = controller();
        assert_eq!(c.tick(load(8)).ratio, 0.5);
        for _ in 1..CALM_TICKS {
            let d = c.tick(load(1));
            assert_eq!((d.phase, d.ratio), (Phase::Offload, 0.5), "{}", d.why);
        }
        assert_eq!(c.tick(load(1)).ratio, 0.25);
        // A saturated tick restarts the calm count.
        for _ in 1..CALM_TICKS {
            c.tick(load(1));
        }
        c.tick(load(5));
        for _ in 1..CALM_TICKS {
            assert_eq!(c.tick(load(1)).ratio, 0.25);
        }
        let mut ratios = vec![];
        for _ in 0..CALM_TICKS * 4 {
            ratios.push(c.tick(load(0)).ratio);
        }
        assert_eq!(ratios[0], 0.125);
        assert_eq!(ratios[CALM_TICKS as usize], 0.0625);
        assert_eq!(*ratios.last().unwrap(), 0.0);
        assert_eq!(c.decision().phase, Phase::Absorb);
    }

    #[test]
    fn capacity_ready_drops_the_ratio_to_zero_and_holds_it() {
        let mut c = controller();
        assert_eq!(c.tick(load(16)).ratio, 0.75);
        let d = c.capacity_ready(true);
        assert_eq!((d.phase, d.ratio), (Phase::Handover, 0.0));
        // Saturation during the hold does not raise the ratio.
        for _ in 0..8 {
            let d = c.tick(load(16));
            assert_eq!((d.phase, d.ratio), (Phase::Handover, 0.0), "{}", d.why);
        }
        // Calm ticks after the hold keep it too.
        for _ in 0..5 {
            assert_eq!(c.tick(load(1)).phase, Phase::Handover);
        }
        // A new burst after the hold ends the handover.
        let d = c.tick(load(16));
        assert_eq!((d.phase, d.ratio), (Phase::Offload, 0.75));
    }

    #[test]
    fn capacity_no_longer_ready_returns_to_the_load() {
        let mut c = controller();
        c.capacity_ready(true);
        assert_eq!(c.tick(load(16)).phase, Phase::Handover);
        let d = c.capacity_ready(false);
        assert_eq!((d.phase, d.ratio), (Phase::Absorb, 0.0));
        assert_eq!(c.tick(load(16)).ratio, 0.75);
    }

    #[test]
    fn the_gauge_counts_a_thread_once_and_keeps_the_window_peak() {
        let gauge = Arc::new(LoadGauge::default());
        gauge.enter();
        gauge.enter();
        assert_eq!(gauge.current(), 1);
        let others: Vec<_> = (0..3)
            .map(|_| {
                let gauge = gauge.clone();
                std::thread::spawn(move || gauge.enter())
            })
            .collect();
        for t in others {
            t.join().unwrap();
        }
        assert_eq!(gauge.current(), 4);
        gauge.leave();
        gauge.leave();
        assert_eq!(gauge.current(), 3);
        assert_eq!(gauge.take_peak(), 4);
        assert_eq!(gauge.take_peak(), 3);
        assert_eq!(
            gauge.take_arrivals(),
            4,
            "a thread entering twice arrives once"
        );
        assert_eq!(gauge.take_arrivals(), 0);
    }

    #[test]
    fn latency_windows_compare_with_the_calm_baseline() {
        let mut w = LatencyWindows::default();
        let h = "a.B#c";
        for ms in [10, 10, 12] {
            w.window(h).record(Duration::from_millis(ms));
        }
        let calm = w.take();
        assert_eq!(w.queueing(&calm.p50s), None, "no baseline yet");
        assert_eq!(w.service_ms(), None);
        w.calm(calm);
        let service = w.service_ms().unwrap();
        assert!((service - 32.0 / 3.0).abs() < 1e-9, "{service}");
        for ms in [30, 31, 29, 30] {
            w.window(h).record(Duration::from_millis(ms));
        }
        let busy = w.take();
        assert_eq!(w.queueing(&busy.p50s), Some(3.0));
        assert_eq!(
            w.service_ms(),
            Some(service),
            "a busy window is no baseline"
        );
        w.window(h).record(Duration::from_millis(30));
        let single = w.take();
        assert!(single.p50s.is_empty(), "one run is not enough to compare");
        assert_eq!(
            single.mean_us,
            Some(30_000.0),
            "but it counts for the service time"
        );
    }

    #[test]
    fn requests_spill_in_auto_mode_when_they_would_queue_and_the_platform_has_room() {
        let config = AgentConfig {
            mode: Mode::Auto,
            auto_capacity: 1,
            offload_max_in_flight: Some(1),
            ..AgentConfig::default()
        };
        let control = BurstControl::new(&config, Arc::new(Policy::new(0.0).unwrap()));
        // Each request enters on its own thread (the gauge counts a thread once).
        let enter = |n: usize| {
            for _ in 0..n {
                std::thread::scope(|s| {
                    s.spawn(|| control.gauge().enter());
                });
            }
        };
        enter(2);
        assert!(!control.should_spill(), "1 local run ahead of this one");
        enter(1);
        assert!(
            !control.should_spill(),
            "auto mode offloads only to instances known to be up: none yet"
        );
        control.slots().saw_instance("i-1");
        assert!(control.should_spill(), "2 local runs (2 x capacity) ahead");
        let slot = control.slots().take();
        enter(1);
        assert!(
            !control.should_spill(),
            "the platform's only slot is taken (and that request is not local)"
        );
        drop(slot);
        control.capacity_ready(true);
        assert!(!control.should_spill(), "no spill during a handover");
        control.capacity_ready(false);
        assert!(control.should_spill());
        control.set_mode(Mode::Manual);
        assert!(!control.should_spill(), "manual mode never spills");
    }

    #[test]
    fn the_service_time_is_learned_from_calm_windows_while_offloading_too() {
        let policy = Arc::new(Policy::new(0.0).unwrap());
        let config = AgentConfig {
            auto_capacity: 1,
            ..AgentConfig::default()
        };
        let control = BurstControl::new(&config, policy.clone());
        control.set_mode(Mode::Auto);
        // A slow calm spell (a prewarm loading the server) sets a 60 ms service time ...
        control
            .latency_window("C#m")
            .record(Duration::from_millis(60));
        control.tick();
        assert_eq!(control.state().service_ms, Some(60.0));
        // ... and with the ratio above 0, calm 20 ms windows still bring it down.
        policy.set_global_ratio(0.3).unwrap();
        control.set_mode(Mode::Manual);
        control.set_mode(Mode::Auto);
        for _ in 1..CALM_TICKS {
            control
                .latency_window("C#m")
                .record(Duration::from_millis(20));
            control.tick();
        }
        let state = control.state();
        assert_eq!(state.phase, Phase::Offload, "{}", state.last_decision.why);
        // 60 ms, then four windows of 20 ms at weight 0.2: 36.4 ms.
        let ms = state.service_ms.unwrap();
        assert!((ms - 36.384).abs() < 0.01, "{ms}");
    }

    #[test]
    fn the_harm_cap_is_cleared_when_the_burst_is_over() {
        let policy = Arc::new(Policy::new(0.3).unwrap());
        let config = AgentConfig {
            auto_capacity: 1,
            ..AgentConfig::default()
        };
        let control = BurstControl::new(&config, policy.clone());
        let held: Vec<_> = (0..4).map(|_| control.slots().take()).collect();
        assert_eq!(control.slots().back_off(), 2);
        drop(held);
        control.set_mode(Mode::Auto);
        let mut ticks = 0;
        while control.tick().phase != Phase::Absorb {
            ticks += 1;
            assert!(ticks < 100, "the ratio comes down on calm ticks");
            assert_eq!(
                control.slots().state().harm_cap,
                Some(2),
                "held while offloading"
            );
        }
        assert_eq!(control.slots().state().harm_cap, None);
    }

    #[test]
    fn burst_control_applies_ratios_only_in_auto_mode() {
        let policy = Arc::new(Policy::new(0.3).unwrap());
        let config = AgentConfig {
            auto_capacity: 1,
            ..AgentConfig::default()
        };
        let control = BurstControl::new(&config, policy.clone());
        control.gauge().enter();
        assert_eq!(control.tick().phase, Phase::Manual);
        assert_eq!(policy.global_ratio(), 0.3);
        assert_eq!(control.set_mode(Mode::Auto), Mode::Manual);
        // Auto mode starts from the operator's ratio and lowers it only after calm ticks.
        let d = control.tick();
        assert_eq!((d.phase, d.ratio), (Phase::Offload, 0.3), "{}", d.why);
        for _ in 1..CALM_TICKS {
            control.tick();
        }
        assert_eq!(policy.global_ratio(), 0.15);
        control.capacity_ready(true);
        assert_eq!(policy.global_ratio(), 0.0);
        let state = control.state();
        assert_eq!((state.mode, state.phase), ("auto", Phase::Handover));
        assert!(state.capacity_ready);
        assert_eq!(state.in_flight, 1);
        control.gauge().leave();
    }
}
