//! Answers the fallback requests of offloaded invocations: the closure from the store, classes
//! and resources from the application's class loaders, and calls on remote references (both
//! through the Java side).

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use parking_lot::Mutex;
use semifaas_closure::{
    limits::{CLASS_MAX, LIBRARY_JAR_CHUNK, NAME_MAX},
    outcome_tag, Capability,
};
use semifaas_fallback::{
    FallbackErrorKind, FallbackRequest, FallbackResponse, FallbackService, JarHash, LibraryJarEntry,
};
use tracing::{debug, info, warn};

use crate::{
    closures::{ClosureStore, InFlight},
    refusals::Refused,
    stats::Stats,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeSourceError {
    /// The application's JVM could not answer.
    #[error("{0}")]
    Failed(String),
    /// The application's JVM does not serve this to functions: not the application's own code
    /// (the JDK's, the agent's), or a resource on the deny list. The message says which.
    #[error("{0}")]
    Withheld(String),
}

/// One call on a remote reference, as the Java side receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCall<'a> {
    /// The Java invocation scope (0: none, only closure scopes answer).
    pub scope_id: u64,
    /// The call's number in its invocation, from 1 (0: unnumbered, not logged).
    pub seq: u32,
    pub ref_id: u64,
    pub method: &'a str,
    pub descriptor: &'a str,
    /// The argument array, as bytes of the Java codec.
    pub args: &'a [u8],
    /// Shadow execution: the Java side refuses calls not known to be read-only.
    pub shadow: bool,
}

/// What the fallbacks need from the application's JVM: class files and resources the closure
/// lacks, and calls on the objects it exported as remote references. In the server this is the
/// Java agent (`NativeBridge.classBytes` / `resourceBytes` / `invokeRemote`).
pub trait CodeSource: Send + Sync + 'static {
    /// The class file of `binary_name`, `None` when no class loader has it in the application's
    /// own code.
    fn class_bytes(&self, binary_name: &str) -> Result<Option<Vec<u8>>, CodeSourceError>;
    /// The bytes of resource `path`, `None` when no class loader has it in the application's own
    /// code.
    fn resource_bytes(&self, path: &str) -> Result<Option<Vec<u8>>, CodeSourceError>;
    /// An instance running `handler_key` had to fetch `binary_name`: the handler's next closure
    /// should carry it (closures learned from use).
    fn learned(&self, _handler_key: &str, _binary_name: &str) {}
    /// The library jars a function may fetch whole (`NativeBridge.libraryManifest`); none by
    /// default.
    fn library_manifest(&self) -> Result<Vec<LibraryJarEntry>, CodeSourceError> {
        Ok(Vec::new())
    }
    /// Up to `max` bytes of manifest jar `sha256` from `offset`; `None` for a jar not in the
    /// manifest.
    fn library_jar_chunk(
        &self,
        _sha256: JarHash,
        _offset: u64,
        _max: usize,
    ) -> Result<Option<Vec<u8>>, CodeSourceError> {
        Ok(None)
    }
    /// A function defined `names` from library jars: the server records them as served code.
    /// Returns how many it recorded (names outside the manifest's packages are not).
    fn library_classes_defined(&self, _names: &[String]) -> Result<u32, CodeSourceError> {
        Ok(0)
    }
    /// Runs a remote call; returns outcome bytes (tag 0 returned, 1 threw, 2 refused/failed).
    fn invoke_remote(&self, call: &RemoteCall<'_>) -> Result<Vec<u8>, CodeSourceError> {
        Err(CodeSourceError::Failed(format!(
            "this server exports no remote references (asked for ref {})",
            call.ref_id
        )))
    }
}

/// Where a remote call runs: the code source itself, or the request thread waiting for the
/// invocation ([`crate::caller_threads::CallerThreads`]). Kept apart from [`CodeSource`] so a
/// wrapper that only routes calls does not have to forward, or silently inherit, the rest.
pub trait RemoteCallRunner: Send + Sync + 'static {
    fn invoke_remote(&self, call: &RemoteCall<'_>) -> Result<Vec<u8>, CodeSourceError>;
}

impl<C: CodeSource> RemoteCallRunner for C {
    fn invoke_remote(&self, call: &RemoteCall<'_>) -> Result<Vec<u8>, CodeSourceError> {
        CodeSource::invoke_remote(self, call)
    }
}

/// Remote calls served and refused (outcome tag 2), over the life of the process.
#[derive(Debug, Default)]
pub struct RemoteCallCounts {
    pub served: AtomicU64,
    pub refused: AtomicU64,
}

pub struct AgentFallbackService {
    store: Arc<ClosureStore>,
    in_flight: Arc<InFlight>,
    stats: Arc<Stats>,
    code: Arc<dyn CodeSource>,
    remote: Arc<dyn RemoteCallRunner>,
    remote_calls: Arc<RemoteCallCounts>,
    /// The library manifest, asked of the JVM once (its jars do not change while it runs).
    manifest: Mutex<Option<Arc<Vec<LibraryJarEntry>>>>,
}

/// Why a request is refused; becomes a [`FallbackResponse::Error`].
struct Refusal {
    kind: FallbackErrorKind,
    message: String,
}

impl Refusal {
    fn new(kind: FallbackErrorKind, message: impl Into<String>) -> Refusal {
        Refusal {
            kind,
            message: message.into(),
        }
    }
}

fn check_name(what: &str, name: &str) -> Result<(), Refusal> {
    if name.is_empty() || name.len() > NAME_MAX || name.contains('\0') {
        return Err(Refusal::new(
            FallbackErrorKind::Malformed,
            format!("{what} is empty, longer than {NAME_MAX} bytes or contains NUL"),
        ));
    }
    Ok(())
}

fn bounded(what: &str, name: &str, bytes: Option<Vec<u8>>) -> Result<Option<Vec<u8>>, Refusal> {
    match bytes {
        Some(b) if b.len() > CLASS_MAX => Err(Refusal::new(
            FallbackErrorKind::TooLarge,
            format!(
                "{what} {name} is {} bytes, over the {CLASS_MAX}-byte limit",
                b.len()
            ),
        )),
        other => Ok(other),
    }
}

impl AgentFallbackService {
    pub fn new(
        store: Arc<ClosureStore>,
        in_flight: Arc<InFlight>,
        stats: Arc<Stats>,
        code: Arc<dyn CodeSource>,
        remote: Arc<dyn RemoteCallRunner>,
    ) -> AgentFallbackService {
        AgentFallbackService {
            store,
            in_flight,
            stats,
            code,
            remote,
            remote_calls: Arc::default(),
            manifest: Mutex::new(None),
        }
    }

    fn library_manifest(&self) -> Result<Arc<Vec<LibraryJarEntry>>, CodeSourceError> {
        if let Some(manifest) = self.manifest.lock().clone() {
            return Ok(manifest);
        }
        // Not under the lock: the first call may wait for the JVM to index its jars.
        let manifest = Arc::new(self.code.library_manifest().inspect_err(|e| {
            warn!("no library manifest: functions load library classes one by one: {e}")
        })?);
        let packages: usize = manifest.iter().map(|jar| jar.packages.len()).sum();
        let bytes: u64 = manifest.iter().map(|jar| jar.size).sum();
        info!(jars = manifest.len(), packages, bytes, "library manifest");
        Ok(self.manifest.lock().get_or_insert(manifest).clone())
    }

    /// The remote-call counters, shared with whoever reports them.
    pub fn remote_calls(&self) -> Arc<RemoteCallCounts> {
        self.remote_calls.clone()
    }

    fn answer(
        &self,
        capability: &Capability,
        request: FallbackRequest,
    ) -> Result<FallbackResponse, Refusal> {
        let authorized = self.in_flight.authorize(capability).map_err(|e| {
            // Counted: with several servers on one function, a call-back that reached the wrong
            // server shows here.
            let message = e.to_string();
            self.stats.refusals().record(Refused::NotInFlight, &message);
            Refusal::new(FallbackErrorKind::Unauthorized, message)
        })?;
        // A prewarm is not a request of any handler: its fallbacks stay out of the handler stats.
        if !authorized.shadow {
            self.stats
                .record_fallback(&authorized.handler_key, request.kind());
        }
        debug!(handler = %authorized.handler_key, kind = %request.kind(), "fallback request");
        let refusal = |what: Refused| {
            move |e: CodeSourceError| match e {
                CodeSourceError::Failed(message) => {
                    Refusal::new(FallbackErrorKind::Internal, message)
                }
                // Not "missing": the function reports why it cannot have it.
                CodeSourceError::Withheld(message) => {
                    self.stats.refusals().record(what, &message);
                    Refusal::new(FallbackErrorKind::NotFound, message)
                }
            }
        };
        match request {
            FallbackRequest::FetchClosure { id } => {
                if !authorized.may_fetch(&id) {
                    return Err(Refusal::new(
                        FallbackErrorKind::Unauthorized,
                        format!(
                            "invocation {} may fetch only its own closure",
                            capability.invocation_id
                        ),
                    ));
                }
                let closure = self.store.get(&id).ok_or_else(|| {
                    Refusal::new(
                        FallbackErrorKind::NotFound,
                        format!("closure {id} is no longer stored"),
                    )
                })?;
                Ok(FallbackResponse::Closure((*closure).clone()))
            }
            FallbackRequest::LoadClass { name } => {
                check_name("class name", &name)?;
                let bytes = self
                    .code
                    .class_bytes(&name)
                    .map_err(refusal(Refused::Class))?;
                debug!(handler = %authorized.handler_key, class = %name, found = bytes.is_some(), "load_class");
                if bytes.is_some() && !authorized.shadow {
                    self.code.learned(&authorized.handler_key, &name);
                }
                Ok(FallbackResponse::Class(bounded("class", &name, bytes)?))
            }
            FallbackRequest::GetResource { name } => {
                check_name("resource name", &name)?;
                let bytes = self
                    .code
                    .resource_bytes(&name)
                    .map_err(refusal(Refused::Resource))?;
                Ok(FallbackResponse::Resource(bounded(
                    "resource", &name, bytes,
                )?))
            }
            FallbackRequest::InvokeRemote {
                seq,
                ref_id,
                method,
                descriptor,
                args,
            } => {
                check_name("method name", &method)?;
                check_name("method descriptor", &descriptor)?;
                let call = RemoteCall {
                    scope_id: authorized.scope_id,
                    seq,
                    ref_id,
                    method: &method,
                    descriptor: &descriptor,
                    args: &args,
                    shadow: authorized.shadow,
                };
                let outcome = match self.remote.invoke_remote(&call) {
                    Ok(outcome) => outcome,
                    // A method the closure's code does not call: counted, and answered as any
                    // failed call, so the function fails the offload with the reason.
                    Err(CodeSourceError::Withheld(reason)) => {
                        self.stats.refusals().record(Refused::RemoteCall, &reason);
                        let mut failed = vec![outcome_tag::FAILED];
                        failed.extend_from_slice(reason.as_bytes());
                        failed
                    }
                    Err(e) => return Err(refusal(Refused::RemoteCall)(e)),
                };
                match outcome.first() {
                    Some(&outcome_tag::RETURNED | &outcome_tag::THREW) => {
                        self.remote_calls.served.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(&outcome_tag::FAILED) => {
                        self.remote_calls.refused.fetch_add(1, Ordering::Relaxed);
                        debug!(
                            invocation = capability.invocation_id,
                            ref_id,
                            method,
                            shadow = authorized.shadow,
                            reason = %String::from_utf8_lossy(&outcome[1..]),
                            "remote call refused"
                        );
                    }
                    _ => {
                        return Err(Refusal::new(
                            FallbackErrorKind::Internal,
                            format!(
                                "the server answered the call of {method}{descriptor} on ref {ref_id} with no valid outcome"
                            ),
                        ))
                    }
                }
                Ok(FallbackResponse::Invoked(outcome))
            }
            FallbackRequest::LibraryManifest => {
                let manifest = self.library_manifest().map_err(refusal(Refused::Class))?;
                Ok(FallbackResponse::LibraryManifest((*manifest).clone()))
            }
            FallbackRequest::LibraryJar { sha256, offset } => {
                let manifest = self.library_manifest().map_err(refusal(Refused::Class))?;
                let not_served = || {
                    Refusal::new(
                        FallbackErrorKind::NotFound,
                        format!("library jar {sha256} is not in this server's library manifest"),
                    )
                };
                let total = manifest
                    .iter()
                    .find(|jar| jar.sha256 == sha256)
                    .ok_or_else(not_served)?
                    .size;
                if offset > total {
                    return Err(Refusal::new(
                        FallbackErrorKind::Malformed,
                        format!("library jar {sha256} has {total} bytes: offset {offset} is past its end"),
                    ));
                }
                let max = LIBRARY_JAR_CHUNK.min((total - offset) as usize);
                let bytes = self
                    .code
                    .library_jar_chunk(sha256, offset, max)
                    .map_err(refusal(Refused::Class))?
                    .ok_or_else(not_served)?;
                if bytes.len() != max {
                    return Err(Refusal::new(
                        FallbackErrorKind::Internal,
                        format!(
                            "library jar {sha256}: read {} bytes from byte {offset}, expected {max}",
                            bytes.len()
                        ),
                    ));
                }
                Ok(FallbackResponse::LibraryJarChunk { total, bytes })
            }
            FallbackRequest::LibraryClassesDefined { names } => {
                for name in &names {
                    check_name("class name", name)?;
                }
                let recorded = self
                    .code
                    .library_classes_defined(&names)
                    .map_err(refusal(Refused::Class))?;
                Ok(FallbackResponse::LibraryClassesRecorded(recorded))
            }
        }
    }
}

impl FallbackService for AgentFallbackService {
    fn authenticate(&self, capability: &Capability) -> bool {
        self.in_flight.authorize(capability).is_ok()
    }

    fn handle(&self, capability: &Capability, request: FallbackRequest) -> FallbackResponse {
        self.answer(capability, request).unwrap_or_else(|refusal| {
            warn!(invocation = capability.invocation_id, kind = ?refusal.kind, message = %refusal.message, "fallback request refused");
            FallbackResponse::error(refusal.kind, refusal.message)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        closures::{tests::closure, Authorized},
        policy::Ratios,
    };
    use semifaas_closure::ClosureId;
    use std::collections::HashMap;

    /// Classes and resources held in memory, standing in for the application's class loaders.
    struct InMemoryCode {
        classes: HashMap<String, Vec<u8>>,
    }

    impl CodeSource for InMemoryCode {
        fn class_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
            if name == "com.example.Broken" {
                return Err(CodeSourceError::Failed(
                    "class loader threw java.lang.LinkageError".into(),
                ));
            }
            Ok(self.classes.get(name).cloned())
        }
        fn resource_bytes(&self, path: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
            if path == "application.properties" {
                return Err(CodeSourceError::Withheld(
                    "resource application.properties is withheld".into(),
                ));
            }
            Ok((path == "big.bin").then(|| vec![0; CLASS_MAX + 1]))
        }
        /// Returns `scope:ref:args`; refuses `save` in shadow mode, as the Java side does; ref 0
        /// answers nothing valid.
        fn invoke_remote(&self, call: &RemoteCall<'_>) -> Result<Vec<u8>, CodeSourceError> {
            if call.ref_id == 0 {
                return Ok(vec![]);
            }
            if call.shadow && call.method == "save" {
                return Ok(b"\x02shadow execution refused a write: Repo#save".to_vec());
            }
            if call.method == "deleteAll" {
                return Err(CodeSourceError::Withheld(
                    "remote call refused: Repo#deleteAll()V is not called by the closure's code"
                        .into(),
                ));
            }
            let body = format!("{}:{}:", call.scope_id, call.ref_id);
            Ok([&[0u8][..], body.as_bytes(), call.args].concat())
        }
    }

    fn service_with_code() -> (AgentFallbackService, Arc<InFlight>, Arc<Stats>) {
        let code = Arc::new(InMemoryCode {
            classes: HashMap::new(),
        });
        let in_flight = Arc::new(InFlight::new());
        let stats = Arc::new(Stats::new());
        let service = AgentFallbackService::new(
            Arc::new(ClosureStore::new()),
            in_flight.clone(),
            stats.clone(),
            code.clone(),
            code,
        );
        (service, in_flight, stats)
    }

    fn invoke(ref_id: u64, method: &str) -> FallbackRequest {
        FallbackRequest::InvokeRemote {
            seq: 1,
            ref_id,
            method: method.into(),
            descriptor: "(Ljava/lang/Object;)Ljava/lang/Object;".into(),
            args: b"a".to_vec(),
        }
    }

    /// Records what it was told instances learned.
    struct LearningCode {
        learned: parking_lot::Mutex<Vec<(String, String)>>,
    }

    impl CodeSource for LearningCode {
        fn class_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
            Ok((name == "com.example.Helper").then(|| vec![0xCA, 0xFE, 0xBA, 0xBE]))
        }
        fn resource_bytes(&self, _: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
            Ok(None)
        }
        fn learned(&self, handler_key: &str, binary_name: &str) {
            self.learned
                .lock()
                .push((handler_key.into(), binary_name.into()));
        }
    }

    #[test]
    fn classes_fetched_by_an_invocation_are_learned_for_its_handler_only_when_found() {
        let code = Arc::new(LearningCode {
            learned: Default::default(),
        });
        let in_flight = Arc::new(InFlight::new());
        let service = AgentFallbackService::new(
            Arc::new(ClosureStore::new()),
            in_flight.clone(),
            Arc::new(Stats::new()),
            code.clone(),
            code.clone(),
        );
        let call = in_flight.register_with(Authorized::call(
            "com.example.Blog#show",
            ClosureId([1; 32]),
            1,
        ));
        let load = |name: &str| FallbackRequest::LoadClass { name: name.into() };
        assert!(matches!(
            service.handle(&call.capability(), load("com.example.Helper")),
            FallbackResponse::Class(Some(_))
        ));
        assert_eq!(
            service.handle(&call.capability(), load("com.example.Missing")),
            FallbackResponse::Class(None)
        );
        let prewarm = in_flight.register_with(Authorized::prewarm(vec![ClosureId([1; 32])]));
        service.handle(&prewarm.capability(), load("com.example.Helper"));
        assert_eq!(
            *code.learned.lock(),
            vec![(
                "com.example.Blog#show".to_string(),
                "com.example.Helper".to_string()
            )],
            "found classes of real invocations are learned; misses and prewarms are not"
        );
    }

    #[test]
    fn remote_calls_reach_the_jvm_in_the_invocations_scope() {
        let (service, in_flight, stats) = service_with_code();
        let call = in_flight.register_with(Authorized::call(
            "com.example.Blog#show",
            ClosureId([1; 32]),
            55,
        ));
        let answer = service.handle(&call.capability(), invoke(3, "save"));
        assert_eq!(answer, FallbackResponse::Invoked(b"\x0055:3:a".to_vec()));
        let bad = service.handle(&call.capability(), invoke(0, "find"));
        assert_eq!(kind(&bad), Some(FallbackErrorKind::Internal));
        let nameless = service.handle(&call.capability(), invoke(3, ""));
        assert_eq!(kind(&nameless), Some(FallbackErrorKind::Malformed));
        // A method the closure's code does not call: a failed call the function sees, counted.
        let refused = service.handle(&call.capability(), invoke(3, "deleteAll"));
        let FallbackResponse::Invoked(outcome) = refused else {
            panic!("expected an outcome, got {refused:?}");
        };
        assert_eq!(outcome[0], outcome_tag::FAILED);
        assert!(String::from_utf8_lossy(&outcome).contains("Repo#deleteAll()V is not called"));
        drop(call);

        let report = stats.report(&Ratios::default());
        let fallbacks = &report.handlers["com.example.Blog#show"].counters.fallbacks;
        assert_eq!(fallbacks["invoke"], 4);
        assert_eq!(service.remote_calls().served.load(Ordering::Relaxed), 1);
        let refused = stats.refusals().report(&Default::default());
        assert_eq!((refused.remote_calls, refused.classes), (1, 0));
        assert!(refused.last_refusal.unwrap().contains("deleteAll"));
    }

    #[test]
    fn shadow_invocations_get_writes_refused_and_stay_out_of_handler_stats() {
        let (service, in_flight, stats) = service_with_code();
        let (a, b) = (ClosureId([1; 32]), ClosureId([2; 32]));
        let prewarm = in_flight.register_with(Authorized::prewarm(vec![a, b]));
        let cap = prewarm.capability();

        let refused = service.handle(&cap, invoke(3, "save"));
        let FallbackResponse::Invoked(outcome) = refused else {
            panic!("expected an outcome, got {refused:?}");
        };
        assert_eq!(outcome[0], outcome_tag::FAILED);
        assert!(String::from_utf8_lossy(&outcome).contains("refused a write"));
        let read = service.handle(&cap, invoke(3, "findAll"));
        assert_eq!(read, FallbackResponse::Invoked(b"\x000:3:a".to_vec()));
        assert_eq!(service.remote_calls().refused.load(Ordering::Relaxed), 1);
        assert_eq!(service.remote_calls().served.load(Ordering::Relaxed), 1);

        // Both of its closures may be fetched (they are not stored here: not found, not refused).
        for id in [a, b] {
            let fetched = service.handle(&cap, FallbackRequest::FetchClosure { id });
            assert_eq!(kind(&fetched), Some(FallbackErrorKind::NotFound));
        }
        let report = stats.report(&Ratios::default());
        assert!(report.handlers.is_empty(), "{:?}", report.handlers.keys());
    }

    fn kind(response: &FallbackResponse) -> Option<FallbackErrorKind> {
        match response {
            FallbackResponse::Error(e) => Some(e.kind),
            _ => None,
        }
    }

    #[test]
    fn answers_only_in_flight_invocations_and_only_their_closure() {
        let store = Arc::new(ClosureStore::new());
        let in_flight = Arc::new(InFlight::new());
        let stats = Arc::new(Stats::new());
        let code = Arc::new(InMemoryCode {
            classes: HashMap::from([("com.example.Util".to_owned(), vec![0xCA, 0xFE, 0xBA, 0xBE])]),
        });
        let service = AgentFallbackService::new(
            store.clone(),
            in_flight.clone(),
            stats.clone(),
            code.clone(),
            code,
        );

        let mine = store.insert(closure("resize", b"mine")).unwrap();
        let theirs = store.insert(closure("crop", b"theirs")).unwrap();
        let guard = in_flight.register("com.example.ImageController#resize", mine);
        let cap = guard.capability();

        match service.handle(&cap, FallbackRequest::FetchClosure { id: mine }) {
            FallbackResponse::Closure(c) => assert_eq!(c.id(), mine),
            other => panic!("expected the closure, got {other:?}"),
        }
        let other = service.handle(&cap, FallbackRequest::FetchClosure { id: theirs });
        assert_eq!(kind(&other), Some(FallbackErrorKind::Unauthorized));

        let class = service.handle(
            &cap,
            FallbackRequest::LoadClass {
                name: "com.example.Util".into(),
            },
        );
        assert_eq!(
            class,
            FallbackResponse::Class(Some(vec![0xCA, 0xFE, 0xBA, 0xBE]))
        );
        let missing = service.handle(
            &cap,
            FallbackRequest::LoadClass {
                name: "com.example.Missing".into(),
            },
        );
        assert_eq!(missing, FallbackResponse::Class(None));
        let broken = service.handle(
            &cap,
            FallbackRequest::LoadClass {
                name: "com.example.Broken".into(),
            },
        );
        assert_eq!(kind(&broken), Some(FallbackErrorKind::Internal));
        let nul = service.handle(
            &cap,
            FallbackRequest::LoadClass {
                name: "a\0b".into(),
            },
        );
        assert_eq!(kind(&nul), Some(FallbackErrorKind::Malformed));
        let big = service.handle(
            &cap,
            FallbackRequest::GetResource {
                name: "big.bin".into(),
            },
        );
        assert_eq!(kind(&big), Some(FallbackErrorKind::TooLarge));
        let withheld = service.handle(
            &cap,
            FallbackRequest::GetResource {
                name: "application.properties".into(),
            },
        );
        assert_eq!(
            withheld,
            FallbackResponse::error(
                FallbackErrorKind::NotFound,
                "resource application.properties is withheld"
            ),
            "a refusal that says why, not an answer that it is missing"
        );
        assert_eq!(stats.refusals().report(&Default::default()).resources, 1);

        let forged = Capability {
            invocation_id: cap.invocation_id,
            token: [0; 16],
        };
        let refused = service.handle(&forged, FallbackRequest::FetchClosure { id: mine });
        assert_eq!(kind(&refused), Some(FallbackErrorKind::Unauthorized));
        drop(guard);
        let late = service.handle(&cap, FallbackRequest::FetchClosure { id: mine });
        assert_eq!(kind(&late), Some(FallbackErrorKind::Unauthorized));
        let unknown = service.handle(
            &cap,
            FallbackRequest::FetchClosure {
                id: ClosureId([1; 32]),
            },
        );
        assert_eq!(kind(&unknown), Some(FallbackErrorKind::Unauthorized));
        assert_eq!(
            stats.refusals().report(&Default::default()).not_in_flight,
            3,
            "the forged, the late and the unknown request are counted"
        );

        let report = stats.report(&Ratios::default());
        let fallbacks = &report.handlers["com.example.ImageController#resize"]
            .counters
            .fallbacks;
        assert_eq!(fallbacks["fetch_closure"], 2);
        assert_eq!(fallbacks["load_class"], 4);
        assert_eq!(fallbacks["get_resource"], 2);
    }
}
