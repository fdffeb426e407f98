//! Which handlers are worth offloading: "why does this handler always run here?" is answered in
//! this file.
//!
//! A handler is a candidate when its median local CPU time over at least
//! `semifaas.profile.samples` local runs is at least `semifaas.min-cpu-ms` (cheap handlers
//! cost more to ship than to run), or when it matches `semifaas.include`; never when it matches
//! `semifaas.exclude`. [`judge`] is the pure rule; [`Candidates`] keeps the samples.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use parking_lot::{Mutex, RwLock};

use crate::{config::AgentConfig, keyed_entries};

/// Local CPU samples kept per handler: the median of the most recent ones follows the handler's
/// current behaviour and bounds the memory.
const KEPT_SAMPLES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateRules {
    pub min_cpu: Duration,
    pub profile_samples: u32,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl CandidateRules {
    pub fn from_config(config: &AgentConfig) -> CandidateRules {
        CandidateRules {
            min_cpu: config.min_cpu,
            profile_samples: config.profile_samples,
            include: config.include.clone(),
            exclude: config.exclude.clone(),
        }
    }
}

/// A handler's candidate status and the reason, as shown in the stats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidacy {
    pub candidate: bool,
    pub reason: String,
}

/// Whether `pattern` (a `Class#method` key or a class-name prefix) names `handler_key`.
pub fn matches(pattern: &str, handler_key: &str) -> bool {
    if pattern.contains('#') {
        return pattern == handler_key;
    }
    let class = handler_key.split('#').next().unwrap_or_default();
    class.starts_with(pattern)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// What the rule decided, without its words: judging on the request path builds no string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// By the `semifaas.exclude` pattern at this index.
    Excluded(usize),
    /// By the `semifaas.include` pattern at this index.
    Included(usize),
    /// Fewer timed local runs than `semifaas.profile.samples`.
    Profiling { runs: u64 },
    /// `semifaas.profile.samples=0`.
    ProfilingOff,
    /// The median of the recent timed runs against `semifaas.min-cpu-ms`.
    Measured { median: Duration },
}

impl Verdict {
    /// `runs` timed local runs so far, of which `recent` are kept (any order).
    fn of(rules: &CandidateRules, handler_key: &str, runs: u64, recent: &[Duration]) -> Verdict {
        if let Some(i) = rules.exclude.iter().position(|p| matches(p, handler_key)) {
            return Verdict::Excluded(i);
        }
        if let Some(i) = rules.include.iter().position(|p| matches(p, handler_key)) {
            return Verdict::Included(i);
        }
        if runs < u64::from(rules.profile_samples) {
            return Verdict::Profiling { runs };
        }
        match median(recent) {
            Some(median) => Verdict::Measured { median },
            None => Verdict::ProfilingOff,
        }
    }

    fn candidate(self, rules: &CandidateRules) -> bool {
        match self {
            Verdict::Excluded(_) | Verdict::Profiling { .. } => false,
            Verdict::Included(_) | Verdict::ProfilingOff => true,
            Verdict::Measured { median } => median >= rules.min_cpu,
        }
    }

    fn reason(self, rules: &CandidateRules) -> String {
        match self {
            Verdict::Excluded(i) => format!("excluded by semifaas.exclude ({})", rules.exclude[i]),
            Verdict::Included(i) => format!("included by semifaas.include ({})", rules.include[i]),
            Verdict::Profiling { runs } => format!(
                "profiling: {runs} of {} local runs (semifaas.profile.samples)",
                rules.profile_samples
            ),
            Verdict::ProfilingOff => "profiling is off (semifaas.profile.samples=0)".into(),
            Verdict::Measured { median } if median >= rules.min_cpu => format!(
                "median local CPU {} >= semifaas.min-cpu-ms {}",
                ms(median),
                ms(rules.min_cpu)
            ),
            Verdict::Measured { median } => format!(
                "median local CPU {} < semifaas.min-cpu-ms {}: cheaper to run here",
                ms(median),
                ms(rules.min_cpu)
            ),
        }
    }

    fn candidacy(self, rules: &CandidateRules) -> Candidacy {
        Candidacy {
            candidate: self.candidate(rules),
            reason: self.reason(rules),
        }
    }
}

/// Decides a handler's candidacy from its timed local runs, all kept (any order).
pub fn judge(rules: &CandidateRules, handler_key: &str, cpu_samples: &[Duration]) -> Candidacy {
    Verdict::of(rules, handler_key, cpu_samples.len() as u64, cpu_samples).candidacy(rules)
}

/// The lower median, `None` for no samples; at most [`KEPT_SAMPLES`] are looked at, copied to
/// the stack (no allocation on the request path).
fn median(samples: &[Duration]) -> Option<Duration> {
    let samples = &samples[samples.len().saturating_sub(KEPT_SAMPLES)..];
    let mut buf = [Duration::ZERO; KEPT_SAMPLES];
    let buf = &mut buf[..samples.len()];
    buf.copy_from_slice(samples);
    let middle = buf.len().checked_sub(1)? / 2;
    Some(*buf.select_nth_unstable(middle).1)
}

#[derive(Default)]
struct Profile {
    /// The most recent timed runs' CPU times.
    cpu: VecDeque<Duration>,
    /// Timed runs seen (more than are kept).
    runs: u64,
    /// `None` until judged; re-judged after every timed run.
    verdict: Option<Verdict>,
}

/// The per-handler profiles and their current candidacy.
pub struct Candidates {
    rules: CandidateRules,
    profiles: RwLock<HashMap<String, ProfileEntry>>,
}

/// One handler's profile, held by the request path so it needs no lookup ([`crate::handler_ids`]).
#[derive(Clone, Default)]
pub struct ProfileEntry(Arc<Mutex<Profile>>);

impl Candidates {
    pub fn new(rules: CandidateRules) -> Candidates {
        Candidates {
            rules,
            profiles: RwLock::new(HashMap::new()),
        }
    }

    /// The handler's profile entry, made on first use.
    pub fn profile(&self, handler_key: &str) -> ProfileEntry {
        keyed_entries::entry(&self.profiles, handler_key)
    }

    /// One timed local run of the handler took `cpu` of CPU time.
    pub fn record_local(&self, handler_key: &str, cpu: Duration) {
        self.record_local_in(&self.profile(handler_key), handler_key, cpu);
    }

    /// [`Self::record_local`] on the handler's entry.
    pub fn record_local_in(&self, entry: &ProfileEntry, handler_key: &str, cpu: Duration) {
        let mut p = entry.0.lock();
        if p.cpu.len() == KEPT_SAMPLES {
            p.cpu.pop_front();
        }
        p.cpu.push_back(cpu);
        p.runs += 1;
        let runs = p.runs;
        let verdict = Verdict::of(&self.rules, handler_key, runs, p.cpu.make_contiguous());
        p.verdict = Some(verdict);
    }

    fn verdict(&self, entry: &ProfileEntry, handler_key: &str) -> Verdict {
        let mut p = entry.0.lock();
        *p.verdict
            .get_or_insert_with(|| Verdict::of(&self.rules, handler_key, 0, &[]))
    }

    /// The handler's candidacy now (judged on the spot for a handler not seen yet).
    pub fn candidacy(&self, handler_key: &str) -> Candidacy {
        self.verdict(&self.profile(handler_key), handler_key)
            .candidacy(&self.rules)
    }

    /// Whether the handler is a candidate now (the hot path: no reason string is made).
    pub fn is_candidate(&self, entry: &ProfileEntry, handler_key: &str) -> bool {
        self.verdict(entry, handler_key).candidate(&self.rules)
    }

    /// How far the profiling of a handler is: timed local runs so far and
    /// `semifaas.profile.samples`.
    pub fn profiled_runs(&self, handler_key: &str) -> (u64, u32) {
        let runs = self
            .profiles
            .read()
            .get(handler_key)
            .map_or(0, |p| p.0.lock().runs);
        (runs, self.rules.profile_samples)
    }

    /// Every handler seen so far with its candidacy.
    pub fn all(&self) -> BTreeMap<String, Candidacy> {
        let keys: Vec<String> = self.profiles.read().keys().cloned().collect();
        keys.into_iter()
            .map(|k| {
                let c = self.candidacy(&k);
                (k, c)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "com.example.ImageController#resize";

    fn rules() -> CandidateRules {
        CandidateRules {
            min_cpu: Duration::from_millis(5),
            profile_samples: 3,
            include: vec![],
            exclude: vec![],
        }
    }

    fn ms_samples(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn a_handler_is_profiled_before_it_can_be_a_candidate() {
        let c = judge(&rules(), H, &ms_samples(&[50, 50]));
        assert!(!c.candidate);
        assert!(c.reason.contains("2 of 3"), "{}", c.reason);
        let c = judge(&rules(), H, &ms_samples(&[50, 50, 50]));
        assert!(c.candidate, "{}", c.reason);
        assert!(
            c.reason.contains("median local CPU 50.000 ms"),
            "{}",
            c.reason
        );
    }

    #[test]
    fn the_median_decides_not_the_mean() {
        // One slow outlier must not make a cheap handler a candidate.
        let c = judge(&rules(), H, &ms_samples(&[1, 1, 1, 1, 500]));
        assert!(!c.candidate);
        assert!(c.reason.contains("cheaper to run here"), "{}", c.reason);
        let c = judge(&rules(), H, &ms_samples(&[9, 9, 9, 1, 1]));
        assert!(c.candidate, "{}", c.reason);
        let c = judge(&rules(), H, &ms_samples(&[5, 5, 5]));
        assert!(c.candidate, "the threshold itself qualifies: {}", c.reason);
    }

    #[test]
    fn include_and_exclude_override_the_profile_and_exclude_wins() {
        let mut r = rules();
        r.include = vec!["com.example.".into()];
        let c = judge(&r, H, &[]);
        assert!(c.candidate);
        assert!(c.reason.contains("semifaas.include (com.example.)"));
        r.exclude = vec![H.into()];
        let c = judge(&r, H, &ms_samples(&[100, 100, 100]));
        assert!(!c.candidate);
        assert!(c.reason.contains("semifaas.exclude"));
        // An exact key names that method only.
        assert!(judge(&r, "com.example.ImageController#thumb", &[]).candidate);
        assert!(!matches(
            "com.example.Image#resize",
            "com.example.ImageController#resize"
        ));
        assert!(matches(
            "com.example.Image",
            "com.example.ImageController#resize"
        ));
        // A prefix is matched against the class, never the method name.
        assert!(!matches("resize", H));
    }

    #[test]
    fn zero_samples_and_zero_cpu_make_every_handler_a_candidate() {
        let r = CandidateRules {
            min_cpu: Duration::ZERO,
            profile_samples: 0,
            ..rules()
        };
        assert!(judge(&r, H, &[]).candidate);
        assert!(judge(&r, H, &ms_samples(&[0])).candidate);
    }

    #[test]
    fn the_tracker_follows_recorded_runs() {
        let candidates = Candidates::new(rules());
        assert!(!candidates.candidacy(H).candidate);
        for _ in 0..3 {
            candidates.record_local(H, Duration::from_millis(20));
        }
        assert!(candidates.candidacy(H).candidate);
        // The handler became cheap: the recent samples decide.
        for _ in 0..KEPT_SAMPLES {
            candidates.record_local(H, Duration::from_micros(100));
        }
        let c = candidates.candidacy(H);
        assert!(!c.candidate, "{}", c.reason);
        assert_eq!(candidates.all().len(), 1);
    }

    #[test]
    fn a_profile_longer_than_the_kept_samples_completes() {
        let samples = 3 * KEPT_SAMPLES as u32;
        let candidates = Candidates::new(CandidateRules {
            profile_samples: samples,
            ..rules()
        });
        for _ in 1..samples {
            candidates.record_local(H, Duration::from_millis(20));
        }
        let c = candidates.candidacy(H);
        assert!(!c.candidate);
        assert!(
            c.reason.contains(&format!("{} of {samples}", samples - 1)),
            "{}",
            c.reason
        );
        candidates.record_local(H, Duration::from_millis(20));
        assert!(candidates.is_candidate(&candidates.profile(H), H));
        assert_eq!(candidates.profiled_runs(H), (u64::from(samples), samples));
    }
}
