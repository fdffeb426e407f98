//! Processes from `/proc`: the platform's instances (faas-local starts each as its own child in
//! its own process group, so signalling the group reaches the instance and what it started),
//! which of them is running, and signals to them.

use std::time::Duration;

/// The processes whose parent is `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| stat_fields(child).is_some_and(|f| f.get(1) == Some(&pid.to_string())))
        .collect()
}

/// The fields of `/proc/<pid>/stat` after the command name, from the state (field 3) on.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.get(stat.rfind(')')? + 2..)?;
    Some(after_name.split_whitespace().map(str::to_owned).collect())
}

/// CPU time of every thread of `pid` so far, in nanoseconds (`schedstat`: clock ticks are too
/// coarse for a handler that runs a millisecond).
fn cpu_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    Some(
        tasks
            .filter_map(|t| {
                let path = t.ok()?.path().join("schedstat");
                let text = std::fs::read_to_string(path).ok()?;
                text.split_whitespace().next()?.parse::<u64>().ok()
            })
            .sum(),
    )
}

/// Of `processes`, the one that ran for more than half of `window`, if one did: an instance in
/// the middle of an invocation (an idle JVM's own threads use a few microseconds).
pub async fn running(processes: &[u32], window: Duration) -> Option<u32> {
    let before: Vec<(u32, u64)> = processes
        .iter()
        .copied()
        .filter_map(|c| Some((c, cpu_ns(c)?)))
        .collect();
    tokio::time::sleep(window).await;
    let half = u64::try_from(window.as_nanos() / 2).unwrap_or(u64::MAX);
    before
        .into_iter()
        .filter_map(|(c, then)| Some((c, cpu_ns(c)?.saturating_sub(then))))
        .filter(|&(_, used)| used > half)
        .max_by_key(|&(_, used)| used)
        .map(|(c, _)| c)
}

/// `signal` to the process group `pgid` (an instance and whatever it started).
pub fn signal_group(pgid: u32, signal: libc::c_int) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names the group.
    unsafe { libc::kill(-pgid, signal) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_child_and_its_cpu_time() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let me = std::process::id();
        assert!(children(me).contains(&child.id()));
        assert!(cpu_ns(child.id()).is_some());
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
