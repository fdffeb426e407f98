//! OpenWhisk entity names, checked as the controller checks them, so a bad name fails at start
//! with the reason instead of as a 400 on every offload.

/// OpenWhisk's limit on one entity name.
const NAME_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{0:?} is not an OpenWhisk name: letters, digits, '_', '@', '.', '-' and inner spaces, starting with a letter, digit or '_', at most {NAME_MAX} characters")]
    Entity(String),
    #[error("{0:?} is not an action name: `action` or `package/action`")]
    Action(String),
}

/// Whether `name` is an entity name (OpenWhisk's `\A([\w]|[\w][\w@ .-]*[\w@.-]+)\z`).
pub fn check_entity(name: &str) -> Result<(), NameError> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let inner = |c: char| word(c) || matches!(c, '@' | ' ' | '.' | '-');
    let ok = match name.chars().count() {
        0 => false,
        1 => name.chars().all(word),
        n => {
            let mut chars = name.chars();
            let first = chars.next().is_some_and(word);
            let last = name.chars().last().is_some_and(|c| inner(c) && c != ' ');
            first && last && name.chars().take(n - 1).all(inner) && n <= NAME_MAX
        }
    };
    if ok {
        Ok(())
    } else {
        Err(NameError::Entity(name.to_owned()))
    }
}

/// An action, optionally in a package: `action` or `package/action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionName {
    package: Option<String>,
    action: String,
}

impl ActionName {
    pub fn parse(text: &str) -> Result<ActionName, NameError> {
        let text = text.trim();
        let parts: Vec<&str> = text.split('/').collect();
        let (package, action) = match parts.as_slice() {
            [action] => (None, *action),
            [package, action] => (Some(*package), *action),
            _ => return Err(NameError::Action(text.to_owned())),
        };
        if let Some(package) = package {
            check_entity(package)?;
        }
        check_entity(action)?;
        Ok(ActionName {
            package: package.map(str::to_owned),
            action: action.to_owned(),
        })
    }

    /// The package it sits in, if any.
    pub fn package(&self) -> Option<&str> {
        self.package.as_deref()
    }

    /// The URL path segments after `actions/`.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.package
            .as_deref()
            .into_iter()
            .chain([self.action.as_str()])
    }
}

impl std::fmt::Display for ActionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.package {
            Some(package) => write!(f, "{package}/{}", self.action),
            None => f.write_str(&self.action),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_as_the_controller_checks_them() {
        for good in [
            "a",
            "_",
            "semifaas",
            "my-action.v2",
            "x@y",
            "two words",
            "a-",
        ] {
            assert_eq!(check_entity(good), Ok(()), "{good:?}");
        }
        for bad in [
            "",
            "-a",
            ".a",
            "a ",
            " a",
            "a/b",
            "a%b",
            "é",
            &"a".repeat(257),
        ] {
            assert!(check_entity(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_action_may_sit_in_a_package() {
        let plain = ActionName::parse("semifaas").unwrap();
        assert_eq!(plain.segments().collect::<Vec<_>>(), ["semifaas"]);
        let packaged = ActionName::parse("tools/semifaas").unwrap();
        assert_eq!(
            packaged.segments().collect::<Vec<_>>(),
            ["tools", "semifaas"]
        );
        assert_eq!(packaged.to_string(), "tools/semifaas");
        for bad in ["", "/semifaas", "a/b/c", "tools/", "a//b"] {
            assert!(ActionName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
