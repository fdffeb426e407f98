//! The JVM this instance hosts: finding and starting it, and the calls into
//! `io.semifaas.runtime.FunctionRuntime` (docs/internals.md, "JNI: function runtime").

use std::{
    env,
    path::{Path, PathBuf},
};

use jni::{
    errors::Error as JniError,
    ids::JStaticMethodID,
    jni_sig, jni_str,
    objects::{JByteArray, JClass, JObject, JObjectArray, JString, JValue},
    refs::Global,
    signature::{Primitive, ReturnType},
    sys::jvalue,
    Env, InitArgsBuilder, JavaVM, NativeMethod,
};
use semifaas_closure::{Closure, NamedBytes};
use tracing::{debug, warn};

use crate::class_archive::{self, ClassSharing};

const RUNTIME_JAR: &str = "semifaas-runtime.jar";

#[derive(Debug, thiserror::Error)]
pub enum JvmError {
    #[error("no JVM found: {0}")]
    NotFound(String),
    #[error("the runtime jar {0} does not exist (set SEMIFAAS_RUNTIME_JAR or put it in LAMBDA_TASK_ROOT)")]
    NoRuntimeJar(PathBuf),
    #[error("JVM option {option:?} is invalid: {reason}")]
    BadOption { option: String, reason: String },
    #[error("starting the JVM from {libjvm} with options {options:?}: {reason} (the JVM prints details on stderr)")]
    Start {
        libjvm: PathBuf,
        options: Vec<String>,
        reason: String,
    },
    /// A Java exception was pending after a JNI call; it has been cleared.
    #[error("{what}: {exception}")]
    Java { what: String, exception: String },
    #[error("{what}: JNI call failed: {source}")]
    Jni {
        what: String,
        #[source]
        source: JniError,
    },
}

/// Where the JVM comes from and how it is started.
#[derive(Debug, Clone)]
pub struct JvmConfig {
    pub java_home: PathBuf,
    pub runtime_jar: PathBuf,
    /// Options beyond the defaults, from `SEMIFAAS_JVM_OPTS`.
    pub extra_options: Vec<String>,
    /// The class-data-sharing archive this instance maps or records.
    pub class_sharing: ClassSharing,
    /// The platform may checkpoint this instance (`SEMIFAAS_CHECKPOINTABLE=1`, set by faas-local
    /// with `--snapshots`).
    pub checkpointable: bool,
}

/// Set by the platform for an instance it may checkpoint and restore copies of.
pub use semifaas_closure::checkpoint::CHECKPOINTABLE_ENV;

impl JvmConfig {
    /// Discovers the JVM and the runtime jar from the environment (see [`find_java_home`]).
    pub fn from_env() -> Result<JvmConfig, JvmError> {
        let task_root = env::var_os("LAMBDA_TASK_ROOT").map(PathBuf::from);
        let runtime_jar = match env::var_os("SEMIFAAS_RUNTIME_JAR") {
            Some(jar) => PathBuf::from(jar),
            None => task_root
                .clone()
                .unwrap_or_else(|| PathBuf::from("."))
                .join(RUNTIME_JAR),
        };
        if !runtime_jar.is_file() {
            return Err(JvmError::NoRuntimeJar(runtime_jar));
        }
        let extra_options: Vec<String> = env::var("SEMIFAAS_JVM_OPTS")
            .map(|opts| opts.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        let java_home = find_java_home(task_root.as_deref())?;
        let class_sharing = ClassSharing::choose(
            &libjvm_path(&java_home).map_err(JvmError::NotFound)?,
            &runtime_jar,
            &extra_options,
            env::var(class_archive::CACHE_DIR_ENV).ok().as_deref(),
        );
        Ok(JvmConfig {
            java_home,
            runtime_jar,
            extra_options,
            class_sharing,
            checkpointable: env::var(CHECKPOINTABLE_ENV).is_ok_and(|v| v == "1"),
        })
    }

    /// All options passed to the JVM, defaults first so extra options can override them.
    pub fn options(&self) -> Vec<String> {
        let mut options = vec![
            format!("-Djava.class.path={}", self.runtime_jar.display()),
            "-Djava.awt.headless=true".to_owned(),
            "-Xshare:auto".to_owned(),
            "-XX:+UseSerialGC".to_owned(),
            // No hsperfdata file to create and map (jstat, jps): 10-17 ms of every cold start
            // (`bench cold`, 2026-11-30).
            "-XX:-UsePerfData".to_owned(),
            // Workaround: with `RemoteProxies.onRead` JIT-compiled, decoding the arguments of a
            // library session crashed the instance once per session (SIGSEGV in
            // `Class.forName0` on a corrupt class-name reference taken from a `RemoteRef`,
            // 6 of 6 runs of `e2e_library`); with it interpreted, or without C2, 0 of 5. The
            // root cause is not found (docs/internals.md, "Known defects").
            "-XX:CompileCommand=quiet".to_owned(),
            "-XX:CompileCommand=exclude,io.semifaas.runtime.RemoteProxies::onRead".to_owned(),
            // A JVM crash report goes to the temporary directory (Lambda's /tmp), not into the
            // working directory, which is the deployed code.
            format!(
                "-XX:ErrorFile={}",
                env::temp_dir()
                    .join("semifaas-instance-hs_err-%p.log")
                    .display()
            ),
        ];
        // Kryo reaches into JDK internals to rebuild object graphs: the same packages the agent
        // opens on the server (`JavaBaseOpener.PACKAGES`), plus java.lang.invoke for proxies.
        for package in java_base_opens() {
            options.push(format!("--add-opens=java.base/{package}=ALL-UNNAMED"));
        }
        options.extend(self.class_sharing.options());
        if self.checkpointable {
            // Every restore reads the whole image back: keep out of it what the instance does
            // not need. A small initial heap lets the full collection before the checkpoint
            // give the young generation's pages back (otherwise 18 MB of emptied eden); the
            // archive mapped where it was dumped is not relocated, so its read-only part stays
            // clean (otherwise 12 MB of rewritten pointers). Copies of one checkpoint share its
            // memory layout anyway. Measured: image 57 → 36 MB, restore 43 → 32 ms (`bench cold
            // --snapshots`, 2026-12-01).
            options.extend(
                [
                    "-Xms16m",
                    "-XX:+UnlockDiagnosticVMOptions",
                    "-XX:ArchiveRelocationMode=0",
                ]
                .map(str::to_owned),
            );
        }
        options.extend(self.extra_options.iter().cloned());
        options
    }
}

/// The java.base packages the codec reads, the list the agent opens on the server
/// (`JavaBaseOpener`): what the server encodes, the function must be able to decode.
const JAVA_BASE_OPENS_FILE: &str = include_str!(
    "../../jvm-hooks/common/src/main/resources/io/semifaas/common/java-base-opens.txt"
);

/// The function's proxies also need `java.lang.invoke`.
const FUNCTION_ONLY_OPENS: &[&str] = &["java.lang.invoke"];

/// Every package the function's JVM opens to its unnamed module.
fn java_base_opens() -> impl Iterator<Item = &'static str> {
    JAVA_BASE_OPENS_FILE
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .chain(FUNCTION_ONLY_OPENS.iter().copied())
}

/// The Java home to use, in this order: `SEMIFAAS_JAVA_HOME`, `$LAMBDA_TASK_ROOT/jre`,
/// `JAVA_HOME`, then the JDK of the `java` on `PATH` (symlinks resolved). An explicitly named
/// home that has no `libjvm` is an error rather than a reason to look further.
pub fn find_java_home(task_root: Option<&Path>) -> Result<PathBuf, JvmError> {
    if let Some(home) = env::var_os("SEMIFAAS_JAVA_HOME") {
        let home = PathBuf::from(home);
        libjvm_path(&home).map_err(|e| JvmError::NotFound(format!("SEMIFAAS_JAVA_HOME: {e}")))?;
        return Ok(home);
    }
    if let Some(jre) = task_root
        .map(|root| root.join("jre"))
        .filter(|jre| jre.is_dir())
    {
        return Ok(jre);
    }
    if let Some(home) = env::var_os("JAVA_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    let java = env::var_os("PATH")
        .into_iter()
        .flat_map(|path| env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("java"))
        .find(|java| java.is_file())
        .ok_or_else(|| {
            JvmError::NotFound(
                "set SEMIFAAS_JAVA_HOME or JAVA_HOME, ship a jre/ next to bootstrap, or put java on PATH".into(),
            )
        })?;
    let resolved = java
        .canonicalize()
        .map_err(|e| JvmError::NotFound(format!("resolving {}: {e}", java.display())))?;
    // <home>/bin/java
    resolved
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            JvmError::NotFound(format!("{} is not inside a Java home", resolved.display()))
        })
}

/// `JAVA_VERSION` from a Java home's `release` file (JDK 9+ and jlink images have one).
pub fn java_version(java_home: &Path) -> Option<String> {
    let release = std::fs::read_to_string(java_home.join("release")).ok()?;
    release.lines().find_map(|line| {
        let value = line.strip_prefix("JAVA_VERSION=")?;
        Some(value.trim_matches('"').to_owned())
    })
}

/// `libjvm.so` of a Java home (JDK 9+ layout, then the JDK 8 JRE layout).
pub fn libjvm_path(java_home: &Path) -> Result<PathBuf, String> {
    let candidates = [
        java_home.join("lib/server/libjvm.so"),
        java_home.join("jre/lib/amd64/server/libjvm.so"),
        java_home.join("lib/amd64/server/libjvm.so"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| format!("{} has no lib/server/libjvm.so", java_home.display()))
}

/// Resets `SIGSEGV` and `SIGBUS` to their default before the JVM installs its handlers. The JVM
/// chains signals it does not recognise to the handler it found, and Rust's stack-overflow
/// handler, finding no guard page hit, restores the default and returns: a JVM crash then killed
/// the instance without a crash report. Without a handler to chain to, the JVM writes its report
/// (`-XX:ErrorFile`) and the instance's log names it.
fn leave_fault_signals_to_the_jvm() {
    for signal in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: called once, before the JVM starts its threads; nothing here relies on the
        // handler being replaced (Rust's only reports stack overflows of Rust threads).
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
        }
    }
}

/// The system property that carries the invocation's X-Ray trace header to Java code (as the AWS
/// Lambda Java runtime sets it).
pub const TRACE_HEADER_PROPERTY: &str = "com.amazonaws.xray.traceHeader";

/// The started JVM with the runtime's entry points resolved once.
pub struct Jvm {
    vm: JavaVM,
    runtime: Global<JClass<'static>>,
    install: JStaticMethodID,
    invoke: JStaticMethodID,
}

impl Jvm {
    /// Starts the JVM (once per process) and resolves `FunctionRuntime`.
    pub fn start(config: &JvmConfig) -> Result<Jvm, JvmError> {
        let libjvm = libjvm_path(&config.java_home).map_err(JvmError::NotFound)?;
        let options = config.options();
        let mut builder = InitArgsBuilder::new();
        for option in &options {
            builder = builder.option(option.as_str());
        }
        let args = builder.build().map_err(|e| JvmError::BadOption {
            option: e.opt_string().unwrap_or_default().to_owned(),
            reason: e.to_string(),
        })?;
        debug!(libjvm = %libjvm.display(), "starting the JVM");
        leave_fault_signals_to_the_jvm();
        let vm = JavaVM::with_libjvm(args, || Ok(libjvm.clone())).map_err(|e| JvmError::Start {
            libjvm: libjvm.clone(),
            options: options.clone(),
            reason: e.to_string(),
        })?;
        let (runtime, install, invoke) = attach(
            &vm,
            "resolving io.semifaas.runtime.FunctionRuntime",
            |env| {
                let class = env.find_class(jni_str!("io/semifaas/runtime/FunctionRuntime"))?;
                // (closureId, server, className, methodName, descriptor, receiver,
                //  classNames, classBytes, resourceNames, resourceBytes)
                let install_sig = jni_sig!(
                    "(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;[B[Ljava/lang/String;[[B[Ljava/lang/String;[[B)V"
                );
                let install = env.get_static_method_id(&class, jni_str!("install"), install_sig)?;
                let invoke = env.get_static_method_id(
                    &class,
                    jni_str!("invoke"),
                    jni_sig!("(Ljava/lang/String;[B)[B"),
                )?;
                Ok((env.new_global_ref(&class)?, install, invoke))
            },
        )?;
        let jvm = Jvm {
            vm,
            runtime,
            install,
            invoke,
        };
        config
            .class_sharing
            .check_started(&jvm.system_property("java.vm.info").unwrap_or_default());
        Ok(jvm)
    }

    /// A system property of the JVM; `None` when unset or unreadable.
    fn system_property(&self, name: &str) -> Option<String> {
        attach(&self.vm, "reading a system property", |env| {
            let key = env.new_string(name)?;
            let system = env.find_class(jni_str!("java/lang/System"))?;
            let value = env
                .call_static_method(
                    &system,
                    jni_str!("getProperty"),
                    jni_sig!("(Ljava/lang/String;)Ljava/lang/String;"),
                    &[JValue::from(&key)],
                )?
                .l()?;
            if value.is_null() {
                return Ok(None);
            }
            let value = env.cast_local::<JString>(value)?;
            Ok(Some(value.try_to_string(env)?))
        })
        .ok()
        .flatten()
    }

    /// Registers native methods of `class` (a binary name with slashes).
    pub fn register_natives(
        &self,
        class: &str,
        methods: &[NativeMethod<'_>],
    ) -> Result<(), JvmError> {
        let what = format!("registering the natives of {class}");
        attach(&self.vm, &what, |env| {
            let class_name = jni::strings::JNIString::from(class);
            let class = env.find_class(&class_name)?;
            // SAFETY: the callers' function pointers match the signatures they declare.
            unsafe { env.register_native_methods(&class, methods) }
        })
    }

    /// `FunctionRuntime.install`: defines the closure's loader, decodes its receiver, resolves
    /// its handler. `closure_id` names the installation (invocations run it by that name);
    /// `server` is the server it came from: an installation never takes over another server's
    /// loader. A Java exception becomes [`JvmError::Java`] naming what failed.
    pub fn install(
        &self,
        closure_id: &str,
        server: &str,
        closure: &Closure,
    ) -> Result<(), JvmError> {
        attach(&self.vm, "installing the closure", |env| {
            let id = JString::from_str(env, closure_id)?;
            let server = JString::from_str(env, server)?;
            let class_name = JString::from_str(env, &closure.handler.class_name)?;
            let method_name = JString::from_str(env, &closure.handler.method_name)?;
            let descriptor = JString::from_str(env, &closure.handler.descriptor)?;
            let receiver = env.byte_array_from_slice(&closure.receiver)?;
            let (class_names, class_bytes) = named_arrays(env, &closure.classes)?;
            let (resource_names, resource_bytes) = named_arrays(env, &closure.resources)?;
            let args: Vec<jvalue> = [
                JValue::Object(&id),
                JValue::Object(&server),
                JValue::Object(&class_name),
                JValue::Object(&method_name),
                JValue::Object(&descriptor),
                JValue::Object(&receiver),
                JValue::Object(&class_names),
                JValue::Object(&class_bytes),
                JValue::Object(&resource_names),
                JValue::Object(&resource_bytes),
            ]
            .iter()
            .map(JValue::as_jni)
            .collect();
            // SAFETY: `install` was resolved on this class with exactly these argument types.
            unsafe {
                env.call_static_method_unchecked(
                    &self.runtime,
                    self.install,
                    ReturnType::Primitive(Primitive::Void),
                    &args,
                )
            }?;
            Ok(())
        })
    }

    /// Sets (or, with `None`, clears) the X-Ray trace header of the invocation about to run as
    /// the system property the AWS SDKs for Java read: Java sees the process environment only as
    /// it was at start, so `_X_AMZN_TRACE_ID` alone would not reach it.
    pub fn set_trace_header(&self, trace_id: Option<&str>) -> Result<(), JvmError> {
        attach(&self.vm, "setting the trace header", |env| {
            let key = env.new_string(TRACE_HEADER_PROPERTY)?;
            let system = env.find_class(jni_str!("java/lang/System"))?;
            match trace_id {
                Some(trace_id) => {
                    let value = env.new_string(trace_id)?;
                    env.call_static_method(
                        &system,
                        jni_str!("setProperty"),
                        jni_sig!("(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;"),
                        &[JValue::from(&key), JValue::from(&value)],
                    )?;
                }
                None => {
                    env.call_static_method(
                        &system,
                        jni_str!("clearProperty"),
                        jni_sig!("(Ljava/lang/String;)Ljava/lang/String;"),
                        &[JValue::from(&key)],
                    )?;
                }
            }
            Ok(())
        })
    }

    /// `System.gc()`: a full collection (before a checkpoint, so the image holds live objects).
    pub fn collect_garbage(&self) -> Result<(), JvmError> {
        attach(&self.vm, "collecting garbage", |env| {
            let system = env.find_class(jni_str!("java/lang/System"))?;
            env.call_static_method(&system, jni_str!("gc"), jni_sig!("()V"), &[])?;
            Ok(())
        })
    }

    /// `FunctionRuntime.invoke`: runs the installed closure on `args`, returns outcome bytes.
    pub fn invoke(&self, closure_id: &str, args: &[u8]) -> Result<Vec<u8>, JvmError> {
        attach(&self.vm, "invoking the handler", |env| {
            let id = JString::from_str(env, closure_id)?;
            let args = env.byte_array_from_slice(args)?;
            let jargs = [JValue::Object(&id).as_jni(), JValue::Object(&args).as_jni()];
            // SAFETY: `invoke` was resolved on this class with exactly these argument types.
            let outcome = unsafe {
                env.call_static_method_unchecked(
                    &self.runtime,
                    self.invoke,
                    ReturnType::Array,
                    &jargs,
                )
            }?
            .l()?;
            if outcome.is_null() {
                return Err(JniError::NullPtr("FunctionRuntime.invoke returned null"));
            }
            // SAFETY: `invoke` returns a byte[].
            let outcome = unsafe { JByteArray::from_raw(env, outcome.into_raw()) };
            env.convert_byte_array(&outcome)
        })
    }
}

/// `String[]` of the names and `byte[][]` of the bytes.
fn named_arrays<'local>(
    env: &mut Env<'local>,
    items: &[NamedBytes],
) -> Result<(JObjectArray<'local, JString<'local>>, JObjectArray<'local>), JniError> {
    let names = JObjectArray::<JString>::new(env, items.len(), JString::null())?;
    let bytes = env.new_object_array(items.len() as i32, jni_str!("[B"), JObject::null())?;
    for (i, item) in items.iter().enumerate() {
        let name = JString::from_str(env, &item.name)?;
        names.set_element(env, i, &name)?;
        env.delete_local_ref(name);
        let array = env.byte_array_from_slice(&item.bytes)?;
        bytes.set_element(env, i, &array)?;
        env.delete_local_ref(array);
    }
    Ok((names, bytes))
}

/// Runs `f` on this thread attached to the JVM, in its own local frame. A Java exception left
/// pending is caught, cleared and logged with its stack, and returned as [`JvmError::Java`].
fn attach<T>(
    vm: &JavaVM,
    what: &str,
    f: impl FnOnce(&mut Env) -> Result<T, JniError>,
) -> Result<T, JvmError> {
    vm.attach_current_thread(f).map_err(|e| match e {
        JniError::CaughtJavaException {
            name, msg, stack, ..
        } => {
            warn!(%stack, "{what}: Java threw {name}: {msg}");
            JvmError::Java {
                what: what.to_owned(),
                exception: format!("{name}: {msg}"),
            }
        }
        source => JvmError::Jni {
            what: what.to_owned(),
            source,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &[&str], class_sharing: ClassSharing) -> JvmConfig {
        JvmConfig {
            java_home: PathBuf::from("/jdk"),
            runtime_jar: PathBuf::from("/task/semifaas-runtime.jar"),
            extra_options: extra.iter().map(|o| o.to_string()).collect(),
            class_sharing,
            checkpointable: false,
        }
    }

    #[test]
    fn a_checkpointable_instance_keeps_its_image_small_unless_the_operator_says_otherwise() {
        let plain = config(&[], ClassSharing::Off("test".into())).options();
        assert!(!plain
            .iter()
            .any(|o| o.starts_with("-Xms") || o.contains("ArchiveRelocationMode")));
        let mut checkpointable = config(&["-Xms64m"], ClassSharing::Off("test".into()));
        checkpointable.checkpointable = true;
        let options = checkpointable.options();
        let at = |option: &str| options.iter().position(|o| o == option).unwrap();
        assert!(
            at("-Xms16m") < at("-Xms64m"),
            "the operator's options win: {options:?}"
        );
        assert!(at("-XX:+UnlockDiagnosticVMOptions") < at("-XX:ArchiveRelocationMode=0"));
    }

    #[test]
    fn the_options_are_the_defaults_then_the_archive_then_the_operators() {
        let archive = PathBuf::from("/tmp/semifaas-cds/k.jsa");
        let options = config(
            &["-XX:TieredStopAtLevel=1", "-XX:+UsePerfData"],
            ClassSharing::Use {
                archive: archive.clone(),
            },
        )
        .options();
        assert_eq!(options[0], "-Djava.class.path=/task/semifaas-runtime.jar");
        let at = |option: &str| {
            options
                .iter()
                .position(|o| o == option)
                .unwrap_or_else(|| panic!("{option} missing from {options:?}"))
        };
        at("-Xshare:auto");
        at("-XX:+UseSerialGC");
        let archive_option = at(&format!("-XX:SharedArchiveFile={}", archive.display()));
        // The operator's options come last, so they override a default (the JVM takes the last).
        assert!(at("-XX:-UsePerfData") < archive_option);
        assert_eq!(options.len() - 2, at("-XX:TieredStopAtLevel=1"));
        assert_eq!(options.len() - 1, at("-XX:+UsePerfData"));
        assert!(
            !options
                .iter()
                .any(|o| o.contains("Verify") || o == "-Xverify:none"),
            "bytecode verification stays on: {options:?}"
        );
        let off = config(&[], ClassSharing::Off("test".into())).options();
        assert!(!off
            .iter()
            .any(|o| o.contains("SharedArchiveFile") || o.contains("DumpLoaded")));
    }

    #[test]
    fn the_function_opens_the_packages_of_the_shared_list_and_java_lang_invoke() {
        let opens: Vec<&str> = java_base_opens().collect();
        for package in ["java.lang", "java.util", "java.time", "java.lang.invoke"] {
            assert!(opens.contains(&package), "{package} missing from {opens:?}");
        }
        assert!(
            opens
                .iter()
                .all(|p| p.starts_with("java.") && !p.contains(' ')),
            "comments or blanks leaked into {opens:?}"
        );
    }
}
