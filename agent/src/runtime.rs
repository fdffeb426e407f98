//! The process-wide agent: configuration, the tokio runtime and every service, started once by
//! `NativeBridge.init`.

use std::{
    net::SocketAddr,
    sync::{Arc, OnceLock},
    time::Duration,
};

use parking_lot::Mutex;
use semifaas_closure::{Closure, ClosureId, ValidationError};
use semifaas_fallback::{FallbackServer, FallbackServerError};
use tokio::runtime::Runtime;
use tracing::{debug, info, warn};

use crate::{
    admin::{AdminError, AdminOptions, AdminServer, AdminState},
    breaker::Admission,
    caller_threads::{CallerThreads, Wake},
    candidates::{CandidateRules, Candidates},
    closures::{ClosureStore, InFlight},
    config::AgentConfig,
    controller::BurstControl,
    dispatch::{Answered, Dispatcher, OffloadFailure},
    fallback_service::{AgentFallbackService, CodeSource},
    handler_ids::{self, HandlerId, HandlerIds, HandlerPath},
    policy::{LocalReason, OffloadDecision, Policy, PolicyError},
    prewarm::{PrewarmReport, Prewarmer},
    samples::SampleStore,
    stats::{FailureReason, Stats},
};

/// TLS server name of the fallback server's self-signed certificate.
pub const FALLBACK_SERVER_NAME: &str = "semifaas-fallback";
/// The runtime serves I/O (admin, fallbacks, Invoke calls); the work itself is in the JVM.
const RUNTIME_WORKERS: usize = 2;
/// What an offload gives the request thread that waits for it.
type OffloadResult = Result<Answered, OffloadFailure>;
/// How much longer than `semifaas.timeout` a request thread waits for an offload's outcome
/// before it runs the handler itself (the dispatch times out first; this guards a lost outcome).
const OUTCOME_GRACE: Duration = Duration::from_secs(5);
/// How long a failed start waits for the runtime's tasks to stop.
const START_FAILURE_SHUTDOWN: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("the semifaas agent is already initialized in this process")]
    AlreadyInitialized,
    #[error("could not start the agent's tokio runtime: {0}")]
    Runtime(std::io::Error),
    #[error("semifaas.ratio: {0}")]
    Policy(#[from] PolicyError),
    #[error("could not start the fallback server (check semifaas.fallback.host and semifaas.fallback.port): {0}")]
    Fallback(#[from] FallbackServerError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("{0}")]
    Config(String),
}

pub struct Agent {
    config: AgentConfig,
    handler_ids: HandlerIds,
    policy: Arc<Policy>,
    stats: Arc<Stats>,
    candidates: Arc<Candidates>,
    control: Arc<BurstControl>,
    store: Arc<ClosureStore>,
    dispatcher: Arc<Dispatcher>,
    samples: Arc<SampleStore>,
    /// Request threads waiting for their offloads; they run their invocations' remote calls.
    callers: Arc<CallerThreads<OffloadResult>>,
    prewarmer: Prewarmer,
    fallback: FallbackServer,
    admin: AdminServer,
    // Last, so the servers above are dropped while it still runs.
    runtime: Runtime,
}

impl Agent {
    /// Starts every service. `code` serves the class and resource fallbacks.
    pub fn start(config: AgentConfig, code: Arc<dyn CodeSource>) -> Result<Agent, AgentError> {
        config.check().map_err(AgentError::Config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_WORKERS)
            .thread_name("semifaas-agent")
            .enable_all()
            .build()
            .map_err(AgentError::Runtime)?;
        let policy = Arc::new(Policy::new(config.ratio)?);
        let stats = Arc::new(Stats::new());
        let candidates = Arc::new(Candidates::new(CandidateRules::from_config(&config)));
        let control = Arc::new(BurstControl::new(&config, policy.clone()));
        let store = Arc::new(ClosureStore::new());
        let in_flight = Arc::new(InFlight::new());
        let samples = Arc::new(SampleStore::new(config.shadow_samples as usize));
        // `code` holds JNI global references: if the start fails, the last one is released here,
        // on the calling (attached) thread, not on a runtime worker during its shutdown.
        let code_until_started = code.clone();
        let callers = Arc::new(CallerThreads::new(code.clone()));
        let service = AgentFallbackService::new(
            store.clone(),
            in_flight.clone(),
            stats.clone(),
            code,
            callers.clone(),
        );
        let remote_calls = service.remote_calls();
        let started = runtime.block_on(async {
            let fallback = FallbackServer::start(
                config.fallback_bind_addr(),
                FALLBACK_SERVER_NAME,
                Arc::new(service),
            )?;
            let endpoint = config.fallback_endpoint(&fallback);
            let dispatcher = Dispatcher::new(&config, endpoint, in_flight.clone(), stats.clone())
                .await
                .map_err(AgentError::Config)?;
            let admin_state = AdminState {
                policy: policy.clone(),
                stats: stats.clone(),
                candidates: candidates.clone(),
                control: control.clone(),
                fallback_counters: fallback.counters(),
                breaker: dispatcher.breaker(),
            };
            let admin_options = AdminOptions::from_config(&config);
            let admin = AdminServer::start(config.admin_addr(), admin_state, admin_options).await?;
            control.spawn();
            Ok::<_, AgentError>((fallback, admin, Arc::new(dispatcher)))
        });
        let (fallback, admin, dispatcher) = match started {
            Ok(services) => {
                drop(code_until_started);
                services
            }
            Err(e) => {
                // Nothing may keep running or listening: the fallback socket is already closed
                // (dropped above), the runtime's tasks and threads go now.
                runtime.shutdown_timeout(START_FAILURE_SHUTDOWN);
                drop(code_until_started);
                return Err(e);
            }
        };
        info!(
            admin = %admin.local_addr(),
            fallback = %config.fallback_endpoint(&fallback).addr,
            function = %config.function,
            platform = ?config.platform,
            endpoint = config.lambda_endpoint.as_deref().unwrap_or("(the platform's)"),
            ratio = config.ratio,
            mode = config.mode.as_str(),
            timeout_ms = config.timeout.as_millis() as u64,
            "semifaas agent started"
        );
        let prewarmer = Prewarmer::new(
            dispatcher.clone(),
            store.clone(),
            samples.clone(),
            remote_calls,
            control.clone(),
            config.shadow_rounds,
        );
        Ok(Agent {
            handler_ids: HandlerIds::new(),
            config,
            policy,
            stats,
            candidates,
            control,
            store,
            dispatcher,
            samples,
            callers,
            prewarmer,
            fallback,
            admin,
            runtime,
        })
    }

    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr()
    }

    /// The admin endpoint (its address, token and token file).
    pub fn admin(&self) -> &AdminServer {
        &self.admin
    }

    pub fn fallback_addr(&self) -> SocketAddr {
        self.fallback.local_addr()
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn candidates(&self) -> &Candidates {
        &self.candidates
    }

    pub fn control(&self) -> &BurstControl {
        &self.control
    }

    /// The handler key's id, for [`Self::should_offload`] and [`Self::record_local`]: asked once
    /// per handler. `None` past [`handler_ids::MAX_HANDLERS`] keys.
    pub fn handler_id(&self, handler_key: &str) -> Option<HandlerId> {
        let id = self.handler_ids.intern(handler_key, || HandlerPath {
            key: handler_key.to_owned(),
            stats: self.stats.entry(handler_key),
            profile: self.candidates.profile(handler_key),
            credits: self.policy.credits_of(handler_key),
            latencies: self.control.latency_window(handler_key),
        });
        if id.is_none() {
            warn!(
                handler = handler_key,
                max = handler_ids::MAX_HANDLERS,
                "too many handlers: this one runs locally, uncounted"
            );
        }
        id
    }

    /// Counts one invocation of the handler, marks the request in flight and decides where it
    /// runs: handlers that are not candidates run locally; for candidates the ratio decides,
    /// within the platform's room, and in auto mode a request that would queue spills. An id no
    /// handler has runs locally, uncounted.
    pub fn should_offload(&self, id: HandlerId) -> bool {
        let Some(handler) = self.handler_ids.get(id) else {
            return false;
        };
        let key = handler.key.as_str();
        handler.stats.record_invocation();
        self.control.gauge().enter();
        let decision = if self.candidates.is_candidate(&handler.profile, key) {
            self.place(key, self.policy.decide_with(key, &handler.credits))
        } else {
            OffloadDecision::Local {
                reason: LocalReason::NotCandidate,
            }
        };
        if let OffloadDecision::Local { reason } = decision {
            tracing::trace!(handler = key, ?reason, "running locally");
        }
        decision.is_offload()
    }

    /// The ratio's decision for a candidate, adjusted to the platform's room and the spill.
    fn place(&self, handler_key: &str, decision: OffloadDecision) -> OffloadDecision {
        match decision {
            OffloadDecision::Offload
                if self.dispatcher.breaker().admit(std::time::Instant::now())
                    == Admission::Paused =>
            {
                OffloadDecision::Local {
                    reason: LocalReason::PlatformPaused,
                }
            }
            OffloadDecision::Offload if !self.control.slots().has_room() => {
                if self.control.slots().wants_instance() {
                    let prewarmer = self.prewarmer.clone();
                    self.runtime
                        .spawn(async move { prewarmer.scale_out().await });
                }
                self.stats.record_platform_full(handler_key);
                OffloadDecision::Local {
                    reason: LocalReason::PlatformFull,
                }
            }
            OffloadDecision::Local {
                reason: LocalReason::RatioZero | LocalReason::AwaitingCredit,
            } if self.control.should_spill() && !self.policy.has_override(handler_key) => {
                self.stats.record_spilled(handler_key);
                OffloadDecision::Offload
            }
            other => other,
        }
    }

    /// Validates and stores a closure captured by the Java side.
    pub fn register_closure(&self, closure: Closure) -> Result<ClosureId, ValidationError> {
        let key = closure.handler.key();
        let id = self.store.insert(closure)?;
        debug!(handler = %key, closure = %id, "closure registered");
        Ok(id)
    }

    /// Offloads one invocation and blocks the calling (non-tokio) thread until the outcome or
    /// the deadline; its remote calls are answered in the Java invocation scope `scope_id`.
    /// Returns the outcome bytes for Java (tag 0 or 1), or `None` when the handler must run
    /// locally; the failure is already counted.
    pub fn offload(
        &self,
        handler_key: &str,
        closure_id: ClosureId,
        args: Vec<u8>,
        scope_id: u64,
    ) -> Option<Vec<u8>> {
        let slot = self.control.slots().take();
        let waiting = self.callers.register(scope_id);
        let done = waiting.done_sender();
        let dispatcher = self.dispatcher.clone();
        let key = handler_key.to_owned();
        // Runs on the runtime's workers so the I/O does not depend on the caller's thread, which
        // meanwhile runs the invocation's remote calls (see `caller_threads`).
        self.runtime.spawn(async move {
            let outcome = dispatcher.offload(&key, closure_id, args, scope_id).await;
            let _ = done.send(Wake::Done(outcome));
        });
        match waiting.serve(self.config.timeout + OUTCOME_GRACE) {
            Some(Ok(answered)) => {
                self.control.gauge().offload_done(slot.elapsed());
                slot.succeeded(&answered.instance_id);
                self.control.gauge().leave();
                Some(answered.outcome.to_tagged())
            }
            Some(Err(failure)) => {
                if failure.reason == FailureReason::Throttled {
                    if failure.scaling {
                        slot.throttled_while_scaling();
                    } else {
                        slot.throttled();
                    }
                    self.control.gauge().throttled();
                }
                None
            }
            None => {
                warn!(
                    handler = handler_key,
                    "offload task ended without a result, running locally"
                );
                None
            }
        }
    }

    /// Keeps the arguments of a real local run for shadow execution, if the handler still has
    /// room for samples (`semifaas.shadow.samples`).
    pub fn record_sample(&self, handler_key: &str, closure_id: ClosureId, args: Vec<u8>) {
        if self.samples.record(handler_key, closure_id, args) {
            debug!(
                handler = handler_key,
                "sample recorded for shadow execution"
            );
        }
    }

    /// Whether a sample of `handler_key` would be kept (so callers can skip copying it).
    pub fn wants_sample(&self, handler_key: &str) -> bool {
        self.samples.wants(handler_key)
    }

    /// Sends `instances` concurrent prewarm invocations and waits for them. Blocks: from async
    /// code use [`Agent::prewarmer`] and await [`Prewarmer::run`] instead.
    pub fn prewarm(&self, instances: usize) -> PrewarmReport {
        let prewarmer = self.prewarmer.clone();
        match tokio::runtime::Handle::try_current() {
            // On a runtime thread (multi-threaded runtimes only): leave the worker to others.
            Ok(handle) => tokio::task::block_in_place(|| handle.block_on(prewarmer.run(instances))),
            Err(_) => self.runtime.block_on(prewarmer.run(instances)),
        }
    }

    /// Sends prewarms from async code (the admin endpoint).
    pub fn prewarmer(&self) -> &Prewarmer {
        &self.prewarmer
    }

    /// One local run; `cpu` is `None` when its CPU time was not measured (only a sample is).
    pub fn record_local(&self, id: HandlerId, wall: Duration, cpu: Option<Duration>) {
        let Some(handler) = self.handler_ids.get(id) else {
            return;
        };
        handler.stats.record_local(wall, cpu);
        if let Some(cpu) = cpu {
            self.candidates
                .record_local_in(&handler.profile, &handler.key, cpu);
        }
        handler.latencies.record(wall);
        self.control.gauge().leave();
    }

    pub fn record_ineligible(&self, handler_key: &str, reason: &str) {
        debug!(handler = handler_key, reason, "handler cannot be offloaded");
        self.stats.record_ineligible(handler_key, reason);
    }

    /// The offload failed after the function made remote calls that may write, so the handler
    /// is not run again here (that would do them twice): the request ends with an error.
    pub fn record_abandoned(&self, handler_key: &str, reason: &str) {
        warn!(
            handler = handler_key,
            reason, "offload failed after remote writes, not run again"
        );
        self.stats.record_abandoned(handler_key, reason);
        self.control.gauge().leave();
    }

    /// The offload failed after remote writes and its closure ran again on the server with the
    /// invocation's call log: the request is answered.
    pub fn record_reexecuted(&self, handler_key: &str) {
        info!(
            handler = handler_key,
            "offload failed after remote writes; re-executed on the server with its call log"
        );
        self.stats.record_reexecuted(handler_key);
        self.control.gauge().leave();
    }

    /// The re-execution did not make the calls the first run made: the request fails.
    pub fn record_diverged(&self, handler_key: &str, reason: &str) {
        warn!(
            handler = handler_key,
            reason, "re-execution diverged from its call log"
        );
        self.stats.record_diverged(handler_key, reason);
        self.control.gauge().leave();
    }

    /// An invocation that logged remote calls ended.
    pub fn record_call_log(&self, entries: u64, bytes: u64, over_cap: bool, bytes_in_use: u64) {
        self.stats
            .record_call_log(entries, bytes, over_cap, bytes_in_use);
    }

    /// An offloaded invocation was re-run here to compare (`semifaas.verify`); a non-empty
    /// `mismatch` says what differed (Java demotes the handler).
    pub fn record_verified(&self, handler_key: &str, mismatch: &str) {
        if mismatch.is_empty() {
            self.stats.record_verified(handler_key, None);
        } else {
            warn!(
                handler = handler_key,
                diff = mismatch,
                "verify: the offloaded outcome differs from a local run; handler runs locally from now on"
            );
            self.stats.record_verified(handler_key, Some(mismatch));
        }
    }

    pub fn record_offload_failure(&self, handler_key: &str, reason: &str) {
        let failure = OffloadFailure::new(FailureReason::ResultUnusable, reason);
        warn!("{}", failure.log_line(handler_key));
        self.stats.record_result_unusable(handler_key, reason);
        // The handler runs locally after all: in flight again until its local run is recorded.
        self.control.gauge().enter();
    }
}

static AGENT: OnceLock<Agent> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// Starts the process-wide agent; a second call is an error.
pub fn init_global(
    config: AgentConfig,
    code: Arc<dyn CodeSource>,
) -> Result<&'static Agent, AgentError> {
    let _serialized = INIT.lock();
    if AGENT.get().is_some() {
        return Err(AgentError::AlreadyInitialized);
    }
    let agent = Agent::start(config, code)?;
    Ok(AGENT.get_or_init(|| agent))
}

/// The process-wide agent, once `init_global` succeeded.
pub fn global() -> Option<&'static Agent> {
    AGENT.get()
}

/// Logs to stderr with the configured filter, timestamped, coloured only on a terminal. Only the
/// first call in a process installs it.
pub fn init_logging(filter: &str) {
    use semifaas_fallback::stderr_log;
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into());
    stderr_log::init(filter, stderr_log::Timestamps::Always);
}
