//! `semifaas bench` refuses bad input before starting anything, naming what is wrong.

use std::{path::PathBuf, process::Command};

/// Runs `semifaas bench --out <tmp> <command> <args>`: whether it succeeded, and its stderr.
fn bench(command: &str, args: &[&str]) -> (bool, String) {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-{command}-args"));
    let output = Command::new(env!("CARGO_BIN_EXE_semifaas"))
        .args(["bench", "--out"])
        .arg(&out)
        .arg(command)
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
    let (ok, stderr) = bench("burst", &["--profile", "/nonexistent/burst-profile.txt"]);
    assert!(!ok);
    assert!(
        stderr.contains("/nonexistent/burst-profile.txt"),
        "{stderr}"
    );

    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bad-profile.txt");
    std::fs::write(&file, "5 10\n5 lots\n").unwrap();
    let (ok, stderr) = bench("burst", &["--profile", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("profile line 2"), "{stderr}");
}

#[test]
fn bad_step_flags_are_refused() {
    let (ok, stderr) = bench("burst", &["--burst-s", "0"]);
    assert!(!ok);
    assert!(stderr.contains("phase 1: duration 0 s"), "{stderr}");

    let (ok, stderr) = bench("burst", &["--warm-instances", "9", "--concurrency", "2"]);
    assert!(!ok);
    assert!(
        stderr.contains("--warm-instances 9 exceeds --concurrency 2"),
        "{stderr}"
    );

    let (ok, stderr) = bench("burst", &["--manual-ratio", "1.5"]);
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
        let (ok, stderr) = bench("burst", &[flag, value]);
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

#[test]
fn unknown_faults_and_samples_are_refused_naming_the_choices() {
    let (ok, stderr) = bench("faults", &["--faults", "none,meteor"]);
    assert!(!ok);
    assert!(stderr.contains("invalid value 'meteor'"), "{stderr}");
    assert!(stderr.contains("platform-kill"), "{stderr}");

    let (ok, stderr) = bench("faults", &["--sample", "shop"]);
    assert!(!ok);
    assert!(stderr.contains("invalid value 'shop'"), "{stderr}");
}

#[test]
fn bad_load_flags_are_refused() {
    let (ok, stderr) = bench("faults", &["--rate", "0"]);
    assert!(!ok);
    assert!(
        stderr.contains("--rate must be a positive number"),
        "{stderr}"
    );

    let (ok, stderr) = bench("faults", &["--requests-per-fault", "0"]);
    assert!(!ok);
    assert!(
        stderr.contains("--requests-per-fault must be at least 1"),
        "{stderr}"
    );

    let (ok, stderr) = bench("faults", &["--timeout-ms", "0"]);
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

#[test]
fn bad_cold_variants_are_refused_naming_the_flag() {
    for (args, why) in [
        (
            &["--variant", "c1"][..],
            "expected `default` or NAME=JVM_OPTIONS",
        ),
        (
            &["--variant", "=-Xshare:off"],
            "expected `default` or NAME=JVM_OPTIONS",
        ),
        (
            &["--variant", "a=-Xss1m", "--variant", "a=-Xss2m"],
            "the name \"a\" is given twice",
        ),
        (
            &[
                "--variant",
                "c1=-XX:TieredStopAtLevel=1",
                "--platform",
                "openwhisk",
            ],
            "needs --platform lambda",
        ),
    ] {
        let (ok, stderr) = bench("cold", args);
        assert!(!ok, "{args:?} was accepted");
        assert!(
            stderr.contains("--variant") && stderr.contains(why),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn bad_capacity_flags_are_refused_naming_the_flag() {
    for (flag, value, why) in [
        ("--connections", "0", "must be at least 1"),
        ("--requests", "0", "must be at least 1"),
        ("--requests", "many", "\"many\" is not a whole number"),
        ("--warmup", "some", "invalid value 'some'"),
        ("--min-seconds", "0", "must be a positive number of seconds"),
        ("--max-warmup-seconds", "soon", "\"soon\" is not a number"),
    ] {
        let (ok, stderr) = bench("capacity", &[flag, value]);
        assert!(!ok, "{flag} {value}");
        assert!(
            stderr.contains(&format!("for '{flag}")),
            "{flag} {value}: {stderr}"
        );
        assert!(stderr.contains(why), "{flag} {value}: {stderr}");
    }

    let (ok, stderr) = bench("capacity", &["--sample", "shop"]);
    assert!(!ok);
    assert!(stderr.contains("invalid value 'shop'"), "{stderr}");
    assert!(
        stderr.contains("image") && stderr.contains("blog"),
        "{stderr}"
    );
}

#[test]
fn capacity_help_states_the_defaults() {
    let output = Command::new(env!("CARGO_BIN_EXE_semifaas"))
        .args(["bench", "capacity", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "--sample <SAMPLE>",
        "[default: image]",
        "--connections <CONNECTIONS>",
        "[default: 2]",
        "--warmup <WARMUP>",
        "[default: 200]",
        "--requests <REQUESTS>",
        "[default: 300]",
    ] {
        assert!(help.contains(expected), "no {expected:?} in {help}");
    }
}

#[test]
fn snapshot_cold_starts_refuse_what_they_cannot_measure() {
    let (ok, stderr) = bench(
        "cold",
        &["--snapshots", "--variant", "c1=-XX:TieredStopAtLevel=1"],
    );
    assert!(!ok);
    assert!(
        stderr.contains("--snapshots") && stderr.contains("--variant"),
        "{stderr}"
    );

    let (ok, stderr) = bench("cold", &["--snapshots", "--platform", "openwhisk"]);
    assert!(!ok);
    assert!(
        stderr.contains("--snapshots needs --platform lambda"),
        "{stderr}"
    );
}
