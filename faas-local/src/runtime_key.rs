//! The secret that makes an instance's Runtime API its own.
//!
//! Every Runtime API route of an instance lives under `/<key>/2018-06-01/...`, and the
//! instance learns its key only through `AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT/<key>`. Other
//! local users can find the loopback port but not the key, so they cannot take the instance's
//! invocations, answer them, or kill it with `/init/error`.

use std::fmt;

use rand::rngs::OsRng;
use rand::TryRngCore;

/// Random bytes in a key: 256 bits, far past guessing.
const KEY_BYTES: usize = 32;

/// One instance's key. It has no `Display`, and its `Debug` hides it, so it cannot end up in a
/// log line or an error message by accident.
pub(crate) struct RuntimeKey(String);

impl RuntimeKey {
    /// A fresh key from the operating system's CSPRNG, as lowercase hex (URL-safe).
    pub(crate) fn generate() -> Result<Self, rand::rand_core::OsError> {
        let mut bytes = [0u8; KEY_BYTES];
        OsRng.try_fill_bytes(&mut bytes)?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The key itself, for the instance's environment only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this key, in time that depends only on its length (which is
    /// public: every key has the same), so timing reveals no prefix of the key.
    pub(crate) fn matches(&self, candidate: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate.as_bytes())
    }
}

/// Whether `a == b`, in time that depends only on their lengths, so timing reveals no prefix of
/// a secret. Lengths are taken as public.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(difference) == 0
}

impl fmt::Debug for RuntimeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RuntimeKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_url_safe_unique_and_hidden_from_debug() {
        let key = RuntimeKey::generate().unwrap();
        assert_eq!(key.expose().len(), 2 * KEY_BYTES);
        assert!(key
            .expose()
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(key.expose(), RuntimeKey::generate().unwrap().expose());
        assert!(!format!("{key:?}").contains(key.expose()));
    }

    #[test]
    fn only_the_exact_key_matches() {
        let key = RuntimeKey::generate().unwrap();
        let exact = key.expose().to_owned();
        assert!(key.matches(&exact));
        let mut last_changed = exact.clone().into_bytes();
        let last = last_changed.last_mut().unwrap();
        *last = if *last == b'0' { b'1' } else { b'0' };
        assert!(!key.matches(std::str::from_utf8(&last_changed).unwrap()));
        assert!(!key.matches(&exact[..exact.len() - 1]));
        assert!(!key.matches(&format!("{exact}0")));
        assert!(!key.matches(""));
    }
}
