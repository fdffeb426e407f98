//! The library manifest: which of the application's library jars (Spring, Hibernate, …) a
//! function may fetch whole, by SHA-256, and which packages each one serves.
//!
//! Across JNI (agent → Rust, Rust → instance runtime) the manifest travels as text, one jar a
//! line: `<sha256 hex> <size> <package>,<package>…`; on the wire it is a list of
//! [`LibraryJarEntry`], bounded by the `LIBRARY_*` limits.

use std::fmt::{self, Write as _};

use semifaas_closure::limits::{LIBRARY_JARS_MAX, LIBRARY_JAR_MAX, LIBRARY_PACKAGES_MAX, NAME_MAX};
use serde::{Deserialize, Serialize};

/// A SHA-256 content hash: names a library jar.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JarHash(pub [u8; 32]);

impl JarHash {
    /// Parses 64 lowercase or uppercase hex digits.
    pub fn from_hex(hex: &str) -> Result<JarHash, String> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(format!(
                "library jar hash {:?} is not 64 hex digits",
                hex.chars().take(80).collect::<String>()
            ));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
                _ => return Err(format!("library jar hash {hex:?} has a non-hex digit")),
            }
        }
        Ok(JarHash(out))
    }
}

impl fmt::Display for JarHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for JarHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JarHash({self})")
    }
}

/// One library jar a function may fetch: its content hash, size, and the packages whose classes
/// the server serves from exactly this jar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryJarEntry {
    pub sha256: JarHash,
    pub size: u64,
    pub packages: Vec<String>,
}

/// Checks a manifest against the limits: a bounded number of jars and packages, sizes within
/// [`LIBRARY_JAR_MAX`], package names non-empty, bounded, free of NUL, `,` and whitespace.
pub fn validate_manifest(entries: &[LibraryJarEntry]) -> Result<(), String> {
    if entries.len() > LIBRARY_JARS_MAX {
        return Err(format!(
            "library manifest lists {} jars, over the limit of {LIBRARY_JARS_MAX}",
            entries.len()
        ));
    }
    let packages: usize = entries.iter().map(|e| e.packages.len()).sum();
    if packages > LIBRARY_PACKAGES_MAX {
        return Err(format!(
            "library manifest names {packages} packages, over the limit of {LIBRARY_PACKAGES_MAX}"
        ));
    }
    for entry in entries {
        if entry.size == 0 || entry.size > LIBRARY_JAR_MAX {
            return Err(format!(
                "library jar {} is {} bytes: empty or over the limit of {LIBRARY_JAR_MAX}",
                entry.sha256, entry.size
            ));
        }
        for package in &entry.packages {
            let bad = |c: char| c == '\0' || c == ',' || c.is_whitespace();
            if package.is_empty() || package.len() > NAME_MAX || package.contains(bad) {
                return Err(format!(
                    "library jar {} names package {:?}: empty, longer than {NAME_MAX} bytes, or \
                     holding NUL, ',' or whitespace",
                    entry.sha256,
                    package.chars().take(80).collect::<String>()
                ));
            }
        }
    }
    Ok(())
}

/// The manifest as text (see the module docs); the empty string for no jars.
pub fn manifest_to_text(entries: &[LibraryJarEntry]) -> String {
    let mut text = String::new();
    for entry in entries {
        let _ = writeln!(
            text,
            "{} {} {}",
            entry.sha256,
            entry.size,
            entry.packages.join(",")
        );
    }
    text
}

/// Parses and validates the text form; the error names the line that is wrong.
pub fn manifest_from_text(text: &str) -> Result<Vec<LibraryJarEntry>, String> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let wrong = |what: &str| format!("library manifest line {}: {what}", index + 1);
        let mut fields = line.split(' ');
        let (Some(hash), Some(size), Some(packages), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(wrong("expected '<sha256 hex> <size> <packages>'"));
        };
        let sha256 = JarHash::from_hex(hash).map_err(|e| wrong(&e))?;
        let size = size
            .parse::<u64>()
            .map_err(|_| wrong(&format!("size {size:?} is not a number")))?;
        let packages = packages
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        entries.push(LibraryJarEntry {
            sha256,
            size,
            packages,
        });
        if entries.len() > LIBRARY_JARS_MAX {
            break;
        }
    }
    validate_manifest(&entries)?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(byte: u8, packages: &[&str]) -> LibraryJarEntry {
        LibraryJarEntry {
            sha256: JarHash([byte; 32]),
            size: 1234,
            packages: packages.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn the_text_form_round_trips() {
        let entries = vec![
            entry(
                0xab,
                &["org.springframework.core", "org.springframework.util"],
            ),
            entry(0x01, &[]),
        ];
        let text = manifest_to_text(&entries);
        assert!(text.starts_with(&format!(
            "{} 1234 org.springframework.core,",
            "ab".repeat(32)
        )));
        assert_eq!(manifest_from_text(&text).unwrap(), entries);
        assert_eq!(manifest_from_text("").unwrap(), vec![]);
    }

    #[test]
    fn bad_text_is_refused_naming_the_line() {
        let good = manifest_to_text(&[entry(1, &["a.b"])]);
        let err = manifest_from_text(&format!("{good}zz 12 a.b\n")).unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("not 64 hex digits"),
            "{err}"
        );
        let err = manifest_from_text(&format!("{} x a\n", "0".repeat(64))).unwrap_err();
        assert!(err.contains("size \"x\" is not a number"), "{err}");
        let err = manifest_from_text(&format!("{} 0 a\n", "0".repeat(64))).unwrap_err();
        assert!(err.contains("empty or over the limit"), "{err}");
        let err = manifest_from_text("only-one-field").unwrap_err();
        assert!(err.contains("line 1: expected"), "{err}");
    }

    #[test]
    fn manifests_over_the_limits_are_refused() {
        let many: Vec<_> = (0..=LIBRARY_JARS_MAX).map(|_| entry(2, &[])).collect();
        assert!(validate_manifest(&many)
            .unwrap_err()
            .contains("jars, over the limit"));
        let packages: Vec<String> = (0..=LIBRARY_PACKAGES_MAX)
            .map(|i| format!("p{i}"))
            .collect();
        let big = LibraryJarEntry {
            packages,
            ..entry(3, &[])
        };
        assert!(validate_manifest(&[big])
            .unwrap_err()
            .contains("packages, over the limit"));
        assert!(validate_manifest(&[entry(4, &["a\0b"])])
            .unwrap_err()
            .contains("holding NUL"));
    }

    #[test]
    fn hashes_parse_from_hex_either_case() {
        let hash = JarHash::from_hex(&"Ab".repeat(32)).unwrap();
        assert_eq!(hash, JarHash([0xab; 32]));
        assert_eq!(hash.to_string(), "ab".repeat(32));
        assert!(JarHash::from_hex(&"g".repeat(64)).is_err());
    }
}
