//! The instance's class-data-sharing archive (AppCDS): the JDK and runtime-jar classes an
//! instance loads, parsed and verified once, then mapped by every later instance of the same JVM
//! and runtime jar instead of being loaded again (docs/internals.md, "Cold starts").
//!
//! The first instance that finds no archive in the cache (and takes its lock) records the classes
//! it loads (`-XX:DumpLoadedClassList`) and, before its JVM starts, a detached
//! `bootstrap --dump-class-archive` that waits until the instance has run its first invocation,
//! then runs `java -Xshare:dump` at a low priority and moves the archive into place (an instance
//! that exits before that leaves the recording to a later one). Later instances start
//! with `-XX:SharedArchiveFile`. The JVM keeps `-Xshare:auto`: an archive it cannot map still
//! lets it start, and the instance logs so and drops the archive to be rebuilt.

use std::{
    env,
    fs::{self, OpenOptions},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant, SystemTime},
};

use sha2::{Digest, Sha256};
use tracing::{info, warn};

/// The cache directory; `off` disables the archive.
pub const CACHE_DIR_ENV: &str = "SEMIFAAS_CDS_DIR";
/// The hidden mode of `bootstrap` that builds an archive (see [`dump_main`]).
pub const DUMP_ARG: &str = "--dump-class-archive";

/// Options of `SEMIFAAS_JVM_OPTS` that mean the operator manages class sharing.
const OPERATOR_OPTIONS: &[&str] = &[
    "-Xshare:",
    "-XX:SharedArchiveFile",
    "-XX:SharedClassListFile",
    "-XX:DumpLoadedClassList",
    "-XX:ArchiveClassesAtExit",
];

/// A lock older than this belongs to a dump that died: another instance may take over.
const STALE_LOCK: Duration = Duration::from_secs(180);
/// Archives the cache keeps: each runtime jar or JVM build has its own, and the older ones would
/// only fill the disk.
const KEEP_ARCHIVES: usize = 4;
/// How long the builder waits for the recording instance's first invocation; a warm instance
/// that has served none by then leaves the recording to a later one.
const RECORDING_WAIT: Duration = Duration::from_secs(90);

/// What this instance does about the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassSharing {
    /// No archive of ours: the JVM's default one only. The reason is logged.
    Off(String),
    /// Map the archive found in the cache.
    Use { archive: PathBuf },
    /// None yet: record the loaded classes, then build the archive from them.
    Record {
        class_list: PathBuf,
        archive: PathBuf,
    },
}

impl ClassSharing {
    /// The choice for a JVM at `libjvm` running `runtime_jar` with the operator's
    /// `extra_options`, the cache in `cache_dir` (`None`: [`CACHE_DIR_ENV`] unset).
    pub fn choose(
        libjvm: &Path,
        runtime_jar: &Path,
        extra_options: &[String],
        cache_dir: Option<&str>,
    ) -> ClassSharing {
        if let Some(option) = extra_options
            .iter()
            .find(|o| OPERATOR_OPTIONS.iter().any(|p| o.starts_with(p)))
        {
            return ClassSharing::Off(format!("SEMIFAAS_JVM_OPTS has {option}"));
        }
        let dir = match cache_dir.map(str::trim) {
            Some("off") => return ClassSharing::Off(format!("{CACHE_DIR_ENV}=off")),
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => env::temp_dir().join("semifaas-cds"),
        };
        let key = match archive_key(libjvm, runtime_jar) {
            Ok(key) => key,
            Err(e) => return ClassSharing::Off(format!("no archive key: {e}")),
        };
        // The JVM trusts an archive's classes as verified: only a directory no one else can
        // write to may hold one.
        if let Err(e) = private_dir(&dir) {
            return ClassSharing::Off(format!("{CACHE_DIR_ENV} {}: {e}", dir.display()));
        }
        let archive = dir.join(format!("{key}.jsa"));
        if archive.is_file() {
            return ClassSharing::Use { archive };
        }
        if !take_lock(&archive.with_extension("lock")) {
            return ClassSharing::Off(format!(
                "another instance is building {}",
                archive.display()
            ));
        }
        ClassSharing::Record {
            class_list: dir.join(format!("{key}.classlist.{}", std::process::id())),
            archive,
        }
    }

    /// The JVM options this choice adds.
    pub fn options(&self) -> Vec<String> {
        match self {
            ClassSharing::Off(_) => vec![],
            ClassSharing::Use { archive } => {
                vec![format!("-XX:SharedArchiveFile={}", archive.display())]
            }
            ClassSharing::Record { class_list, .. } => {
                vec![format!("-XX:DumpLoadedClassList={}", class_list.display())]
            }
        }
    }

    /// Logs what the started JVM made of the choice; `vm_info` is its `java.vm.info` property,
    /// which says `sharing` when an archive is mapped. An archive it could not map is removed,
    /// so a later instance builds one that fits.
    pub fn check_started(&self, vm_info: &str) {
        match self {
            ClassSharing::Off(reason) => info!("class-data-sharing archive off: {reason}"),
            ClassSharing::Use { archive } if vm_info.contains("sharing") => {
                info!(archive = %archive.display(), "class-data-sharing archive mapped")
            }
            ClassSharing::Use { archive } => {
                warn!(archive = %archive.display(), %vm_info, "the JVM could not map the class-data-sharing archive (built by another JVM or for another runtime jar?); started without class sharing, the archive is rebuilt");
                let _ = fs::remove_file(archive);
            }
            ClassSharing::Record { class_list, .. } => {
                info!(class_list = %class_list.display(), "no class-data-sharing archive yet: recording the loaded classes")
            }
        }
    }

    /// When recording: starts the detached builder, which waits for
    /// [`Self::first_invocation_done`]. If it cannot start, this instance records nothing.
    pub fn start_builder(&mut self, java_home: &Path, class_path: &Path) {
        let ClassSharing::Record {
            class_list,
            archive,
        } = &*self
        else {
            return;
        };
        let started = env::current_exe().and_then(|bootstrap| {
            let log = fs::File::create(archive.with_extension("log"))?;
            let mut command = Command::new(bootstrap);
            command
                .arg(DUMP_ARG)
                .args([java_home, class_path, class_list, archive])
                .arg(std::process::id().to_string())
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log);
            // SAFETY: setsid and setpriority are async-signal-safe. Its own session, so the
            // platform stopping this instance's group does not stop the build; low priority,
            // so it takes no CPU from requests.
            unsafe {
                command.pre_exec(|| {
                    libc::setsid();
                    libc::setpriority(libc::PRIO_PROCESS, 0, 15);
                    Ok(())
                });
            }
            command.spawn()
        });
        match started {
            Ok(child) => {
                info!(pid = child.id(), archive = %archive.display(), "building the class-data-sharing archive once this instance has run an invocation")
            }
            Err(e) => {
                let _ = fs::remove_file(archive.with_extension("lock"));
                *self = ClassSharing::Off(format!("cannot start the archive's builder: {e}"));
            }
        }
    }

    /// After the first invocation ran: the recorded classes are complete, the builder may dump
    /// them. Written before the reply is posted, which may be the instance's last act.
    pub fn first_invocation_done(&self) {
        if let ClassSharing::Record { class_list, .. } = self {
            if let Err(e) = fs::write(done_marker(class_list), b"") {
                warn!("cannot tell the class-data-sharing archive's builder to start: {e}");
            }
        }
    }
}

/// The file whose existence says the recording instance has run its first invocation.
fn done_marker(class_list: &Path) -> PathBuf {
    let mut marker = class_list.as_os_str().to_owned();
    marker.push(".done");
    PathBuf::from(marker)
}

/// Creates `dir` (mode 0700) if need be; an error unless it is a directory of this user that no
/// one else can write to.
fn private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| e.to_string())?;
    }
    let meta = fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() {
        return Err("not a directory".into());
    }
    if meta.uid() != me {
        return Err(format!(
            "owned by uid {}, not this user ({me}): not used",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "writable by others (mode {:o}): not used",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// Names the archive after what it must match: the JVM build and the runtime jar (path, size,
/// modification time: what the JVM itself checks before mapping it).
fn archive_key(libjvm: &Path, runtime_jar: &Path) -> std::io::Result<String> {
    let mut hash = Sha256::new();
    for file in [libjvm, runtime_jar] {
        let meta = fs::metadata(file)?;
        let modified = meta
            .modified()?
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        hash.update(file.as_os_str().as_encoded_bytes());
        hash.update(meta.len().to_le_bytes());
        hash.update(modified.as_nanos().to_le_bytes());
    }
    Ok(hex::encode(&hash.finalize()[..12]))
}

/// Creates `lock`; false when another live builder holds it.
fn take_lock(lock: &Path) -> bool {
    let create = || OpenOptions::new().write(true).create_new(true).open(lock);
    if create().is_ok() {
        return true;
    }
    let stale = fs::metadata(lock)
        .and_then(|m| m.modified())
        .map(|t| t.elapsed().unwrap_or_default() > STALE_LOCK)
        .unwrap_or(false);
    stale && fs::remove_file(lock).is_ok() && create().is_ok()
}

/// `bootstrap --dump-class-archive JAVA_HOME CLASS_PATH CLASS_LIST ARCHIVE INSTANCE_PID`: once the
/// recording instance has run its first invocation, dumps the archive next to `ARCHIVE` and moves
/// it into place; then removes the class list, the marker and the lock. If the instance exits (or
/// serves nothing for [`RECORDING_WAIT`]) first, it builds nothing: a class list without an
/// invocation's classes would make an archive that saves little, for good.
pub fn dump_main(args: &[std::ffi::OsString]) -> std::process::ExitCode {
    let [java_home, class_path, class_list, archive, pid] = args else {
        eprintln!(
            "usage: bootstrap {DUMP_ARG} JAVA_HOME CLASS_PATH CLASS_LIST ARCHIVE INSTANCE_PID"
        );
        return std::process::ExitCode::from(2);
    };
    let Some(pid) = pid.to_str().and_then(|p| p.parse::<libc::pid_t>().ok()) else {
        eprintln!("{DUMP_ARG}: INSTANCE_PID {pid:?} is not a process id");
        return std::process::ExitCode::from(2);
    };
    let (class_list, archive) = (Path::new(class_list), Path::new(archive));
    let waited = Instant::now();
    // SAFETY: kill with signal 0 only checks that the process exists.
    while !done_marker(class_list).exists()
        && unsafe { libc::kill(pid, 0) } == 0
        && waited.elapsed() < RECORDING_WAIT
    {
        thread::sleep(Duration::from_millis(50));
    }
    if !done_marker(class_list).exists() {
        println!(
            "{}: the recording instance (pid {pid}) ran no invocation; nothing built",
            archive.display()
        );
        remove_recording(class_list, archive);
        return std::process::ExitCode::SUCCESS;
    }
    let partial = archive.with_extension(format!("jsa.{}", std::process::id()));
    let status = Command::new(Path::new(java_home).join("bin/java"))
        .arg("-Xshare:dump")
        .arg("-XX:+UseSerialGC")
        .arg(format!("-XX:SharedClassListFile={}", class_list.display()))
        .arg(format!("-XX:SharedArchiveFile={}", partial.display()))
        .arg(format!(
            "-Djava.class.path={}",
            Path::new(class_path).display()
        ))
        .status();
    let built = match status {
        Ok(status) if status.success() => fs::rename(&partial, archive).map_err(|e| e.to_string()),
        Ok(status) => Err(format!("java -Xshare:dump exited with {status}")),
        Err(e) => Err(format!("cannot run java -Xshare:dump: {e}")),
    };
    let _ = fs::remove_file(partial);
    remove_recording(class_list, archive);
    match built {
        Ok(()) => {
            println!("built {}", archive.display());
            if let Some(dir) = archive.parent() {
                prune(dir, KEEP_ARCHIVES);
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}: {e}", archive.display());
            std::process::ExitCode::FAILURE
        }
    }
}

/// Removes the class list, its marker and the lock (the last, so no one records meanwhile).
fn remove_recording(class_list: &Path, archive: &Path) {
    let _ = fs::remove_file(class_list);
    let _ = fs::remove_file(done_marker(class_list));
    let _ = fs::remove_file(archive.with_extension("lock"));
}

/// Removes all but the `keep` newest archives of `dir` (and their logs).
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut archives: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsa"))
        .filter_map(|p| Some((fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    archives.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, old) in archives.into_iter().skip(keep) {
        let _ = fs::remove_file(old.with_extension("log"));
        if fs::remove_file(&old).is_ok() {
            println!("removed the old archive {}", old.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> (PathBuf, PathBuf) {
        let (libjvm, jar) = (dir.join("libjvm.so"), dir.join("runtime.jar"));
        fs::write(&libjvm, b"jvm").unwrap();
        fs::write(&jar, b"jar").unwrap();
        (libjvm, jar)
    }

    #[test]
    fn an_instance_records_until_an_archive_exists_then_maps_it() {
        let dir = env::temp_dir().join(format!("class-archive-test-{}", std::process::id()));
        let cache = dir.join("cache");
        fs::create_dir_all(&dir).unwrap();
        let (libjvm, jar) = files(&dir);
        let cache_arg = Some(cache.to_str().unwrap());
        let ClassSharing::Record {
            class_list,
            archive,
        } = ClassSharing::choose(&libjvm, &jar, &[], cache_arg)
        else {
            panic!("no archive yet: the instance must record");
        };
        assert!(archive.starts_with(&cache) && class_list.starts_with(&cache));
        let recording = ClassSharing::Record {
            class_list: class_list.clone(),
            archive: archive.clone(),
        };
        assert_eq!(
            recording.options(),
            vec![format!("-XX:DumpLoadedClassList={}", class_list.display())]
        );
        // One instance records and builds; the others meanwhile start without an archive.
        let meanwhile = ClassSharing::choose(&libjvm, &jar, &[], cache_arg);
        assert!(
            matches!(&meanwhile, ClassSharing::Off(reason) if reason.contains("another instance is building")),
            "{meanwhile:?}"
        );
        recording.first_invocation_done();
        assert!(
            done_marker(&class_list).exists(),
            "the builder is told to start"
        );
        fs::write(&archive, b"archive").unwrap();
        let using = ClassSharing::choose(&libjvm, &jar, &[], cache_arg);
        assert_eq!(
            using.options(),
            vec![format!("-XX:SharedArchiveFile={}", archive.display())]
        );
        // A different runtime jar is another key: it never maps this archive.
        fs::write(&jar, b"another jar").unwrap();
        assert!(matches!(
            ClassSharing::choose(&libjvm, &jar, &[], cache_arg),
            ClassSharing::Record { .. }
        ));
        // An archive the JVM did not map is dropped.
        using.check_started("mixed mode");
        assert!(!archive.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_operator_or_the_cache_setting_turns_it_off() {
        let dir = env::temp_dir().join(format!("class-archive-off-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (libjvm, jar) = files(&dir);
        for option in [
            "-Xshare:off",
            "-XX:SharedArchiveFile=/x.jsa",
            "-XX:ArchiveClassesAtExit=/y",
        ] {
            let choice = ClassSharing::choose(&libjvm, &jar, &[option.to_owned()], None);
            assert_eq!(
                choice,
                ClassSharing::Off(format!("SEMIFAAS_JVM_OPTS has {option}"))
            );
            assert!(choice.options().is_empty());
        }
        let off = ClassSharing::choose(&libjvm, &jar, &[], Some("off"));
        assert_eq!(off, ClassSharing::Off(format!("{CACHE_DIR_ENV}=off")));
        let missing = ClassSharing::choose(&dir.join("none.so"), &jar, &[], Some("/tmp"));
        assert!(matches!(missing, ClassSharing::Off(reason) if reason.contains("no archive key")));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_cache_others_can_write_to_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = env::temp_dir().join(format!("class-archive-shared-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (libjvm, jar) = files(&dir);
        let cache = dir.join("cache");
        let cache_arg = Some(cache.to_str().unwrap());
        assert!(matches!(
            ClassSharing::choose(&libjvm, &jar, &[], cache_arg),
            ClassSharing::Record { .. }
        ));
        let mode = fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the cache is created private");
        fs::set_permissions(&cache, fs::Permissions::from_mode(0o777)).unwrap();
        let shared = ClassSharing::choose(&libjvm, &jar, &[], cache_arg);
        assert!(
            matches!(&shared, ClassSharing::Off(reason) if reason.contains("writable by others (mode 777)")),
            "{shared:?}"
        );
        let file = dir.join("runtime.jar");
        let not_dir = ClassSharing::choose(&libjvm, &jar, &[], file.to_str());
        assert!(
            matches!(&not_dir, ClassSharing::Off(reason) if reason.contains("not a directory")),
            "{not_dir:?}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_the_newest_archives_are_kept() {
        let dir = env::temp_dir().join(format!("class-archive-prune-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let now = SystemTime::now();
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            let archive = dir.join(format!("{name}.jsa"));
            fs::write(&archive, b"x").unwrap();
            fs::write(dir.join(format!("{name}.log")), b"x").unwrap();
            let age = Duration::from_secs(60 * (i as u64 + 1));
            fs::File::options()
                .write(true)
                .open(&archive)
                .unwrap()
                .set_modified(now - age)
                .unwrap();
        }
        fs::write(dir.join("other.classlist.1"), b"x").unwrap();
        prune(&dir, 2);
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["a.jsa", "a.log", "b.jsa", "b.log", "other.classlist.1"]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_builder_at_a_time_unless_the_lock_is_stale() {
        let lock = env::temp_dir().join(format!("class-archive-lock-{}", std::process::id()));
        let _ = fs::remove_file(&lock);
        assert!(take_lock(&lock));
        assert!(!take_lock(&lock), "a second builder must not start");
        let old = SystemTime::now() - STALE_LOCK - Duration::from_secs(5);
        fs::File::options()
            .write(true)
            .open(&lock)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(take_lock(&lock), "a stale lock is taken over");
        fs::remove_file(&lock).unwrap();
    }
}
