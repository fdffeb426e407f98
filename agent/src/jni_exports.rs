//! The `io.semifaas.agent.NativeBridge` natives. Each one converts its arguments, forwards to the
//! [`Agent`](crate::runtime::Agent) and converts the result; nothing else happens here.
//!
//! A native failure must never take the JVM down: every export catches errors and panics, logs
//! them and fails open (`false`/`null`: the handler runs locally). Only `registerClosure` throws
//! (`IllegalArgumentException` for an invalid closure), as its contract says.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::Arc,
    time::Duration,
};

use jni::{
    errors::ErrorPolicy,
    jni_sig, jni_str,
    objects::{JByteArray, JClass, JObjectArray, JString},
    strings::JNIString,
    sys::{jboolean, jint, jlong},
    Env, EnvUnowned,
};
use semifaas_closure::{Closure, ClosureId, HandlerRef, NamedBytes};
use tracing::{error, warn};

use crate::{
    config::{self, AgentConfig},
    handler_ids::HandlerId,
    java_callbacks::JavaCodeSource,
    runtime::{self, Agent},
};

#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("JNI call failed: {0}")]
    Jni(#[from] jni::errors::Error),
    #[error("{0}")]
    Invalid(String),
}

type Result<T> = std::result::Result<T, ExportError>;

/// Logs the error or panic and returns the type's default (`false`, `0`, `null`).
struct FailOpen;

impl<T: Default, E: std::fmt::Display> ErrorPolicy<T, E> for FailOpen {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = ();

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _: &mut (),
        err: E,
    ) -> jni::errors::Result<T> {
        log_failure(&err);
        // A pending exception would surface in the application's request: fail open instead.
        env.exception_clear();
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        _: &mut (),
        payload: Box<dyn std::any::Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        log_panic(&*payload);
        env.exception_clear();
        Ok(T::default())
    }
}

/// [`FailOpen`] for the two natives every request calls (`shouldOffload`, `recordLocal`), which
/// take and return primitives only: they make no `Env`, the `jni` crate's per-call attach
/// bookkeeping, and as they touch no Java object no exception can be pending.
fn primitive_fail_open<T: Default>(native: impl FnOnce() -> Result<T>) -> T {
    match catch_unwind(AssertUnwindSafe(native)) {
        Ok(Ok(value)) => value,
        Ok(Err(err)) => {
            log_failure(&err);
            T::default()
        }
        Err(payload) => {
            log_panic(&*payload);
            T::default()
        }
    }
}

fn log_failure(err: &dyn std::fmt::Display) {
    error!(error = %err, "semifaas native call failed; the handler runs locally");
}

fn log_panic(payload: &(dyn std::any::Any + Send)) {
    error!(
        panic = panic_message(payload),
        "semifaas native call panicked; the handler runs locally"
    );
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}

fn agent() -> Result<&'static Agent> {
    runtime::global()
        .ok_or_else(|| ExportError::Invalid("the semifaas agent is not initialized".into()))
}

fn string(env: &Env, value: &JString, what: &str) -> Result<String> {
    if value.is_null() {
        return Err(ExportError::Invalid(format!("{what} is null")));
    }
    Ok(value.try_to_string(env)?)
}

fn strings(env: &mut Env, array: &JObjectArray<JString>, what: &str) -> Result<Vec<String>> {
    if array.is_null() {
        return Err(ExportError::Invalid(format!("{what} is null")));
    }
    let len = array.len(env)?;
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let element = array.get_element(env, i)?;
        let value = string(env, &element, &format!("{what}[{i}]"));
        env.delete_local_ref(element);
        out.push(value?);
    }
    Ok(out)
}

fn bytes(env: &Env, array: &JByteArray, what: &str) -> Result<Vec<u8>> {
    if array.is_null() {
        return Err(ExportError::Invalid(format!("{what} is null")));
    }
    Ok(env.convert_byte_array(array)?)
}

fn byte_arrays(
    env: &mut Env,
    array: &JObjectArray<JByteArray>,
    what: &str,
) -> Result<Vec<Vec<u8>>> {
    if array.is_null() {
        return Err(ExportError::Invalid(format!("{what} is null")));
    }
    let len = array.len(env)?;
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let element = array.get_element(env, i)?;
        let value = bytes(env, &element, &format!("{what}[{i}]"));
        env.delete_local_ref(element);
        out.push(value?);
    }
    Ok(out)
}

fn duration_from_nanos(nanos: jlong) -> Duration {
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// `static native String init(String[] keys, String[] values)`: `null` or an error message.
#[no_mangle]
pub extern "system" fn Java_io_semifaas_agent_NativeBridge_init<'local>(
    mut unowned: EnvUnowned<'local>,
    class: JClass<'local>,
    keys: JObjectArray<'local, JString<'local>>,
    values: JObjectArray<'local, JString<'local>>,
) -> JString<'local> {
    unowned
        .with_env(|env| -> Result<JString<'local>> {
            // Caught here rather than by the policy: a panic must come back as a message, not
            // as `null` (which means success).
            let outcome = catch_unwind(AssertUnwindSafe(|| init(env, &class, &keys, &values)))
                .unwrap_or_else(|p| {
                    Err(format!(
                        "semifaas agent panicked during init: {}",
                        panic_message(&*p)
                    ))
                });
            match outcome {
                Ok(()) => Ok(JString::default()),
                Err(message) => {
                    // Not logged here: premain prints it, as the one line about it.
                    env.exception_clear();
                    Ok(JString::from_str(env, message)?)
                }
            }
        })
        .resolve::<FailOpen>()
}

fn init(
    env: &mut Env,
    class: &JClass,
    keys: &JObjectArray<JString>,
    values: &JObjectArray<JString>,
) -> std::result::Result<(), String> {
    let keys = strings(env, keys, "keys").map_err(|e| e.to_string())?;
    let values = strings(env, values, "values").map_err(|e| e.to_string())?;
    if keys.len() != values.len() {
        return Err(format!(
            "{} configuration keys but {} values",
            keys.len(),
            values.len()
        ));
    }
    let defaults = AgentConfig {
        auto_capacity: jvm_processors(env)
            .map_err(|e| format!("Runtime.availableProcessors: {e}"))?,
        ..AgentConfig::default()
    };
    let config = defaults
        .with_pairs(keys.iter().zip(&values))
        .map_err(|e| e.to_string())?;
    runtime::init_logging(&config.log_filter);
    let code = JavaCodeSource::new(env, class)
        .map_err(|e| format!("could not keep a reference to NativeBridge: {e}"))?;
    runtime::init_global(config, Arc::new(code)).map_err(|e| e.to_string())?;
    Ok(())
}

/// The CPUs the JVM uses (`Runtime.getRuntime().availableProcessors()`): the CPUs it started
/// on, or `-XX:ActiveProcessorCount`, or its container's limit.
fn jvm_processors(env: &mut Env) -> jni::errors::Result<u32> {
    let runtime = env
        .call_static_method(
            jni_str!("java/lang/Runtime"),
            jni_str!("getRuntime"),
            jni_sig!("()Ljava/lang/Runtime;"),
            &[],
        )?
        .l()?;
    let count = env
        .call_method(
            &runtime,
            jni_str!("availableProcessors"),
            jni_sig!("()I"),
            &[],
        )?
        .i()?;
    Ok(u32::try_from(count).unwrap_or(1).max(1))
}

/// `static native String[] configKeys()`: every configuration key ([`config::key_names`]), so
/// that Java maps `SEMIFAAS_*` environment variables without a list of its own. `null` on failure.
#[no_mangle]
pub extern "system" fn Java_io_semifaas_agent_NativeBridge_configKeys<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JObjectArray<'local, JString<'local>> {
    unowned
        .with_env(|env| -> Result<JObjectArray<'local, JString<'local>>> {
            let names: Vec<&str> = config::key_names().collect();
            let array = JObjectArray::<JString>::new(env, names.len(), JString::default())?;
            for (i, name) in names.into_iter().enumerate() {
                let element = JString::from_str(env, name)?;
                array.set_element(env, i, &element)?;
                env.delete_local_ref(element);
            }
            Ok(array)
        })
        .resolve::<FailOpen>()
}

/// `static native long handlerId(String handlerKey)`: positive, or 0 when no id can be given.
#[no_mangle]
pub extern "system" fn Java_io_semifaas_agent_NativeBridge_handlerId<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handler_key: JString<'local>,
) -> jlong {
    unowned
        .with_env(|env| -> Result<jlong> {
            let key = string(env, &handler_key, "handlerKey")?;
            Ok(agent()?.handler_id(&key).map_or(0, HandlerId::to_java))
        })
        .resolve::<FailOpen>()
}

/// The handler an id from `handlerId` names; a value no handler has is an error (logged, the
/// handler runs locally).
fn handler(id: jlong) -> Result<HandlerId> {
    HandlerId::from_java(id)
        .ok_or_else(|| ExportError::Invalid(format!("no handler has the id {id}")))
}

/// `static native boolean shouldOffload(long handlerId)`.
#[no_mangle]
pub extern "system" fn Java_io_semifaas_agent_NativeBridge_shouldOffload(
    _env: *mut jni::sys::JNIEnv,
    _class: jni::sys::jclass,
    handler_id: jlong,
) -> jboolean {
    primitive_fail_open(|| Ok(agent()?.should_offload(handler(handler_id)?)))
}

/// `static native String registerClosure(String handlerKey, String className, String
/// methodName, String descriptor, byte[] receiver, String[] classNames, byte[][] classBytes)`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_io_semifaas_agent_NativeBridge_registerClosure<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handler_key: JString<'local>,
    class_name: JString<'local>,
    method_name: JString<'local>,
    descriptor: JString<'local>,
    receiver: JByteArray<'local>,
    class_names: JObjectArray<'local, JString<'local>>,
    class_bytes: JObjectArray<'local, JByteArray<'local>>,
) -> JString<'local> {
    unowned
        .with_env(|env| -> Result<JString<'local>> {
            let agent = agent()?;
            let built = (|| -> Result<Closure> {
                let key = string(env, &handler_key, "handlerKey")?;
                let handler = HandlerRef {
                    class_name: string(env, &class_name, "className")?,
                    method_name: string(env, &method_name, "methodName")?,
                    descriptor: string(env, &descriptor, "descriptor")?,
                };
                if handler.key() != key {
                    return Err(ExportError::Invalid(format!(
                        "handler key {key:?} does not match the method {:?}",
                        handler.key()
                    )));
                }
                let names = strings(env, &class_names, "classNames")?;
                let blobs = byte_arrays(env, &class_bytes, "classBytes")?;
                if names.len() != blobs.len() {
                    return Err(ExportError::Invalid(format!(
                        "{} class names but {} class byte arrays",
                        names.len(),
                        blobs.len()
                    )));
                }
                Ok(Closure {
                    handler,
                    receiver: bytes(env, &receiver, "receiver")?,
                    classes: names
                        .into_iter()
                        .zip(blobs)
                        .map(|(name, bytes)| NamedBytes { name, bytes })
                        .collect(),
                    resources: Vec::new(),
                })
            })();
            let registered = built.and_then(|c| {
                agent
                    .register_closure(c)
                    .map_err(|e| ExportError::Invalid(e.0))
            });
            match registered {
                Ok(id) => Ok(JString::from_str(env, id.to_string())?),
                Err(ExportError::Invalid(message)) => {
                    warn!(%message, "closure rejected");
                    // jni reports a successfully thrown exception as `Err(JavaException)`: it is now
                    // pending and Java sees it when this returns.
                    match env.throw_new(
                        jni_str!("java/lang/IllegalArgumentException"),
                        JNIString::from(message),
                    ) {
                        Ok(()) | Err(jni::errors::Error::JavaException) => {}
                        Err(e) => return Err(e.into()),
                    }
                    Ok(JString::default())
                }
                Err(e) => Err(e),
            }
        })
        .resolve::<FailOpen>()
}

fn closure_id(env: &Env, value: &JString) -> Result<ClosureId> {
    string(env, value, "closureId")?
        .parse()
        .map_err(|e: semifaas_closure::ValidationError| ExportError::Invalid(e.0))
}

/// `static native byte[] offload(String handlerKey, String closureId, byte[] args, long
/// scopeId)`: outcome bytes, or `null` to run locally. Remote calls of the invocation are
/// answered in the Java invocation scope `scopeId`.
#[no_mangle]
pub extern "system" fn Java_io_semifaas_agent_NativeBridge_offload<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handler_key: JString<'local>,
    closure_id_hex: JString<'local>,
    args: JByteArray<'local>,
    scope_id: jlong,
) -> JByteArray<'local> {
    unowned
        .with_env(|env| -> Result<JByteArray<'local>> {
            let agent = agent()?;
            let key = string(env, &handler_key, "handlerKey")?;
            let id = closure_id(env, &closure_id_hex)?;
            let args = bytes(env, &args, "args")?;
            // Java longs are signed: the id travels as its two's-complement bit pattern.
            match agent.offload(&key, id, args, scope_id as u64) {
                Some(outcome) => Ok(env.byte_array_from_slice(&outcome)?),
                None => Ok(JByteArray::default()),
            }
        })
        .resolve::<FailOpen>()
}

/// `static native void recordSample(String handlerKey, String closureId, byte[] args)`: the
/// arguments of a real local run, kept for shadow execution while the handler has room.
#[no_mangle]
pub extern "system" fn Java_io_semifaas_agent_NativeBridge_recordSample<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handler_key: JString<'local>,
    closure_id_hex: JString<'local>,
    args: JByteArray<'local>,
) {
    unowned
        .with_env(|env| -> Result<()> {
            let agent = agent()?;
            let key = string(env, &handler_key, "handlerKey")?;
            // Checked first: once a handler has its samples, recording copies nothing.
            if !agent.wants_sample(&key) {
                return Ok(());
            }
            let id = closure_id(env, &closure_id_hex)?;
            let args = bytes(env, &args, "args")?;
            agent.record_sample(&key, id, args);
            Ok(())
        })
        .resolve::<FailOpen>()
}

/// `static native void recordLocal(long handlerId, long wallNanos, long cpuNanos)`; a negative
/// `cpuNanos` is a run whose CPU time was not measured (the Java side samples it).
#[no_mangle]
pub extern "system" fn Java_io_semifaas_agent_NativeBridge_recordLocal(
    _env: *mut jni::sys::JNIEnv,
    _class: jni::sys::jclass,
    handler_id: jlong,
    wall_nanos: jlong,
    cpu_nanos: jlong,
) {
    primitive_fail_open(|| {
        let cpu = u64::try_from(cpu_nanos).ok().map(Duration::from_nanos);
        agent()?.record_local(handler(handler_id)?, duration_from_nanos(wall_nanos), cpu);
        Ok(())
    })
}

/// Exports a `static native void NAME(String handlerKey, String reason)` recorder: JNI needs one
/// symbol per method, the body is [`record_with_reason`].
macro_rules! reason_recorder {
    ($(#[$doc:meta])* $symbol:ident => $record:path) => {
        $(#[$doc])*
        #[no_mangle]
        pub extern "system" fn $symbol<'local>(
            unowned: EnvUnowned<'local>,
            _class: JClass<'local>,
            handler_key: JString<'local>,
            reason: JString<'local>,
        ) {
            record_with_reason(unowned, handler_key, reason, $record)
        }
    };
}

reason_recorder!(
    /// `static native void recordIneligible(String handlerKey, String reason)`.
    Java_io_semifaas_agent_NativeBridge_recordIneligible => Agent::record_ineligible
);
reason_recorder!(
    /// `static native void recordOffloadFailure(String handlerKey, String reason)`.
    Java_io_semifaas_agent_NativeBridge_recordOffloadFailure => Agent::record_offload_failure
);
reason_recorder!(
    /// `static native void recordAbandoned(String handlerKey, String reason)`.
    Java_io_semifaas_agent_NativeBridge_recordAbandoned => Agent::record_abandoned
);
reason_recorder!(
    /// `static native void recordDiverged(String handlerKey, String reason)`.
    Java_io_semifaas_agent_NativeBridge_recordDiverged => Agent::record_diverged
);

/// `static native void recordReexecuted(String handlerKey)`.
#[no_mangle]
pub extern "system" fn Java_io_semifaas_agent_NativeBridge_recordReexecuted<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    handler_key: JString<'local>,
) {
    unowned
        .with_env(|env| -> Result<()> {
            let key = string(env, &handler_key, "handlerKey")?;
            agent()?.record_reexecuted(&key);
            Ok(())
        })
        .resolve::<FailOpen>()
}

/// `static native void recordCallLog(int entries, long bytes, boolean overCap, long
/// bytesInUse)`.
#[no_mangle]
pub extern "system" fn Java_io_semifaas_agent_NativeBridge_recordCallLog<'local>(
    mut unowned: EnvUnowned<'local>,
    _class: JClass<'local>,
    entries: jint,
    bytes: jlong,
    over_cap: jboolean,
    bytes_in_use: jlong,
) {
    unowned
        .with_env(|_env| -> Result<()> {
            let count = |v: i64| u64::try_from(v).unwrap_or(0);
            agent()?.record_call_log(
                count(i64::from(entries)),
                count(bytes),
                over_cap,
                count(bytes_in_use),
            );
            Ok(())
        })
        .resolve::<FailOpen>()
}

reason_recorder!(
    /// `static native void recordVerified(String handlerKey, String mismatch)`: an empty
    /// mismatch means the local run agreed.
    Java_io_semifaas_agent_NativeBridge_recordVerified => Agent::record_verified
);

/// The body of the `(String handlerKey, String reason)` recorders.
fn record_with_reason<'local>(
    mut unowned: EnvUnowned<'local>,
    handler_key: JString<'local>,
    reason: JString<'local>,
    record: fn(&Agent, &str, &str),
) {
    unowned
        .with_env(|env| -> Result<()> {
            let key = string(env, &handler_key, "handlerKey")?;
            let reason = string(env, &reason, "reason")?;
            record(agent()?, &key, &reason);
            Ok(())
        })
        .resolve::<FailOpen>()
}
