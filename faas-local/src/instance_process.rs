//! An instance's process as the platform holds it: one it spawned (in its own process group,
//! or as the first process of its own PID namespace for snapshots), or a copy restored from a
//! snapshot (a child of this process, known by its pidfd). Either can be waited for and killed
//! with everything it started.

use std::os::fd::{AsRawFd, OwnedFd};

use tokio::io::unix::AsyncFd;
use tokio::process::Child;

use crate::snapshot;

pub(crate) enum InstanceProcess {
    Spawned {
        child: Child,
        /// `child` is `unshare`, and the instance the first process of its PID namespace.
        namespace: bool,
    },
    Restored {
        pidfd: AsyncFd<OwnedFd>,
        reaped: bool,
    },
}

impl InstanceProcess {
    pub(crate) fn restored(pidfd: OwnedFd) -> std::io::Result<Self> {
        // SAFETY: the AsyncFd owns the descriptor, which stays open until it is dropped.
        let pidfd = unsafe { AsyncFd::register(pidfd) }.map_err(|e| e.into_parts().1)?;
        Ok(InstanceProcess::Restored {
            pidfd,
            reaped: false,
        })
    }

    /// Waits until the process has exited (and reaps it); returns how it ended.
    pub(crate) async fn wait(&mut self) -> String {
        match self {
            InstanceProcess::Spawned { child, .. } => {
                let pid = child.id();
                let status = child.wait().await;
                // Children the runtime left behind in its group.
                if let Some(pid) = pid {
                    signal_group(pid);
                }
                match status {
                    Ok(status) => status.to_string(),
                    Err(e) => format!("could not wait for the process: {e}"),
                }
            }
            InstanceProcess::Restored { pidfd, reaped, .. } => {
                // A pidfd turns readable when its process exits.
                if let Err(e) = pidfd.readable().await.map(|mut guard| guard.retain_ready()) {
                    return format!("could not wait for the process: {e}");
                }
                *reaped = true;
                reap(pidfd.get_ref())
            }
        }
    }

    /// SIGKILL to the process and everything it started; a no-op once it has been reaped.
    pub(crate) fn kill(&self) {
        match self {
            InstanceProcess::Spawned { child, namespace } => {
                let Some(pid) = child.id() else { return };
                if *namespace {
                    // The namespace ends with its first process, and all in it.
                    if let Some(init) = snapshot::namespace_init(pid) {
                        signal(init as libc::pid_t);
                    }
                }
                signal_group(pid);
            }
            InstanceProcess::Restored { pidfd, reaped, .. } => {
                if !*reaped {
                    // SAFETY: pidfd_send_signal takes a pidfd, a signal and no info.
                    unsafe {
                        libc::syscall(
                            libc::SYS_pidfd_send_signal,
                            pidfd.get_ref().as_raw_fd(),
                            libc::SIGKILL,
                            std::ptr::null::<libc::siginfo_t>(),
                            0,
                        );
                    }
                }
            }
        }
    }
}

impl Drop for InstanceProcess {
    /// `kill_on_drop` ends a spawned `unshare` only, and nothing ends a restored copy: when the
    /// platform stops without stopping its instances, they go with it.
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reaps the exited child behind `pidfd`; its status as `std::process::ExitStatus` shows it.
fn reap(pidfd: &OwnedFd) -> String {
    // SAFETY: siginfo_t is plain data; waitid fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid with P_PIDFD takes the descriptor as its id and writes into `info`.
    let rc = unsafe {
        libc::waitid(
            libc::P_PIDFD,
            pidfd.as_raw_fd() as libc::id_t,
            &mut info,
            libc::WEXITED,
        )
    };
    if rc != 0 {
        // Not our child after all (ECHILD): it has exited, how is unknown.
        return format!("exited ({})", std::io::Error::last_os_error());
    }
    // SAFETY: after a successful waitid the status fields are set.
    let (code, status) = unsafe { (info.si_code, info.si_status()) };
    match code {
        libc::CLD_EXITED => format!("exit status: {status}"),
        _ => format!("signal: {status}"),
    }
}

fn signal(pid: libc::pid_t) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

fn signal_group(pid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pid) {
        // A negative pid names the group.
        signal(-pgid);
    }
}
