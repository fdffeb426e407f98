//! OpenWhisk's naming rules: entity names, `[package/]action` paths and activation ids.

/// The one namespace: the platform has one user, named as in OpenWhisk's single-user
/// deployments. `_` (the caller's own namespace) names it too.
pub(crate) const NAMESPACE: &str = "guest";

/// OpenWhisk's longest entity name.
const NAME_MAX: usize = 256;

/// The rule every OpenWhisk entity name (and namespace) follows: `\w` first, then `\w`, `@`,
/// `.`, `-` or spaces, and no trailing space.
pub(crate) fn is_entity_name(name: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = name.as_bytes();
    match bytes {
        [] => false,
        [only] => word(*only),
        [first, middle @ .., last] => {
            bytes.len() <= NAME_MAX
                && word(*first)
                && middle
                    .iter()
                    .all(|&b| word(b) || matches!(b, b'@' | b'.' | b'-' | b' '))
                && (word(*last) || matches!(*last, b'@' | b'.' | b'-'))
        }
    }
}

/// An action inside a namespace: `name` or `package/name`.
pub(crate) fn validate_action_path(path: &str) -> Result<(), ()> {
    let mut parts = path.split('/');
    let valid = match (parts.next(), parts.next(), parts.next()) {
        (Some(name), None, None) => is_entity_name(name),
        (Some(package), Some(name), None) => is_entity_name(package) && is_entity_name(name),
        _ => false,
    };
    valid.then_some(()).ok_or(())
}

/// Activation ids are 32 lowercase hex digits.
pub(crate) fn is_activation_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names_follow_openwhisk() {
        for name in [
            "a",
            "_",
            "hello",
            "my-action.v2",
            "a b",
            "x@y",
            "a.",
            "A_1-",
        ] {
            assert!(is_entity_name(name), "{name:?}");
        }
        for name in [
            "",
            "-a",
            ".a",
            "a ",
            "a/b",
            "a\u{e9}",
            "a\0",
            &"a".repeat(257),
        ] {
            assert!(!is_entity_name(name), "{name:?}");
        }
        assert!(validate_action_path("pkg/act").is_ok());
        assert!(validate_action_path("act").is_ok());
        for path in ["", "/act", "pkg/", "a/b/c", "pkg//act"] {
            assert!(validate_action_path(path).is_err(), "{path:?}");
        }
    }

    #[test]
    fn activation_ids_are_32_lowercase_hex() {
        assert!(is_activation_id(&"0a".repeat(16)));
        assert!(!is_activation_id(&"0A".repeat(16)));
        assert!(!is_activation_id("0a"));
        assert!(!is_activation_id(&"g".repeat(32)));
    }
}
