//! What the agent's two per-request natives cost a local run at ratio 0, from a real JVM:
//! `cargo bench -p semifaas-agent --bench jni_hot_path` (after `cargo build --release -p
//! semifaas-agent`, which makes the cdylib). Prints each round and writes
//! `bench-out/jni-hot-path.json`.

#[path = "../tests/common/jvm.rs"]
mod jvm;

use std::path::PathBuf;

const ROUNDS: usize = 7;
const REQUESTS_PER_ROUND: u64 = 5_000_000;

fn main() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let source = manifest.join("benches/jni/NativeBridge.java");
    let output = jvm::run_bridge(
        &source,
        &["-XX:ActiveProcessorCount=1"],
        &[ROUNDS.to_string(), REQUESTS_PER_ROUND.to_string()],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the JVM failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    print!("{stdout}");
    let rounds: Vec<f64> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("round "))
        .filter_map(|l| l.split(": ").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    let median: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("median ")?.trim().parse().ok())
        .expect("the JVM printed the median");
    assert_eq!(rounds.len(), ROUNDS, "{stdout}");
    let out = manifest
        .parent()
        .expect("the workspace root")
        .join("bench-out");
    std::fs::create_dir_all(&out).unwrap();
    let report = serde_json::json!({
        "bench": "jni_hot_path",
        "what": "shouldOffload + recordLocal per local run at ratio 0 (a candidate handler)",
        "requests_per_round": REQUESTS_PER_ROUND,
        "ns_per_request": rounds,
        "median_ns_per_request": median,
    });
    let path = out.join("jni-hot-path.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("wrote {}", path.display());
}
