//! Function code uploaded as a zip (CreateFunction, UpdateFunctionCode): unpacked into a
//! directory of its own under the platform's code root, within Lambda's limits.
//!
//! The zip is untrusted input: entries must stay inside their directory, links are refused
//! (a link could point anywhere on the host), and the unpacked size is checked entry by entry
//! as bytes are written, not from the sizes the archive claims.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

/// Lambda's limit on a function's unpacked code.
pub const UNZIPPED_LIMIT: u64 = 250 * 1024 * 1024;
/// Lambda's limit on a zip uploaded in the request itself.
pub const ZIP_LIMIT: usize = 50 * 1024 * 1024;
/// Most entries a package may hold: each one is a file created on the host.
const MAX_ENTRIES: usize = 20_000;

/// What Lambda reports about a function's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodeInfo {
    /// Base64 of the zip's SHA-256, as `CodeSha256`.
    pub(crate) sha256: String,
    /// Bytes of the zip, as `CodeSize`.
    pub(crate) size: u64,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum UnpackError {
    #[error("the zip is {0} bytes; upload at most {ZIP_LIMIT} bytes")]
    ZipTooLarge(usize),
    #[error("the code is not a valid zip file: {0}")]
    NotZip(String),
    #[error("the zip has {0} entries; a package may hold at most {MAX_ENTRIES}")]
    TooManyEntries(usize),
    #[error("zip entry {0:?} would be written outside the function's directory")]
    Escapes(String),
    #[error("zip entry {0:?} is a symbolic link; package the file it points to instead")]
    Link(String),
    #[error("the unpacked code exceeds {UNZIPPED_LIMIT} bytes (at entry {0:?})")]
    TooLarge(String),
    #[error(
        "the zip has no `bootstrap` file at its top level; the provided runtimes run ./bootstrap"
    )]
    NoBootstrap,
    #[error("cannot write the unpacked code to {path}: {source}", path = path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// Hands out one fresh directory per upload, and removes them all when dropped.
#[derive(Debug)]
pub(crate) struct CodeStore {
    root: PathBuf,
}

impl CodeStore {
    /// A store under a new directory in the system's temporary directory.
    pub(crate) fn in_temp_dir() -> io::Result<Self> {
        let root = std::env::temp_dir().join(format!(
            "faas-local-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        fs::create_dir_all(&root)?;
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700))?;
        Ok(Self { root })
    }

    /// Unpacks `zip` into a new directory named for `function`.
    pub(crate) fn unpack(
        &self,
        function: &str,
        zip: &[u8],
    ) -> Result<(PathBuf, CodeInfo), UnpackError> {
        if zip.len() > ZIP_LIMIT {
            return Err(UnpackError::ZipTooLarge(zip.len()));
        }
        let info = CodeInfo {
            sha256: base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip)),
            size: zip.len() as u64,
        };
        let dir = self.root.join(format!(
            "{function}-{}-{:08x}",
            &hex_prefix(&info.sha256),
            rand::random::<u32>()
        ));
        let write_error = |path: &Path| {
            let path = path.to_owned();
            move |source| UnpackError::Write { path, source }
        };
        fs::create_dir_all(&dir).map_err(write_error(&dir))?;
        if let Err(e) = unpack_into(&dir, zip) {
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok((dir, info))
    }
}

impl Drop for CodeStore {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn hex_prefix(base64_sha: &str) -> String {
    base64_sha
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect()
}

fn unpack_into(dir: &Path, zip: &[u8]) -> Result<(), UnpackError> {
    let mut archive = zip::ZipArchive::new(io::Cursor::new(zip))
        .map_err(|e| UnpackError::NotZip(e.to_string()))?;
    if archive.len() > MAX_ENTRIES {
        return Err(UnpackError::TooManyEntries(archive.len()));
    }
    let mut written: u64 = 0;
    let mut has_bootstrap = false;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| UnpackError::NotZip(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| UnpackError::NotZip(e.to_string()))?
            .into_owned();
        let relative = entry
            .enclosed_name()
            .ok_or_else(|| UnpackError::Escapes(name.clone()))?;
        if entry.is_symlink() {
            return Err(UnpackError::Link(name));
        }
        let path = dir.join(&relative);
        let write_error = |source| UnpackError::Write {
            path: path.clone(),
            source,
        };
        if entry.is_dir() {
            fs::create_dir_all(&path).map_err(write_error)?;
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(write_error)?;
        }
        has_bootstrap |= relative == Path::new("bootstrap");
        // Owner permissions only: the code is run by this user and read by no one else.
        let mode = entry.unix_mode().unwrap_or(0o644) & 0o700 | 0o400;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(write_error)?;
        let budget = UNZIPPED_LIMIT - written;
        let copied =
            io::copy(&mut (&mut entry).take(budget + 1), &mut file).map_err(|e| {
                match e.kind() {
                    io::ErrorKind::InvalidData => UnpackError::NotZip(format!("{name}: {e}")),
                    _ => write_error(e),
                }
            })?;
        if copied > budget {
            return Err(UnpackError::TooLarge(name));
        }
        file.flush().map_err(write_error)?;
        written += copied;
    }
    if has_bootstrap {
        Ok(())
    } else {
        Err(UnpackError::NoBootstrap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, body, mode) in entries {
            zip.start_file(*name, SimpleFileOptions::default().unix_permissions(*mode))
                .unwrap();
            zip.write_all(body).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn a_package_unpacks_with_its_executable_bits() {
        let store = CodeStore::in_temp_dir().unwrap();
        let zip = zip_of(&[
            ("bootstrap", b"#!/bin/sh\n", 0o755),
            ("jre/lib/modules", b"modules", 0o644),
        ]);
        let (dir, info) = store.unpack("f", &zip).unwrap();
        let mode = fs::metadata(dir.join("bootstrap"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(fs::read(dir.join("jre/lib/modules")).unwrap(), b"modules");
        assert_eq!(info.size, zip.len() as u64);
        assert_eq!(info.sha256.len(), 44);
        let root = store.root.clone();
        drop(store);
        assert!(!root.exists(), "the store removes its code when dropped");
    }

    #[test]
    fn hostile_zips_are_refused_by_name_and_leave_nothing() {
        let store = CodeStore::in_temp_dir().unwrap();
        let escape = zip_of(&[("bootstrap", b"x", 0o755), ("../../evil", b"x", 0o644)]);
        assert!(
            matches!(store.unpack("f", &escape), Err(UnpackError::Escapes(n)) if n == "../../evil")
        );
        let mut link = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        link.add_symlink("bootstrap", "/bin/sh", SimpleFileOptions::default())
            .unwrap();
        let link = link.finish().unwrap().into_inner();
        assert!(matches!(store.unpack("f", &link), Err(UnpackError::Link(n)) if n == "bootstrap"));
        let no_bootstrap = zip_of(&[("main.jar", b"x", 0o644)]);
        assert!(matches!(
            store.unpack("f", &no_bootstrap),
            Err(UnpackError::NoBootstrap)
        ));
        assert!(matches!(
            store.unpack("f", b"not a zip"),
            Err(UnpackError::NotZip(_))
        ));
        assert_eq!(fs::read_dir(&store.root).unwrap().count(), 0);
    }

    #[test]
    fn a_zip_bomb_stops_at_the_unpacked_limit() {
        let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        zip.start_file("bootstrap", SimpleFileOptions::default())
            .unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..(UNZIPPED_LIMIT >> 20) + 1 {
            zip.write_all(&chunk).unwrap();
        }
        let zip = zip.finish().unwrap().into_inner();
        assert!(zip.len() < 1 << 20, "deflate makes it small: {}", zip.len());
        let store = CodeStore::in_temp_dir().unwrap();
        assert!(
            matches!(store.unpack("f", &zip), Err(UnpackError::TooLarge(n)) if n == "bootstrap")
        );
    }
}
