//! Do no harm: offloading must never make the server complete fewer requests than it completes
//! alone. The guard watches, once per controller tick, what offloads achieve against local runs
//! and tells the control plane to back off when they do worse.
//!
//! An offload holds a request thread for its whole round trip. While offloads come back faster
//! than local runs finish, every offload is a request the saturated server did not have to
//! serve; when they come back slower (instances cold-starting together on shared CPUs, a
//! platform that queues), they tie up threads that local runs would have used, and the server
//! completes less than without offloading. So, while the server is saturated:
//!
//! - **slower**: offloads that completed in the tick took on average more than [`SLOWER_FACTOR`]
//!   × the local runs of the same tick (or, without local runs, the recent local level), and
//!   more than [`SLOW_MIN_MS`]: a warm offload's overhead over a local run is a millisecond or
//!   two, which never hurts the completion rate; a cold or queued one is hundreds. Slow offloads
//!   are harm only while the server and the platform together complete less than the server
//!   alone over the last [`RECENT_TICKS`] (when that rate is known): warm instances sharing a
//!   core take 100 ms where a local run takes 20 ms, and still add to what is completed;
//! - **stuck**: an offload still in flight is older than [`STUCK_FACTOR`] × the local level (and
//!   at least [`STUCK_MIN_MS`]): an instance is starting, and asking for more would start more
//!   of them on the same CPUs.
//!
//! [`BAD_TICKS`] such ticks among the last [`RECENT_TICKS`] are harm: the offloads in flight are
//! capped at half of what is in flight now (at least one), the controller stops raising the
//! ratio, and the cap is probed upwards again one offload at a time once offloads do well
//! ([`crate::offload_slots`]). Outside saturation offloading cannot lower the completion rate
//! (every arrival completes either way), so nothing is judged there.
//!
//! Pure: numbers in, verdict out; [`crate::controller::BurstControl`] gathers the signals.

use std::collections::VecDeque;

use serde::Serialize;

/// Offloads slower than local runs by this factor are doing worse ...
pub const SLOWER_FACTOR: f64 = 2.0;
/// ... when they also take longer than this (ms).
pub const SLOW_MIN_MS: f64 = 100.0;
/// An offload in flight longer than this many local run times is stuck (an instance starting).
pub const STUCK_FACTOR: f64 = 4.0;
/// ... and never before this age (ms): a warm round trip plus scheduling noise.
pub const STUCK_MIN_MS: f64 = 250.0;
/// Bad ticks among the last [`RECENT_TICKS`] that make harm (one bad tick is noise).
pub const BAD_TICKS: usize = 2;
pub const RECENT_TICKS: usize = 3;
/// Ticks after a back-off before the next one: the cap needs time to take effect.
pub const COOLDOWN_TICKS: u32 = 3;
/// Arrivals over this share of the server's own rate count as saturated.
pub const SATURATION_SHARE: f64 = 0.8;
/// Weight of a tick's local mean in the remembered local level.
const LOCAL_WEIGHT: f64 = 0.3;

/// What the guard sees at one tick.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GuardSignals {
    /// Tick length in seconds.
    pub tick_s: f64,
    /// Peak requests in flight (local and offloaded) and the server's capacity.
    pub in_flight: u64,
    pub capacity: u64,
    /// Requests that arrived, per second.
    pub arrivals_per_s: f64,
    /// What the server completes alone, per second (capacity over its calm service time).
    pub server_alone_per_s: Option<f64>,
    /// Local runs that finished in the tick and their mean wall time.
    pub local_runs: u64,
    pub local_mean_ms: Option<f64>,
    /// Offloads that completed in the tick and their mean round trip.
    pub offloads_done: u64,
    pub offload_mean_ms: Option<f64>,
    /// Offloads in flight now, and the age of the oldest.
    pub offloads_in_flight: u64,
    pub oldest_offload_ms: Option<f64>,
}

/// What the control plane should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardAction {
    /// Offloads do well (or the server is not saturated): probing for more room is allowed.
    Allow,
    /// An instance is starting: ask for no new ones until it is up.
    HoldInstances,
    /// Offloads do worse than local runs: cap them and stop raising the ratio.
    BackOff,
}

/// The guard's verdict at one tick, as `GET /controller` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardVerdict {
    pub action: GuardAction,
    pub why: String,
    /// Requests completed per second over the tick (local runs and offloads).
    pub completed_per_s: f64,
    pub server_alone_per_s: Option<f64>,
    pub offload_rtt_ms: Option<f64>,
    pub local_ms: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct HarmGuard {
    /// Whether each of the last [`RECENT_TICKS`] ticks was bad, newest last.
    recent: VecDeque<bool>,
    /// Requests completed and seconds of each of the last [`RECENT_TICKS`] ticks, newest last.
    completed: VecDeque<(u64, f64)>,
    /// Remembered local run time (ms), for ticks without local runs.
    local_level: Option<f64>,
    cooldown: u32,
    verdict: GuardVerdict,
}

impl Default for HarmGuard {
    fn default() -> Self {
        HarmGuard {
            recent: VecDeque::with_capacity(RECENT_TICKS),
            completed: VecDeque::with_capacity(RECENT_TICKS),
            local_level: None,
            cooldown: 0,
            verdict: GuardVerdict {
                action: GuardAction::Allow,
                why: "no offload seen yet".into(),
                completed_per_s: 0.0,
                server_alone_per_s: None,
                offload_rtt_ms: None,
                local_ms: None,
            },
        }
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1} ms"))
}

impl HarmGuard {
    pub fn verdict(&self) -> &GuardVerdict {
        &self.verdict
    }

    pub fn tick(&mut self, s: GuardSignals) -> &GuardVerdict {
        if let Some(mean) = s.local_mean_ms {
            let level = self.local_level.get_or_insert(mean);
            *level += LOCAL_WEIGHT * (mean - *level);
        }
        let local_ms = s.local_mean_ms.or(self.local_level);
        let completed_per_s = if s.tick_s > 0.0 {
            (s.local_runs + s.offloads_done) as f64 / s.tick_s
        } else {
            0.0
        };
        let saturated = s.in_flight > s.capacity
            || s.server_alone_per_s
                .is_some_and(|rate| s.arrivals_per_s >= SATURATION_SHARE * rate);
        let stuck_after = local_ms.map_or(STUCK_MIN_MS, |l| (STUCK_FACTOR * l).max(STUCK_MIN_MS));
        let stuck = s.oldest_offload_ms.filter(|age| *age > stuck_after);
        if self.completed.len() == RECENT_TICKS {
            self.completed.pop_front();
        }
        self.completed
            .push_back((s.local_runs + s.offloads_done, s.tick_s));
        let (done, seconds) = self
            .completed
            .iter()
            .fold((0, 0.0), |(n, t), (dn, dt)| (n + dn, t + dt));
        let recent_per_s = if seconds > 0.0 {
            done as f64 / seconds
        } else {
            0.0
        };
        let completing_less = s
            .server_alone_per_s
            .is_none_or(|alone| recent_per_s < alone);
        let slower = match (s.offload_mean_ms, local_ms) {
            (Some(rtt), Some(local)) if s.offloads_done > 0 && completing_less => {
                (rtt > SLOWER_FACTOR * local && rtt > SLOW_MIN_MS).then_some((rtt, local))
            }
            _ => None,
        };
        let bad = saturated && (slower.is_some() || stuck.is_some());
        if self.recent.len() == RECENT_TICKS {
            self.recent.pop_front();
        }
        self.recent.push_back(bad);
        self.cooldown = self.cooldown.saturating_sub(1);

        let numbers = format!(
            "offload round trip {}, local run {}, completed {completed_per_s:.0}/s{}",
            ms(s.offload_mean_ms),
            ms(local_ms),
            s.server_alone_per_s
                .map_or(String::new(), |r| format!(" (server alone {r:.0}/s)"))
        );
        let (action, why) = if !saturated {
            (
                GuardAction::Allow,
                format!("not saturated: offloading cannot lower the completion rate ({numbers})"),
            )
        } else if self.recent.iter().filter(|b| **b).count() >= BAD_TICKS && self.cooldown == 0 {
            self.cooldown = COOLDOWN_TICKS;
            let cause = match (slower, stuck) {
                (Some((rtt, local)), _) => {
                    format!("offloads take {rtt:.0} ms against {local:.0} ms for local runs")
                }
                (None, Some(age)) => {
                    format!("an offload has been in flight {age:.0} ms (instances starting)")
                }
                (None, None) => "offloads did worse in recent ticks".into(),
            };
            (
                GuardAction::BackOff,
                format!("offloads do worse than local runs: {cause}; backing off ({numbers})"),
            )
        } else if let Some(age) = stuck {
            (
                GuardAction::HoldInstances,
                format!(
                    "an offload has been in flight {age:.0} ms (an instance is starting): no new instances until it is up ({numbers})"
                ),
            )
        } else if bad {
            (
                GuardAction::Allow,
                format!("offloads did worse than local runs this tick: watching ({numbers})"),
            )
        } else {
            (
                GuardAction::Allow,
                format!("offloads do as well as local runs ({numbers})"),
            )
        };
        self.verdict = GuardVerdict {
            action,
            why,
            completed_per_s,
            server_alone_per_s: s.server_alone_per_s,
            offload_rtt_ms: s.offload_mean_ms,
            local_ms,
        };
        &self.verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A saturated server (20 in flight of capacity 1, arrivals over its 60/s).
    fn saturated() -> GuardSignals {
        GuardSignals {
            tick_s: 0.1,
            in_flight: 20,
            capacity: 1,
            arrivals_per_s: 100.0,
            server_alone_per_s: Some(60.0),
            local_runs: 6,
            local_mean_ms: Some(120.0),
            offloads_done: 4,
            offload_mean_ms: Some(20.0),
            offloads_in_flight: 4,
            oldest_offload_ms: Some(15.0),
        }
    }

    fn actions(guard: &mut HarmGuard, trace: &[GuardSignals]) -> Vec<GuardAction> {
        trace.iter().map(|s| guard.tick(*s).action).collect()
    }

    #[test]
    fn fast_offloads_in_a_saturated_server_are_allowed() {
        let mut g = HarmGuard::default();
        let trace = vec![saturated(); 10];
        assert!(actions(&mut g, &trace)
            .iter()
            .all(|a| *a == GuardAction::Allow));
        assert_eq!(g.verdict().completed_per_s, 100.0);
    }

    #[test]
    fn slow_offloads_back_off_after_two_bad_ticks_then_cool_down() {
        let mut g = HarmGuard::default();
        // 40 completed per second, where the server alone completes 60.
        let slow = GuardSignals {
            offload_mean_ms: Some(900.0),
            local_runs: 3,
            offloads_done: 1,
            ..saturated()
        };
        let got = actions(&mut g, &[slow; 5]);
        use GuardAction::*;
        // Bad from the first tick; harm at the second; the cooldown holds three ticks.
        assert_eq!(got, vec![Allow, BackOff, Allow, Allow, BackOff]);
        let why = &g.verdict().why;
        assert!(why.contains("offloads take 900 ms against 120 ms"), "{why}");
        assert_eq!(g.tick(slow).action, Allow);
        assert!(g.verdict().why.contains("watching"), "{}", g.verdict().why);
    }

    #[test]
    fn slow_offloads_that_still_add_to_what_the_server_completes_are_no_harm() {
        // `semifaas demo` 2026-11-29, auto-warm mid-burst: four warm instances sharing a core take
        // 101 ms where a local run takes 22 ms, and server and platform complete 60/s against
        // the server's 50/s alone.
        let mut g = HarmGuard::default();
        let shared_core = GuardSignals {
            arrivals_per_s: 70.0,
            server_alone_per_s: Some(50.0),
            local_runs: 2,
            local_mean_ms: Some(22.0),
            offloads_done: 4,
            offload_mean_ms: Some(101.0),
            ..saturated()
        };
        assert!(actions(&mut g, &[shared_core; 6])
            .iter()
            .all(|a| *a == GuardAction::Allow));
        // The same round trips while the two complete less than the server alone are harm.
        let fewer = GuardSignals {
            local_runs: 2,
            offloads_done: 2,
            ..shared_core
        };
        assert!(actions(&mut g, &[fewer; 4]).contains(&GuardAction::BackOff));
    }

    #[test]
    fn a_warm_offloads_overhead_is_no_harm() {
        let mut g = HarmGuard::default();
        // At a burst's onset local runs are still fast: 30 ms offloads against 14 ms runs.
        let onset = GuardSignals {
            local_mean_ms: Some(14.0),
            offload_mean_ms: Some(30.0),
            ..saturated()
        };
        assert!(actions(&mut g, &[onset; 5])
            .iter()
            .all(|a| *a == GuardAction::Allow));
    }

    #[test]
    fn a_recorded_cold_onset_where_offloads_beat_the_queued_server_is_not_harm() {
        // `semifaas bench burst` 2026-11-29, auto-cold, the first 1.3 s of a 63 req/s burst on a
        // server that completes 44/s alone: (in-flight, arrivals/s, offload round trip, local
        // run), from the controller's notes in burst.json.
        let ticks = [
            (5, 70.0, 37.1, 47.4),
            (7, 60.0, 62.5, 74.7),
            (9, 60.0, 61.3, 128.1),
            (16, 60.0, 91.4, 280.1),
            (16, 20.0, 72.6, 353.9),
            (16, 100.0, 65.5, 336.2),
            (16, 50.0, 538.7, 354.2),
            (16, 100.0, 116.1, 334.1),
            (16, 20.0, 74.4, 330.2),
            (16, 60.0, 95.0, 336.3),
        ];
        let mut g = HarmGuard::default();
        for (in_flight, arrivals_per_s, rtt, local) in ticks {
            let verdict = g.tick(GuardSignals {
                tick_s: 0.1,
                in_flight,
                capacity: 1,
                arrivals_per_s,
                server_alone_per_s: Some(44.0),
                local_runs: 3,
                local_mean_ms: Some(local),
                offloads_done: 3,
                offload_mean_ms: Some(rtt),
                offloads_in_flight: 4,
                oldest_offload_ms: None,
            });
            assert_eq!(verdict.action, GuardAction::Allow, "{}", verdict.why);
        }
    }

    #[test]
    fn one_slow_tick_is_noise() {
        let mut g = HarmGuard::default();
        let slow = GuardSignals {
            offload_mean_ms: Some(900.0),
            ..saturated()
        };
        let trace = [
            saturated(),
            slow,
            saturated(),
            saturated(),
            slow,
            saturated(),
        ];
        assert!(!actions(&mut g, &trace).contains(&GuardAction::BackOff));
    }

    #[test]
    fn a_starting_instance_holds_new_instances_and_a_long_start_backs_off() {
        // Modelled on a cold burst onset before starts were paced: offloads stuck behind three
        // JVMs starting on one core, no offload completing, local runs at 60-80 ms.
        let mut g = HarmGuard::default();
        let mut trace = vec![];
        for (age, done) in [(100.0, 0), (300.0, 0), (180.0, 0), (420.0, 0), (520.0, 0)] {
            trace.push(GuardSignals {
                local_mean_ms: Some(70.0),
                offloads_done: done,
                offload_mean_ms: None,
                oldest_offload_ms: Some(age),
                ..saturated()
            });
        }
        use GuardAction::*;
        assert_eq!(
            actions(&mut g, &trace),
            vec![Allow, HoldInstances, Allow, BackOff, HoldInstances]
        );
    }

    #[test]
    fn nothing_is_judged_when_the_server_keeps_up() {
        let mut g = HarmGuard::default();
        let calm = GuardSignals {
            in_flight: 1,
            arrivals_per_s: 10.0,
            local_mean_ms: Some(15.0),
            offload_mean_ms: Some(300.0),
            oldest_offload_ms: Some(2000.0),
            ..saturated()
        };
        assert!(actions(&mut g, &[calm; 5])
            .iter()
            .all(|a| *a == GuardAction::Allow));
        assert!(g.verdict().why.starts_with("not saturated"));
    }

    #[test]
    fn without_local_runs_the_remembered_local_level_is_the_yardstick() {
        let mut g = HarmGuard::default();
        g.tick(saturated()); // local level 120 ms
                             // 10 completed per second, where the server alone completes 60.
        let only_offloads = GuardSignals {
            local_runs: 0,
            local_mean_ms: None,
            offloads_done: 1,
            offload_mean_ms: Some(300.0),
            ..saturated()
        };
        let got = actions(&mut g, &[only_offloads, only_offloads]);
        assert_eq!(got, vec![GuardAction::Allow, GuardAction::BackOff]);
        assert_eq!(g.verdict().local_ms, Some(120.0));
    }
}
