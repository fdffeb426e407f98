//! `semifaas bench burst` refuses bad input before starting anything, naming what is wrong.

use std::{path::PathBuf, process::Command};

fn burst(args: &[&str]) -> (bool, String) {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-burst-args");
    let output = Command::new(env!("CARGO_BIN_EXE_semifaas"))
        .args(["bench", "--out"])
        .arg(&out)
        .arg("burst")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn unreadable_or_malformed_profiles_are_refused() {
    let (ok, stderr) = burst(&["--profile", "/nonexistent/burst-profile.txt"]);
    assert!(!ok);
    assert!(
        stderr.contains("/nonexistent/burst-profile.txt"),
        "{stderr}"
    );

    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bad-profile.txt");
    std::fs::write(&file, "5 10\n5 lots\n").unwrap();
    let (ok, stderr) = burst(&["--profile", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("profile line 2"), "{stderr}");
}

#[test]
fn bad_step_flags_are_refused() {
    let (ok, stderr) = burst(&["--burst-s", "0"]);
    assert!(!ok);
    assert!(stderr.contains("phase 1: duration 0 s"), "{stderr}");

    let (ok, stderr) = burst(&["--warm-instances", "9", "--concurrency", "2"]);
    assert!(!ok);
    assert!(
        stderr.contains("--warm-instances 9 exceeds --concurrency 2"),
        "{stderr}"
    );

    let (ok, stderr) = burst(&["--manual-ratio", "1.5"]);
    assert!(!ok);
    assert!(
        stderr.contains("--manual-ratio must be in [0,1]"),
        "{stderr}"
    );
}
