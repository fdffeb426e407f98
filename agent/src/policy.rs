//! The offload decision: why a request was offloaded, or why it ran here, is answered in this
//! file.
//!
//! Each handler has a credit counter. Every invocation adds the handler's ratio `r` to it; when
//! the credits reach 1 the invocation is offloaded and 1 is taken off. The outcome is
//! deterministic: at `r = 0.25` exactly every fourth invocation is offloaded, never a burst of
//! them by chance. The ratio is the global one unless the handler has an override.
//!
//! The global ratio comes from the operator (manual mode) or from the burst controller
//! ([`crate::controller`], auto mode) through [`Policy::set_global_ratio`]; handlers that are not
//! candidates ([`crate::candidates`]) never reach the credit counter.
//!
//! Two things outside the credits change where an invocation runs, both in
//! [`crate::runtime::Agent::should_offload`]: an offload the platform has no room for runs here
//! ([`LocalReason::PlatformFull`]), and in auto mode a request that would queue behind the local
//! runs is spilled to a free platform slot ([`crate::controller::BurstControl::should_spill`]).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use parking_lot::RwLock;

use crate::keyed_entries;

/// Credits are fixed-point so that decimal ratios add up exactly (0.1 ten times is 1).
const CREDIT_ONE: u64 = 1_000_000_000;

/// Why an invocation runs locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalReason {
    /// The handler's ratio is 0: offloading is off for it.
    RatioZero,
    /// The credit counter has not reached 1 yet: this invocation is one of the `1 - r` share.
    AwaitingCredit,
    /// The handler is not a candidate for offloading (see [`crate::candidates`]).
    NotCandidate,
    /// The ratio chose to offload it, but the platform has no room: as many offloads are in
    /// flight as it takes (see [`crate::offload_slots`]).
    PlatformFull,
    /// The ratio chose to offload it, but offloading is paused after a failure that retrying
    /// will not fix (see [`crate::breaker`]).
    PlatformPaused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffloadDecision {
    Local { reason: LocalReason },
    Offload,
}

impl OffloadDecision {
    pub fn is_offload(self) -> bool {
        self == OffloadDecision::Offload
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("ratio {0} is not a number in [0, 1]")]
    RatioOutOfRange(String),
    #[error("handler {0:?} is not of the form fully.qualified.Class#method")]
    BadHandlerKey(String),
}

/// The ratios in force: the global one and per-handler overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ratios {
    pub global: f64,
    pub overrides: BTreeMap<String, f64>,
}

impl Ratios {
    pub fn for_handler(&self, handler_key: &str) -> f64 {
        self.overrides
            .get(handler_key)
            .copied()
            .unwrap_or(self.global)
    }
}

pub struct Policy {
    ratios: RwLock<Ratios>,
    credits: RwLock<HashMap<String, Arc<AtomicU64>>>,
}

/// Checks a ratio is a finite number in [0, 1].
pub fn check_ratio(ratio: f64) -> Result<f64, PolicyError> {
    if ratio.is_finite() && (0.0..=1.0).contains(&ratio) {
        Ok(ratio)
    } else {
        Err(PolicyError::RatioOutOfRange(ratio.to_string()))
    }
}

/// Checks a handler key has the `Class#method` form used everywhere.
pub fn check_handler_key(key: &str) -> Result<(), PolicyError> {
    let bad = || PolicyError::BadHandlerKey(key.chars().take(200).collect());
    let (class, method) = key.split_once('#').ok_or_else(bad)?;
    let valid_part = |s: &str| {
        !s.is_empty()
            && s.len() <= 1024
            && !s.contains(|c: char| c.is_whitespace() || c.is_control() || c == '#')
    };
    if valid_part(class) && valid_part(method) && !class.starts_with('.') && !class.ends_with('.') {
        Ok(())
    } else {
        Err(bad())
    }
}

impl Policy {
    pub fn new(global_ratio: f64) -> Result<Policy, PolicyError> {
        Ok(Policy {
            ratios: RwLock::new(Ratios {
                global: check_ratio(global_ratio)?,
                overrides: BTreeMap::new(),
            }),
            credits: RwLock::new(HashMap::new()),
        })
    }

    /// Decides one invocation of `handler_key` and counts it against the handler's credits.
    pub fn decide(&self, handler_key: &str) -> OffloadDecision {
        self.decide_with(handler_key, &self.credits_of(handler_key))
    }

    /// [`Self::decide`] with the handler's credits ([`Self::credits_of`]) at hand.
    pub fn decide_with(&self, handler_key: &str, credits: &AtomicU64) -> OffloadDecision {
        let ratio = self.ratios.read().for_handler(handler_key);
        if ratio <= 0.0 {
            return OffloadDecision::Local {
                reason: LocalReason::RatioZero,
            };
        }
        let step = (ratio * CREDIT_ONE as f64).round() as u64;
        let mut offload = false;
        // Lock-free: concurrent invocations of one handler each see a distinct credit value.
        let _ = credits.fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
            let next = c + step;
            offload = next >= CREDIT_ONE;
            Some(if offload { next - CREDIT_ONE } else { next })
        });
        if offload {
            OffloadDecision::Offload
        } else {
            OffloadDecision::Local {
                reason: LocalReason::AwaitingCredit,
            }
        }
    }

    /// The handler's credit counter, made on first use.
    pub fn credits_of(&self, handler_key: &str) -> Arc<AtomicU64> {
        keyed_entries::entry(&self.credits, handler_key)
    }

    pub fn ratios(&self) -> Ratios {
        self.ratios.read().clone()
    }

    pub fn global_ratio(&self) -> f64 {
        self.ratios.read().global
    }

    pub fn set_global_ratio(&self, ratio: f64) -> Result<(), PolicyError> {
        self.ratios.write().global = check_ratio(ratio)?;
        Ok(())
    }

    /// Sets a per-handler ratio that takes precedence over the global one.
    pub fn set_handler_ratio(&self, handler_key: &str, ratio: f64) -> Result<(), PolicyError> {
        check_handler_key(handler_key)?;
        let ratio = check_ratio(ratio)?;
        self.ratios
            .write()
            .overrides
            .insert(handler_key.to_owned(), ratio);
        Ok(())
    }

    /// Whether the operator set this handler's ratio (which then holds in auto mode too).
    pub fn has_override(&self, handler_key: &str) -> bool {
        self.ratios.read().overrides.contains_key(handler_key)
    }

    /// Removes a per-handler override; returns whether there was one.
    pub fn clear_handler_ratio(&self, handler_key: &str) -> bool {
        self.ratios.write().overrides.remove(handler_key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "com.example.ImageController#resize";

    fn offloads(policy: &Policy, key: &str, n: usize) -> usize {
        (0..n).filter(|_| policy.decide(key).is_offload()).count()
    }

    #[test]
    fn quarter_ratio_offloads_exactly_one_in_four() {
        let policy = Policy::new(0.25).unwrap();
        assert_eq!(offloads(&policy, H, 1000), 250);
        let pattern: Vec<bool> = (0..8).map(|_| policy.decide(H).is_offload()).collect();
        assert_eq!(
            pattern,
            [false, false, false, true, false, false, false, true]
        );
    }

    #[test]
    fn decimal_ratios_are_exact() {
        let policy = Policy::new(0.1).unwrap();
        assert_eq!(offloads(&policy, H, 1000), 100);
        assert_eq!(offloads(&Policy::new(0.3).unwrap(), H, 1000), 300);
    }

    #[test]
    fn zero_offloads_nothing_and_one_offloads_everything() {
        let policy = Policy::new(0.0).unwrap();
        assert_eq!(offloads(&policy, H, 1000), 0);
        assert_eq!(
            policy.decide(H),
            OffloadDecision::Local {
                reason: LocalReason::RatioZero
            }
        );
        policy.set_global_ratio(1.0).unwrap();
        assert_eq!(offloads(&policy, H, 1000), 1000);
    }

    #[test]
    fn handlers_count_credits_separately() {
        let policy = Policy::new(0.5).unwrap();
        assert_eq!(
            policy.decide("a.B#x"),
            OffloadDecision::Local {
                reason: LocalReason::AwaitingCredit
            }
        );
        assert_eq!(
            policy.decide("a.B#y"),
            OffloadDecision::Local {
                reason: LocalReason::AwaitingCredit
            }
        );
        assert_eq!(policy.decide("a.B#x"), OffloadDecision::Offload);
    }

    #[test]
    fn per_handler_override_beats_the_global_ratio() {
        let policy = Policy::new(0.0).unwrap();
        policy.set_handler_ratio(H, 0.5).unwrap();
        assert_eq!(offloads(&policy, H, 100), 50);
        assert_eq!(offloads(&policy, "com.example.Other#get", 100), 0);
        assert_eq!(policy.ratios().overrides.get(H), Some(&0.5));
        assert!(policy.clear_handler_ratio(H));
        assert!(!policy.clear_handler_ratio(H));
        assert_eq!(offloads(&policy, H, 100), 0);
    }

    #[test]
    fn bad_ratios_and_handler_keys_are_rejected_and_change_nothing() {
        let policy = Policy::new(0.5).unwrap();
        for r in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                policy.set_global_ratio(r),
                Err(PolicyError::RatioOutOfRange(_))
            ));
        }
        assert!(Policy::new(2.0).is_err());
        for key in ["", "NoMethod", "#m", "C#", "a b#c", "a#b#c", ".C#m"] {
            assert!(
                matches!(
                    policy.set_handler_ratio(key, 0.1),
                    Err(PolicyError::BadHandlerKey(_))
                ),
                "{key}"
            );
        }
        assert_eq!(
            policy.ratios(),
            Ratios {
                global: 0.5,
                overrides: BTreeMap::new()
            }
        );
    }

    #[test]
    fn concurrent_decisions_keep_the_exact_share() {
        let policy = Arc::new(Policy::new(0.25).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let policy = policy.clone();
                std::thread::spawn(move || offloads(&policy, H, 1000))
            })
            .collect();
        let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(total, 1000);
    }
}
