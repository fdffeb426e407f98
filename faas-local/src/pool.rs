//! The instances of one function: which one an invocation gets, when new ones start, and
//! when idle ones stop. All instance-lifecycle policy lives here: keep-alive, pre-warming via
//! `prewarm`, and the provisioned minimum (a floor in `reap_idle`, refilled by `replenish`).

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracing::{info, warn};

use crate::function::FunctionContext;
use crate::instance::{Instance, SpawnError};
use crate::stats::FunctionStats;

#[derive(Debug, thiserror::Error)]
pub(crate) enum AcquireError {
    #[error("all {limit} instances are busy")]
    Throttled { limit: usize },
    #[error("{starting} instances are already starting")]
    StartsPaced { starting: usize },
    #[error("the function was deleted")]
    Closed,
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}

pub(crate) struct FunctionPool {
    pub(crate) function: Arc<FunctionContext>,
    state: Mutex<PoolState>,
}

#[derive(Default)]
struct PoolState {
    /// Least recently used first.
    idle: Vec<IdleInstance>,
    /// Leases out, including instances still starting for one.
    busy: usize,
    /// Instances started for an invocation whose first invocation has not ended.
    starting: usize,
    /// Every started instance that has not exited, idle or busy.
    live: HashMap<String, Arc<Instance>>,
    next_seq: u64,
    closed: bool,
    /// A `replenish` task is starting provisioned instances.
    replenishing: bool,
}

struct IdleInstance {
    instance: Arc<Instance>,
    since: Instant,
}

impl FunctionPool {
    pub(crate) fn new(function: FunctionContext) -> Arc<Self> {
        let pool = Arc::new(Self {
            function: Arc::new(function),
            state: Mutex::new(PoolState::default()),
        });
        spawn_reaper(&pool);
        pool
    }

    pub(crate) fn name(&self) -> &str {
        self.function.name()
    }

    /// The most recently used idle instance, else a new one below the concurrency limit.
    pub(crate) async fn acquire(self: &Arc<Self>) -> Result<Lease, AcquireError> {
        {
            let mut state = self.state.lock();
            if state.closed {
                return Err(AcquireError::Closed);
            }
            while let Some(idle) = state.idle.pop() {
                if idle.instance.has_exited() {
                    state.live.remove(&idle.instance.id);
                    continue;
                }
                state.busy += 1;
                return Ok(self.lease(idle.instance, false));
            }
        }
        self.start_instance(true).await
    }

    /// Starts up to `count` more instances (within the concurrency limit) and keeps them
    /// idle once they are ready. Returns how many became ready.
    pub(crate) async fn prewarm(self: &Arc<Self>, count: usize) -> usize {
        let mut starting = Vec::new();
        for _ in 0..count {
            match self.start_instance(false).await {
                Ok(lease) => starting.push(lease),
                Err(_) => break,
            }
        }
        let mut ready = 0;
        for lease in starting {
            let became_ready =
                tokio::time::timeout(self.function.init_timeout, lease.instance().ready()).await;
            if matches!(became_ready, Ok(true)) {
                ready += 1;
                lease.release();
            } else {
                lease.discard();
            }
        }
        ready
    }

    /// Starts an instance leased for one invocation; `paced` instances count against
    /// `max_starting` until that invocation ends.
    async fn start_instance(self: &Arc<Self>, paced: bool) -> Result<Lease, AcquireError> {
        let seq = {
            let mut state = self.state.lock();
            let limit = self.function.config.concurrency_limit;
            let max_starting = self.function.config.max_starting;
            if state.closed {
                return Err(AcquireError::Closed);
            }
            if state.busy + state.idle.len() >= limit {
                return Err(AcquireError::Throttled { limit });
            }
            if paced && max_starting > 0 && state.starting >= max_starting {
                return Err(AcquireError::StartsPaced {
                    starting: state.starting,
                });
            }
            state.busy += 1;
            state.starting += usize::from(paced);
            state.next_seq += 1;
            state.next_seq
        };
        let id = self.function.instance_id(seq);
        let spawned = self.new_instance(id).await;
        let mut state = self.state.lock();
        match spawned {
            Ok(instance) if !state.closed => {
                state.live.insert(instance.id.clone(), instance.clone());
                Ok(self.lease(instance, paced))
            }
            Ok(instance) => {
                state.busy -= 1;
                state.starting -= usize::from(paced);
                instance.kill();
                Err(AcquireError::Closed)
            }
            Err(e) => {
                state.busy -= 1;
                state.starting -= usize::from(paced);
                Err(e.into())
            }
        }
    }

    /// Restores the version's snapshot if it has one (else, or if that fails, starts a process).
    async fn new_instance(self: &Arc<Self>, id: String) -> Result<Arc<Instance>, SpawnError> {
        let on_exit = || {
            let weak = Arc::downgrade(self);
            let id = id.clone();
            move || {
                if let Some(pool) = weak.upgrade() {
                    pool.forget(&id);
                }
            }
        };
        let snapshots = self.function.snapshots.as_ref();
        if let Some((snapshots, snapshot)) = snapshots.and_then(|s| Some((s, s.ready()?))) {
            match Instance::restore(self.function.clone(), id.clone(), &snapshot, on_exit()).await {
                Ok(instance) => return Ok(instance),
                Err(e) => {
                    warn!(function = self.name(), instance = %id, error = %e, "starting a process instead");
                    if let SpawnError::Restore(e) = &e {
                        snapshots.restore_failed(&snapshot, e);
                    }
                }
            }
        }
        Instance::spawn(self.function.clone(), id.clone(), on_exit()).await
    }

    fn lease(self: &Arc<Self>, instance: Arc<Instance>, starting: bool) -> Lease {
        Lease {
            pool: self.clone(),
            instance: Some(instance),
            starting,
        }
    }

    fn give_back(&self, instance: Arc<Instance>, reusable: bool, starting: bool) {
        let mut state = self.state.lock();
        state.busy -= 1;
        state.starting -= usize::from(starting);
        if reusable && !state.closed && !instance.has_exited() {
            state.idle.push(IdleInstance {
                instance,
                since: Instant::now(),
            });
        } else {
            state.live.remove(&instance.id);
            drop(state);
            instance.kill();
        }
    }

    /// The process exited on its own or was killed.
    fn forget(&self, id: &str) {
        let mut state = self.state.lock();
        state.live.remove(id);
        state.idle.retain(|idle| idle.instance.id != id);
    }

    /// Stops instances idle for longer than the keep-alive, least recently used first, but
    /// never below the provisioned minimum.
    fn reap_idle(&self) {
        let keep_alive = self.function.config.keep_alive;
        let provisioned = self.function.config.provisioned;
        let expired: Vec<_> = {
            let mut state = self.state.lock();
            let now = Instant::now();
            let mut started = state.busy + state.idle.len();
            let (expired, kept) = std::mem::take(&mut state.idle)
                .into_iter()
                .partition::<Vec<_>, _>(|idle| {
                    let reap =
                        started > provisioned && now.duration_since(idle.since) >= keep_alive;
                    started -= usize::from(reap);
                    reap
                });
            state.idle = kept;
            for idle in &expired {
                state.live.remove(&idle.instance.id);
            }
            expired
        };
        for idle in expired {
            info!(function = self.name(), instance = %idle.instance.id, keep_alive_ms = keep_alive.as_millis() as u64, "stopping idle instance");
            idle.instance.kill();
        }
    }

    /// Starts instances in the background until the provisioned minimum is met again (at
    /// start, and after instances crashed, timed out or were discarded).
    fn replenish(self: &Arc<Self>) {
        let missing = {
            let mut state = self.state.lock();
            let started = state.busy + state.idle.len();
            let missing = self.function.config.provisioned.saturating_sub(started);
            if missing == 0 || state.replenishing || state.closed {
                return;
            }
            state.replenishing = true;
            missing
        };
        let pool = self.clone();
        tokio::spawn(async move {
            let ready = pool.prewarm(missing).await;
            info!(
                function = pool.name(),
                missing, ready, "started provisioned instances"
            );
            pool.state.lock().replenishing = false;
        });
    }

    pub(crate) fn stats(&self) -> FunctionStats {
        let state = self.state.lock();
        self.function.counters.snapshot(
            state.idle.len(),
            state.busy,
            self.function.config.memory_mb,
            self.function
                .snapshots
                .as_ref()
                .map_or_else(|| "off".to_owned(), |s| s.status()),
        )
    }

    fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Refuses new invocations and kills every instance; returns them so callers can wait
    /// for the processes to exit.
    pub(crate) fn close(&self) -> Vec<Arc<Instance>> {
        let instances: Vec<_> = {
            let mut state = self.state.lock();
            state.closed = true;
            state.idle.clear();
            state.live.drain().map(|(_, instance)| instance).collect()
        };
        for instance in &instances {
            instance.kill();
        }
        instances
    }
}

fn spawn_reaper(pool: &Arc<FunctionPool>) {
    let weak: Weak<FunctionPool> = Arc::downgrade(pool);
    let period = (pool.function.config.keep_alive / 4)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(pool) = weak.upgrade() else { break };
            if pool.is_closed() {
                break;
            }
            pool.reap_idle();
            pool.replenish();
        }
    });
}

/// Exclusive use of one instance for one invocation. Dropped without `release`, the
/// instance is killed: its state is unknown.
pub(crate) struct Lease {
    pool: Arc<FunctionPool>,
    instance: Option<Arc<Instance>>,
    /// The instance was started for this invocation and counts as starting until it ends.
    starting: bool,
}

impl Lease {
    pub(crate) fn instance(&self) -> &Arc<Instance> {
        self.instance
            .as_ref()
            .expect("lease holds its instance until consumed")
    }

    /// The instance finished cleanly and may take the next invocation.
    pub(crate) fn release(mut self) {
        if let Some(instance) = self.instance.take() {
            self.pool.give_back(instance, true, self.starting);
        }
    }

    /// The instance is unusable (crashed, timed out, failed to start): kill it.
    pub(crate) fn discard(mut self) {
        if let Some(instance) = self.instance.take() {
            self.pool.give_back(instance, false, self.starting);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(instance) = self.instance.take() {
            self.pool.give_back(instance, false, self.starting);
        }
    }
}
