//! Recorded invocations for shadow execution: the argument bytes of the first real local runs
//! of each handler (`semifaas.shadow.samples` per handler), replayed by prewarms.

use std::collections::HashMap;

use parking_lot::Mutex;
use semifaas_closure::{limits::ARGS_MAX, ClosureId};

/// One recorded invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The closure the handler had when the sample was recorded.
    pub closure_id: ClosureId,
    /// The argument array, as bytes of the Java codec (no remote references).
    pub args: Vec<u8>,
}

/// The first samples of each handler; later ones are not kept, so recording costs nothing once
/// a handler is full.
pub struct SampleStore {
    per_handler: usize,
    by_handler: Mutex<HashMap<String, Vec<Sample>>>,
}

impl SampleStore {
    pub fn new(per_handler: usize) -> SampleStore {
        SampleStore {
            per_handler,
            by_handler: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a sample of `handler_key` would be kept (lets callers skip copying arguments).
    pub fn wants(&self, handler_key: &str) -> bool {
        self.per_handler > 0
            && self
                .by_handler
                .lock()
                .get(handler_key)
                .is_none_or(|samples| samples.len() < self.per_handler)
    }

    /// Keeps the sample if the handler has fewer than its quota and the arguments could be
    /// offloaded at all; returns whether it was kept.
    pub fn record(&self, handler_key: &str, closure_id: ClosureId, args: Vec<u8>) -> bool {
        if self.per_handler == 0 || args.len() > ARGS_MAX {
            return false;
        }
        let mut by_handler = self.by_handler.lock();
        let samples = by_handler.entry(handler_key.to_owned()).or_default();
        if samples.len() >= self.per_handler {
            return false;
        }
        samples.push(Sample { closure_id, args });
        true
    }

    /// The samples of `handler_key`, oldest first.
    pub fn samples(&self, handler_key: &str) -> Vec<Sample> {
        self.by_handler
            .lock()
            .get(handler_key)
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "com.example.Blog#show";

    #[test]
    fn keeps_the_first_samples_of_each_handler() {
        let store = SampleStore::new(2);
        let id = ClosureId([1; 32]);
        assert!(store.wants(H));
        assert!(store.record(H, id, vec![1]));
        assert!(store.record(H, id, vec![2]));
        assert!(!store.wants(H));
        assert!(!store.record(H, id, vec![3]), "the quota is full");
        assert!(store.record("com.example.Blog#list", id, vec![4]));
        let kept: Vec<Vec<u8>> = store.samples(H).into_iter().map(|s| s.args).collect();
        assert_eq!(kept, [vec![1], vec![2]]);
        assert!(store.samples("com.example.Other#get").is_empty());
    }

    #[test]
    fn refuses_what_could_never_be_replayed() {
        let store = SampleStore::new(3);
        assert!(!store.record(H, ClosureId([1; 32]), vec![0; ARGS_MAX + 1]));
        assert!(store.samples(H).is_empty());
        let off = SampleStore::new(0);
        assert!(!off.wants(H));
        assert!(!off.record(H, ClosureId([1; 32]), vec![1]));
    }
}
