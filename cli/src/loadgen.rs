//! An open-loop HTTP load generator: every request is sent at its scheduled instant whether or
//! not earlier ones have returned, and its latency counts from that instant, so a slow server
//! shows up as latency instead of silently lowering the offered rate (no coordinated omission).
//! And a closed loop, to measure how many requests/s a deployment completes at most.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;

use crate::harness::{HttpClient, Request};

/// One constant-rate stretch of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Phase {
    pub duration_s: f64,
    pub rps: f64,
}

/// A time-varying request rate: phases run back to back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    phases: Vec<Phase>,
}

/// A rate profile that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProfileError {
    #[error("the rate profile has no phases; give at least one `duration_s rps` line")]
    Empty,
    #[error("phase {index}: duration {duration_s} s must be a positive finite number of seconds")]
    Duration { index: usize, duration_s: f64 },
    #[error("phase {index}: rate {rps} requests/s must be a finite number ≥ 0")]
    Rate { index: usize, rps: f64 },
    #[error("profile line {line}: expected `duration_s rps` (two numbers), got {text:?}")]
    Syntax { line: usize, text: String },
    #[error("cannot read the profile file {path}: {message}")]
    Read { path: String, message: String },
}

impl Profile {
    pub fn new(phases: Vec<Phase>) -> Result<Profile, ProfileError> {
        if phases.is_empty() {
            return Err(ProfileError::Empty);
        }
        for (index, phase) in phases.iter().enumerate() {
            if !(phase.duration_s.is_finite() && phase.duration_s > 0.0) {
                return Err(ProfileError::Duration {
                    index,
                    duration_s: phase.duration_s,
                });
            }
            if !(phase.rps.is_finite() && phase.rps >= 0.0) {
                return Err(ProfileError::Rate {
                    index,
                    rps: phase.rps,
                });
            }
        }
        Ok(Profile { phases })
    }

    /// Baseline, a step to `burst_x` times the baseline, and back.
    pub fn step(
        base_rps: f64,
        burst_x: f64,
        before_s: f64,
        burst_s: f64,
        after_s: f64,
    ) -> Result<Profile, ProfileError> {
        Profile::step_to(base_rps, base_rps * burst_x, before_s, burst_s, after_s)
    }

    /// Baseline, a step to `burst_rps`, and back.
    pub fn step_to(
        base_rps: f64,
        burst_rps: f64,
        before_s: f64,
        burst_s: f64,
        after_s: f64,
    ) -> Result<Profile, ProfileError> {
        Profile::new(vec![
            Phase {
                duration_s: before_s,
                rps: base_rps,
            },
            Phase {
                duration_s: burst_s,
                rps: burst_rps,
            },
            Phase {
                duration_s: after_s,
                rps: base_rps,
            },
        ])
    }

    /// Lines of `duration_s rps`; blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Profile, ProfileError> {
        let mut phases = vec![];
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let syntax = || ProfileError::Syntax {
                line: i + 1,
                text: raw.to_owned(),
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [duration_s, rps] = fields[..] else {
                return Err(syntax());
            };
            phases.push(Phase {
                duration_s: duration_s.parse().map_err(|_| syntax())?,
                rps: rps.parse().map_err(|_| syntax())?,
            });
        }
        Profile::new(phases)
    }

    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Profile::parse(&text)
    }

    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// When phase `index` starts, from the start of the run.
    pub fn phase_start(&self, index: usize) -> Duration {
        Duration::from_secs_f64(self.phases[..index].iter().map(|p| p.duration_s).sum())
    }

    pub fn duration(&self) -> Duration {
        self.phase_start(self.phases.len())
    }

    /// Every request's send instant from the start of the run, evenly spaced within each phase.
    pub fn schedule(&self) -> Vec<Duration> {
        let mut out = vec![];
        let mut phase_start = 0.0;
        for phase in &self.phases {
            let n = (phase.duration_s * phase.rps).round() as usize;
            let gap = phase.duration_s / n.max(1) as f64;
            out.extend((0..n).map(|i| Duration::from_secs_f64(phase_start + i as f64 * gap)));
            phase_start += phase.duration_s;
        }
        out
    }
}

/// What happened to one request. Times are from the start of the run.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub scheduled: Duration,
    /// When the request was handed to the HTTP client.
    pub sent: Duration,
    /// When the response (or the error) arrived.
    pub done: Duration,
    /// HTTP status; `None` when there was no response (connection error or timeout).
    pub status: Option<u16>,
    /// Where the handler ran, from the response's placement header (`offloaded`, `local`,
    /// `reexecuted`, `diverged`, `abandoned`); `None` when the response carried none.
    pub ran: Option<String>,
    /// The response's `Location` header (what a redirect the client did not follow names).
    pub location: Option<String>,
}

impl RequestRecord {
    /// Latency from the *scheduled* instant.
    pub fn latency(&self) -> Duration {
        self.done.saturating_sub(self.scheduled)
    }

    pub fn ok(&self) -> bool {
        self.status == Some(200)
    }

    pub fn offloaded(&self) -> bool {
        self.ran.as_deref() == Some("offloaded")
    }
}

/// Sends `request_for(i)` at `start + schedule[i]` for every `i`, each on its own task, and waits
/// for all of them. A request without a response within `timeout` is recorded with no status.
pub async fn run_open_loop<F>(
    client: &HttpClient,
    schedule: &[Duration],
    start: Instant,
    timeout: Duration,
    request_for: F,
) -> Vec<RequestRecord>
where
    F: Fn(usize) -> Request,
{
    let start_tokio = tokio::time::Instant::from_std(start);
    let mut tasks = Vec::with_capacity(schedule.len());
    for (i, &scheduled) in schedule.iter().enumerate() {
        let request = Arc::new(request_for(i));
        tokio::time::sleep_until(start_tokio + scheduled).await;
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let sent = start.elapsed();
            let response = tokio::time::timeout(timeout, client.send(&request)).await;
            let (status, ran, location) = match response {
                Ok(Ok(exchange)) => (Some(exchange.status), exchange.placement, exchange.location),
                _ => (None, None, None),
            };
            RequestRecord {
                scheduled,
                sent,
                done: start.elapsed(),
                status,
                ran,
                location,
            }
        }));
    }
    let mut records = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(record) = task.await {
            records.push(record);
        }
    }
    records
}

/// What a closed loop completed in its measured span.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClosedLoop {
    pub clients: usize,
    pub seconds: f64,
    /// Successful responses that arrived in the measured span.
    pub completed: usize,
    /// Requests that got no 200 (whole run, warm-up included).
    pub failed: usize,
    /// Of `completed`, those whose placement header said `offloaded`.
    pub offloaded: usize,
    /// Successful responses over the whole run, warm-up and tail included (what the server did
    /// while the loop ran, for per-request costs).
    pub answered: usize,
}

impl ClosedLoop {
    pub fn completed_rps(&self) -> f64 {
        self.completed as f64 / self.seconds.max(1e-9)
    }
}

/// `clients` clients, each sending `request_for(i)` as soon as its previous response arrived:
/// for `warmup` (not counted), then for `measure`, counting the successful responses that arrive
/// in the measured span. Its rate is the most the deployment completes with that many requests in
/// flight.
pub async fn run_closed_loop<F>(
    client: &HttpClient,
    clients: usize,
    warmup: Duration,
    measure: Duration,
    timeout: Duration,
    request_for: F,
) -> ClosedLoop
where
    F: Fn(usize) -> Request + Send + Sync + 'static,
{
    let request_for = Arc::new(request_for);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let (from, to) = (start + warmup, start + warmup + measure);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, request_for, next) = (client.clone(), request_for.clone(), next.clone());
            tokio::spawn(async move {
                let (mut completed, mut failed, mut offloaded, mut answered) = (0, 0, 0, 0);
                while Instant::now() < to {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let response =
                        tokio::time::timeout(timeout, client.send(&request_for(i))).await;
                    let done = Instant::now();
                    match response {
                        Ok(Ok(e)) if e.status == 200 => {
                            answered += 1;
                            if done >= from && done < to {
                                completed += 1;
                                offloaded +=
                                    usize::from(e.placement.as_deref() == Some("offloaded"));
                            }
                        }
                        _ => failed += 1,
                    }
                }
                (completed, failed, offloaded, answered)
            })
        })
        .collect();
    let mut result = ClosedLoop {
        clients,
        seconds: measure.as_secs_f64(),
        completed: 0,
        failed: 0,
        offloaded: 0,
        answered: 0,
    };
    for task in tasks {
        if let Ok((completed, failed, offloaded, answered)) = task.await {
            result.completed += completed;
            result.failed += failed;
            result.offloaded += offloaded;
            result.answered += answered;
        }
    }
    result
}

/// `clients` clients, each sending `request` again as soon as its previous response arrived,
/// until `count` requests were sent in all: every request's record (sent = scheduled, so its
/// latency is the response time) and the seconds from the first send to the last answer. A
/// request without a response within `timeout` is recorded with no status.
pub async fn run_closed_loop_count(
    client: &HttpClient,
    clients: usize,
    count: usize,
    timeout: Duration,
    request: &Request,
) -> (Vec<RequestRecord>, f64) {
    let request = Arc::new(request.clone());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, request, next) = (client.clone(), request.clone(), next.clone());
            tokio::spawn(async move {
                let mut records = vec![];
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count {
                    let sent = start.elapsed();
                    let response = tokio::time::timeout(timeout, client.send(&request)).await;
                    let (status, ran, location) = match response {
                        Ok(Ok(e)) => (Some(e.status), e.placement, e.location),
                        _ => (None, None, None),
                    };
                    records.push(RequestRecord {
                        scheduled: sent,
                        sent,
                        done: start.elapsed(),
                        status,
                        ran,
                        location,
                    });
                }
                records
            })
        })
        .collect();
    let mut records = Vec::with_capacity(count);
    for task in tasks {
        if let Ok(mine) = task.await {
            records.extend(mine);
        }
    }
    (records, start.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_profile_schedules_each_phase_at_its_rate() {
        let profile = Profile::step(10.0, 5.0, 1.0, 2.0, 0.5).unwrap();
        assert_eq!(
            Profile::step_to(10.0, 50.0, 1.0, 2.0, 0.5).unwrap(),
            profile
        );
        let schedule = profile.schedule();
        assert_eq!(schedule.len(), 10 + 100 + 5);
        assert_eq!(profile.duration(), Duration::from_millis(3500));
        assert_eq!(profile.phase_start(1), Duration::from_secs(1));
        // 10 rps before, 50 rps in the burst.
        assert_eq!(schedule[1] - schedule[0], Duration::from_millis(100));
        assert_eq!(schedule[11] - schedule[10], Duration::from_millis(20));
        assert_eq!(schedule[10], Duration::from_secs(1));
        assert!(schedule.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn profile_file_parses_lines_and_comments() {
        let profile = Profile::parse("# warm\n2 10\n\n1.5 100  # burst\n2 10\n").unwrap();
        assert_eq!(profile.phases().len(), 3);
        assert_eq!(
            profile.phases()[1],
            Phase {
                duration_s: 1.5,
                rps: 100.0
            }
        );
        assert_eq!(profile.schedule().len(), 20 + 150 + 20);
    }

    #[test]
    fn bad_profiles_are_refused_with_the_reason() {
        assert_eq!(Profile::parse("# nothing\n"), Err(ProfileError::Empty));
        assert_eq!(
            Profile::parse("2 10\n3\n"),
            Err(ProfileError::Syntax {
                line: 2,
                text: "3".into()
            })
        );
        assert!(matches!(
            Profile::parse("2 ten"),
            Err(ProfileError::Syntax { line: 1, .. })
        ));
        assert_eq!(
            Profile::step(10.0, 2.0, 1.0, 0.0, 1.0),
            Err(ProfileError::Duration {
                index: 1,
                duration_s: 0.0
            })
        );
        assert_eq!(
            Profile::step(-1.0, 2.0, 1.0, 1.0, 1.0),
            Err(ProfileError::Rate {
                index: 0,
                rps: -1.0
            })
        );
        let missing = Profile::load(Path::new("/nonexistent/profile.txt")).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/profile.txt"));
    }
}
