//! Drives the built `libsemifaas_agent.so` from a real JVM through the `NativeBridge` JNI
//! contract (a stand-in bridge class in `tests/jni/`), against the test platform.

mod common;

use std::path::PathBuf;

use common::jvm;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jvm_drives_the_agent_through_its_natives() {
    let (platform, _log) = common::start_platform(None).await;
    let admin_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/jni/NativeBridge.java");
    let args = vec![format!("http://{platform}"), admin_port.to_string()];
    let output =
        tokio::task::spawn_blocking(move || jvm::run_bridge(&source, &["-Xcheck:jni"], &args))
            .await
            .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the JVM failed:\n{stdout}\n{stderr}"
    );
    assert!(
        !stderr.contains("WARNING in native method"),
        "-Xcheck:jni found misuse:\n{stderr}"
    );
    assert!(
        stdout.contains("rejected bad class bytes: class com.example.ImageController"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rejected null class name: className is null"),
        "{stdout}"
    );

    let stats: Value =
        serde_json::from_str(stdout.lines().last().unwrap()).expect("last line is the stats JSON");
    let h = &stats["handlers"]["com.example.ImageController#resize"];
    assert_eq!(h["invocations"], 2, "{stats}");
    // One offload succeeded but its result was then reported unusable: it moved to failures.
    assert_eq!(h["offloaded"], 0, "{stats}");
    assert_eq!(h["local"], 1, "{stats}");
    assert_eq!(h["failure_reasons"]["result_unusable"], 1, "{stats}");
    assert_eq!(h["fallbacks"]["fetch_closure"], 1, "{stats}");
    assert_eq!(h["fallbacks"]["load_class"], 1, "{stats}");
    assert_eq!(h["reexecuted"], 1, "{stats}");
    assert_eq!(h["diverged"], 1, "{stats}");
    assert!(
        h["last_failure"]
            .as_str()
            .unwrap()
            .starts_with("diverged: call #2"),
        "{stats}"
    );
    let log = &stats["call_log"];
    assert_eq!(
        (
            &log["logs"],
            &log["max_entries"],
            &log["max_bytes"],
            &log["over_cap"]
        ),
        (&2.into(), &3.into(), &4096.into(), &1.into()),
        "{stats}"
    );
    let remote = &stats["handlers"]["com.example.ImageController#remote"];
    assert_eq!(remote["fallbacks"]["invoke"], 1, "{stats}");
    assert_eq!(remote["offloaded"], 1, "{stats}");
    assert_eq!(
        stats["handlers"]["com.example.Other#get"]["ineligible_reason"],
        "returns a CompletableFuture"
    );
}
