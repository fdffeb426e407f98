//! Injecting a fault again and again while the load runs, counting each injection that took
//! effect.

use std::time::Duration;

use anyhow::Result;
use tokio::time::{sleep, Instant};
use tracing::warn;

use super::{stack::Stack, Fault};
use semifaas_cli::harness::procs;

/// The platform's concurrency while `throttle` holds it down.
const THROTTLED_CONCURRENCY: usize = 1;
/// How long an injection looks for a busy instance before it gives up this round.
const BUSY_WAIT: Duration = Duration::from_secs(2);
/// The CPU sampling window that tells an instance running an invocation (a warm write runs for
/// a few milliseconds).
const BUSY_WINDOW: Duration = Duration::from_millis(2);
/// How much longer than the agent's timeout a stalled instance stays stopped.
const STALL_PAST_TIMEOUT: Duration = Duration::from_millis(500);

pub struct Injector {
    fault: Fault,
    /// How often the fault is injected, and how long it lasts when it is a period (a drop, a
    /// throttle, a stall); `None` for no fault.
    schedule: Option<(Duration, Duration)>,
    /// The instance `timeout` stopped, until it is continued.
    stalled: Option<u32>,
}

impl Injector {
    /// `agent_timeout`: the agent's offload timeout (a `timeout` stall outlasts it).
    pub fn new(fault: Fault, agent_timeout: Duration) -> Injector {
        let s = Duration::from_secs;
        let schedule = match fault {
            Fault::None => None,
            Fault::InstanceKill => Some((s(2), Duration::ZERO)),
            Fault::FallbackDrop => Some((s(5), s(3))),
            Fault::Throttle => Some((s(6), s(3))),
            Fault::Timeout => {
                let stall = agent_timeout + STALL_PAST_TIMEOUT;
                Some(((stall * 2).max(s(4)), stall))
            }
            Fault::PlatformRestart | Fault::PlatformKill => Some((s(10), Duration::ZERO)),
        };
        Injector {
            fault,
            schedule,
            stalled: None,
        }
    }

    /// Injects the fault every period until `until` resolves (the load ends), the first time
    /// after a period or a third of `run` (so a short run sees it too). Returns the injections
    /// made and what `until` returned.
    pub async fn while_running<F>(
        &mut self,
        stack: &mut Stack,
        run: Duration,
        mut until: F,
    ) -> (usize, F::Output)
    where
        F: std::future::Future + Unpin,
    {
        let Some((period, lasts)) = self.schedule else {
            return (0, until.await);
        };
        let mut injections = 0;
        let mut next = Instant::now() + period.min(run / 3);
        loop {
            tokio::select! {
                done = &mut until => return (injections, done),
                _ = sleep(next.saturating_duration_since(Instant::now())) => {}
            }
            next += period;
            match self.inject(stack).await {
                Ok(true) => injections += 1,
                Ok(false) => {}
                Err(e) => warn!("injecting {}: {e:#}", self.fault.name()),
            }
            if !lasts.is_zero() {
                let done = tokio::select! {
                    done = &mut until => Some(done),
                    _ = sleep(lasts) => None,
                };
                self.end(stack).await;
                if let Some(done) = done {
                    return (injections, done);
                }
            }
        }
    }

    /// Starts one injection; `false` when there was nothing to inject into this time.
    async fn inject(&mut self, stack: &mut Stack) -> Result<bool> {
        match self.fault {
            Fault::InstanceKill => Ok(busy_instance(stack)
                .await
                .is_some_and(|i| procs::signal_group(i, libc::SIGKILL))),
            Fault::Timeout => {
                self.stalled = busy_instance(stack)
                    .await
                    .filter(|&i| procs::signal_group(i, libc::SIGSTOP));
                Ok(self.stalled.is_some())
            }
            Fault::FallbackDrop => {
                if let Some(relay) = &stack.relay {
                    relay.set_dropping(true);
                }
                Ok(stack.relay.is_some())
            }
            Fault::Throttle => stack
                .set_concurrency(THROTTLED_CONCURRENCY)
                .await
                .map(|()| true),
            Fault::PlatformRestart => stack.restart_platform(false).await.map(|()| true),
            Fault::PlatformKill => {
                wait_busy(stack).await;
                stack.restart_platform(true).await.map(|()| true)
            }
            Fault::None => Ok(false),
        }
    }

    /// Ends a period fault.
    async fn end(&mut self, stack: &mut Stack) {
        match self.fault {
            Fault::FallbackDrop => {
                if let Some(relay) = &stack.relay {
                    relay.set_dropping(false);
                }
            }
            Fault::Throttle => {
                if let Err(e) = stack.set_concurrency(super::stack::CONCURRENCY).await {
                    warn!("lifting the throttle: {e:#}");
                }
            }
            Fault::Timeout => {
                if let Some(instance) = self.stalled.take() {
                    procs::signal_group(instance, libc::SIGCONT);
                }
            }
            _ => {}
        }
    }
}

/// The instance (its process group) running now, if one does within [`BUSY_WAIT`].
async fn busy_instance(stack: &Stack) -> Option<u32> {
    let instances = procs::children(stack.platform()?.pid());
    let deadline = Instant::now() + BUSY_WAIT;
    while Instant::now() < deadline {
        if let Some(instance) = procs::running(&instances, BUSY_WINDOW).await {
            return Some(instance);
        }
    }
    None
}

/// Waits (a little) until the platform has an invocation running.
async fn wait_busy(stack: &Stack) {
    let deadline = Instant::now() + BUSY_WAIT;
    while Instant::now() < deadline {
        if let Some(platform) = stack.platform() {
            if let Ok(stats) = platform.stats().await {
                let busy = stats["functions"][super::stack::FUNCTION]["busy"]
                    .as_u64()
                    .unwrap_or(0);
                if busy > 0 {
                    return;
                }
            }
        }
        sleep(Duration::from_millis(20)).await;
    }
}
