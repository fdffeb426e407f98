//! The platform circuit breaker: after a failure that retrying will not fix (no such function, no
//! permission, bad credentials; [`FailureReason::is_permanent`]), offloading pauses instead of
//! paying a failed round trip per request. After a back-off one offload probes the platform:
//! success closes the breaker, another permanent failure doubles the back-off (up to
//! [`BACKOFF_MAX`]). Free of I/O: the caller passes the time.

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::stats::FailureReason;

/// The first pause.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(5);
/// The longest pause.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// What the operator can do about a permanent failure, in the platform's terms.
pub type Remedies = fn(FailureReason) -> Option<&'static str>;

#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
    remedies: Remedies,
}

#[derive(Debug, Default)]
struct State {
    /// Set while paused: the failure that opened it and until when.
    open: Option<Open>,
    /// The pause the next permanent failure starts.
    next_backoff: Option<Duration>,
    /// A probe is out: no other offload until it answers.
    probing: bool,
    trips: u64,
}

#[derive(Debug)]
struct Open {
    reason: FailureReason,
    message: String,
    until: Instant,
}

/// What the breaker reports in `GET /controller` and `/stats` (`platform`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakerReport {
    /// `closed` (offloading), `paused` (until `retry_in_ms`) or `probing` (one offload is
    /// testing the platform).
    pub state: String,
    /// Milliseconds until the next probe, while paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
    /// The failure that paused offloading (`function_not_found`, `access_denied`,
    /// `bad_credentials`), its message and what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    /// Times offloading was paused since the start.
    pub trips: u64,
}

/// What [`Breaker::admit`] decided for one offload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Offload as usual.
    Closed,
    /// Offload: it is the probe; report its result.
    Probe,
    /// Run locally: offloading is paused.
    Paused,
}

/// Whether a failure report opened the breaker (so the caller logs it once, with the remedy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Offloading pauses for this long.
    Paused(Duration),
    Unchanged,
}

impl Breaker {
    pub fn new(remedies: Remedies) -> Breaker {
        Breaker {
            state: Mutex::default(),
            remedies,
        }
    }

    /// What to do about `reason` on this platform.
    pub fn remedy(&self, reason: FailureReason) -> Option<&'static str> {
        (self.remedies)(reason)
    }

    /// Whether an offload may go to the platform at `now`.
    pub fn admit(&self, now: Instant) -> Admission {
        let mut state = self.state.lock();
        match &state.open {
            None => Admission::Closed,
            Some(_) if state.probing => Admission::Paused,
            Some(open) if now < open.until => Admission::Paused,
            Some(_) => {
                state.probing = true;
                Admission::Probe
            }
        }
    }

    /// The platform answered an offload (whatever the handler's outcome): it works again.
    pub fn record_success(&self) {
        let mut state = self.state.lock();
        state.open = None;
        state.next_backoff = None;
        state.probing = false;
    }

    /// An offload failed for `reason` at `now`. A permanent reason pauses offloading, for twice
    /// as long when it was the probe's; offloads that were already in flight when it paused
    /// change nothing. After a probe that failed otherwise, the next request probes again.
    pub fn record_failure(&self, reason: FailureReason, message: &str, now: Instant) -> Recorded {
        let mut state = self.state.lock();
        let probe = std::mem::take(&mut state.probing);
        if !reason.is_permanent() || (state.open.is_some() && !probe) {
            return Recorded::Unchanged;
        }
        let backoff = state.next_backoff.unwrap_or(BACKOFF_FIRST);
        state.next_backoff = Some((backoff * 2).min(BACKOFF_MAX));
        if state.open.is_none() {
            state.trips += 1;
        }
        state.open = Some(Open {
            reason,
            message: message.to_owned(),
            until: now + backoff,
        });
        Recorded::Paused(backoff)
    }

    pub fn report(&self, now: Instant) -> BreakerReport {
        let state = self.state.lock();
        match &state.open {
            None => BreakerReport {
                state: "closed".into(),
                trips: state.trips,
                ..BreakerReport::default()
            },
            Some(open) => BreakerReport {
                state: if state.probing { "probing" } else { "paused" }.into(),
                retry_in_ms: Some(open.until.saturating_duration_since(now).as_millis() as u64),
                reason: Some(open.reason.as_str().into()),
                message: Some(open.message.clone()),
                remedy: self.remedy(open.reason).map(str::to_owned),
                trips: state.trips,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn transient_failures_never_pause_offloading() {
        let breaker = Breaker::new(crate::lambda_invoker::LambdaInvoker::remedy);
        let t0 = Instant::now();
        for reason in [
            FailureReason::Throttled,
            FailureReason::Timeout,
            FailureReason::PlatformError,
            FailureReason::FunctionError,
        ] {
            assert_eq!(breaker.record_failure(reason, "x", t0), Recorded::Unchanged);
            assert_eq!(breaker.admit(t0), Admission::Closed);
        }
        assert_eq!(breaker.report(t0).state, "closed");
    }

    #[test]
    fn a_permanent_failure_pauses_then_one_probe_goes_and_backoff_doubles_to_its_cap() {
        let breaker = Breaker::new(crate::lambda_invoker::LambdaInvoker::remedy);
        let t0 = Instant::now();
        let paused = breaker.record_failure(FailureReason::FunctionNotFound, "no function", t0);
        assert_eq!(paused, Recorded::Paused(BACKOFF_FIRST));
        assert_eq!(breaker.admit(t0 + S), Admission::Paused);
        let report = breaker.report(t0 + S);
        assert_eq!(report.state, "paused");
        assert_eq!(report.retry_in_ms, Some(4000));
        assert_eq!(report.reason.as_deref(), Some("function_not_found"));
        assert!(report.remedy.unwrap().contains("semifaas.function"));
        assert_eq!(report.trips, 1);

        // After the pause: exactly one probe; the others keep running locally.
        let t1 = t0 + BACKOFF_FIRST;
        assert_eq!(breaker.admit(t1), Admission::Probe);
        assert_eq!(breaker.admit(t1), Admission::Paused);
        assert_eq!(breaker.report(t1).state, "probing");

        // The probe fails the same way: twice as long, and so on up to the cap.
        let mut expected = BACKOFF_FIRST * 2;
        let mut now = t1;
        for _ in 0..10 {
            assert_eq!(
                breaker.record_failure(FailureReason::FunctionNotFound, "no function", now),
                Recorded::Paused(expected)
            );
            now += expected;
            assert_eq!(breaker.admit(now), Admission::Probe);
            expected = (expected * 2).min(BACKOFF_MAX);
        }
        assert_eq!(expected, BACKOFF_MAX);
        assert_eq!(
            breaker.report(now).trips,
            1,
            "one pause, probed again and again"
        );
    }

    #[test]
    fn a_successful_probe_resumes_offloading_and_resets_the_backoff() {
        let breaker = Breaker::new(crate::lambda_invoker::LambdaInvoker::remedy);
        let t0 = Instant::now();
        breaker.record_failure(FailureReason::AccessDenied, "denied", t0);
        assert_eq!(breaker.admit(t0 + BACKOFF_FIRST), Admission::Probe);
        breaker.record_success();
        assert_eq!(breaker.admit(t0 + BACKOFF_FIRST), Admission::Closed);
        assert_eq!(breaker.report(t0).state, "closed");

        // A new pause starts from the first back-off again, and counts as a second trip.
        assert_eq!(
            breaker.record_failure(FailureReason::BadCredentials, "expired", t0),
            Recorded::Paused(BACKOFF_FIRST)
        );
        assert_eq!(breaker.report(t0).trips, 2);
    }

    #[test]
    fn offloads_in_flight_when_it_paused_do_not_lengthen_the_pause() {
        let breaker = Breaker::new(crate::lambda_invoker::LambdaInvoker::remedy);
        let t0 = Instant::now();
        breaker.record_failure(FailureReason::FunctionNotFound, "gone", t0);
        for _ in 0..5 {
            assert_eq!(
                breaker.record_failure(FailureReason::FunctionNotFound, "gone", t0),
                Recorded::Unchanged
            );
        }
        assert_eq!(breaker.report(t0).retry_in_ms, Some(5000));
        assert_eq!(breaker.admit(t0 + BACKOFF_FIRST), Admission::Probe);
        assert_eq!(
            breaker.record_failure(FailureReason::FunctionNotFound, "gone", t0 + BACKOFF_FIRST),
            Recorded::Paused(BACKOFF_FIRST * 2)
        );
    }

    #[test]
    fn a_probe_that_fails_transiently_lets_the_next_request_probe() {
        let breaker = Breaker::new(crate::lambda_invoker::LambdaInvoker::remedy);
        let t0 = Instant::now();
        breaker.record_failure(FailureReason::BadCredentials, "none", t0);
        let t1 = t0 + BACKOFF_FIRST;
        assert_eq!(breaker.admit(t1), Admission::Probe);
        breaker.record_failure(FailureReason::Throttled, "busy", t1);
        assert_eq!(breaker.admit(t1), Admission::Probe);
    }
}
