//! Small integer ids for handler keys. Every request crosses JNI twice (`shouldOffload`,
//! `recordLocal`); with an id instead of the key, neither call decodes a Java string nor hashes it
//! into the statistics', the candidates', the policy's and the controller's maps: the id indexes
//! the handler's entries in each, looked up once when the Java side first asks for its id. The
//! table is append-only and lock-free to read (`boxcar`): a request takes no lock and no reference
//! count to find its handler.

use std::{
    collections::HashMap,
    sync::{atomic::AtomicU64, Arc},
};

use parking_lot::RwLock;

use crate::{candidates::ProfileEntry, controller::LatencyWindow, stats::HandlerEntry};

/// Distinct handler keys given an id; past it, handlers run locally and uncounted (a real
/// application has hundreds).
pub const MAX_HANDLERS: usize = 1 << 16;

/// A handler's id: an index into [`HandlerIds`]. The Java side holds it plus one, a positive
/// `long`, so that 0, what a failed native call returns, names no handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerId(u32);

impl HandlerId {
    pub fn to_java(self) -> i64 {
        i64::from(self.0) + 1
    }

    /// The id the Java side passed; `None` for a value no id has (not positive, too large).
    pub fn from_java(value: i64) -> Option<HandlerId> {
        u32::try_from(value.checked_sub(1)?).ok().map(HandlerId)
    }
}

/// What the request path of one handler touches, each entry shared with the map it belongs to.
pub struct HandlerPath {
    pub key: String,
    pub stats: HandlerEntry,
    pub profile: ProfileEntry,
    pub credits: Arc<AtomicU64>,
    pub latencies: LatencyWindow,
}

#[derive(Default)]
pub struct HandlerIds {
    paths: boxcar::Vec<HandlerPath>,
    /// Also serializes the pushes, so that a path's index is the id given with it.
    by_key: RwLock<HashMap<String, HandlerId>>,
}

impl HandlerIds {
    pub fn new() -> HandlerIds {
        HandlerIds::default()
    }

    /// The key's id, made with `path` on the key's first request; `None` past [`MAX_HANDLERS`].
    pub fn intern(&self, key: &str, path: impl FnOnce() -> HandlerPath) -> Option<HandlerId> {
        if let Some(id) = self.by_key.read().get(key) {
            return Some(*id);
        }
        let mut by_key = self.by_key.write();
        if let Some(id) = by_key.get(key) {
            return Some(*id);
        }
        if self.paths.count() >= MAX_HANDLERS {
            return None;
        }
        let id = HandlerId(u32::try_from(self.paths.push(path())).ok()?);
        by_key.insert(key.to_owned(), id);
        Some(id)
    }

    pub fn get(&self, id: HandlerId) -> Option<&HandlerPath> {
        self.paths.get(id.0 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::{
        candidates::{CandidateRules, Candidates},
        policy::Ratios,
        stats::Stats,
    };

    fn rules() -> CandidateRules {
        CandidateRules {
            min_cpu: Duration::ZERO,
            profile_samples: 0,
            include: vec![],
            exclude: vec![],
        }
    }

    fn path(stats: &Stats, candidates: &Candidates, key: &str) -> HandlerPath {
        HandlerPath {
            key: key.to_owned(),
            stats: stats.entry(key),
            profile: candidates.profile(key),
            credits: Arc::default(),
            latencies: LatencyWindow::default(),
        }
    }

    #[test]
    fn one_id_per_key_sharing_the_maps_entries() {
        let (stats, candidates) = (Stats::new(), Candidates::new(rules()));
        let ids = HandlerIds::new();
        let a = ids
            .intern("A#m", || path(&stats, &candidates, "A#m"))
            .unwrap();
        let b = ids
            .intern("B#m", || path(&stats, &candidates, "B#m"))
            .unwrap();
        assert_ne!(a, b);
        assert_eq!(ids.intern("A#m", || unreachable!("made once")).unwrap(), a);
        ids.get(a).unwrap().stats.record_invocation();
        let ratios = Ratios {
            global: 0.0,
            overrides: Default::default(),
        };
        assert_eq!(
            stats.report(&ratios).handlers["A#m"].counters.invocations,
            1
        );
        assert_eq!(ids.get(b).unwrap().key, "B#m");
    }

    #[test]
    fn ids_from_java_that_name_no_handler_are_refused() {
        let ids = HandlerIds::new();
        assert_eq!(HandlerId::from_java(-1), None);
        assert_eq!(
            HandlerId::from_java(0),
            None,
            "what a failed native call returns"
        );
        assert_eq!(HandlerId::from_java(i64::MIN), None);
        assert_eq!(HandlerId::from_java(i64::from(u32::MAX) + 2), None);
        let unknown = HandlerId::from_java(7).unwrap();
        assert!(ids.get(unknown).is_none());
        assert_eq!(HandlerId::from_java(unknown.to_java()), Some(unknown));
    }
}
