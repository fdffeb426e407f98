//! `bootstrap`'s side of an instance checkpoint, without CRIU: asked by its Runtime API, a real
//! instance with a live fallback connection lets go of every socket a restored copy could not
//! own, says so on stdout, and goes on with the identity it reads from stdin.

mod support;

use std::collections::HashSet;

use semifaas_closure::InvocationOutcome;
use support::{calc_closure, java_fixtures, Instance};

const ADD: (&str, &str) = ("add", "(I)I");
const READY: &str = "SEMIFAAS-CHECKPOINT-READY";

/// The inodes of the sockets in `table` (a `/proc/net` file) whose inode is column `column`,
/// with the rest of their line.
fn socket_table(table: &str, column: usize) -> Vec<(String, Vec<String>)> {
    std::fs::read_to_string(format!("/proc/net/{table}"))
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            Some((fields.get(column)?.clone(), fields))
        })
        .collect()
}

/// The inodes of the sockets process `pid` holds.
fn sockets_of(pid: u32) -> HashSet<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect()
}

/// Of the sockets of `pid`: the UDP and TCP ones, and those that are not unnamed unix sockets.
fn inet_and_other_sockets(pid: u32) -> (Vec<String>, Vec<String>) {
    let held = sockets_of(pid);
    let inet: Vec<String> = ["udp", "udp6", "tcp", "tcp6"]
        .into_iter()
        .flat_map(|table| {
            socket_table(table, 9)
                .into_iter()
                .map(move |(inode, fields)| (inode, format!("{table} {}", fields.join(" "))))
        })
        .filter(|(inode, _)| held.contains(inode))
        .map(|(_, line)| line)
        .collect();
    // /proc/net/unix: Num RefCount Protocol Flags Type St Inode [Path].
    let unnamed_unix: HashSet<String> = socket_table("unix", 6)
        .into_iter()
        .filter(|(_, fields)| fields.len() == 7)
        .map(|(inode, _)| inode)
        .collect();
    let other = held
        .into_iter()
        .filter(|inode| !unnamed_unix.contains(inode))
        .collect();
    (inet, other)
}

/// Waits for the instance's next `/next` to be taken by a checkpoint and for its marker.
async fn checkpoint(instance: &mut Instance) -> String {
    instance.request_checkpoint();
    instance.stdout_line().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpointed_instance_holds_no_socket_and_goes_on_as_itself_or_as_a_restored_copy() {
    let java = java_fixtures();
    let closure = calc_closure(ADD.0, ADD.1);
    let id = closure.id();
    // A cache of its own: this instance records the class-data-sharing archive, so a child
    // (the archive's builder) runs when the checkpoint is asked for, and it waits for it.
    let cache = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("checkpoint-cds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let env = [("SEMIFAAS_CDS_DIR", cache.to_str().unwrap())];
    let mut instance = Instance::start_with_pipes(vec![closure], &env, "k3y-1").await;
    let returned_42 = InvocationOutcome::Returned(java.value_42.clone());

    let cold = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_eq!(cold.outcome, returned_42);
    assert!(cold.stats.cold);
    let (inet, _) = inet_and_other_sockets(instance.pid());
    for table in ["udp", "tcp"] {
        assert!(
            inet.iter().any(|line| line.starts_with(table)),
            "the fallback connection (UDP) and the Runtime API's (TCP) hold sockets: {inet:?}"
        );
    }

    // The process that was checkpointed goes on: a new Runtime API, its own instance id, warm.
    assert_eq!(checkpoint(&mut instance).await, READY);
    assert!(
        std::fs::read_dir(&cache)
            .unwrap()
            .any(|f| f.unwrap().path().extension() == Some("jsa".as_ref())),
        "the archive's builder finished before the instance was ready"
    );
    assert_eq!(
        inet_and_other_sockets(instance.pid()),
        (vec![], vec![]),
        "only unnamed unix sockets (tokio's signal pipe) are left"
    );
    let api = instance.move_api("k3y-2").await;
    instance.write_stdin(&format!(
        r#"{{"runtime_api":"{api}","instance_id":"fn-1"}}"#
    ));
    let resumed = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_eq!(resumed.outcome, returned_42);
    assert!(
        !resumed.stats.cold,
        "the process that was checkpointed stays warm"
    );
    assert_eq!(resumed.stats.jvm_start_us, 0);
    assert_eq!(resumed.stats.instance_id, "fn-1");
    assert_eq!(
        resumed.stats.fallbacks.fetch_closure, 0,
        "the closure stays installed"
    );

    // A restored copy: its restore is its cold start, its closures are installed.
    assert_eq!(checkpoint(&mut instance).await, READY);
    let api = instance.move_api("k3y-3").await;
    instance.write_stdin(&format!(
        r#"{{"runtime_api":"{api}","instance_id":"fn-2","restore_ms":63.2}}"#
    ));
    let restored = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_eq!(restored.outcome, returned_42);
    assert!(
        restored.stats.cold,
        "a restored copy's first invocation is its cold start"
    );
    assert_eq!(restored.stats.jvm_start_us, 63_200);
    assert_eq!(restored.stats.instance_id, "fn-2");
    assert_eq!(restored.stats.fallbacks.fetch_closure, 0);
    assert_eq!(restored.stats.fallbacks.load_class, 0);
    let warm = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert!(!warm.stats.cold);
    assert_eq!(warm.stats.jvm_start_us, 0);
    assert_eq!(
        instance
            .service
            .closure_fetches
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );

    // The platform drops a process it checkpointed by closing its stdin.
    assert_eq!(checkpoint(&mut instance).await, READY);
    instance.close_stdin();
    assert!(instance.wait_exit().success());
    let _ = std::fs::remove_dir_all(&cache);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_identity_line_ends_the_instance_with_a_failure() {
    let env = [("SEMIFAAS_CDS_DIR", "off")];
    let mut instance = Instance::start_with_pipes(vec![], &env, "k3y").await;
    assert_eq!(checkpoint(&mut instance).await, READY);
    instance.write_stdin(r#"{"runtime_api":"127.0.0.1:1/k3y"}"#);
    assert!(!instance.wait_exit().success());
}
