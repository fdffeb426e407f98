//! Runs a stand-in `io.semifaas.agent.NativeBridge` on a real JVM against the built
//! `libsemifaas_agent.so`; shared by the `jni_bridge` test and the `jni_hot_path` benchmark.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// `target/<profile>`, where cargo puts the cdylib next to the test's `deps/` directory.
pub fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in target/<profile>/deps")
        .to_owned();
    assert!(
        dir.join("libsemifaas_agent.so").exists(),
        "{} has no libsemifaas_agent.so (cargo build -p semifaas-agent with this profile first)",
        dir.display()
    );
    dir
}

pub fn java_tool(name: &str) -> PathBuf {
    match std::env::var_os("JAVA_HOME") {
        Some(home) => PathBuf::from(home).join("bin").join(name),
        None => PathBuf::from(name),
    }
}

/// Compiles `source` (a `NativeBridge` stand-in) and runs its `main` with `args` and the
/// extra JVM options; the JVM loads the agent library from [`library_dir`].
pub fn run_bridge(source: &Path, jvm_options: &[&str], args: &[String]) -> Output {
    let classes = std::env::temp_dir().join(format!(
        "semifaas-agent-jni-{}-{}",
        std::process::id(),
        source.file_stem().unwrap().to_string_lossy()
    ));
    let javac = Command::new(java_tool("javac"))
        .arg("-d")
        .arg(&classes)
        .arg(source)
        .output()
        .expect("run javac");
    assert!(
        javac.status.success(),
        "javac failed: {}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let output = Command::new(java_tool("java"))
        .arg(format!("-Djava.library.path={}", library_dir().display()))
        .args(jvm_options)
        .arg("-cp")
        .arg(&classes)
        .arg("io.semifaas.agent.NativeBridge")
        .args(args)
        .output()
        .expect("run java");
    let _ = std::fs::remove_dir_all(&classes);
    output
}
