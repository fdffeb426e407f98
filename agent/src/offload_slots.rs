//! How many offloads may be in flight at once: the platform's room.
//!
//! An offload the platform throttles (HTTP 429) costs the saturated server a serialisation and a
//! round trip before it runs the request itself, so the agent keeps the number of offloads in
//! flight within the platform's room instead of finding out request by request. The limit is
//! `semifaas.offload.max-in-flight` when set; otherwise it is learned: unknown until the first
//! throttle, then the number of other offloads that were in flight when it came (the platform
//! was full at that many). A learned limit is probed upwards by one at most every
//! [`PROBE_AFTER`] while offloads keep filling it, because a platform's room grows (Lambda
//! scales out, instances are provisioned).

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use serde::Serialize;
use tracing::{debug, info};

/// How long a learned limit holds without a throttle before it is raised by one.
pub const PROBE_AFTER: Duration = Duration::from_secs(1);

/// No limit known.
const UNLIMITED: u64 = u64::MAX;

/// The limit and the offloads in flight, as `GET /controller` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlotsState {
    pub offloads_in_flight: u64,
    /// `None` while no limit is configured or learned.
    pub offload_limit: Option<u64>,
    /// Whether the limit was learned from throttling (`false`: configured or none).
    pub learned: bool,
}

pub struct OffloadSlots {
    in_flight: AtomicU64,
    limit: AtomicU64,
    /// `semifaas.offload.max-in-flight`; `None` learns the limit.
    configured: Option<u64>,
    /// When the learned limit last changed.
    changed_at: Mutex<Instant>,
}

/// One offload in flight; dropping it frees the slot.
pub struct Slot<'a> {
    slots: &'a OffloadSlots,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.slots.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Slot<'_> {
    /// The platform throttled this offload: the room is the other offloads in flight.
    pub fn throttled(&self) {
        if self.slots.learning().is_none() {
            return;
        }
        let others = self
            .slots
            .in_flight
            .load(Ordering::Acquire)
            .saturating_sub(1);
        let limit = others.max(1);
        let before = self.slots.limit.swap(limit, Ordering::AcqRel);
        *self.slots.changed_at.lock() = Instant::now();
        // A failed probe (one over the limit) is routine; a new or lower room is news.
        if before == UNLIMITED || limit + 1 < before {
            info!(
                limit,
                previous = (before != UNLIMITED).then_some(before),
                "platform throttled an offload: offloads in flight limited"
            );
        } else if before != limit {
            debug!(limit, "probe for more platform room throttled");
        }
    }

    /// The platform ran this offload: a learned limit that offloads keep filling is raised by
    /// one once it has held for [`PROBE_AFTER`].
    pub fn succeeded(&self) {
        let Some(limit) = self.slots.learning() else {
            return;
        };
        if limit == UNLIMITED || self.slots.in_flight.load(Ordering::Acquire) < limit {
            return;
        }
        let mut changed_at = self.slots.changed_at.lock();
        if changed_at.elapsed() < PROBE_AFTER {
            return;
        }
        *changed_at = Instant::now();
        // Only if no throttle lowered it meanwhile.
        if self
            .slots
            .limit
            .compare_exchange(limit, limit + 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            debug!(limit = limit + 1, "probing for more platform room");
        }
    }
}

impl OffloadSlots {
    /// `configured`: a fixed limit (`semifaas.offload.max-in-flight` > 0), or `None` to learn it.
    pub fn new(configured: Option<u64>) -> OffloadSlots {
        OffloadSlots {
            in_flight: AtomicU64::new(0),
            limit: AtomicU64::new(configured.unwrap_or(UNLIMITED)),
            configured,
            changed_at: Mutex::new(Instant::now()),
        }
    }

    /// The current limit when it is learned, `None` when it is configured.
    fn learning(&self) -> Option<u64> {
        self.configured
            .is_none()
            .then(|| self.limit.load(Ordering::Acquire))
    }

    /// Whether one more offload fits. Decisions taken at the same instant may overshoot by a
    /// few; the platform throttles those and the limit stays right.
    pub fn has_room(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) < self.limit.load(Ordering::Acquire)
    }

    /// Takes a slot for one offload, room or not (the decision was taken before).
    pub fn take(&self) -> Slot<'_> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Slot { slots: self }
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Acquire)
    }

    pub fn state(&self) -> SlotsState {
        let limit = self.limit.load(Ordering::Acquire);
        SlotsState {
            offloads_in_flight: self.in_flight(),
            offload_limit: (limit != UNLIMITED).then_some(limit),
            learned: self.configured.is_none() && limit != UNLIMITED,
        }
    }

    #[cfg(test)]
    fn age_limit(&self, by: Duration) {
        let mut changed_at = self.changed_at.lock();
        *changed_at = changed_at
            .checked_sub(by)
            .expect("monotonic clock far from zero");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_limit_there_is_always_room() {
        let slots = OffloadSlots::new(None);
        let held: Vec<_> = (0..1000).map(|_| slots.take()).collect();
        assert!(slots.has_room());
        assert_eq!(slots.state().offloads_in_flight, 1000);
        assert_eq!(slots.state().offload_limit, None);
        drop(held);
        assert_eq!(slots.in_flight(), 0);
    }

    #[test]
    fn a_configured_limit_is_kept_and_never_learned() {
        let slots = OffloadSlots::new(Some(2));
        let a = slots.take();
        assert!(slots.has_room());
        let b = slots.take();
        assert!(!slots.has_room());
        b.throttled();
        assert_eq!(
            slots.state().offload_limit,
            Some(2),
            "a throttle does not lower it"
        );
        drop((a, b));
        assert!(slots.has_room());
        assert!(!slots.state().learned);
    }

    #[test]
    fn a_throttle_sets_the_limit_to_the_other_offloads_in_flight() {
        let slots = OffloadSlots::new(None);
        let held: Vec<_> = (0..4).map(|_| slots.take()).collect();
        let fifth = slots.take();
        fifth.throttled();
        drop(fifth);
        assert_eq!(
            slots.state(),
            SlotsState {
                offloads_in_flight: 4,
                offload_limit: Some(4),
                learned: true
            }
        );
        assert!(!slots.has_room());
        drop(held);
        assert!(slots.has_room());
        // A throttle with nothing else in flight still leaves room for one.
        let only = slots.take();
        only.throttled();
        drop(only);
        assert_eq!(slots.state().offload_limit, Some(1));
        assert!(slots.has_room());
    }

    #[test]
    fn a_full_learned_limit_is_probed_upwards_after_a_quiet_second() {
        let slots = OffloadSlots::new(None);
        let first = slots.take();
        let second = slots.take();
        second.throttled();
        drop(second);
        assert_eq!(slots.state().offload_limit, Some(1));
        // Right after the throttle a success does not raise it.
        first.succeeded();
        assert_eq!(slots.state().offload_limit, Some(1));
        slots.age_limit(PROBE_AFTER);
        first.succeeded();
        assert_eq!(slots.state().offload_limit, Some(2));
        // Once per PROBE_AFTER, and only while offloads fill the limit.
        first.succeeded();
        assert_eq!(slots.state().offload_limit, Some(2));
        slots.age_limit(PROBE_AFTER);
        first.succeeded();
        assert_eq!(
            slots.state().offload_limit,
            Some(2),
            "1 in flight does not fill a limit of 2"
        );
    }
}
