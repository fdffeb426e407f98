//! One invocation end to end on this instance: find or fetch and install the closure, run the
//! handler, and account for where the time went.

use std::{collections::HashSet, time::Instant};

use semifaas_closure::{
    ClosureId, FailureKind, FunctionFailure, FunctionStats, Invocation, InvocationOutcome,
    InvocationReply,
};
use tracing::{info, warn};

use crate::{fallback_bridge::FallbackBridge, jvm::Jvm};

/// The state an instance keeps between invocations.
pub struct Instance {
    jvm: Jvm,
    bridge: &'static FallbackBridge,
    installed: HashSet<ClosureId>,
    served: u64,
    jvm_start_us: u64,
    instance_id: String,
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
            installed: HashSet::new(),
            served: 0,
            jvm_start_us,
            instance_id,
        }
    }

    /// Runs `invocation`. Every outcome, including failures to run the handler here, is a reply.
    pub fn handle(&mut self, invocation: &Invocation) -> InvocationReply {
        let cold = self.served == 0;
        self.served += 1;
        let mut stats = FunctionStats {
            instance_id: self.instance_id.clone(),
            cold,
            jvm_start_us: if cold { self.jvm_start_us } else { 0 },
            ..FunctionStats::default()
        };
        self.bridge.begin(invocation);
        let outcome = self.run(invocation, &mut stats);
        stats.fallbacks = self.bridge.finish();
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
        InvocationReply { outcome, stats }
    }

    fn run(&mut self, invocation: &Invocation, stats: &mut FunctionStats) -> InvocationOutcome {
        let id = invocation.closure_id;
        let id_hex = id.to_string();
        if !self.installed.contains(&id) {
            let started = Instant::now();
            let fetched = self.bridge.fetch_closure(id);
            stats.closure_fetch_us = micros_since(started);
            let closure = match fetched {
                Ok(closure) => closure,
                Err(e) => return failed(FailureKind::ClosureUnavailable, e.to_string()),
            };
            if let Err(e) = closure.validate() {
                return failed(
                    FailureKind::ClosureUnavailable,
                    format!("closure {id_hex} is invalid: {e}"),
                );
            }
            let started = Instant::now();
            let installed = self.jvm.install(&id_hex, &closure);
            stats.install_us = micros_since(started);
            if let Err(e) = installed {
                return failed(FailureKind::Setup, e.to_string());
            }
            self.installed.insert(id);
        }
        let started = Instant::now();
        let result = self.jvm.invoke(&id_hex, &invocation.args);
        stats.handler_us = micros_since(started);
        match result {
            Ok(bytes) => InvocationOutcome::from_tagged(&bytes).unwrap_or_else(|e| {
                failed(
                    FailureKind::Runtime,
                    format!("the Java runtime answered badly: {e}"),
                )
            }),
            Err(e) => failed(FailureKind::Runtime, e.to_string()),
        }
    }
}

fn failed(kind: FailureKind, message: String) -> InvocationOutcome {
    InvocationOutcome::Failed(FunctionFailure { kind, message })
}

fn micros_since(started: Instant) -> u64 {
    started.elapsed().as_micros().try_into().unwrap_or(u64::MAX)
}
