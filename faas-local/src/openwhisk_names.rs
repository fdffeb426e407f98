//! OpenWhisk's naming rules: entity names, `[package/]action` paths and activation ids.

/// The one namespace: the platform has one user, named as in OpenWhisk's single-user
/// deployments. `_` (the caller's own namespace) names it too.
pub(crate) const NAMESPACE: &str = "guest";

/// The rule every OpenWhisk entity name (and namespace) follows (checked as the agent and
/// `semifaas deploy` check it).
pub(crate) fn is_entity_name(name: &str) -> bool {
    semifaas_openwhisk::check_entity(name).is_ok()
}

/// An action inside a namespace: `name` or `package/name`.
pub(crate) fn validate_action_path(path: &str) -> Result<(), ()> {
    semifaas_openwhisk::ActionName::parse(path)
        .map(drop)
        .map_err(drop)
}

/// Activation ids are 32 lowercase hex digits.
pub(crate) fn is_activation_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_ids_are_32_lowercase_hex() {
        assert!(is_activation_id(&"0a".repeat(16)));
        assert!(!is_activation_id(&"0A".repeat(16)));
        assert!(!is_activation_id("0a"));
        assert!(!is_activation_id(&"g".repeat(32)));
    }
}
