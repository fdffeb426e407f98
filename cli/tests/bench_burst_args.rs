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

#[test]
fn bad_cost_settings_are_refused_naming_the_flag() {
    for (flag, value, why) in [
        (
            "--price-gb-second",
            "-0.00001",
            "a price cannot be negative",
        ),
        ("--price-request", "cheap", "is not a number"),
        ("--price-server-hour", "NaN", "is not a number"),
        ("--server-vcpus", "0", "0 is not in 1.."),
        ("--always-on-s", "0", "use a positive number of seconds"),
    ] {
        let (ok, stderr) = burst(&[flag, value]);
        assert!(!ok, "{flag} {value}");
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag}")),
            "{stderr}"
        );
        assert!(stderr.contains(why), "{stderr}");
    }
}

#[test]
fn help_states_the_default_prices() {
    let output = Command::new(env!("CARGO_BIN_EXE_semifaas"))
        .args(["bench", "burst", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "[default: 0.0000166667]",
        "[default: 0.0000002]",
        "[default: 0.08925]",
        "c7i.large",
        "us-east-1",
    ] {
        assert!(help.contains(expected), "no {expected:?} in {help}");
    }
}
