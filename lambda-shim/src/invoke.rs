//! One invocation end to end on this instance: find or fetch and install the closure, run the
//! handler (or, for a prewarm, install every closure and replay the shadow calls), and account
//! for where the time went.

use std::{collections::HashSet, time::Instant};

use semifaas_closure::{
    ClosureId, FailureKind, FunctionFailure, FunctionStats, Invocation, InvocationKind,
    InvocationOutcome, InvocationReply, ShadowCall,
};
use tracing::{info, warn};

use crate::{
    fallback_bridge::FallbackBridge,
    installed::{InstallKey, Installations, ServerId},
    jvm::Jvm,
};

/// The environment variable that carries the invocation's X-Ray trace header to native code.
pub const TRACE_ID_ENV: &str = "_X_AMZN_TRACE_ID";

/// The state an instance keeps between invocations.
pub struct Instance {
    jvm: Jvm,
    bridge: &'static FallbackBridge,
    /// Closures installed, per server: one server's never run another's invocations.
    installations: Installations,
    /// The start-up time the next invocation reports as this instance's cold start, until one
    /// has: process start to JVM ready, or a restored copy's restore.
    cold_start_us: Option<u64>,
    instance_id: String,
    /// Why this JVM must not serve again (a class failed to load through a fallback), once set.
    retire: Option<String>,
    /// What runs once the first invocation has run (see `after_first_invocation`).
    after_first_invocation: Option<Box<dyn FnOnce()>>,
}

impl Instance {
    /// `jvm_start_us`: process start to JVM ready, reported on the first invocation.
    pub fn new(
        jvm: Jvm,
        bridge: &'static FallbackBridge,
        jvm_start_us: u64,
        instance_id: String,
    ) -> Instance {
        Instance {
            jvm,
            bridge,
            installations: Installations::default(),
            cold_start_us: Some(jvm_start_us),
            instance_id,
            retire: None,
            after_first_invocation: None,
        }
    }

    /// Runs `work` once, when the first invocation (not a smoke one, which runs nothing) has run
    /// and before its reply is posted: a platform may stop the instance as soon as it has it.
    pub fn after_first_invocation(&mut self, work: impl FnOnce() + 'static) {
        self.after_first_invocation = Some(Box::new(work));
    }

    /// Takes the identity the platform gives after a checkpoint: statistics name `instance_id`
    /// from now on. A restored copy (`restore_us`: how long its restore took) reports its next
    /// invocation as its cold start, with the restore as its start-up time; its closures stay
    /// installed, so it runs warm, and what ran after the first invocation does not run again.
    pub fn take_identity(&mut self, instance_id: String, restore_us: Option<u64>) {
        self.instance_id = instance_id;
        if restore_us.is_some() {
            self.cold_start_us = restore_us;
        }
    }

    /// The fallback connections, which a checkpoint closes.
    /// Before a checkpoint: a full collection, so the image (read back on every restore) holds
    /// live objects only.
    pub fn collect_garbage(&self) {
        if let Err(e) = self.jvm.collect_garbage() {
            warn!("{e}");
        }
    }

    pub fn fallback_bridge(&self) -> &'static FallbackBridge {
        self.bridge
    }

    /// Why this instance must exit after answering, if it must: a class that failed to load
    /// stays failed in this JVM, so later invocations would fail for a reason long gone.
    pub fn must_retire(&self) -> Option<&str> {
        self.retire.as_deref()
    }

    /// Hands the next invocation's X-Ray trace header (`None`: it has none) to its code, as the
    /// Lambda runtimes do: `_X_AMZN_TRACE_ID` for native code, the system property for Java.
    /// Called between invocations, when no handler runs.
    pub fn set_trace_id(&self, trace_id: Option<&str>) {
        match trace_id {
            Some(trace_id) => std::env::set_var(TRACE_ID_ENV, trace_id),
            None => std::env::remove_var(TRACE_ID_ENV),
        }
        if let Err(e) = self.jvm.set_trace_header(trace_id) {
            warn!("{e}");
        }
    }

    /// Runs `invocation`. Every outcome, including failures to run the handler here, is a reply.
    pub fn handle(&mut self, invocation: &Invocation) -> InvocationReply {
        let cold_start_us = self.cold_start_us.take();
        let cold = cold_start_us.is_some();
        let mut stats = FunctionStats {
            instance_id: self.instance_id.clone(),
            cold,
            jvm_start_us: cold_start_us.unwrap_or(0),
            ..FunctionStats::default()
        };
        self.bridge.begin(invocation);
        let mut outcome = self.run(invocation, &mut stats);
        let fallbacks = self.bridge.finish();
        stats.fallbacks = fallbacks.counts;
        if let Some(failed) = fallbacks.failed {
            if failed.poisons_instance {
                self.retire = Some(format!("{} failed to load: {}", failed.what, failed.error));
            }
            // Whatever the handler made of the missing answer (a NoClassDefFoundError, an
            // exception page) is not the application's result: the server runs it instead.
            if !matches!(outcome, InvocationOutcome::Failed(_)) {
                outcome = failed_outcome(
                    FailureKind::Fallback,
                    format!(
                        "the fallback for {} got no answer: {}",
                        failed.what, failed.error
                    ),
                );
            }
        }
        match &outcome {
            InvocationOutcome::Failed(failure) => warn!(
                handler = %invocation.handler_key,
                invocation = invocation.invocation_id(),
                %failure,
                "could not run the handler here"
            ),
            _ => info!(
                handler = %invocation.handler_key,
                invocation = invocation.invocation_id(),
                cold,
                handler_us = stats.handler_us,
                fallbacks = stats.fallbacks.total(),
                "invocation done"
            ),
        }
        if let Some(work) = self.after_first_invocation.take() {
            work();
        }
        InvocationReply { outcome, stats }
    }

    fn run(&mut self, invocation: &Invocation, stats: &mut FunctionStats) -> InvocationOutcome {
        match &invocation.kind {
            InvocationKind::Call => self.call(invocation, stats),
            InvocationKind::Prewarm {
                closures,
                shadow_calls,
                rounds,
            } => self.prewarm(
                ServerId::of(&invocation.fallback),
                closures,
                shadow_calls,
                *rounds,
                stats,
            ),
        }
    }

    fn call(&mut self, invocation: &Invocation, stats: &mut FunctionStats) -> InvocationOutcome {
        let key = InstallKey::new(&invocation.fallback, invocation.closure_id);
        if let Err(failure) = self.ensure_installed(key, stats) {
            return InvocationOutcome::Failed(failure);
        }
        let started = Instant::now();
        let result = self.jvm.invoke(&key.to_string(), &invocation.args);
        stats.handler_us = micros_since(started);
        match result {
            Ok(bytes) => InvocationOutcome::from_tagged(&bytes).unwrap_or_else(|e| {
                failed_outcome(
                    FailureKind::Runtime,
                    format!("the Java runtime answered badly: {e}"),
                )
            }),
            Err(e) => failed_outcome(FailureKind::Runtime, e.to_string()),
        }
    }
}

impl Instance {
    /// Fetches closure `key.closure` from the current invocation's server and installs it for
    /// that server, unless it is installed for it; adds the time to `stats`. An installation is
    /// used only once the server has proved its certificate (a fetch or a live connection): the
    /// invocation's claim of a certificate is not enough to run what another server installed.
    fn ensure_installed(
        &mut self,
        key: InstallKey,
        stats: &mut FunctionStats,
    ) -> Result<(), FunctionFailure> {
        let failure = |kind, message| FunctionFailure { kind, message };
        if self.installations.contains(&key) {
            return self
                .bridge
                .prove_server()
                .map_err(|e| failure(FailureKind::Fallback, e.to_string()));
        }
        let id = key.closure;
        let started = Instant::now();
        let fetched = self.bridge.fetch_closure(id);
        stats.closure_fetch_us += micros_since(started);
        let closure =
            fetched.map_err(|e| failure(FailureKind::ClosureUnavailable, e.to_string()))?;
        closure.validate().map_err(|e| {
            failure(
                FailureKind::ClosureUnavailable,
                format!("closure {id} is invalid: {e}"),
            )
        })?;
        let started = Instant::now();
        let installed = self
            .jvm
            .install(&key.to_string(), &key.server.to_string(), &closure);
        stats.install_us += micros_since(started);
        installed.map_err(|e| failure(FailureKind::Setup, e.to_string()))?;
        self.installations.insert(key);
        Ok(())
    }

    /// Installs every closure, then replays the shadow calls of those installed `rounds` times
    /// and discards their results (the server refuses their remote writes). A closure that
    /// cannot be installed does not stop the others; the reply then names the first failure.
    fn prewarm(
        &mut self,
        server: ServerId,
        closures: &[ClosureId],
        shadow_calls: &[ShadowCall],
        rounds: u32,
        stats: &mut FunctionStats,
    ) -> InvocationOutcome {
        let mut failures = Vec::new();
        let key = |closure| InstallKey { server, closure };
        for id in closures {
            if let Err(failure) = self.ensure_installed(key(*id), stats) {
                warn!(closure = %id, %failure, "prewarm could not install a closure");
                failures.push(failure);
            }
        }
        let started = Instant::now();
        let mut replayed = 0;
        let warm: HashSet<ClosureId> = shadow_calls
            .iter()
            .map(|call| call.closure_id)
            .filter(|id| self.installations.replayed(&key(*id)) >= rounds)
            .collect();
        let replays = (0..rounds).flat_map(|_| shadow_calls);
        for call in replays {
            let installed = key(call.closure_id);
            if !self.installations.contains(&installed) || warm.contains(&call.closure_id) {
                continue;
            }
            // The outcome is discarded: a shadow call only warms the code paths.
            match self.jvm.invoke(&installed.to_string(), &call.args) {
                Ok(_) => replayed += 1,
                Err(e) => warn!(handler = %call.handler_key, error = %e, "shadow call failed"),
            }
        }
        stats.handler_us = micros_since(started);
        for call in shadow_calls {
            let installed = key(call.closure_id);
            if self.installations.contains(&installed) {
                let done = self.installations.replayed(&installed).max(rounds);
                self.installations.set_replayed(installed, done);
            }
        }
        info!(
            installed = closures.len() - failures.len(),
            replayed,
            shadow_calls = shadow_calls.len(),
            rounds,
            "prewarm done"
        );
        match failures.into_iter().next() {
            None => InvocationOutcome::Returned(Vec::new()),
            Some(first) => InvocationOutcome::Failed(FunctionFailure {
                kind: first.kind,
                message: format!("prewarm could not install every closure: {}", first.message),
            }),
        }
    }
}

fn failed_outcome(kind: FailureKind, message: String) -> InvocationOutcome {
    InvocationOutcome::Failed(FunctionFailure { kind, message })
}

fn micros_since(started: Instant) -> u64 {
    started.elapsed().as_micros().try_into().unwrap_or(u64::MAX)
}
