//! Snapshot starts: a function version's later cold starts restore a copy of one of its warm
//! instances, checkpointed with CRIU, instead of starting a process and a JVM and warming them.
//!
//! The exchange with `bootstrap` (docs/internals.md, "Snapshot starts"):
//! 1. An instance started for snapshots is the first process of its own PID namespace (CRIU
//!    restores process ids, so every copy needs a namespace of its own) and reads its stdin.
//! 2. Once it has served [`SnapshotConfig::after_invocations`] invocations and the version has
//!    no snapshot, its next `/next` is answered with [`CHECKPOINT_HEADER`] instead of an
//!    invocation. It closes its sockets (CRIU cannot give two copies the same one) and prints
//!    [`READY_MARKER`] (or [`REFUSED_MARKER`] and why).
//! 3. The platform dumps it (`criu dump --leave-running`; it keeps running) and hands it its
//!    identity again as one JSON line on stdin: its Runtime API and its id.
//! 4. A restore gives each copy new stdin, stdout and stderr pipes in place of the checkpointed
//!    process's (`--inherit-fd`), then the copy's own identity line, with how long the restore
//!    took; the copy reconnects and serves warm at once.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;
use tokio::process::Command;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::config::SnapshotConfig;

pub(crate) use semifaas_closure::checkpoint::{
    CHECKPOINTABLE_ENV, HEADER as CHECKPOINT_HEADER, READY_MARKER, REFUSED_MARKER,
};
/// Failed checkpoints of one version before the platform stops trying.
const CHECKPOINT_ATTEMPTS: u32 = 3;
/// Starts each instance as the first process of a PID namespace of its own.
pub(crate) const UNSHARE: &str = "unshare";
/// The restored copy's descriptors, as CRIU receives them: out of the way of its own.
const INHERITED_FDS: [RawFd; 3] = [200, 201, 202];

#[derive(Debug, thiserror::Error)]
pub(crate) enum SnapshotError {
    #[error("cannot prepare the snapshot directory {path}: {source}", path = path.display())]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run {criu}: {source}", criu = criu.display())]
    Spawn {
        criu: PathBuf,
        source: std::io::Error,
    },
    #[error("criu {action} failed ({status}); its log: {log}", log = log.display())]
    Criu {
        action: &'static str,
        status: std::process::ExitStatus,
        log: PathBuf,
    },
    #[error("the checkpointed process's {what}: {source}")]
    Process {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("the instance refused the checkpoint: {0}")]
    Refused(String),
}

/// The platform's snapshots: its settings and the directory that holds every checkpoint.
pub(crate) struct Snapshotter {
    config: SnapshotConfig,
    root: PathBuf,
    seq: AtomicU64,
}

impl Snapshotter {
    /// Checks what snapshots need (root, CRIU, `unshare`) and makes the checkpoints' directory.
    pub(crate) fn new(config: SnapshotConfig) -> Result<Self, String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("CRIU checkpoints and restores processes as root only: run the platform as root, or without snapshots".into());
        }
        for tool in [config.criu.as_path(), Path::new(UNSHARE)] {
            let found = std::process::Command::new(tool)
                .arg("--version")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            if !found.is_ok_and(|s| s.success()) {
                return Err(format!(
                    "cannot run {} --version: snapshots need CRIU (experiments/criu/build-criu.sh builds one) and util-linux's unshare",
                    tool.display()
                ));
            }
        }
        Self::in_temp_dir(config)
    }

    fn in_temp_dir(config: SnapshotConfig) -> Result<Self, String> {
        let root = std::env::temp_dir().join(format!(
            "faas-local-snapshots-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        fs::create_dir_all(&root)
            .and_then(|()| fs::set_permissions(&root, fs::Permissions::from_mode(0o700)))
            .map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        Ok(Self {
            config,
            root,
            seq: AtomicU64::new(0),
        })
    }

    fn new_dir(&self, name: &str) -> Result<PathBuf, SnapshotError> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let path = self.root.join(format!("{name}-{seq}"));
        fs::create_dir(&path).map_err(|source| SnapshotError::Dir {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    async fn run_criu(
        &self,
        action: &'static str,
        args: Vec<OsString>,
        log: PathBuf,
        inherited: Option<[RawFd; 3]>,
    ) -> Result<(), SnapshotError> {
        let mut command = Command::new(&self.config.criu);
        command
            .arg(action)
            .args(args)
            .arg("-o")
            .arg(&log)
            // CRIU's probe of the kernel, cached for the platform's life (deploy/criu's
            // kdat-cache.patch; a CRIU without it caches in /run when that is a tmpfs).
            .env("CRIU_KDAT_DIR", &self.root)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(fds) = inherited {
            // SAFETY: dup2 is async-signal-safe; the targets are free numbers the copy's pipes
            // take without close-on-exec, so CRIU can hand them over.
            unsafe {
                command.pre_exec(move || {
                    for (from, to) in fds.into_iter().zip(INHERITED_FDS) {
                        if libc::dup2(from, to) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        let status = command
            .status()
            .await
            .map_err(|source| SnapshotError::Spawn {
                criu: self.config.criu.clone(),
                source,
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(SnapshotError::Criu {
                action,
                status,
                log,
            })
        }
    }

    /// Dumps the process tree under `pid` (the first process of its PID namespace), which
    /// keeps running.
    async fn checkpoint(&self, function: &str, pid: u32) -> Result<Snapshot, SnapshotError> {
        let stdio = stdio_pipes(pid)?;
        let dir = self.new_dir(function)?;
        let started = Instant::now();
        let args = vec![
            "-t".into(),
            pid.to_string().into(),
            "-D".into(),
            dir.clone().into(),
            "--leave-running".into(),
        ];
        // On failure the directory stays, for its log, until the platform stops.
        self.run_criu("dump", args, dir.join("dump.log"), None)
            .await?;
        let snapshot = Snapshot {
            bytes: dir_bytes(&dir),
            dir,
            stdio,
        };
        info!(
            function,
            dir = %snapshot.dir.display(),
            mb = snapshot.bytes / 1_000_000,
            dump_ms = started.elapsed().as_millis() as u64,
            "instance checkpointed"
        );
        Ok(snapshot)
    }

    /// Restores a copy of `snapshot` in a PID namespace of its own, a child of this process.
    pub(crate) async fn restore(
        &self,
        snapshot: &Snapshot,
        instance_id: &str,
    ) -> Result<Restored, SnapshotError> {
        let started = Instant::now();
        let work = self.new_dir(&format!("restore-{instance_id}"))?;
        let pipes = [new_pipe()?, new_pipe()?, new_pipe()?];
        // The copy reads stdin and writes stdout and stderr: it gets those ends.
        let child_ends = [
            pipes[0].0.as_raw_fd(),
            pipes[1].1.as_raw_fd(),
            pipes[2].1.as_raw_fd(),
        ];
        let pidfile = work.join("pid");
        let mut args: Vec<OsString> = vec![
            "-D".into(),
            snapshot.dir.clone().into(),
            "-W".into(),
            work.clone().into(),
            "--restore-detached".into(),
            // The copy becomes this process's child, which reaps it.
            "--restore-sibling".into(),
            "--pidfile".into(),
            pidfile.clone().into(),
        ];
        for (fd, resource) in INHERITED_FDS.iter().zip(&snapshot.stdio) {
            args.push("--inherit-fd".into());
            args.push(format!("fd[{fd}]:{resource}").into());
        }
        self.run_criu("restore", args, work.join("restore.log"), Some(child_ends))
            .await?;
        let [(stdin_read, stdin), (stdout, stdout_write), (stderr, stderr_write)] = pipes;
        drop((stdin_read, stdout_write, stderr_write));
        let pid = fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .ok_or_else(|| SnapshotError::Process {
                what: "pid file",
                source: std::io::Error::other(format!("no pid in {}", pidfile.display())),
            })?;
        let pidfd = pidfd_open(pid).map_err(|source| SnapshotError::Process {
            what: "pidfd",
            source,
        })?;
        let _ = fs::remove_dir_all(&work);
        Ok(Restored {
            pid,
            pidfd,
            stdin,
            stdout,
            stderr,
            took: started.elapsed(),
        })
    }
}

impl Drop for Snapshotter {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// One checkpoint on disk, removed with the last copy of this value.
pub(crate) struct Snapshot {
    dir: PathBuf,
    /// The checkpointed process's stdin, stdout and stderr pipes as CRIU names them
    /// (`pipe:[inode]`): a restore substitutes new pipes for them.
    stdio: [String; 3],
    bytes: u64,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A restored copy: a child of this process, blocked on its identity line.
pub(crate) struct Restored {
    pub(crate) pid: i32,
    pub(crate) pidfd: OwnedFd,
    pub(crate) stdin: OwnedFd,
    pub(crate) stdout: OwnedFd,
    pub(crate) stderr: OwnedFd,
    pub(crate) took: Duration,
}

/// What the checkpointed or restored instance is told after the dump or restore.
#[derive(Debug, Serialize)]
pub(crate) struct Identity<'a> {
    pub(crate) runtime_api: &'a str,
    pub(crate) instance_id: &'a str,
    /// Only for a restored copy: its cold start was this restore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) restore_ms: Option<f64>,
}

impl Identity<'_> {
    pub(crate) fn line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("an identity always encodes");
        line.push(b'\n');
        line
    }
}

/// One function version's snapshot: none yet, being taken, ready, or given up on.
pub(crate) struct FunctionSnapshots {
    snapshotter: Arc<Snapshotter>,
    state: Mutex<SlotState>,
}

impl std::fmt::Debug for FunctionSnapshots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.status())
    }
}

enum SlotState {
    Empty {
        failures: u32,
        last_error: Option<String>,
    },
    Taking {
        failures: u32,
        /// The instance being checkpointed.
        by: String,
    },
    Ready(Arc<Snapshot>),
    GaveUp(String),
}

impl FunctionSnapshots {
    pub(crate) fn new(snapshotter: Arc<Snapshotter>) -> Self {
        Self {
            snapshotter,
            state: Mutex::new(SlotState::Empty {
                failures: 0,
                last_error: None,
            }),
        }
    }

    pub(crate) fn snapshotter(&self) -> &Arc<Snapshotter> {
        &self.snapshotter
    }

    /// Whether `instance`, which has served `served` invocations, should be checkpointed now;
    /// if so, the version's snapshot is being taken from it.
    pub(crate) fn claim_checkpoint(&self, served: u64, instance: &str) -> bool {
        if served < self.snapshotter.config.after_invocations {
            return false;
        }
        let mut state = self.state.lock();
        let SlotState::Empty { failures, .. } = *state else {
            return false;
        };
        *state = SlotState::Taking {
            failures,
            by: instance.to_owned(),
        };
        true
    }

    fn is_taken_from(&self, instance: &str) -> bool {
        matches!(&*self.state.lock(), SlotState::Taking { by, .. } if by == instance)
    }

    /// `instance` ended: if its checkpoint was under way, it failed.
    fn instance_ended(&self, instance: &str) {
        if self.is_taken_from(instance) {
            self.finished(Err(SnapshotError::Refused(
                "the instance ended before its checkpoint".into(),
            )));
        }
    }

    /// The snapshot to restore a new instance from, if there is one.
    pub(crate) fn ready(&self) -> Option<Arc<Snapshot>> {
        match &*self.state.lock() {
            SlotState::Ready(snapshot) => Some(snapshot.clone()),
            _ => None,
        }
    }

    fn finished(&self, result: Result<Snapshot, SnapshotError>) {
        let mut state = self.state.lock();
        let failures = match *state {
            SlotState::Taking { failures, .. } => failures,
            _ => 0,
        };
        *state = match result {
            Ok(snapshot) => SlotState::Ready(Arc::new(snapshot)),
            Err(e) => failed(failures, e.to_string()),
        };
    }

    /// A restore from `snapshot` failed: the version takes a new one.
    pub(crate) fn restore_failed(&self, snapshot: &Arc<Snapshot>, error: &SnapshotError) {
        let mut state = self.state.lock();
        if matches!(&*state, SlotState::Ready(current) if Arc::ptr_eq(current, snapshot)) {
            *state = failed(0, format!("a restore failed: {error}"));
        }
    }

    /// For `/local/stats`: `none`, `taking`, `ready (N MB)`, or why there is none.
    pub(crate) fn status(&self) -> String {
        match &*self.state.lock() {
            SlotState::Empty {
                last_error: None, ..
            } => "none".to_owned(),
            SlotState::Empty {
                last_error: Some(e),
                failures,
            } => format!("none ({failures} failed: {e})"),
            SlotState::Taking { .. } => "taking".to_owned(),
            SlotState::Ready(snapshot) => format!("ready ({} MB)", snapshot.bytes / 1_000_000),
            SlotState::GaveUp(e) => format!("given up: {e}"),
        }
    }
}

fn failed(failures_before: u32, error: String) -> SlotState {
    warn!(%error, "no snapshot");
    let failures = failures_before + 1;
    if failures >= CHECKPOINT_ATTEMPTS {
        SlotState::GaveUp(error)
    } else {
        SlotState::Empty {
            failures,
            last_error: Some(error),
        }
    }
}

/// What an instance's stdout says about a checkpoint it was asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    Ready,
    Refused(String),
}

impl Marker {
    /// The marker a line of instance output is, if it is one.
    pub(crate) fn parse(line: &str) -> Option<Marker> {
        if line == READY_MARKER {
            return Some(Marker::Ready);
        }
        let reason = line.strip_prefix(REFUSED_MARKER)?;
        Some(Marker::Refused(reason.trim().to_owned()))
    }
}

/// Serves one instance's checkpoints: on each marker, dumps it (when ready), records the
/// version's snapshot, and hands the instance its identity again. `pid`: the first process of
/// the instance's PID namespace, once it is known. Ends with the instance's output.
pub(crate) async fn answer_checkpoints(
    snapshots: Arc<FunctionSnapshots>,
    (function, instance): (String, String),
    mut markers: mpsc::UnboundedReceiver<Marker>,
    mut stdin: pipe::Sender,
    pid: impl Fn() -> Option<u32> + Send + 'static,
    identity: Vec<u8>,
) {
    while let Some(marker) = markers.recv().await {
        // Only `bootstrap` asked for a checkpoint prints a marker; a handler printing one is
        // not asked anything.
        if !snapshots.is_taken_from(&instance) {
            warn!(%function, %instance, ?marker, "ignored a checkpoint marker nobody asked for");
            continue;
        }
        let result = match (marker, pid()) {
            (Marker::Ready, Some(pid)) => snapshots.snapshotter.checkpoint(&function, pid).await,
            (Marker::Ready, None) => Err(SnapshotError::Process {
                what: "pid",
                source: std::io::Error::other("its PID namespace has no process"),
            }),
            (Marker::Refused(reason), _) => Err(SnapshotError::Refused(reason)),
        };
        snapshots.finished(result);
        if let Err(e) = stdin.write_all(&identity).await {
            warn!(%function, %instance, error = %e, "cannot hand the checkpointed instance its identity");
            break;
        }
    }
    snapshots.instance_ended(&instance);
}

/// The `pipe:[inode]` names of `pid`'s stdin, stdout and stderr.
fn stdio_pipes(pid: u32) -> Result<[String; 3], SnapshotError> {
    let name = |fd: u32| {
        let link = fs::read_link(format!("/proc/{pid}/fd/{fd}")).map_err(|source| {
            SnapshotError::Process {
                what: "standard streams",
                source,
            }
        })?;
        let link = link.to_string_lossy().into_owned();
        if link.starts_with("pipe:[") {
            Ok(link)
        } else {
            Err(SnapshotError::Process {
                what: "standard streams",
                source: std::io::Error::other(format!("fd {fd} is {link}, not a pipe")),
            })
        }
    };
    Ok([name(0)?, name(1)?, name(2)?])
}

/// The first process of the PID namespace that `unshare --pid --fork` (process `unshare_pid`)
/// made: its only child.
pub(crate) fn namespace_init(unshare_pid: u32) -> Option<u32> {
    let children =
        fs::read_to_string(format!("/proc/{unshare_pid}/task/{unshare_pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut dirs = VecDeque::from([dir.to_path_buf()]);
    while let Some(dir) = dirs.pop_front() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => dirs.push_back(entry.path()),
                Ok(meta) => total += meta.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// A pipe (read end, write end), both close-on-exec.
fn new_pipe() -> Result<(OwnedFd, OwnedFd), SnapshotError> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(SnapshotError::Process {
            what: "pipes",
            source: std::io::Error::last_os_error(),
        });
    }
    // SAFETY: both were just opened and are owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A descriptor that stays valid for `pid` even after its number is reused.
pub(crate) fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new descriptor owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_whole_lines_of_their_own() {
        assert_eq!(Marker::parse(READY_MARKER), Some(Marker::Ready));
        assert_eq!(
            Marker::parse("SEMIFAAS-CHECKPOINT-REFUSED a socket is still open"),
            Some(Marker::Refused("a socket is still open".into()))
        );
        assert_eq!(Marker::parse("SEMIFAAS-CHECKPOINT-READY now"), None);
        assert_eq!(Marker::parse("INFO SEMIFAAS-CHECKPOINT-READY"), None);
    }

    #[test]
    fn identity_lines_say_restore_time_only_for_copies() {
        let line = Identity {
            runtime_api: "127.0.0.1:1/k",
            instance_id: "2026/12/01/[$LATEST]abc",
            restore_ms: None,
        }
        .line();
        assert_eq!(
            line,
            b"{\"runtime_api\":\"127.0.0.1:1/k\",\"instance_id\":\"2026/12/01/[$LATEST]abc\"}\n"
        );
        let line = Identity {
            runtime_api: "a",
            instance_id: "b",
            restore_ms: Some(61.5),
        }
        .line();
        assert!(line.ends_with(b",\"restore_ms\":61.5}\n"));
    }

    #[test]
    fn a_version_tries_three_checkpoints_counting_an_instance_that_ended_first() {
        let snapshotter = Arc::new(
            Snapshotter::in_temp_dir(SnapshotConfig {
                criu: "criu".into(),
                after_invocations: 2,
            })
            .unwrap(),
        );
        let slot = FunctionSnapshots::new(snapshotter);
        assert!(!slot.claim_checkpoint(1, "a"), "too few invocations yet");
        assert!(slot.claim_checkpoint(2, "a"));
        slot.instance_ended("b");
        assert_eq!(
            slot.status(),
            "taking",
            "another instance's end changes nothing"
        );
        slot.instance_ended("a");
        assert!(
            slot.status().contains("ended before its checkpoint"),
            "{}",
            slot.status()
        );
        for attempt in 2..=3 {
            assert!(slot.claim_checkpoint(2, "a"), "attempt {attempt}");
            assert!(!slot.claim_checkpoint(5, "b"), "one checkpoint at a time");
            assert_eq!(slot.status(), "taking");
            slot.finished(Err(SnapshotError::Refused("no".into())));
        }
        assert!(!slot.claim_checkpoint(9, "c"));
        assert!(
            slot.status().starts_with("given up: the instance refused"),
            "{}",
            slot.status()
        );
        assert!(slot.ready().is_none());
    }
}
