//! Entry point of the fuzz target in `fuzz/` (cargo-fuzz) for the Lambda API bodies faas-local
//! parses: arbitrary bytes must be refused with an API error, never panic. The unit test below
//! replays the committed corpus.

use bytes::Bytes;

use crate::lambda_api::{invoke_payload, qualified_name};
use crate::management_api::create_function_config;

/// One input as an Invoke body, a CreateFunction body and a function name in an Invoke path.
pub fn lambda_api(data: &[u8]) {
    if let Ok(payload) = invoke_payload(Bytes::copy_from_slice(data)) {
        // What reaches the function is JSON.
        serde_json::from_slice::<serde::de::IgnoredAny>(&payload).unwrap();
    }
    let _ = create_function_config(data);
    if let Ok(path) = std::str::from_utf8(data) {
        if let Ok((name, qualifier)) = qualified_name(path, None) {
            assert!(path.contains(name));
            assert!(qualifier.is_none_or(|q| path.ends_with(q)));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fuzz_corpus_parses_without_panics() {
        semifaas_closure::fuzzing::replay_corpus(
            env!("CARGO_MANIFEST_DIR"),
            "lambda_api",
            super::lambda_api,
        );
    }
}
