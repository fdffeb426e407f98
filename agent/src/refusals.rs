//! What the trust boundary refused (docs/security.md), for `GET /stats` (`refused`) and
//! `GET /metrics` (`semifaas_refused_total`): connections the fallback server closed or turned
//! away, frames it dropped, requests of invocations not in flight here, and requests of
//! authenticated functions the application withheld.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use semifaas_fallback::ServerCounters;
use serde::{Deserialize, Serialize};

/// A request of an authenticated function that was not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A request whose capability names no invocation in flight here: another server's
    /// invocation calling back to the wrong server, one this server gave up on, a wrong token.
    NotInFlight,
    /// A remote call the closure's code does not make (`semifaas.remote.allow`).
    RemoteCall,
    /// A class that is not the application's own code (the JDK's, the agent's).
    Class,
    /// A resource on the deny list (`semifaas.fallback.deny-resources`) or not the application's.
    Resource,
}

/// Longest refusal reason kept.
const REASON_MAX: usize = 500;

/// Counts of withheld requests, and the latest reason.
#[derive(Debug, Default)]
pub struct Refusals {
    not_in_flight: AtomicU64,
    remote_calls: AtomicU64,
    classes: AtomicU64,
    resources: AtomicU64,
    last: Mutex<Option<String>>,
}

impl Refusals {
    pub fn record(&self, what: Refused, reason: &str) {
        let counter = match what {
            Refused::NotInFlight => &self.not_in_flight,
            Refused::RemoteCall => &self.remote_calls,
            Refused::Class => &self.classes,
            Refused::Resource => &self.resources,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        *self.last.lock() = Some(reason.chars().take(REASON_MAX).collect());
    }

    /// The report, with the fallback server's own counters (connections and frames).
    pub fn report(&self, server: &ServerCounters) -> RefusedReport {
        RefusedReport {
            unauthenticated_connections: server.unauthenticated.load(Ordering::Relaxed),
            connections_over_capacity: server.over_capacity.load(Ordering::Relaxed),
            bad_frames: server.bad_frames.load(Ordering::Relaxed),
            not_in_flight: self.not_in_flight.load(Ordering::Relaxed),
            remote_calls: self.remote_calls.load(Ordering::Relaxed),
            classes: self.classes.load(Ordering::Relaxed),
            resources: self.resources.load(Ordering::Relaxed),
            last_refusal: self.last.lock().clone(),
        }
    }
}

/// The `refused` section of `GET /stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedReport {
    /// Fallback connections closed because their hello was missing, late, malformed or wrong.
    pub unauthenticated_connections: u64,
    /// Fallback connections turned away at the connection limits.
    pub connections_over_capacity: u64,
    /// Request frames dropped before reaching the application (size, kind, encoding, time).
    pub bad_frames: u64,
    /// Requests on authenticated connections whose capability names no invocation in flight
    /// here (a call-back that reached the wrong server, or came after the server gave up).
    #[serde(default)]
    pub not_in_flight: u64,
    /// Remote calls of methods the closure's code does not call.
    pub remote_calls: u64,
    /// Class fallbacks for classes that are not the application's own code.
    pub classes: u64,
    /// Resource fallbacks for denied resources, or resources not of the application.
    pub resources: u64,
    /// The latest withheld request's reason (remote call, class or resource).
    pub last_refusal: Option<String>,
}

impl RefusedReport {
    /// `(what, count)` for the metric's `what` label.
    pub fn by_kind(&self) -> [(&'static str, u64); 7] {
        [
            (
                "unauthenticated_connection",
                self.unauthenticated_connections,
            ),
            ("connection_over_capacity", self.connections_over_capacity),
            ("bad_frame", self.bad_frames),
            ("not_in_flight", self.not_in_flight),
            ("remote_call", self.remote_calls),
            ("class", self.classes),
            ("resource", self.resources),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_keeps_the_latest_reason_clipped() {
        let refusals = Refusals::default();
        refusals.record(Refused::Class, "class java.lang.Runtime is the JDK's");
        refusals.record(Refused::NotInFlight, "invocation 9 is not in flight");
        refusals.record(Refused::RemoteCall, &"x".repeat(2 * REASON_MAX));
        let server = ServerCounters::default();
        server.unauthenticated.fetch_add(3, Ordering::Relaxed);
        let report = refusals.report(&server);
        assert_eq!(report.classes, 1);
        assert_eq!(report.remote_calls, 1);
        assert_eq!(report.resources, 0);
        assert_eq!(report.not_in_flight, 1);
        assert_eq!(report.unauthenticated_connections, 3);
        assert_eq!(report.last_refusal.map(|r| r.len()), Some(REASON_MAX));
    }
}
