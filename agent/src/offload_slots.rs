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
//!
//! The do-no-harm guard ([`crate::harm_guard`]) adds a second bound, the *harm cap*: when
//! offloads do worse than local runs it caps the offloads in flight at half of those in flight
//! ([`OffloadSlots::back_off`]), and the cap is probed upwards like a learned limit, but never
//! while an instance is starting ([`OffloadSlots::set_holding`]): each probe asks the platform
//! for at most one new instance, so starts are paced.
//!
//! In auto mode the slots are also *warm first* ([`OffloadSlots::set_warm_first`]): offloads go
//! only to instances known to be up, so no request waits for a cold start that the saturated
//! server would have beaten. When the burst wants more, [`OffloadSlots::wants_instance`] asks
//! for one scale-out at a time: the agent's own prewarm invocation starts an instance and
//! installs the closures, and the request that asked runs locally meanwhile.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use serde::Serialize;
use tracing::{debug, info};

/// How long a learned limit holds without a throttle before it is raised by one.
pub const PROBE_AFTER: Duration = Duration::from_secs(1);
/// An instance not heard from for this long no longer counts as up: the platform may have
/// reclaimed it (a scale-out finds it again if not).
pub const INSTANCE_MEMORY: Duration = Duration::from_secs(60);

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
    /// The do-no-harm cap on offloads in flight; `None` while offloads have done no harm.
    pub harm_cap: Option<u64>,
    /// Probing is held while an instance is starting.
    pub holding: bool,
    /// Offloads go only to instances known to be up (auto mode).
    pub warm_first: bool,
    /// Instances known to be up: the distinct instances that answered an offload or a prewarm
    /// in the last [`INSTANCE_MEMORY`].
    pub instances_up: u64,
    /// A scale-out prewarm is starting an instance.
    pub scaling_out: bool,
}

/// How a scale-out prewarm ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleOut {
    /// An instance answered (counted with [`OffloadSlots::saw_instance`]): a new one, or one
    /// that came free meanwhile.
    Answered,
    /// The platform has no room for another: the learned limit is the instances up.
    Throttled,
    /// No usable answer.
    Failed,
}

pub struct OffloadSlots {
    in_flight: AtomicU64,
    limit: AtomicU64,
    /// `semifaas.offload.max-in-flight`; `None` learns the limit.
    configured: Option<u64>,
    /// When the learned limit last changed.
    changed_at: Mutex<Instant>,
    /// The do-no-harm cap ([`UNLIMITED`] until the guard backs off) and when it last changed.
    harm_cap: AtomicU64,
    harm_changed_at: Mutex<Instant>,
    /// An instance is starting: no probing for more room.
    holding: AtomicBool,
    /// The last throttle said instances are still starting: the next success raises the
    /// learned limit at once.
    scaling: AtomicBool,
    /// Instances the agent's prewarm invocations occupy right now.
    reserved: Arc<AtomicU64>,
    /// Auto mode: offloads only within [`Self::up`].
    warm_first: AtomicBool,
    /// Instances known to be up: `seen` counted when it last changed.
    up: AtomicU64,
    /// When each instance last answered, by instance id.
    seen: Mutex<HashMap<String, Instant>>,
    /// A scale-out prewarm is in flight.
    scaling_out: AtomicBool,
    /// No scale-out before this: the last one was refused.
    scale_out_after: Mutex<Instant>,
    /// Start times of the offloads in flight, by slot id.
    started: Mutex<HashMap<u64, Instant>>,
    next_id: AtomicU64,
}

/// One offload in flight; dropping it frees the slot.
pub struct Slot<'a> {
    slots: &'a OffloadSlots,
    id: u64,
    started: Instant,
    /// Other offloads in flight when this one was sent: what the platform was running when it
    /// answered, before any of them came back.
    others_at_start: u64,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.slots.started.lock().remove(&self.id);
        self.slots.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Instances held by prewarm invocations; dropping it gives them back.
pub struct Reservation {
    reserved: Arc<AtomicU64>,
    instances: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.reserved.fetch_sub(self.instances, Ordering::AcqRel);
    }
}

impl Slot<'_> {
    /// Time since the offload started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The platform throttled this offload: the room is the other offloads in flight, counted
    /// when it was sent or now, whichever is more (some may have come back while the 429 did).
    pub fn throttled(&self) {
        if self.slots.learning().is_none() {
            return;
        }
        let others = self
            .slots
            .in_flight
            .load(Ordering::Acquire)
            .saturating_sub(1)
            .max(self.others_at_start);
        let limit = (others + self.slots.reserved.load(Ordering::Acquire)).max(1);
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

    /// The platform throttled this offload because its instances are still starting
    /// (`FunctionInvocationRateLimitExceeded`): the room is the other offloads in flight until
    /// the next success, which raises it by one at once (a starting instance is up).
    pub fn throttled_while_scaling(&self) {
        self.throttled();
        if self.slots.learning().is_some() {
            self.slots.scaling.store(true, Ordering::Release);
        }
    }

    /// The platform ran this offload: a learned limit or a harm cap that offloads keep filling
    /// is raised by one once it has held for [`PROBE_AFTER`], unless an instance is starting.
    pub fn succeeded(&self, instance_id: &str) {
        self.slots.saw_instance(instance_id);
        if self.slots.holding.load(Ordering::Acquire) {
            return;
        }
        self.slots.probe_harm_cap();
        let Some(limit) = self.slots.learning() else {
            return;
        };
        if limit == UNLIMITED || self.slots.in_flight.load(Ordering::Acquire) < limit {
            return;
        }
        let mut changed_at = self.slots.changed_at.lock();
        let scaled = self.slots.scaling.swap(false, Ordering::AcqRel);
        if changed_at.elapsed() < PROBE_AFTER && !scaled {
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
            harm_cap: AtomicU64::new(UNLIMITED),
            harm_changed_at: Mutex::new(Instant::now()),
            holding: AtomicBool::new(false),
            scaling: AtomicBool::new(false),
            reserved: Arc::new(AtomicU64::new(0)),
            warm_first: AtomicBool::new(false),
            up: AtomicU64::new(0),
            seen: Mutex::new(HashMap::new()),
            scaling_out: AtomicBool::new(false),
            scale_out_after: Mutex::new(Instant::now()),
            started: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        }
    }

    /// Offloads do harm: caps the offloads in flight at half of those in flight now (at least
    /// one, never above an earlier cap). Returns the cap.
    pub fn back_off(&self) -> u64 {
        let cap = (self.in_flight() / 2).max(1);
        let before = self.harm_cap.fetch_min(cap, Ordering::AcqRel);
        *self.harm_changed_at.lock() = Instant::now();
        cap.min(before)
    }

    /// The burst is over: the next one starts without a harm cap (it is learned again if
    /// offloads do harm then).
    pub fn clear_harm_cap(&self) {
        if self.harm_cap.swap(UNLIMITED, Ordering::AcqRel) != UNLIMITED {
            debug!("burst over: harm cap cleared");
        }
    }

    /// An instance is starting (`true`): hold probing until it is up.
    pub fn set_holding(&self, holding: bool) {
        self.holding.store(holding, Ordering::Release);
    }

    /// Raises a harm cap that offloads fill by one, at most once per [`PROBE_AFTER`].
    fn probe_harm_cap(&self) {
        let cap = self.harm_cap.load(Ordering::Acquire);
        if cap == UNLIMITED || self.in_flight() < cap {
            return;
        }
        let mut changed_at = self.harm_changed_at.lock();
        if changed_at.elapsed() < PROBE_AFTER {
            return;
        }
        *changed_at = Instant::now();
        if self
            .harm_cap
            .compare_exchange(cap, cap + 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            debug!(cap = cap + 1, "offloads do well again: probing one more");
        }
    }

    /// How long the oldest offload in flight has been out.
    pub fn oldest(&self) -> Option<Duration> {
        self.started
            .lock()
            .values()
            .min()
            .map(|started| started.elapsed())
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
        let mut limit = self.room();
        if self.warm_first.load(Ordering::Acquire) {
            limit = limit.min(self.up.load(Ordering::Acquire));
        }
        self.in_flight.load(Ordering::Acquire) < limit
    }

    /// The platform's room: the learned or configured limit within the harm cap.
    fn room(&self) -> u64 {
        self.limit
            .load(Ordering::Acquire)
            .min(self.harm_cap.load(Ordering::Acquire))
    }

    /// Auto mode (`true`): offloads only to instances known to be up.
    pub fn set_warm_first(&self, warm_first: bool) {
        self.warm_first.store(warm_first, Ordering::Release);
    }

    /// Warm first, every instance up is busy and the room allows one more: `true` once, for
    /// the caller to start a scale-out prewarm and report it with [`Self::scale_out_done`].
    /// One at a time, none while an instance is starting for a real offload, and none for
    /// [`PROBE_AFTER`] after the platform refused one.
    pub fn wants_instance(&self) -> bool {
        let up = self.up.load(Ordering::Acquire);
        self.warm_first.load(Ordering::Acquire)
            && !self.holding.load(Ordering::Acquire)
            && self.in_flight() >= up
            && up < self.room()
            && Instant::now() >= *self.scale_out_after.lock()
            && self
                .scaling_out
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// A scale-out prewarm from [`Self::wants_instance`] ended.
    pub fn scale_out_done(&self, outcome: ScaleOut) {
        let up = self.up.load(Ordering::Acquire);
        match outcome {
            ScaleOut::Answered => debug!(instances_up = up, "scale-out answered"),
            ScaleOut::Throttled | ScaleOut::Failed => {
                *self.scale_out_after.lock() = Instant::now() + PROBE_AFTER;
            }
        }
        if outcome == ScaleOut::Throttled && self.learning().is_some() {
            // The instances up and those other prewarms hold; probed upwards again after
            // PROBE_AFTER, like any learned limit.
            let limit = (up + self.reserved.load(Ordering::Acquire)).max(1);
            self.limit.store(limit, Ordering::Release);
            *self.changed_at.lock() = Instant::now();
            info!(
                limit,
                "the platform has no room for another instance: offloads in flight limited"
            );
        }
        self.scaling_out.store(false, Ordering::Release);
    }

    /// `instance_id` answered an offload or a prewarm: it is up. Instances not heard from for
    /// [`INSTANCE_MEMORY`] are forgotten.
    pub fn saw_instance(&self, instance_id: &str) {
        let now = Instant::now();
        let mut seen = self.seen.lock();
        match seen.get_mut(instance_id) {
            Some(at) => *at = now,
            None => {
                seen.insert(instance_id.to_owned(), now);
            }
        }
        seen.retain(|_, at| now.duration_since(*at) < INSTANCE_MEMORY);
        self.up.store(seen.len() as u64, Ordering::Release);
    }

    /// Takes a slot for one offload, room or not (the decision was taken before).
    pub fn take(&self) -> Slot<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        self.started.lock().insert(id, started);
        let others_at_start = self.in_flight.fetch_add(1, Ordering::AcqRel);
        Slot {
            slots: self,
            id,
            started,
            others_at_start,
        }
    }

    /// `instances` prewarm invocations are about to occupy platform instances until the
    /// returned reservation is dropped: a throttle meanwhile counts them in the platform's room.
    pub fn reserve(&self, instances: u64) -> Reservation {
        self.reserved.fetch_add(instances, Ordering::AcqRel);
        Reservation {
            reserved: self.reserved.clone(),
            instances,
        }
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
            harm_cap: Some(self.harm_cap.load(Ordering::Acquire)).filter(|c| *c != UNLIMITED),
            holding: self.holding.load(Ordering::Acquire),
            warm_first: self.warm_first.load(Ordering::Acquire),
            instances_up: self.up.load(Ordering::Acquire),
            scaling_out: self.scaling_out.load(Ordering::Acquire),
        }
    }

    #[cfg(test)]
    fn age_limit(&self, by: Duration) {
        for changed in [&self.changed_at, &self.harm_changed_at] {
            let mut changed_at = changed.lock();
            *changed_at = changed_at
                .checked_sub(by)
                .expect("monotonic clock far from zero");
        }
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
                learned: true,
                harm_cap: None,
                holding: false,
                warm_first: false,
                instances_up: 0,
                scaling_out: false,
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
    fn offloads_that_came_back_while_the_throttle_did_still_count_in_the_room() {
        let slots = OffloadSlots::new(None);
        let earlier: Vec<_> = (0..4).map(|_| slots.take()).collect();
        let throttled = slots.take();
        drop(earlier);
        throttled.throttled();
        assert_eq!(slots.state().offload_limit, Some(4));
    }

    #[test]
    fn instances_a_prewarm_occupies_count_in_the_room_a_throttle_teaches() {
        let slots = OffloadSlots::new(None);
        let prewarm = slots.reserve(4);
        let offload = slots.take();
        offload.throttled();
        assert_eq!(
            slots.state().offload_limit,
            Some(4),
            "4 prewarms, no other offload"
        );
        drop(offload);
        drop(prewarm);
        let (a, b) = (slots.take(), slots.take());
        b.throttled();
        assert_eq!(
            slots.state().offload_limit,
            Some(1),
            "the reservation is gone"
        );
        drop(a);
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
        first.succeeded("i-1");
        assert_eq!(slots.state().offload_limit, Some(1));
        slots.age_limit(PROBE_AFTER);
        first.succeeded("i-1");
        assert_eq!(slots.state().offload_limit, Some(2));
        // Once per PROBE_AFTER, and only while offloads fill the limit.
        first.succeeded("i-1");
        assert_eq!(slots.state().offload_limit, Some(2));
        slots.age_limit(PROBE_AFTER);
        first.succeeded("i-1");
        assert_eq!(
            slots.state().offload_limit,
            Some(2),
            "1 in flight does not fill a limit of 2"
        );
    }

    #[test]
    fn backing_off_caps_at_half_the_offloads_in_flight_and_probes_back_one_at_a_time() {
        let slots = OffloadSlots::new(None);
        let mut held: Vec<_> = (0..6).map(|_| slots.take()).collect();
        assert_eq!(slots.back_off(), 3);
        assert_eq!(slots.state().harm_cap, Some(3));
        assert!(!slots.has_room(), "6 in flight over a cap of 3");
        held.truncate(3);
        assert!(!slots.has_room());
        // A second back-off never raises the cap.
        held.pop();
        assert_eq!(slots.back_off(), 1);
        held.truncate(1);
        assert!(!slots.has_room());
        // Filling the cap of 1 and doing well for PROBE_AFTER raises it to 2; not while holding.
        slots.age_limit(PROBE_AFTER);
        slots.set_holding(true);
        held[0].succeeded("i-1");
        assert_eq!(slots.state().harm_cap, Some(1), "an instance is starting");
        slots.set_holding(false);
        held[0].succeeded("i-1");
        assert_eq!(slots.state().harm_cap, Some(2));
        assert!(slots.has_room());
        slots.clear_harm_cap();
        assert_eq!(slots.state().harm_cap, None);
    }

    #[test]
    fn a_scaling_throttle_is_lifted_by_the_next_success() {
        let slots = OffloadSlots::new(None);
        let first = slots.take();
        let second = slots.take();
        second.throttled_while_scaling();
        drop(second);
        assert_eq!(slots.state().offload_limit, Some(1));
        // The starting instance is up: one more at once, without waiting PROBE_AFTER.
        first.succeeded("i-1");
        assert_eq!(slots.state().offload_limit, Some(2));
        // Further probes wait as usual.
        let _second = slots.take();
        first.succeeded("i-1");
        assert_eq!(slots.state().offload_limit, Some(2));
    }

    #[test]
    fn warm_first_offloads_only_to_instances_up_and_scales_out_one_at_a_time() {
        let slots = OffloadSlots::new(None);
        slots.set_warm_first(true);
        assert!(!slots.has_room(), "no instance is up yet");
        assert!(slots.wants_instance());
        assert!(!slots.wants_instance(), "one scale-out at a time");
        slots.saw_instance("i-1");
        slots.scale_out_done(ScaleOut::Answered);
        assert!(slots.has_room());
        let first = slots.take();
        assert!(!slots.has_room(), "the one instance up is busy");
        assert!(slots.wants_instance());
        // An instance already up answered the prewarm: nothing new.
        slots.saw_instance("i-1");
        slots.scale_out_done(ScaleOut::Answered);
        assert!(!slots.has_room());
        assert!(slots.wants_instance());
        slots.saw_instance("i-2");
        slots.scale_out_done(ScaleOut::Answered);
        let second = slots.take();
        // The platform is full at two: the limit is learned from the scale-out, not from a
        // request, and no scale-out is asked for until it is probed upwards.
        assert!(slots.wants_instance());
        slots.scale_out_done(ScaleOut::Throttled);
        assert_eq!(slots.state().offload_limit, Some(2));
        assert!(!slots.wants_instance());
        drop((first, second));
        // A prewarm holding instances counts in the room a refused scale-out teaches, and the
        // next scale-out waits PROBE_AFTER.
        slots.limit.store(UNLIMITED, Ordering::Release);
        let prewarm = slots.reserve(3);
        let busy = (slots.take(), slots.take());
        assert!(!slots.wants_instance(), "refused less than PROBE_AFTER ago");
        *slots.scale_out_after.lock() = Instant::now();
        assert!(slots.wants_instance());
        slots.scale_out_done(ScaleOut::Throttled);
        assert_eq!(slots.state().offload_limit, Some(5), "2 up + 3 prewarming");
        drop((prewarm, busy));
        slots.limit.store(2, Ordering::Release);
        *slots.scale_out_after.lock() = Instant::now();
        assert_eq!(slots.state().instances_up, 2);
        // Not while a real offload waits for a starting instance, and never in manual mode.
        let busy = (slots.take(), slots.take());
        slots.age_limit(PROBE_AFTER);
        busy.0.succeeded("i-1");
        assert_eq!(slots.state().offload_limit, Some(3));
        slots.set_holding(true);
        assert!(!slots.wants_instance());
        slots.set_holding(false);
        slots.set_warm_first(false);
        assert!(!slots.wants_instance());
        assert!(slots.has_room(), "manual mode: the limit alone");
    }

    #[test]
    fn instances_up_are_the_distinct_ones_that_answered() {
        let slots = OffloadSlots::new(None);
        let held: Vec<_> = (0..3).map(|_| slots.take()).collect();
        for (slot, id) in held.iter().zip(["a", "b", "a"]) {
            slot.succeeded(id);
        }
        assert_eq!(slots.state().instances_up, 2);
        slots.saw_instance("c");
        assert_eq!(slots.state().instances_up, 3);
    }

    #[test]
    fn the_oldest_offload_in_flight_is_tracked() {
        let slots = OffloadSlots::new(None);
        assert_eq!(slots.oldest(), None);
        let first = slots.take();
        std::thread::sleep(Duration::from_millis(100));
        let second = slots.take();
        assert!(slots.oldest().unwrap() >= Duration::from_millis(100));
        drop(first);
        assert!(slots.oldest().unwrap() < Duration::from_millis(100));
        assert!(second.elapsed() < Duration::from_millis(100));
        drop(second);
        assert_eq!(slots.oldest(), None);
    }
}
