//! Instance checkpoints (Lambda mode; the other side is faas-local's `snapshot` module).
//! faas-local checkpoints a warmed instance with CRIU and starts later instances by restoring
//! copies of it, each in its own PID namespace. CRIU cannot restore a socket that every copy
//! would share (a bound UDP port, a TCP connection to the Runtime API), so when faas-local asks
//! (`/next` answers [`Next::Checkpoint`]) the instance first lets go of all of them, says it is
//! ready on stdout, and waits on stdin for the identity it goes on with: the process that was
//! checkpointed, or one of its restored copies.
//!
//! [`Next::Checkpoint`]: crate::runtime_api::Next::Checkpoint

use std::{
    fs,
    io::{self, BufRead, Read, Write},
    os::fd::RawFd,
    path::Path,
    thread,
    time::{Duration, Instant},
};

use serde::Deserialize;
use tracing::{info, warn};

use crate::{
    fallback_bridge::FallbackBridge,
    runtime_api::{RuntimeApi, RuntimeApiError},
};

pub use semifaas_closure::checkpoint::{READY_MARKER, REFUSED_MARKER};

/// How long the children (the class-data-sharing archive's builder) may take to finish.
const CHILDREN_WAIT: Duration = Duration::from_secs(60);
/// How long closed sockets may take to leave the descriptor table (quinn's endpoint driver
/// drops its UDP socket on the fallback runtime, after `disconnect_all` returned).
const SOCKETS_WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(10);
/// The identity line is a few hundred bytes; this only bounds a platform gone wrong.
const IDENTITY_LINE_MAX: u64 = 64 * 1024;
/// The refusal's reason is cut to this: the marker line must stay one atomic pipe write
/// (PIPE_BUF, 4 KiB), so that the JVM's own output on stdout cannot split it.
const REASON_MAX: usize = 1024;

/// Who this process is after the checkpoint, from the platform's identity line.
pub struct Resumed {
    /// The Runtime API to poll from now on (`runtime_api`).
    pub api: RuntimeApi,
    /// The instance id to report in statistics from now on.
    pub instance_id: String,
    /// In a restored copy only: how long the platform's restore took, in milliseconds.
    pub restore_ms: Option<f64>,
}

impl Resumed {
    /// `restore_ms` in microseconds, as statistics report start-up times.
    pub fn restore_us(&self) -> Option<u64> {
        self.restore_ms.map(|ms| (ms * 1e3).round() as u64)
    }
}

/// The identity line as the platform writes it:
/// `{"runtime_api":"127.0.0.1:PORT/KEY","instance_id":"fn-12","restore_ms":63.2}`.
/// Fields this bootstrap does not know are ignored, for a newer platform.
#[derive(Debug, Deserialize)]
struct IdentityLine {
    runtime_api: String,
    instance_id: String,
    #[serde(default)]
    restore_ms: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot write the checkpoint marker to stdout: {0}")]
    Marker(#[source] io::Error),
    #[error("cannot read the identity line from stdin after the checkpoint: {0}")]
    Read(#[source] io::Error),
    /// Never quotes the line: its `runtime_api` holds the instance's secret key.
    #[error("the identity line from the platform after the checkpoint is invalid: {0}")]
    BadIdentity(String),
}

/// Prepares for a checkpoint the platform asked for, tells it whether it may take one, and
/// waits for the identity to go on with. `api` is dropped here, after the fallback connections
/// are closed: its keep-alive connection is a socket too. `None`: stdin reached its end, the
/// platform dropped this process, which exits quietly.
pub fn checkpoint(
    api: RuntimeApi,
    bridge: &FallbackBridge,
) -> Result<Option<Resumed>, CheckpointError> {
    info!("the platform asked for a checkpoint: closing connections");
    let lingering = bridge.disconnect_all();
    if lingering > 0 {
        warn!(
            lingering,
            "fallback endpoints did not close in time; waiting for their sockets"
        );
    }
    drop(api);
    // What the fallback runtime and the collection freed goes back to the system rather than
    // into the image.
    // SAFETY: malloc_trim only returns free heap pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
    let marker = match prepare() {
        Ok(()) => {
            info!("ready for the checkpoint");
            READY_MARKER.to_owned()
        }
        Err(reason) => {
            warn!(%reason, "refusing the checkpoint");
            refused_marker(&reason)
        }
    };
    write_marker(&mut io::stdout().lock(), &marker).map_err(CheckpointError::Marker)?;
    read_identity(&mut io::stdin().lock())
}

/// Waits until the process has no child and no socket a copy could not own, then clears its
/// parent-death signal; the reason when it cannot.
fn prepare() -> Result<(), String> {
    if wait_until_none(CHILDREN_WAIT, POLL, children_running).is_some() {
        return Err(format!(
            "a child process (the class-data-sharing archive's builder?) still runs after {} s",
            CHILDREN_WAIT.as_secs()
        ));
    }
    let sockets = || match sockets_left(Path::new("/proc/self/fd"), is_unnamed_unix_socket) {
        Ok(sockets) if sockets.is_empty() => None,
        Ok(sockets) => Some(sockets.join(", ")),
        Err(e) => Some(format!("/proc/self/fd cannot be read: {e}")),
    };
    if let Some(left) = wait_until_none(SOCKETS_WAIT, POLL, sockets) {
        return Err(format!(
            "sockets still open after {} s: {left}",
            SOCKETS_WAIT.as_secs()
        ));
    }
    // A restored copy's parent is whatever restored it, which exits once it has.
    set_parent_death_signal(0).map_err(|e| format!("cannot clear the parent-death signal: {e}"))
}

/// Calls `left` every `interval` until it finds nothing left (`None`) or `bound` has passed
/// since the first call; returns what the last call found left.
fn wait_until_none<T>(
    bound: Duration,
    interval: Duration,
    mut left: impl FnMut() -> Option<T>,
) -> Option<T> {
    let started = Instant::now();
    loop {
        let found = left()?;
        if started.elapsed() >= bound {
            return Some(found);
        }
        thread::sleep(interval);
    }
}

/// Reaps every child that has exited; `Some` while a child still runs. As the first process of
/// its PID namespace, the instance also inherits orphans (the builder's own children).
fn children_running() -> Option<()> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with WNOHANG only writes the status it is given.
        match unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } {
            0 => return Some(()),
            pid if pid > 0 => continue,
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            // ECHILD: no child at all.
            _ => return None,
        }
    }
}

/// The sockets among the descriptors that `fd_dir` (a `/proc/<pid>/fd`) lists, as
/// `fd N (socket:[INODE])`, in descriptor order, but for those `keep` accepts.
fn sockets_left(fd_dir: &Path, keep: impl Fn(RawFd) -> bool) -> io::Result<Vec<String>> {
    let mut sockets = Vec::new();
    for entry in fs::read_dir(fd_dir)? {
        let entry = entry?;
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // A descriptor closed since the listing (the listing's own, for one) has no link.
        let Ok(target) = fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        if target.starts_with("socket:") && !keep(fd) {
            sockets.push((fd, target.into_owned()));
        }
    }
    sockets.sort();
    Ok(sockets
        .into_iter()
        .map(|(fd, target)| format!("fd {fd} ({target})"))
        .collect())
}

/// Whether `fd` is a unix-domain socket with no name at either end: one end of a socket pair,
/// which every restored copy can have as its own. The fallback runtime keeps one for good
/// (tokio's signal driver), so "no socket at all" could never be met.
fn is_unnamed_unix_socket(fd: RawFd) -> bool {
    let mut domain: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `domain`.
    let got = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_DOMAIN,
            (&mut domain as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if got != 0 || domain != libc::AF_UNIX {
        return false;
    }
    // An unnamed address is the family alone; an unconnected socket has no peer at all.
    let unnamed = |name: unsafe extern "C" fn(
        libc::c_int,
        *mut libc::sockaddr,
        *mut libc::socklen_t,
    ) -> libc::c_int| {
        // SAFETY: an all-zero sockaddr_un is valid; the call writes at most `len` bytes.
        let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        match unsafe {
            name(
                fd,
                (&mut address as *mut libc::sockaddr_un).cast(),
                &mut len,
            )
        } {
            0 => len as usize <= std::mem::size_of::<libc::sa_family_t>(),
            _ => io::Error::last_os_error().raw_os_error() == Some(libc::ENOTCONN),
        }
    };
    unnamed(libc::getsockname) && unnamed(libc::getpeername)
}

/// The calling thread's parent-death signal (`PR_GET_PDEATHSIG`; 0: none).
pub fn parent_death_signal() -> io::Result<libc::c_int> {
    let mut signal: libc::c_int = 0;
    // SAFETY: PR_GET_PDEATHSIG writes one int where it is told.
    match unsafe { libc::prctl(libc::PR_GET_PDEATHSIG, &mut signal as *mut libc::c_int) } {
        0 => Ok(signal),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Sets the calling thread's parent-death signal (0 clears it). The kernel keeps it per thread,
/// and new threads do not inherit it.
pub fn set_parent_death_signal(signal: libc::c_int) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and touches no memory.
    match unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

fn refused_marker(reason: &str) -> String {
    let mut reason: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if reason.len() > REASON_MAX {
        let mut end = REASON_MAX;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    format!("{REFUSED_MARKER} {reason}")
}

/// Writes `marker` as one line in one write (a line-buffered stdout with nothing buffered
/// writes a whole line at once), flushed.
fn write_marker(out: &mut impl Write, marker: &str) -> io::Result<()> {
    out.write_all(format!("{marker}\n").as_bytes())?;
    out.flush()
}

/// Reads the identity line (blocking; interrupted reads are retried); `None` at the end of
/// `input` with nothing read.
fn read_identity(input: &mut impl BufRead) -> Result<Option<Resumed>, CheckpointError> {
    let mut line = Vec::new();
    input
        .take(IDENTITY_LINE_MAX)
        .read_until(b'\n', &mut line)
        .map_err(CheckpointError::Read)?;
    if line.is_empty() {
        return Ok(None);
    }
    if !line.ends_with(b"\n") && line.len() as u64 == IDENTITY_LINE_MAX {
        return Err(CheckpointError::BadIdentity(format!(
            "it is longer than {IDENTITY_LINE_MAX} bytes"
        )));
    }
    let line = std::str::from_utf8(&line)
        .map_err(|_| CheckpointError::BadIdentity("it is not UTF-8".to_owned()))?;
    parse_identity(line).map(Some)
}

fn parse_identity(line: &str) -> Result<Resumed, CheckpointError> {
    let bad = |what: String| Err(CheckpointError::BadIdentity(what));
    let identity: IdentityLine = match serde_json::from_str(line.trim_end()) {
        Ok(identity) => identity,
        // A field missing or of the wrong type says which; anything else is not JSON at all.
        Err(e) if e.is_data() => return bad(e.to_string()),
        Err(e) => return bad(format!("it is not a JSON object: {e}")),
    };
    if identity.instance_id.trim().is_empty() {
        return bad("instance_id is empty".to_owned());
    }
    if let Some(ms) = identity.restore_ms {
        if !ms.is_finite() || ms < 0.0 {
            return bad(format!(
                "restore_ms is {ms}, not a duration in milliseconds"
            ));
        }
    }
    let api = match RuntimeApi::at(&identity.runtime_api) {
        Ok(api) => api,
        Err(RuntimeApiError::BadAddress(reason)) => {
            return bad(format!(
                "runtime_api is not `host:port` or `host:port/path`: {reason}"
            ))
        }
        Err(e) => return bad(format!("runtime_api: {e}")),
    };
    Ok(Resumed {
        api,
        instance_id: identity.instance_id,
        restore_ms: identity.restore_ms,
    })
}

#[cfg(test)]
mod tests {
    use std::{
        cell::Cell,
        net::{TcpListener, UdpSocket},
        os::{
            fd::AsRawFd,
            unix::net::{UnixListener, UnixStream},
        },
        path::PathBuf,
    };

    use super::*;

    const KEY: &str = "3f9a0c5e7b1d2468ace013579bdf2468";

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("checkpoint-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn identity(line: &str) -> Result<Option<Resumed>, CheckpointError> {
        read_identity(&mut line.as_bytes())
    }

    #[test]
    fn the_identity_of_the_checkpointed_process_and_of_a_restored_copy() {
        let line = format!(r#"{{"runtime_api":"127.0.0.1:41234/{KEY}","instance_id":"fn-12"}}"#);
        let resumed = identity(&format!("{line}\n")).unwrap().unwrap();
        assert_eq!(resumed.instance_id, "fn-12");
        assert_eq!(resumed.restore_ms, None);
        assert_eq!(resumed.restore_us(), None);

        let line = format!(
            r#"{{"runtime_api":"127.0.0.1:41234/{KEY}","instance_id":"fn-13","restore_ms":63.2,"later":1}}"#
        );
        let resumed = identity(&format!("{line}\r\n")).unwrap().unwrap();
        assert_eq!(resumed.instance_id, "fn-13");
        assert_eq!(resumed.restore_us(), Some(63_200));
    }

    #[test]
    fn the_end_of_stdin_is_no_identity_and_no_error() {
        assert!(identity("").unwrap().is_none());
    }

    #[test]
    fn a_bad_identity_line_says_what_is_wrong_without_quoting_the_key() {
        let api = format!("127.0.0.1:41234/{KEY}");
        for (line, says) in [
            ("\n".to_owned(), "it is not a JSON object: EOF"),
            (
                "fn-12\n".to_owned(),
                "it is not a JSON object: expected ident",
            ),
            ("5\n".to_owned(), "invalid type: integer `5`"),
            (
                format!(r#"{{"runtime_api":"{api}"}}"#),
                "missing field `instance_id`",
            ),
            (
                r#"{"instance_id":"fn-1"}"#.to_owned(),
                "missing field `runtime_api`",
            ),
            (
                format!(r#"{{"runtime_api":"{api}","instance_id":" "}}"#),
                "instance_id is empty",
            ),
            (
                format!(r#"{{"runtime_api":"{api}","instance_id":"fn-1","restore_ms":"63"}}"#),
                "invalid type: string \"63\", expected f64",
            ),
            (
                format!(r#"{{"runtime_api":"{api}","instance_id":"fn-1","restore_ms":-1}}"#),
                "restore_ms is -1",
            ),
            (
                format!(r#"{{"runtime_api":"https://{api}","instance_id":"fn-1"}}"#),
                "runtime_api is not `host:port`",
            ),
            (
                format!(r#"{{"runtime_api":"{api}?x","instance_id":"fn-1"}}"#),
                "runtime_api is not `host:port`",
            ),
        ] {
            let Err(error) = identity(&line) else {
                panic!("{line:?} was taken");
            };
            let error = error.to_string();
            assert!(
                error.starts_with(
                    "the identity line from the platform after the checkpoint is invalid: "
                ),
                "{error}"
            );
            assert!(error.contains(says), "{line:?}: {error}");
            assert!(!error.contains(KEY), "{error}");
        }
        let long = "x".repeat(IDENTITY_LINE_MAX as usize + 10);
        let error = identity(&long).err().unwrap().to_string();
        assert!(error.contains("longer than 65536 bytes"), "{error}");
        let error = read_identity(&mut &b"{\"instance_id\":\"\xff\"}\n"[..])
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("not UTF-8"), "{error}");
    }

    #[test]
    fn sockets_are_found_among_the_descriptors_but_those_kept() {
        let dir = temp_dir("fds");
        for (fd, target) in [
            ("0", "/dev/null"),
            ("12", "socket:[6880122]"),
            ("3", "anon_inode:[eventpoll]"),
            ("6", "socket:[6880117]"),
            ("7", "pipe:[5]"),
            ("8", "socket:[6880118]"),
        ] {
            std::os::unix::fs::symlink(target, dir.join(fd)).unwrap();
        }
        // Not a descriptor: ignored.
        std::os::unix::fs::symlink("socket:[1]", dir.join("x")).unwrap();
        assert_eq!(
            sockets_left(&dir, |fd| fd == 6).unwrap(),
            ["fd 8 (socket:[6880118])", "fd 12 (socket:[6880122])"]
        );
        assert!(sockets_left(&dir, |_| true).unwrap().is_empty());
        fs::remove_dir_all(&dir).unwrap();
        assert!(sockets_left(&dir, |_| true).is_err());
    }

    #[test]
    fn only_unnamed_unix_sockets_may_stay() {
        let (a, b) = UnixStream::pair().unwrap();
        assert!(is_unnamed_unix_socket(a.as_raw_fd()));
        assert!(is_unnamed_unix_socket(b.as_raw_fd()));

        let dir = temp_dir("unix");
        let listener = UnixListener::bind(dir.join("s")).unwrap();
        let client = UnixStream::connect(dir.join("s")).unwrap();
        assert!(!is_unnamed_unix_socket(listener.as_raw_fd()));
        assert!(
            !is_unnamed_unix_socket(client.as_raw_fd()),
            "its peer has a name"
        );

        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let file = fs::File::open("/dev/null").unwrap();
        for fd in [udp.as_raw_fd(), tcp.as_raw_fd(), file.as_raw_fd()] {
            assert!(!is_unnamed_unix_socket(fd));
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn waiting_ends_when_nothing_is_left_or_with_what_is_left_at_the_bound() {
        let calls = Cell::new(0);
        let left = || {
            calls.set(calls.get() + 1);
            (calls.get() < 3).then_some(calls.get())
        };
        assert_eq!(
            wait_until_none(Duration::from_secs(5), Duration::ZERO, left),
            None
        );
        assert_eq!(calls.get(), 3);

        let started = Instant::now();
        let still = wait_until_none(Duration::from_millis(30), Duration::from_millis(5), || {
            Some("a socket")
        });
        assert_eq!(still, Some("a socket"));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn the_marker_is_one_line_even_with_a_long_reason_on_several() {
        let mut out = Vec::new();
        write_marker(&mut out, READY_MARKER).unwrap();
        assert_eq!(out, b"SEMIFAAS-CHECKPOINT-READY\n");

        let reason = format!("sockets still open:\nfd 12 {}", "é".repeat(2000));
        let mut out = Vec::new();
        write_marker(&mut out, &refused_marker(&reason)).unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(line.starts_with("SEMIFAAS-CHECKPOINT-REFUSED sockets still open: fd 12 "));
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.ends_with('\n') && line.len() < 4096, "{}", line.len());
    }

    #[test]
    fn the_parent_death_signal_is_kept_per_thread() {
        // On a thread of its own: the test harness's threads keep theirs.
        thread::spawn(|| {
            assert_eq!(parent_death_signal().unwrap(), 0);
            set_parent_death_signal(libc::SIGKILL).unwrap();
            assert_eq!(parent_death_signal().unwrap(), libc::SIGKILL);
            let fresh = thread::spawn(|| parent_death_signal().unwrap());
            assert_eq!(fresh.join().unwrap(), 0, "a new thread does not inherit it");
            set_parent_death_signal(0).unwrap();
            assert_eq!(parent_death_signal().unwrap(), 0);
        })
        .join()
        .unwrap();
    }
}
