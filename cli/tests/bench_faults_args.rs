//! `semifaas bench faults` refuses bad input before starting anything, naming what is wrong.

use std::{path::PathBuf, process::Command};

fn faults(args: &[&str]) -> (bool, String) {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-faults-args");
    let output = Command::new(env!("CARGO_BIN_EXE_semifaas"))
        .args(["bench", "--out"])
        .arg(&out)
        .arg("faults")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn unknown_faults_and_samples_are_refused_naming_the_choices() {
    let (ok, stderr) = faults(&["--faults", "none,meteor"]);
    assert!(!ok);
    assert!(stderr.contains("invalid value 'meteor'"), "{stderr}");
    assert!(stderr.contains("platform-kill"), "{stderr}");

    let (ok, stderr) = faults(&["--sample", "shop"]);
    assert!(!ok);
    assert!(stderr.contains("invalid value 'shop'"), "{stderr}");
}

#[test]
fn bad_load_flags_are_refused() {
    let (ok, stderr) = faults(&["--rate", "0"]);
    assert!(!ok);
    assert!(
        stderr.contains("--rate must be a positive number"),
        "{stderr}"
    );

    let (ok, stderr) = faults(&["--requests-per-fault", "0"]);
    assert!(!ok);
    assert!(
        stderr.contains("--requests-per-fault must be at least 1"),
        "{stderr}"
    );

    let (ok, stderr) = faults(&["--timeout-ms", "0"]);
    assert!(!ok);
    assert!(
        stderr.contains("--timeout-ms must be at least 1"),
        "{stderr}"
    );
}

#[test]
fn the_help_lists_every_fault() {
    let output = Command::new(env!("CARGO_BIN_EXE_semifaas"))
        .args(["bench", "faults", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for fault in [
        "none",
        "instance-kill",
        "fallback-drop",
        "throttle",
        "timeout",
        "platform-restart",
        "platform-kill",
    ] {
        assert!(help.contains(fault), "{fault} missing from:\n{help}");
    }
}
