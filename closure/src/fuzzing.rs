//! Entry points of the fuzz targets in `fuzz/` (cargo-fuzz): each feeds arbitrary bytes to a real
//! decoder, which must refuse them with an error or accept a value that survives a round trip
//! through the real encoder. The unit tests below replay the committed corpora, so every input
//! the fuzzer kept (and every crash it found) is checked by `cargo test`.

use crate::{Closure, Invocation, InvocationOutcome, InvocationReply};

/// A closure as a function receives it (`Closure::decode` validates it).
pub fn closure(data: &[u8]) {
    if let Ok(closure) = Closure::decode(data) {
        assert_eq!(Closure::decode(&closure.encode()).unwrap(), closure);
    }
}

/// An invocation's binary form, without its Lambda envelope.
pub fn invocation(data: &[u8]) {
    if let Ok(invocation) = Invocation::decode(data) {
        assert_eq!(
            Invocation::decode(&invocation.encode()).unwrap(),
            invocation
        );
    }
}

/// The Invoke payload `bootstrap` receives: `{"semifaas":1,"invocation":"<base64>"}`.
pub fn invocation_envelope(data: &[u8]) {
    if let Ok(invocation) = Invocation::from_lambda_payload(data) {
        let again = Invocation::from_lambda_payload(&invocation.to_lambda_payload()).unwrap();
        assert_eq!(again, invocation);
    }
}

/// A function's reply without its envelope, and the tagged outcome bytes the Java runtime returns.
pub fn reply(data: &[u8]) {
    if let Ok(reply) = InvocationReply::decode(data) {
        assert_eq!(InvocationReply::decode(&reply.encode()).unwrap(), reply);
    }
    if let Ok(outcome) = InvocationOutcome::from_tagged(data) {
        assert_eq!(
            InvocationOutcome::from_tagged(&outcome.to_tagged()).unwrap(),
            outcome
        );
    }
}

/// The reply payload the server receives: `{"semifaas":1,"reply":"<base64>"}`.
pub fn reply_envelope(data: &[u8]) {
    if let Ok(reply) = InvocationReply::from_lambda_payload(data) {
        let again = InvocationReply::from_lambda_payload(&reply.to_lambda_payload()).unwrap();
        assert_eq!(again, reply);
    }
}

/// Runs `check` on every file of `fuzz/corpus/<target>` (relative to the workspace): the replay
/// test of each crate's fuzz entry points. Fails naming the input that panics, and when the corpus
/// is missing or empty (a replay that reads nothing would check nothing).
#[doc(hidden)]
pub fn replay_corpus(manifest_dir: &str, target: &str, check: fn(&[u8])) {
    let dir = std::path::Path::new(manifest_dir)
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} cannot be read: {e}", dir.display()));
    let mut replayed = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{target}: input {} panics", path.display());
        replayed += 1;
    }
    assert!(replayed > 0, "corpus {} is empty", dir.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzz_corpora_decode_without_panics() {
        let replay = |target, check| replay_corpus(env!("CARGO_MANIFEST_DIR"), target, check);
        replay("closure", closure);
        replay("invocation", invocation);
        replay("invocation_envelope", invocation_envelope);
        replay("reply", reply);
        replay("reply_envelope", reply_envelope);
    }
}
