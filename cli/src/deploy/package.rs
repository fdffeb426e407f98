//! The function package: `bootstrap`, the runtime jar and a `jlink`ed Java runtime in `jre/`,
//! zipped for the `provided.al2023` runtime. `bootstrap` finds `$LAMBDA_TASK_ROOT/jre` before
//! any Java of the host, so the package runs where no JDK is installed.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};
use zip::write::SimpleFileOptions;

use super::elf_check;

/// Modules every package carries besides what `jdeps` finds in the runtime jar: the handlers'
/// code arrives only at run time, in closures, so the whole Java SE platform is there for it;
/// `jdk.unsupported` for the codec (`sun.misc.Unsafe`), `jdk.crypto.ec` for TLS with EC keys
/// (a module of its own up to JDK 21). Modules the JDK does not have are skipped.
const BASE_MODULES: &[&str] = &["java.se", "jdk.unsupported", "jdk.crypto.ec"];

/// What goes into a package.
pub struct PackageInputs {
    pub bootstrap: PathBuf,
    pub runtime_jar: PathBuf,
    /// The JDK whose `jlink` and modules make the Java runtime.
    pub jdk: PathBuf,
    pub extra_modules: Vec<String>,
}

/// A built package.
pub struct Package {
    pub zip: PathBuf,
    pub zip_bytes: u64,
    pub unpacked_bytes: u64,
    pub files: usize,
    pub elf_files: usize,
    pub modules: Vec<String>,
    pub java_version: String,
}

/// The JDK to package: `--jdk`, else `JAVA_HOME`, else the JDK of the `java` on `PATH`.
pub fn find_jdk(explicit: Option<&Path>) -> Result<PathBuf> {
    let jdk = match explicit {
        Some(jdk) => jdk.to_owned(),
        None => match std::env::var_os("JAVA_HOME").filter(|h| !h.is_empty()) {
            Some(home) => PathBuf::from(home),
            None => {
                let java = std::env::var_os("PATH")
                    .and_then(|path| {
                        std::env::split_paths(&path)
                            .map(|dir| dir.join("java"))
                            .find(|java| java.is_file())
                    })
                    .context("no JDK found: pass --jdk DIR, set JAVA_HOME, or put java on PATH")?;
                let java = fs::canonicalize(&java)
                    .with_context(|| format!("resolving {}", java.display()))?;
                java.parent()
                    .and_then(Path::parent)
                    .context("java on PATH is not inside a JDK's bin/")?
                    .to_owned()
            }
        },
    };
    ensure!(
        jdk.join("bin/jlink").is_file(),
        "{} has no bin/jlink: --jdk must name a JDK (a JRE cannot make a runtime image)",
        jdk.display()
    );
    Ok(jdk)
}

/// Builds the package into `out` (a zip), printing what it does through `step`.
pub fn build(inputs: &PackageInputs, out: &Path, step: &mut dyn FnMut(&str)) -> Result<Package> {
    for (what, path) in [
        ("bootstrap", &inputs.bootstrap),
        ("runtime jar", &inputs.runtime_jar),
    ] {
        ensure!(
            path.is_file(),
            "the {what} {} does not exist (run `make build`, or pass its path)",
            path.display()
        );
    }
    let staging = out.with_extension("staging");
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("clearing {}", staging.display()))?;
    }
    fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let result = stage_and_zip(inputs, &staging, out, step);
    let _ = fs::remove_dir_all(&staging);
    result
}

fn stage_and_zip(
    inputs: &PackageInputs,
    staging: &Path,
    out: &Path,
    step: &mut dyn FnMut(&str),
) -> Result<Package> {
    copy_executable(&inputs.bootstrap, &staging.join("bootstrap"))?;
    fs::copy(&inputs.runtime_jar, staging.join("semifaas-runtime.jar"))
        .with_context(|| format!("copying {}", inputs.runtime_jar.display()))?;

    let java_version = java_version(&inputs.jdk)?;
    let modules = modules(inputs, &java_version)?;
    step(&format!(
        "jlink: Java {java_version} from {}, modules {}",
        inputs.jdk.display(),
        modules.join(",")
    ));
    jlink(&inputs.jdk, &modules, &staging.join("jre"))?;

    let files = package_files(staging)?;
    let mut elf_files = 0;
    for file in &files {
        let bytes = fs::read(staging.join(file))?;
        elf_files += usize::from(check_elf_file(file, &bytes)?);
    }
    step(&format!(
        "checked {elf_files} ELF files: x86_64, glibc {} at most",
        elf_check::MAX_GLIBC
    ));
    let unpacked_bytes = write_zip(staging, &files, out)?;
    let zip_bytes = fs::metadata(out)?.len();
    Ok(Package {
        zip: out.to_owned(),
        zip_bytes,
        unpacked_bytes,
        files: files.len(),
        elf_files,
        modules,
        java_version,
    })
}

fn copy_executable(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// `JAVA_VERSION` of the JDK's `release` file.
fn java_version(jdk: &Path) -> Result<String> {
    let release = fs::read_to_string(jdk.join("release"))
        .with_context(|| format!("reading {}/release", jdk.display()))?;
    release
        .lines()
        .find_map(|line| line.strip_prefix("JAVA_VERSION="))
        .map(|v| v.trim_matches('"').to_owned())
        .with_context(|| format!("{}/release names no JAVA_VERSION", jdk.display()))
}

/// What `jdeps` finds the runtime jar needs, the base modules the JDK has, and `--add-modules`.
fn modules(inputs: &PackageInputs, java_version: &str) -> Result<Vec<String>> {
    let feature = java_version.split('.').next().unwrap_or(java_version);
    let needed = run(Command::new(inputs.jdk.join("bin/jdeps")).args([
        "--print-module-deps",
        "--ignore-missing-deps",
        "--multi-release",
        feature,
        &inputs.runtime_jar.to_string_lossy(),
    ]))?;
    let available = run(Command::new(inputs.jdk.join("bin/java")).arg("--list-modules"))?;
    let available: BTreeSet<&str> = available
        .lines()
        .filter_map(|line| line.split('@').next())
        .collect();
    let mut modules: BTreeSet<String> = needed
        .trim()
        .split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    modules.extend(
        BASE_MODULES
            .iter()
            .filter(|m| available.contains(**m))
            .map(|m| m.to_string()),
    );
    for module in &inputs.extra_modules {
        ensure!(
            available.contains(module.as_str()),
            "--add-modules {module}: the JDK at {} has no such module",
            inputs.jdk.display()
        );
        modules.insert(module.clone());
    }
    Ok(modules.into_iter().collect())
}

/// A runtime image without debug data, headers or man pages, with a CDS archive of the JDK's
/// classes (it shortens every cold start; generating it needs the image's `bin/java`).
fn jlink(jdk: &Path, modules: &[String], output: &Path) -> Result<()> {
    run(Command::new(jdk.join("bin/jlink")).args([
        "--add-modules",
        &modules.join(","),
        "--strip-debug",
        "--no-header-files",
        "--no-man-pages",
        "--generate-cds-archive",
        "--output",
        &output.to_string_lossy(),
    ]))?;
    Ok(())
}

/// Runs a JDK tool; its output, or an error with what it printed.
fn run(command: &mut Command) -> Result<String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command
        .output()
        .with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Every file under `root`, relative and sorted (so the same inputs give the same zip). Links
/// are followed: jlink links the legal notices of its modules, and a zip for Lambda holds files.
fn package_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(root.join(&dir))? {
            let relative = dir.join(entry?.file_name());
            let metadata = fs::metadata(root.join(&relative))
                .with_context(|| format!("reading {}", relative.display()))?;
            if metadata.is_dir() {
                dirs.push(relative);
            } else {
                files.push(relative);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Refuses the package, naming the file, if it is an ELF file that would not run on Amazon
/// Linux 2023; returns whether it is an ELF file.
pub fn check_elf_file(name: &Path, bytes: &[u8]) -> Result<bool> {
    if let Some(problem) = elf_check::check(bytes) {
        bail!(
            "package file {} {problem}: build it on (or for) an older system, or package a JDK built for glibc {} or older (--jdk, e.g. Eclipse Temurin or Amazon Corretto)",
            name.display(),
            elf_check::MAX_GLIBC
        );
    }
    Ok(bytes.starts_with(&object::elf::ELFMAG))
}

/// Writes the zip; returns the unpacked size.
fn write_zip(root: &Path, files: &[PathBuf], out: &Path) -> Result<u64> {
    let file = fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let mut unpacked = 0;
    for relative in files {
        let path = root.join(relative);
        let executable = fs::metadata(&path)?.permissions().mode() & 0o111 != 0;
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(if executable { 0o755 } else { 0o644 })
            .large_file(false);
        let name = relative
            .to_str()
            .with_context(|| format!("{} is not a UTF-8 path", relative.display()))?;
        zip.start_file(name, options)?;
        let bytes = fs::read(&path)?;
        unpacked += bytes.len() as u64;
        zip.write_all(&bytes)?;
    }
    zip.finish()?.flush()?;
    Ok(unpacked)
}
