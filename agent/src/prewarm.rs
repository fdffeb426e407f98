//! Prewarming: `n` concurrent prewarm invocations so the platform starts or warms `n`
//! instances, each installing the latest closure of every handler and replaying the recorded
//! samples in shadow mode (remote writes refused).

use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use semifaas_closure::{limits::ARGS_MAX, ClosureId, ShadowCall};
use serde::Serialize;
use tracing::{info, warn};

use crate::{
    closures::ClosureStore, controller::BurstControl, dispatch::Dispatcher,
    fallback_service::RemoteCallCounts, offload_slots::ScaleOut, samples::SampleStore,
    stats::FailureReason,
};

/// Shadow rounds of a scale-out prewarm. It runs during a burst, when capacity is wanted now:
/// one round runs each sample's first, costly run (class loading, initialisation); ten made
/// each scale-out take 5 s on a busy core (measured). An instance that already replayed as many
/// rounds (one came free meanwhile) replays nothing.
const SCALE_OUT_ROUNDS: u32 = 1;

/// How long a throttled prewarm invocation waits before it is sent again.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// Most concurrent prewarm invocations one request sends.
pub const PREWARM_INSTANCES_MAX: usize = 256;

/// What one prewarm invocation found on the instance that served it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrewarmedInstance {
    pub instance_id: String,
    /// The instance was started for this prewarm.
    pub cold: bool,
    pub round_trip_us: u64,
    pub jvm_start_us: u64,
    pub closure_fetch_us: u64,
    pub install_us: u64,
    /// Time spent replaying the samples.
    pub shadow_us: u64,
}

/// The outcome of [`Prewarmer::run`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PrewarmReport {
    /// Prewarm invocations sent.
    pub requested: usize,
    /// Closures each instance was asked to install.
    pub closures: usize,
    /// Samples each instance was asked to replay.
    pub shadow_calls: usize,
    /// Times each instance replays them (`semifaas.shadow.rounds`).
    pub rounds: u32,
    /// Invocations an instance answered.
    pub answered: usize,
    pub cold: usize,
    pub warm: usize,
    /// Invocations that got no usable answer, with why.
    pub failures: Vec<String>,
    /// Of those, the ones the platform throttled (no room for another instance).
    pub throttled: usize,
    /// Invocations sent again after a throttle (an operator's prewarm only).
    pub retried: usize,
    /// Remote calls the server refused while the prewarm ran (writes during shadow execution).
    pub remote_calls_refused: u64,
    pub wall_us: u64,
    pub instances: Vec<PrewarmedInstance>,
}

/// Sends prewarms; cheap to clone.
#[derive(Clone)]
pub struct Prewarmer {
    dispatcher: Arc<Dispatcher>,
    store: Arc<ClosureStore>,
    samples: Arc<SampleStore>,
    remote_calls: Arc<RemoteCallCounts>,
    control: Arc<BurstControl>,
    rounds: u32,
}

impl Prewarmer {
    pub fn new(
        dispatcher: Arc<Dispatcher>,
        store: Arc<ClosureStore>,
        samples: Arc<SampleStore>,
        remote_calls: Arc<RemoteCallCounts>,
        control: Arc<BurstControl>,
        rounds: u32,
    ) -> Prewarmer {
        Prewarmer {
            dispatcher,
            store,
            samples,
            remote_calls,
            control,
            rounds,
        }
    }

    /// The closures to install (the latest of each handler) and the samples to replay on them.
    /// Samples are replayed on the handler's latest closure, whichever closure they were
    /// recorded with; they stop where their arguments would not fit one invocation.
    pub fn plan(&self) -> (Vec<ClosureId>, Vec<ShadowCall>) {
        let latest = self.store.latest_by_handler();
        let mut budget = ARGS_MAX;
        let mut shadow_calls = Vec::new();
        for (handler_key, closure_id) in &latest {
            for sample in self.samples.samples(handler_key) {
                let Some(left) = budget.checked_sub(sample.args.len()) else {
                    warn!(handler = %handler_key, "recorded samples exceed one invocation, replaying fewer");
                    break;
                };
                budget = left;
                shadow_calls.push(ShadowCall {
                    closure_id: *closure_id,
                    handler_key: handler_key.clone(),
                    args: sample.args,
                });
            }
        }
        (latest.into_iter().map(|(_, id)| id).collect(), shadow_calls)
    }

    /// Sends `instances` (at most [`PREWARM_INSTANCES_MAX`]) concurrent prewarm invocations and
    /// waits for all of them. A throttled invocation is sent once more, [`RETRY_AFTER`] later:
    /// traffic offloaded meanwhile may hold an instance for a moment.
    pub async fn run(&self, instances: usize) -> PrewarmReport {
        self.prewarm(instances, self.rounds, true).await
    }

    /// Starts one more instance for warm-first offloading
    /// ([`crate::offload_slots::OffloadSlots::wants_instance`]): one prewarm invocation, which
    /// the platform gives a new instance when all that are up are busy.
    pub async fn scale_out(&self) {
        // Not retried: a throttle says there is no room for another instance.
        let report = self.prewarm(1, SCALE_OUT_ROUNDS, false).await;
        let outcome = if report.answered > 0 {
            ScaleOut::Answered
        } else if report.throttled > 0 {
            ScaleOut::Throttled
        } else {
            ScaleOut::Failed
        };
        self.control.slots().scale_out_done(outcome);
    }

    async fn prewarm(&self, instances: usize, rounds: u32, retry: bool) -> PrewarmReport {
        let instances = instances.min(PREWARM_INSTANCES_MAX);
        let (closures, shadow_calls) = self.plan();
        let refused_before = self.remote_calls.refused.load(Ordering::Relaxed);
        let started = Instant::now();
        // The prewarms occupy instances: offloads throttled meanwhile must not learn a room
        // without them.
        let _occupied = self.control.slots().reserve(instances as u64);
        let mut tasks = tokio::task::JoinSet::new();
        let send = |tasks: &mut tokio::task::JoinSet<_>, after: Duration| {
            let dispatcher = self.dispatcher.clone();
            let (closures, shadow_calls) = (closures.clone(), shadow_calls.clone());
            tasks.spawn(async move {
                tokio::time::sleep(after).await;
                dispatcher.prewarm(closures, shadow_calls, rounds).await
            });
        };
        for _ in 0..instances {
            send(&mut tasks, Duration::ZERO);
        }
        let mut retries_left = if retry { instances } else { 0 };
        let mut report = PrewarmReport {
            requested: instances,
            closures: closures.len(),
            shadow_calls: shadow_calls.len(),
            rounds,
            ..PrewarmReport::default()
        };
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok((reply, round_trip))) => {
                    let stats = reply.stats;
                    self.control.slots().saw_instance(&stats.instance_id);
                    report.answered += 1;
                    if stats.cold {
                        report.cold += 1;
                    } else {
                        report.warm += 1;
                    }
                    report.instances.push(PrewarmedInstance {
                        instance_id: stats.instance_id,
                        cold: stats.cold,
                        round_trip_us: micros(round_trip),
                        jvm_start_us: stats.jvm_start_us,
                        closure_fetch_us: stats.closure_fetch_us,
                        install_us: stats.install_us,
                        shadow_us: stats.handler_us,
                    });
                }
                Ok(Err(failure))
                    if failure.reason == FailureReason::Throttled && retries_left > 0 =>
                {
                    retries_left -= 1;
                    report.retried += 1;
                    send(&mut tasks, RETRY_AFTER);
                }
                Ok(Err(failure)) => {
                    if failure.reason == FailureReason::Throttled {
                        report.throttled += 1;
                    }
                    report.failures.push(failure.to_string());
                }
                Err(e) => report.failures.push(format!("prewarm task failed: {e}")),
            }
        }
        report.wall_us = micros(started.elapsed());
        report.remote_calls_refused = self
            .remote_calls
            .refused
            .load(Ordering::Relaxed)
            .saturating_sub(refused_before);
        info!(
            requested = report.requested,
            answered = report.answered,
            cold = report.cold,
            warm = report.warm,
            closures = report.closures,
            shadow_calls = report.shadow_calls,
            failures = report.failures.len(),
            "prewarm done"
        );
        report
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
