//! # semifaas-admin-token
//!
//! The agent's admin endpoint answers only requests that carry its token
//! (`Authorization: Bearer <token>`). The agent writes the token to a file only its user can
//! read; the CLI on the same machine finds that file from the admin address alone. This crate
//! is the one place that knows where the file is ([`token_file_locations`]) and how it is
//! written ([`write_token_file`]) and read ([`read_token_file`]).

use std::{
    fs::{self, DirBuilder, OpenOptions},
    io::{self, Write},
    net::{IpAddr, SocketAddr},
    os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

/// The token files of an agent whose admin endpoint is bound to `addr`, most preferred first:
///
/// 1. `$XDG_RUNTIME_DIR/semifaas/admin-<host>-<port>.token`, when `XDG_RUNTIME_DIR` is set to an
///    absolute path (a per-user directory that only the user can enter);
/// 2. `<temp dir>/semifaas-<uid>/admin-<host>-<port>.token` (`$TMPDIR` or `/tmp`).
///
/// `<host>` is the bound IP address, with `:` written `_` for IPv6 (`::1` → `__1`), and
/// `<port>` the bound port (the real one when `semifaas.admin.port` is 0). The agent writes the
/// first; the CLI reads the first that exists, so it also finds an agent started without
/// `XDG_RUNTIME_DIR` (a service manager's environment) from a login shell that has it.
pub fn token_file_locations(addr: SocketAddr) -> Vec<PathBuf> {
    let name = token_file_name(addr);
    let mut locations = Vec::with_capacity(2);
    if let Some(runtime_dir) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        if runtime_dir.is_absolute() {
            locations.push(runtime_dir.join("semifaas").join(&name));
        }
    }
    locations.push(
        std::env::temp_dir()
            .join(format!("semifaas-{}", effective_uid()))
            .join(name),
    );
    locations
}

/// `admin-<host>-<port>.token`.
fn token_file_name(addr: SocketAddr) -> String {
    let host = match addr.ip() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => ip.to_string().replace(':', "_"),
    };
    format!("admin-{host}-{}.token", addr.port())
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Where the parent directory of a token file comes from: it decides how much is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// A default location ([`token_file_locations`]) in a directory others may write to (the
    /// temp dir): the `semifaas` directory must be this user's and closed to everyone else, or
    /// another user could have made it to read or replace the token.
    Default,
    /// A path the operator chose: created (mode 0700) if missing, otherwise trusted.
    Chosen,
}

/// Writes `token` to `path` so that only this user can read it: a new file created with mode
/// 0600 next to `path`, then renamed over it (a reader sees the old file or the whole new one,
/// never a file with wider permissions). Missing parent directories are created with mode 0700.
pub fn write_token_file(path: &Path, token: &str, parent: Parent) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .ok_or_else(|| io::Error::other(format!("{} has no parent directory", path.display())))?;
    match parent {
        Parent::Default => private_dir(dir)?,
        Parent::Chosen => DirBuilder::new().recursive(true).mode(0o700).create(dir)?,
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} names no file", path.display())))?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    // A leftover of a process that had this pid before; never someone else's (create_new).
    let _ = fs::remove_file(&temp);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(token.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// Makes `dir` (whose parent must exist) or checks it: a directory, not a link, owned by this
/// user, closed to group and others (tightened to 0700 when it is ours but wider).
fn private_dir(dir: &Path) -> io::Result<()> {
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = fs::symlink_metadata(dir)?;
    let refuse = |why: &str| {
        Err(io::Error::other(format!(
            "{} {why}: it cannot hold the admin token (remove it, or set semifaas.admin.token-file)",
            dir.display()
        )))
    };
    if !meta.file_type().is_dir() {
        return refuse("is not a directory");
    }
    if meta.uid() != effective_uid() {
        return refuse("belongs to another user");
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The token in a token file (surrounding whitespace removed); an empty file is an error.
pub fn read_token_file(path: &Path) -> io::Result<String> {
    let token = fs::read_to_string(path)?.trim().to_owned();
    if token.is_empty() {
        return Err(io::Error::other(format!("{} is empty", path.display())));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "semifaas-admin-token-test-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_file_name_follows_from_the_bound_address() {
        let v4: SocketAddr = "127.0.0.1:7071".parse().unwrap();
        let v6: SocketAddr = "[::1]:9000".parse().unwrap();
        assert_eq!(token_file_name(v4), "admin-127.0.0.1-7071.token");
        assert_eq!(token_file_name(v6), "admin-__1-9000.token");
        let locations = token_file_locations(v4);
        let fallback = locations.last().unwrap();
        assert_eq!(
            fallback,
            &std::env::temp_dir()
                .join(format!("semifaas-{}", effective_uid()))
                .join("admin-127.0.0.1-7071.token")
        );
        assert!(locations.iter().all(|l| l.ends_with(token_file_name(v4))));
    }

    #[test]
    fn a_token_file_is_private_and_replaced_whole() {
        let dir = scratch("write");
        let path = dir.join("semifaas").join("admin.token");
        write_token_file(&path, "first", Parent::Chosen).unwrap();
        write_token_file(&path, "second", Parent::Chosen).unwrap();
        assert_eq!(read_token_file(&path).unwrap(), "second");
        let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_default_directory_must_be_private_to_this_user() {
        let dir = scratch("default");
        fs::create_dir(&dir).unwrap();
        let private = dir.join("semifaas-1");
        fs::create_dir(&private).unwrap();
        fs::set_permissions(&private, fs::Permissions::from_mode(0o777)).unwrap();
        write_token_file(&private.join("a.token"), "t", Parent::Default).unwrap();
        let mode = fs::metadata(&private).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700, "tightened");

        let not_a_dir = dir.join("semifaas-2");
        std::os::unix::fs::symlink(&private, &not_a_dir).unwrap();
        let err = write_token_file(&not_a_dir.join("a.token"), "t", Parent::Default)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is not a directory") && err.contains("semifaas.admin.token-file"),
            "{err}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_empty_token_file_is_an_error() {
        let dir = scratch("empty");
        fs::create_dir(&dir).unwrap();
        let path = dir.join("t");
        fs::write(&path, " \n").unwrap();
        assert!(read_token_file(&path)
            .unwrap_err()
            .to_string()
            .contains("is empty"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
