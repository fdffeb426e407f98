//! The closure store (closures by content id) and the table of invocations in flight, which is
//! what authorizes fallback requests.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};

use parking_lot::{Mutex, RwLock};
use semifaas_closure::{
    limits::CLOSURE_MAX, Capability, Closure, ClosureId, ValidationError, PREWARM_HANDLER_KEY,
};

/// Closures kept per handler. A handler's receiver state can change between captures, which
/// gives a new id; the oldest closures of a handler are dropped past this many.
const CLOSURES_PER_HANDLER: usize = 8;

#[derive(Default)]
struct StoreInner {
    by_id: HashMap<ClosureId, Arc<Closure>>,
    by_handler: HashMap<String, VecDeque<ClosureId>>,
}

/// Validated closures by [`ClosureId`] (the content hash, so storing the same one twice is a
/// no-op).
#[derive(Default)]
pub struct ClosureStore {
    inner: RwLock<StoreInner>,
}

impl ClosureStore {
    pub fn new() -> ClosureStore {
        ClosureStore::default()
    }

    /// Validates and stores a closure; returns its id.
    pub fn insert(&self, closure: Closure) -> Result<ClosureId, ValidationError> {
        closure.validate()?;
        let encoded = closure.encode();
        if encoded.len() > CLOSURE_MAX {
            return Err(ValidationError(format!(
                "closure of {} is {} bytes encoded, over the {CLOSURE_MAX}-byte limit",
                closure.handler.key(),
                encoded.len()
            )));
        }
        let id = closure.id();
        let key = closure.handler.key();
        let mut inner = self.inner.write();
        if inner.by_id.contains_key(&id) {
            return Ok(id);
        }
        inner.by_id.insert(id, Arc::new(closure));
        let ids = inner.by_handler.entry(key).or_default();
        ids.push_back(id);
        let evicted = if ids.len() > CLOSURES_PER_HANDLER {
            ids.pop_front()
        } else {
            None
        };
        if let Some(old) = evicted {
            inner.by_id.remove(&old);
        }
        Ok(id)
    }

    pub fn get(&self, id: &ClosureId) -> Option<Arc<Closure>> {
        self.inner.read().by_id.get(id).cloned()
    }

    /// The latest closure of each handler, by handler key.
    pub fn latest_by_handler(&self) -> Vec<(String, ClosureId)> {
        let inner = self.inner.read();
        let mut latest: Vec<(String, ClosureId)> = inner
            .by_handler
            .iter()
            .filter_map(|(key, ids)| ids.back().map(|id| (key.clone(), *id)))
            .collect();
        latest.sort();
        latest
    }

    pub fn len(&self) -> usize {
        self.inner.read().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One dispatched invocation whose function may still call back.
#[derive(Debug, Clone)]
pub struct InFlightInvocation {
    pub token: [u8; 16],
    pub started: Instant,
    pub authorized: Authorized,
}

/// What an authorized fallback request may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    pub handler_key: Arc<str>,
    /// The invocation's closure (for a prewarm: the first it installs, or all zeros).
    pub closure_id: ClosureId,
    /// Every closure the invocation may fetch: its own, or all of a prewarm's.
    pub closures: Arc<[ClosureId]>,
    /// The Java invocation scope its remote calls are answered in; 0 for none.
    pub scope_id: u64,
    /// Shadow execution (a prewarm replaying samples): remote writes are refused.
    pub shadow: bool,
}

impl Authorized {
    /// A real call of `handler_key` on `closure_id`, its remote references in `scope_id`.
    pub fn call(handler_key: &str, closure_id: ClosureId, scope_id: u64) -> Authorized {
        Authorized {
            handler_key: handler_key.into(),
            closure_id,
            closures: Arc::new([closure_id]),
            scope_id,
            shadow: false,
        }
    }

    /// A prewarm that installs `closures` and replays samples in shadow mode.
    pub fn prewarm(closures: Vec<ClosureId>) -> Authorized {
        Authorized {
            handler_key: PREWARM_HANDLER_KEY.into(),
            closure_id: closures.first().copied().unwrap_or(ClosureId([0; 32])),
            closures: closures.into(),
            scope_id: 0,
            shadow: true,
        }
    }

    pub fn may_fetch(&self, id: &ClosureId) -> bool {
        self.closures.contains(id)
    }
}

/// One refusal for every capability that is not valid: an unknown invocation and a wrong token
/// read the same, so a prober cannot learn which invocation ids are in flight.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the capability is not valid (no such invocation in flight, or a wrong token)")]
pub struct AuthorizationError;

/// Invocations in flight, by invocation id. Ids are monotonic for the life of the process.
#[derive(Default)]
pub struct InFlight {
    next_id: AtomicU64,
    table: Mutex<HashMap<u64, InFlightInvocation>>,
}

/// Compares without an early exit, so the time taken says nothing about where tokens differ.
fn constant_time_eq(a: &[u8; 16], b: &[u8; 16]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl InFlight {
    pub fn new() -> InFlight {
        InFlight::default()
    }

    /// Registers a call with no invocation scope; see [`InFlight::register_with`].
    pub fn register(self: &Arc<Self>, handler_key: &str, closure_id: ClosureId) -> InFlightGuard {
        self.register_with(Authorized::call(handler_key, closure_id, 0))
    }

    /// Registers a new invocation with a fresh random capability. The invocation stays in
    /// flight until the returned guard is dropped.
    pub fn register_with(self: &Arc<Self>, authorized: Authorized) -> InFlightGuard {
        let invocation_id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let token: [u8; 16] = rand::random();
        self.table.lock().insert(
            invocation_id,
            InFlightInvocation {
                token,
                started: Instant::now(),
                authorized,
            },
        );
        InFlightGuard {
            table: self.clone(),
            capability: Capability {
                invocation_id,
                token,
            },
        }
    }

    /// Checks a capability against the invocations in flight.
    pub fn authorize(&self, capability: &Capability) -> Result<Authorized, AuthorizationError> {
        let table = self.table.lock();
        let entry = table.get(&capability.invocation_id);
        // Compares against a fixed token when the id is unknown, so both refusals take as long.
        let expected = entry.map_or(&[0xA5; 16], |e| &e.token);
        let token_matches = constant_time_eq(expected, &capability.token);
        match entry {
            Some(entry) if token_matches => Ok(entry.authorized.clone()),
            _ => Err(AuthorizationError),
        }
    }

    pub fn len(&self) -> usize {
        self.table.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps an invocation in flight; dropping it removes the invocation, whatever the outcome.
pub struct InFlightGuard {
    table: Arc<InFlight>,
    capability: Capability,
}

impl InFlightGuard {
    pub fn capability(&self) -> Capability {
        self.capability
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.table
            .table
            .lock()
            .remove(&self.capability.invocation_id);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use semifaas_closure::{HandlerRef, NamedBytes};

    pub(crate) fn closure(method: &str, receiver: &[u8]) -> Closure {
        Closure {
            handler: HandlerRef {
                class_name: "com.example.ImageController".into(),
                method_name: method.into(),
                descriptor: "([B)[B".into(),
            },
            receiver: receiver.to_vec(),
            classes: vec![NamedBytes {
                name: "com.example.ImageController".into(),
                bytes: vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 61],
            }],
            resources: vec![],
        }
    }

    #[test]
    fn store_keys_closures_by_content_hash() {
        let store = ClosureStore::new();
        let id = store.insert(closure("resize", b"r1")).unwrap();
        assert_eq!(id, closure("resize", b"r1").id());
        assert_eq!(store.insert(closure("resize", b"r1")).unwrap(), id);
        assert_eq!(store.len(), 1);
        let other = store.insert(closure("resize", b"r2")).unwrap();
        assert_ne!(other, id);
        assert_eq!(*store.get(&id).unwrap(), closure("resize", b"r1"));
        assert!(store.get(&ClosureId([0; 32])).is_none());
    }

    #[test]
    fn invalid_closures_are_rejected_and_not_stored() {
        let store = ClosureStore::new();
        let mut bad = closure("resize", b"r");
        bad.classes[0].bytes = b"not a class".to_vec();
        let err = store.insert(bad).unwrap_err();
        assert!(err.0.contains("com.example.ImageController"), "{err}");
        let mut bad = closure("resize", b"r");
        bad.handler.descriptor = "[B".into();
        assert!(store.insert(bad).is_err());
        assert!(store.is_empty());
    }

    #[test]
    fn a_handler_keeps_only_its_latest_closures() {
        let store = ClosureStore::new();
        let first = store.insert(closure("resize", &[0])).unwrap();
        for i in 1..=CLOSURES_PER_HANDLER as u8 {
            store.insert(closure("resize", &[i])).unwrap();
        }
        let kept = store.insert(closure("crop", &[0])).unwrap();
        assert!(store.get(&first).is_none());
        assert!(store.get(&kept).is_some());
        assert_eq!(store.len(), CLOSURES_PER_HANDLER + 1);
        let last = closure("resize", &[CLOSURES_PER_HANDLER as u8]).id();
        assert_eq!(
            store.latest_by_handler(),
            [
                ("com.example.ImageController#crop".to_owned(), kept),
                ("com.example.ImageController#resize".to_owned(), last),
            ]
        );
    }

    #[test]
    fn capabilities_authorize_only_their_invocation_while_in_flight() {
        let in_flight = Arc::new(InFlight::new());
        let id = ClosureId([3; 32]);
        let a = in_flight.register("com.example.C#a", id);
        let b = in_flight.register("com.example.C#b", id);
        assert_ne!(a.capability().invocation_id, b.capability().invocation_id);
        assert_ne!(a.capability().token, b.capability().token);

        let ok = in_flight.authorize(&a.capability()).unwrap();
        assert_eq!(&*ok.handler_key, "com.example.C#a");
        assert_eq!(ok.closure_id, id);
        assert!(ok.may_fetch(&id) && !ok.may_fetch(&ClosureId([4; 32])));
        assert!(!ok.shadow);

        let forged = Capability {
            invocation_id: a.capability().invocation_id,
            token: b.capability().token,
        };
        assert_eq!(in_flight.authorize(&forged), Err(AuthorizationError));

        // A finished invocation is refused exactly like a wrong token.
        let cap_a = a.capability();
        drop(a);
        assert_eq!(in_flight.authorize(&cap_a), Err(AuthorizationError));
        assert_eq!(in_flight.len(), 1);
        drop(b);
        assert!(in_flight.is_empty());
    }

    #[test]
    fn a_prewarm_may_fetch_each_of_its_closures_and_is_shadow() {
        let in_flight = Arc::new(InFlight::new());
        let (a, b) = (ClosureId([1; 32]), ClosureId([2; 32]));
        let guard = in_flight.register_with(Authorized::prewarm(vec![a, b]));
        let authorized = in_flight.authorize(&guard.capability()).unwrap();
        assert!(authorized.shadow);
        assert_eq!(authorized.scope_id, 0);
        assert!(authorized.may_fetch(&a) && authorized.may_fetch(&b));
        assert!(!authorized.may_fetch(&ClosureId([3; 32])));

        let call = in_flight.register_with(Authorized::call("com.example.C#a", a, 77));
        let authorized = in_flight.authorize(&call.capability()).unwrap();
        assert_eq!(authorized.scope_id, 77);
        assert!(!authorized.shadow);
    }
}
