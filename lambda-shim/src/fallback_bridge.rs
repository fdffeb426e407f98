//! Fallback requests for the invocation in flight: one QUIC connection per server the instance
//! works for, driven by a tokio runtime the shim owns, and the `FallbackNative` natives the Java
//! runtime calls.
//!
//! Threads: the main thread and Java threads calling the natives block on the runtime with
//! `Runtime::block_on`; none of them is a runtime worker, so nothing blocks inside the runtime.

use std::{
    collections::HashMap,
    ffi::c_void,
    sync::{
        atomic::{AtomicU32, Ordering},
        OnceLock,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use jni::{
    errors::{Error as JniError, ThrowRuntimeExAndDefault},
    jni_sig, jni_str,
    objects::{JByteArray, JClass, JObjectArray, JString, JThrowable, JValue},
    sys::jlong,
    Env, EnvUnowned, NativeMethod,
};
use parking_lot::{Mutex, RwLock};
use semifaas_closure::limits::LIBRARY_REPORT_NAMES_MAX;
use semifaas_closure::{
    Capability, Closure, ClosureId, FallbackCounts, FallbackEndpoint, Invocation,
};
use semifaas_fallback::{
    manifest_to_text,
    protocol::{LIBRARY_REPORT_MAX, NAMED_REQUEST_MAX},
    FallbackClient, FallbackClientError, JarHash,
};
use tracing::{debug, warn};

/// Binary name (with slashes) of the class whose natives [`native_methods`] implements.
pub const NATIVE_CLASS: &str = "io/semifaas/runtime/FallbackNative";

#[derive(Debug, thiserror::Error)]
pub enum FallbackBridgeError {
    #[error("could not start the fallback runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("the task making the fallback connection failed: {0}")]
    ConnectTask(#[source] tokio::task::JoinError),
    #[error("no invocation is in flight: fallbacks are only answered during one")]
    NoInvocation,
    #[error("the invocation deadline passed before the fallback server answered {0}")]
    DeadlinePassed(String),
    #[error(transparent)]
    Client(#[from] FallbackClientError),
    #[error("{0}")]
    BadArgument(String),
}

/// What fallbacks of the current invocation carry and until when they may wait.
#[derive(Debug, Clone)]
struct CallContext {
    capability: Capability,
    endpoint: FallbackEndpoint,
    deadline: Instant,
}

#[derive(Default)]
struct Counters {
    fetch_closure: AtomicU32,
    load_class: AtomicU32,
    get_resource: AtomicU32,
    invoke: AtomicU32,
}

/// A fallback of the current invocation that got no answer (deadline, connection, refusal):
/// whatever the handler did after it is not the application's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedFallback {
    /// What was asked for, e.g. `class com.example.Helper`.
    pub what: String,
    pub error: String,
    /// A class the JVM now records as failed to load: this JVM must not serve again.
    pub poisons_instance: bool,
}

/// What the fallbacks of one invocation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackSummary {
    pub counts: FallbackCounts,
    /// The first fallback that failed, if any.
    pub failed: Option<FailedFallback>,
}

/// The instance's fallback state. One per process (the natives reach it through a static).
pub struct FallbackBridge {
    /// Started on first use; stopped at a checkpoint (`disconnect_all`), so that no thread of it
    /// sits in the kernel while CRIU dumps the process: a restored copy starts a fresh one.
    runtime: RwLock<Option<tokio::runtime::Runtime>>,
    current: Mutex<Option<CallContext>>,
    /// One connection per server endpoint: invocations of several servers alternate on an
    /// instance, and each must call back to its own.
    clients: tokio::sync::Mutex<HashMap<FallbackEndpoint, FallbackClient>>,
    counters: Counters,
    failed: Mutex<Option<FailedFallback>>,
}

static BRIDGE: OnceLock<FallbackBridge> = OnceLock::new();

impl FallbackBridge {
    /// Starts the process-wide bridge (its tokio runtime); later calls return the same one.
    pub fn start() -> Result<&'static FallbackBridge, FallbackBridgeError> {
        if let Some(bridge) = BRIDGE.get() {
            return Ok(bridge);
        }
        let runtime = new_runtime().map_err(FallbackBridgeError::Runtime)?;
        Ok(BRIDGE.get_or_init(|| FallbackBridge {
            runtime: RwLock::new(Some(runtime)),
            current: Mutex::new(None),
            clients: tokio::sync::Mutex::new(HashMap::new()),
            counters: Counters::default(),
            failed: Mutex::new(None),
        }))
    }

    /// Fallbacks from now on belong to `invocation`; the counters start from zero.
    pub fn begin(&self, invocation: &Invocation) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let left = Duration::from_millis(invocation.deadline_unix_ms.saturating_sub(now_ms));
        *self.current.lock() = Some(CallContext {
            capability: invocation.capability,
            endpoint: invocation.fallback.clone(),
            deadline: Instant::now() + left,
        });
        self.counters.fetch_closure.store(0, Ordering::Relaxed);
        self.counters.load_class.store(0, Ordering::Relaxed);
        self.counters.get_resource.store(0, Ordering::Relaxed);
        self.counters.invoke.store(0, Ordering::Relaxed);
        *self.failed.lock() = None;
    }

    /// Ends the current invocation and returns the fallbacks it made.
    pub fn finish(&self) -> FallbackSummary {
        *self.current.lock() = None;
        FallbackSummary {
            counts: FallbackCounts {
                fetch_closure: self.counters.fetch_closure.load(Ordering::Relaxed),
                load_class: self.counters.load_class.load(Ordering::Relaxed),
                get_resource: self.counters.get_resource.load(Ordering::Relaxed),
                invoke: self.counters.invoke.load(Ordering::Relaxed),
            },
            failed: self.failed.lock().take(),
        }
    }

    /// Keeps the first failure of the invocation: later ones usually follow from it.
    fn record_failure<T>(
        &self,
        what: &str,
        poisons_instance: bool,
        result: Result<T, FallbackBridgeError>,
    ) -> Result<T, FallbackBridgeError> {
        if let Err(e) = &result {
            let mut failed = self.failed.lock();
            if failed.is_none() {
                *failed = Some(FailedFallback {
                    what: what.to_owned(),
                    error: e.to_string(),
                    poisons_instance,
                });
            }
        }
        result
    }

    /// Makes sure the current invocation's server holds the certificate the invocation names:
    /// a live connection to its endpoint (made now if there is none) passed the pinned TLS
    /// handshake. Not counted as a fallback.
    pub fn prove_server(&self) -> Result<(), FallbackBridgeError> {
        self.call(
            "the server's certificate".to_owned(),
            Retry::Never,
            |_client, _capability| async { Ok(()) },
        )
    }

    /// Fetches closure `id` from the server of the current invocation (checked against its id).
    pub fn fetch_closure(&self, id: ClosureId) -> Result<Closure, FallbackBridgeError> {
        self.counters.fetch_closure.fetch_add(1, Ordering::Relaxed);
        self.call(
            format!("closure {id}"),
            Retry::Once,
            |client, capability| async move { client.fetch_closure(capability, id).await },
        )
    }

    /// A class file by binary name, `None` when the server does not have it.
    pub fn load_class(&self, name: &str) -> Result<Option<Vec<u8>>, FallbackBridgeError> {
        self.counters.load_class.fetch_add(1, Ordering::Relaxed);
        let what = format!("class {name}");
        let result = self.call(what.clone(), Retry::Once, |client, capability| async move {
            client.load_class(capability, name).await
        });
        // The JVM caches a class that failed to load as failed for good.
        self.record_failure(&what, true, result)
    }

    /// A resource by path, `None` when the server does not have it.
    pub fn get_resource(&self, path: &str) -> Result<Option<Vec<u8>>, FallbackBridgeError> {
        self.counters.get_resource.fetch_add(1, Ordering::Relaxed);
        let what = format!("resource {path}");
        let result = self.call(what.clone(), Retry::Once, |client, capability| async move {
            client.get_resource(capability, path).await
        });
        self.record_failure(&what, false, result)
    }

    /// Calls `method` on the server object `ref_id`; returns outcome bytes (tag 0 returned,
    /// 1 threw, 2 refused or failed on the server).
    pub fn invoke_remote(
        &self,
        ref_id: u64,
        method: &str,
        descriptor: &str,
        args: Vec<u8>,
    ) -> Result<Vec<u8>, FallbackBridgeError> {
        // The invocation's calls are numbered from 1: the server logs each answer under its
        // number, so a call sent again is answered from the log instead of running twice.
        let seq = self.counters.invoke.fetch_add(1, Ordering::Relaxed) + 1;
        let what = format!("call #{seq} of {method}{descriptor} on ref {ref_id}");
        let result = self.call(what.clone(), Retry::Once, |client, capability| {
            let args = args.clone();
            async move {
                client
                    .invoke_remote(capability, seq, ref_id, method, descriptor, args)
                    .await
            }
        });
        self.record_failure(&what, false, result)
    }

    /// The library manifest of the current invocation's server (the text form of
    /// `semifaas_fallback::manifest_to_text`). Not recorded as the invocation's failure: without
    /// it, classes come one by one.
    pub fn library_manifest(&self) -> Result<String, FallbackBridgeError> {
        self.call(
            "the library manifest".to_owned(),
            Retry::Once,
            |client, capability| async move {
                Ok(manifest_to_text(
                    &client.library_manifest(capability).await?,
                ))
            },
        )
    }

    /// A chunk of library jar `sha256` from `offset`, and the jar's size.
    pub fn library_jar_chunk(
        &self,
        sha256: JarHash,
        offset: u64,
    ) -> Result<(u64, Vec<u8>), FallbackBridgeError> {
        self.call(
            format!("library jar {sha256}"),
            Retry::Once,
            |client, capability| async move {
                client.library_jar_chunk(capability, sha256, offset).await
            },
        )
    }

    /// Reports classes defined from library jars, in batches the protocol bounds. A failed
    /// report is the invocation's failure: the server would refuse what those classes build.
    pub fn library_classes_defined(&self, names: &[String]) -> Result<(), FallbackBridgeError> {
        for batch in report_batches(names) {
            let what = format!("report of {} library classes", batch.len());
            let result = self.call(what.clone(), Retry::Once, |client, capability| {
                let batch = batch.to_vec();
                async move { client.library_classes_defined(capability, batch).await }
            });
            self.record_failure(&what, false, result)?;
        }
        Ok(())
    }

    /// Runs one request to completion on the calling thread, bounded by the deadline. With
    /// [`Retry::Once`], a request that fails below the protocol (connection lost) is retried
    /// once on a new connection: only for requests that are harmless to repeat (reads, and remote
    /// calls, which the server answers from its log when it already ran them).
    fn call<'a, T, F, Fut>(
        &self,
        what: String,
        retry: Retry,
        request: F,
    ) -> Result<T, FallbackBridgeError>
    where
        F: Fn(FallbackClient, Capability) -> Fut + 'a,
        Fut: std::future::Future<Output = Result<T, FallbackClientError>> + 'a,
    {
        let context = self
            .current
            .lock()
            .clone()
            .ok_or(FallbackBridgeError::NoInvocation)?;
        let left = context.deadline.saturating_duration_since(Instant::now());
        // A timeout of zero still polls the request once and lets it finish if the timer is
        // late: a deadline already passed must not even try.
        if left.is_zero() {
            return Err(FallbackBridgeError::DeadlinePassed(what));
        }
        self.block_on(async {
            let attempts = async {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let client = self
                        .client_for(&context.endpoint, context.capability)
                        .await?;
                    match request(client.clone(), context.capability).await {
                        Err(FallbackClientError::Request { ref source, .. })
                            if attempt == 1 && retry == Retry::Once =>
                        {
                            warn!(%source, "fallback request for {what} failed, reconnecting");
                            self.forget(&client).await;
                        }
                        result => return result.map_err(FallbackBridgeError::from),
                    }
                }
            };
            tokio::time::timeout(left, attempts)
                .await
                .map_err(|_| FallbackBridgeError::DeadlinePassed(what.clone()))?
        })
    }

    /// The connection to `endpoint` (address, name and pinned certificate alike), made on first
    /// use and again when it closed; a new connection authenticates with `capability`.
    async fn client_for(
        &self,
        endpoint: &FallbackEndpoint,
        capability: Capability,
    ) -> Result<FallbackClient, FallbackBridgeError> {
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(endpoint).filter(|c| !c.is_closed()) {
            return Ok(client.clone());
        }
        debug!(addr = %endpoint.addr, "connecting to the fallback server");
        // On a runtime thread, not the caller's: QUIC draws connection ids from the thread's
        // random generator, and a JVM thread's generator is the same in every copy restored from
        // one checkpoint (its first connection would take the ids of the checkpointed instance's
        // and be lost on the server). The runtime's threads never outlive a checkpoint
        // (`disconnect_all`), so theirs are seeded anew in each copy.
        let connecting = {
            let endpoint = endpoint.clone();
            tokio::spawn(async move { FallbackClient::connect(&endpoint, capability).await })
        };
        let client = connecting
            .await
            .map_err(FallbackBridgeError::ConnectTask)??;
        clients.retain(|_, c| !c.is_closed());
        if clients.len() >= CONNECTIONS_MAX {
            // Servers come and go (restarts make new certificates): drop an arbitrary one.
            if let Some(old) = clients.keys().next().cloned() {
                clients.remove(&old);
            }
        }
        clients.insert(endpoint.clone(), client.clone());
        Ok(client)
    }

    async fn forget(&self, failed: &FallbackClient) {
        self.clients.lock().await.remove(failed.endpoint());
    }

    /// Closes every fallback connection and its endpoint, so that no UDP socket stays open (a
    /// checkpoint, see `checkpoint`); the next fallback connects again. Waits at most
    /// [`DISCONNECT_WAIT`]; returns how many endpoints did not close in that time. Called
    /// between invocations: none holds a connection then.
    pub fn disconnect_all(&self) -> usize {
        let lingering = self
            .block_on(async {
                let mut closing = tokio::task::JoinSet::new();
                for (endpoint, client) in self.clients.lock().await.drain() {
                    debug!(addr = %endpoint.addr, "closing the fallback connection");
                    closing.spawn(client.shut_down(DISCONNECT_WAIT));
                }
                Ok(closing
                    .join_all()
                    .await
                    .into_iter()
                    .filter(|closed| !closed)
                    .count())
            })
            .unwrap_or(0);
        // Its threads end with it; the next fallback starts another runtime.
        if let Some(runtime) = self.runtime.write().take() {
            runtime.shutdown_timeout(DISCONNECT_WAIT);
        }
        lingering
    }

    /// Runs `work` on the bridge's runtime, starting one if a checkpoint stopped it.
    fn block_on<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, FallbackBridgeError>>,
    ) -> Result<T, FallbackBridgeError> {
        loop {
            if let Some(runtime) = self.runtime.read().as_ref() {
                return runtime.block_on(work);
            }
            let mut slot = self.runtime.write();
            if slot.is_none() {
                *slot = Some(new_runtime().map_err(FallbackBridgeError::Runtime)?);
            }
        }
    }
}

/// `names` cut into reports within the request's limits (count and bytes).
fn report_batches(names: &[String]) -> Vec<&[String]> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, name) in names.iter().enumerate() {
        let full = i - start == LIBRARY_REPORT_NAMES_MAX
            || bytes + name.len() + 8 > LIBRARY_REPORT_MAX - NAMED_REQUEST_MAX;
        if full && i > start {
            batches.push(&names[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += name.len() + 8;
    }
    if start < names.len() {
        batches.push(&names[start..]);
    }
    batches
}

fn new_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("semifaas-fallback")
        .enable_all()
        .build()
}

/// Server endpoints an instance keeps a connection to at once.
const CONNECTIONS_MAX: usize = 16;

/// How long [`FallbackBridge::disconnect_all`] waits for the endpoints to close. A closed
/// connection drains for three probe timeouts (a few round trips), whether or not the server
/// still answers.
const DISCONNECT_WAIT: Duration = Duration::from_secs(2);

/// Whether a request that lost its connection is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    Once,
    Never,
}

/// The natives of `io.semifaas.runtime.FallbackNative`, for `RegisterNatives`.
pub fn native_methods() -> [NativeMethod<'static>; 6] {
    // SAFETY: the first two take (JNIEnv, jclass, jstring) and return a jbyteArray, matching the
    // static native methods `byte[] loadClass(String)` and `byte[] getResource(String)`; the
    // third matches `byte[] invokeRemote(long, String, String, byte[])`.
    unsafe {
        [
            NativeMethod::from_raw_parts(
                jni_str!("loadClass"),
                jni_str!("(Ljava/lang/String;)[B"),
                native_load_class as *mut c_void,
            ),
            NativeMethod::from_raw_parts(
                jni_str!("getResource"),
                jni_str!("(Ljava/lang/String;)[B"),
                native_get_resource as *mut c_void,
            ),
            NativeMethod::from_raw_parts(
                jni_str!("invokeRemote"),
                jni_str!("(JLjava/lang/String;Ljava/lang/String;[B)[B"),
                native_invoke_remote as *mut c_void,
            ),
            // `byte[] libraryManifest()`, `byte[] libraryJarChunk(String, long)`, `void
            // libraryClassesDefined(String[])`.
            NativeMethod::from_raw_parts(
                jni_str!("libraryManifest"),
                jni_str!("()[B"),
                native_library_manifest as *mut c_void,
            ),
            NativeMethod::from_raw_parts(
                jni_str!("libraryJarChunk"),
                jni_str!("(Ljava/lang/String;J)[B"),
                native_library_jar_chunk as *mut c_void,
            ),
            NativeMethod::from_raw_parts(
                jni_str!("libraryClassesDefined"),
                jni_str!("([Ljava/lang/String;)V"),
                native_library_classes_defined as *mut c_void,
            ),
        ]
    }
}

extern "system" fn native_load_class<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    name: JString<'local>,
) -> JByteArray<'local> {
    env.with_env(|env| {
        let name = name.try_to_string(env)?;
        answer(env, bridge().and_then(|b| b.load_class(&name)))
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

extern "system" fn native_get_resource<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    path: JString<'local>,
) -> JByteArray<'local> {
    env.with_env(|env| {
        let path = path.try_to_string(env)?;
        answer(env, bridge().and_then(|b| b.get_resource(&path)))
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

extern "system" fn native_invoke_remote<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    ref_id: jlong,
    method: JString<'local>,
    descriptor: JString<'local>,
    args: JByteArray<'local>,
) -> JByteArray<'local> {
    env.with_env(|env| {
        let method = method.try_to_string(env)?;
        let descriptor = descriptor.try_to_string(env)?;
        let args = if args.is_null() {
            Vec::new()
        } else {
            env.convert_byte_array(&args)?
        };
        // Java longs are signed: the id travels as its two's-complement bit pattern.
        let result = bridge()
            .and_then(|b| b.invoke_remote(ref_id as u64, &method, &descriptor, args))
            .map(Some);
        answer(env, result)
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

extern "system" fn native_library_manifest<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JByteArray<'local> {
    env.with_env(|env| {
        let text = bridge().and_then(|b| b.library_manifest());
        answer(env, text.map(|t| Some(t.into_bytes())))
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

/// The chunk's bytes; the jar's size is the manifest's (the runtime checks the whole jar's hash).
extern "system" fn native_library_jar_chunk<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    sha256: JString<'local>,
    offset: jlong,
) -> JByteArray<'local> {
    env.with_env(|env| {
        let hex = sha256.try_to_string(env)?;
        let result = JarHash::from_hex(&hex)
            .map_err(FallbackBridgeError::BadArgument)
            .and_then(|hash| bridge().and_then(|b| b.library_jar_chunk(hash, offset as u64)))
            .map(|(_, bytes)| Some(bytes));
        answer(env, result)
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

extern "system" fn native_library_classes_defined<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    names: JObjectArray<'local>,
) {
    env.with_env(|env| -> Result<(), JniError> {
        let len = names.len(env)?;
        let mut list = Vec::with_capacity(len);
        for i in 0..len {
            let element = names.get_element(env, i)?;
            let name = env.cast_local::<JString>(element)?;
            list.push(name.try_to_string(env)?);
        }
        if let Err(e) = bridge().and_then(|b| b.library_classes_defined(&list)) {
            throw_unchecked_io(env, &e.to_string())?;
            return Err(JniError::JavaException);
        }
        Ok(())
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

fn bridge() -> Result<&'static FallbackBridge, FallbackBridgeError> {
    BRIDGE.get().ok_or(FallbackBridgeError::NoInvocation)
}

/// The bytes as a Java array, `null` for "not there", or a pending `UncheckedIOException`.
fn answer<'local>(
    env: &mut Env<'local>,
    result: Result<Option<Vec<u8>>, FallbackBridgeError>,
) -> Result<JByteArray<'local>, JniError> {
    match result {
        Ok(Some(bytes)) => env.byte_array_from_slice(&bytes),
        Ok(None) => Ok(JByteArray::null()),
        Err(e) => {
            throw_unchecked_io(env, &e.to_string())?;
            Err(JniError::JavaException)
        }
    }
}

fn throw_unchecked_io(env: &mut Env<'_>, message: &str) -> Result<(), JniError> {
    let message = JString::from_str(env, message)?;
    let cause = env.new_object(
        jni_str!("java/io/IOException"),
        jni_sig!("(Ljava/lang/String;)V"),
        &[JValue::Object(&message)],
    )?;
    let exception = env.new_object(
        jni_str!("java/io/UncheckedIOException"),
        jni_sig!("(Ljava/lang/String;Ljava/io/IOException;)V"),
        &[JValue::Object(&message), JValue::Object(&cause)],
    )?;
    let exception = env.cast_local::<JThrowable>(exception)?;
    env.throw(exception)
}
