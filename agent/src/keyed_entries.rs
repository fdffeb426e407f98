//! Per-handler entries in maps by handler key, made on first use and shared (`Arc` inside), so
//! the request path can keep a handler's entry ([`crate::handler_ids`]).

use std::collections::HashMap;

use parking_lot::RwLock;

/// The key's entry; the write lock is taken only for a key not seen yet.
pub fn entry<V: Clone + Default>(map: &RwLock<HashMap<String, V>>, key: &str) -> V {
    if let Some(entry) = map.read().get(key) {
        return entry.clone();
    }
    map.write().entry(key.to_owned()).or_default().clone()
}
