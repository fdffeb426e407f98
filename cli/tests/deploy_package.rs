//! `semifaas deploy` without a platform: the checks on a package and `--dry-run`'s plan. Needs
//! `make build` (for `dist/bootstrap` and the runtime jar) and a C compiler (`cc`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use semifaas_cli::harness::Dist;

fn work_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("deploy-package")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A zip of `(name, file)` entries, executable where asked.
fn zip_of(path: &Path, entries: &[(&str, &Path, bool)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, file, executable) in entries {
        let mode = if *executable { 0o755 } else { 0o644 };
        zip.start_file(
            *name,
            zip::write::SimpleFileOptions::default().unix_permissions(mode),
        )
        .unwrap();
        zip.write_all(&std::fs::read(file).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

fn deploy(dist: &Dist, args: &[&str]) -> Output {
    Command::new(dist.semifaas().unwrap())
        .arg("deploy")
        .args(args)
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A library that needs glibc 2.36 (`arc4random`), as a newer build machine would make it.
fn too_new_library(dir: &Path) -> PathBuf {
    let source = dir.join("new.c");
    std::fs::write(
        &source,
        "#include <stdlib.h>\nunsigned int pick(void) { return arc4random(); }\n",
    )
    .unwrap();
    let library = dir.join("libnew.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .status()
        .expect("a C compiler (cc) builds the test library");
    assert!(status.success());
    library
}

#[test]
fn a_package_with_a_file_too_new_for_amazon_linux_is_refused_by_name() {
    let dist = Dist::locate().unwrap();
    let dir = work_dir("too-new");
    let library = too_new_library(&dir);
    let bad = dir.join("bad.zip");
    zip_of(
        &bad,
        &[
            ("bootstrap", &dist.bootstrap().unwrap(), true),
            ("jre/lib/libnew.so", &library, false),
        ],
    );
    let output = deploy(&dist, &["--dry-run", "--package", bad.to_str().unwrap()]);
    assert!(!output.status.success());
    let said = text(&output);
    assert!(
        said.contains("package file jre/lib/libnew.so needs glibc 2.36, newer than the 2.34 of Amazon Linux 2023"),
        "{said}"
    );

    // The same package without it passes the check, and the dry run lists the calls it would make.
    let good = dir.join("good.zip");
    zip_of(
        &good,
        &[
            ("bootstrap", &dist.bootstrap().unwrap(), true),
            (
                "semifaas-runtime.jar",
                &dist.root().join("semifaas-runtime.jar"),
                false,
            ),
        ],
    );
    let output = deploy(
        &dist,
        &[
            "--dry-run",
            "--package",
            good.to_str().unwrap(),
            "--function",
            "resize",
            "--provisioned",
            "2",
        ],
    );
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    for call in [
        "ELF files checked",
        "CreateFunction resize runtime=provided.al2023 handler=bootstrap architecture=x86_64 memory=1769 MB timeout=30 s role=<--role, required to create>",
        "PublishVersion resize",
        "CreateAlias or UpdateAlias resize:live",
        "PutProvisionedConcurrencyConfig resize:live ProvisionedConcurrentExecutions=2",
        "Invoke resize:live",
    ] {
        assert!(said.contains(call), "missing {call:?} in:\n{said}");
    }
    assert!(!said.contains("PutFunctionConcurrency"), "{said}");

    // A platform nobody listens on: the call and the cause are named.
    let output = deploy(
        &dist,
        &[
            "--platform",
            "local",
            "--endpoint",
            "http://127.0.0.1:9",
            "--package",
            good.to_str().unwrap(),
        ],
    );
    let said = text(&output);
    assert!(!output.status.success(), "{said}");
    assert!(
        said.contains("error: GetFunction failed: ") && said.contains("Connection refused"),
        "{said}"
    );
}

#[test]
fn bad_deploy_arguments_are_named() {
    let dist = Dist::locate().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--platform", "local"],
            "--platform local needs --endpoint URL",
        ),
        (&["--memory-mb", "64"], "--memory-mb"),
        (&["--provisioned", "0"], "--provisioned"),
        (&["--env", "NOEQUALS"], "is not KEY=VALUE"),
        (
            &["--package", "/nonexistent.zip", "--dry-run"],
            "/nonexistent.zip",
        ),
        (
            &["--jdk", "/nonexistent-jdk", "--dry-run"],
            "/nonexistent-jdk has no bin/jlink",
        ),
    ];
    for (args, expected) in cases {
        let output = deploy(&dist, args);
        assert!(!output.status.success(), "{args:?} was accepted");
        let said = text(&output);
        assert!(said.contains(expected), "{args:?}: {said}");
    }
}
