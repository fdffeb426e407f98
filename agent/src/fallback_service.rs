//! Answers the fallback requests of offloaded invocations: the closure from the store, classes
//! and resources from the application's class loaders (through the Java side).

use std::sync::Arc;

use semifaas_closure::{
    limits::{CLASS_MAX, NAME_MAX},
    Capability,
};
use semifaas_fallback::{FallbackErrorKind, FallbackRequest, FallbackResponse, FallbackService};
use tracing::{debug, warn};

use crate::{
    closures::{ClosureStore, InFlight},
    stats::Stats,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodeSourceError(pub String);

/// Where class files and resources the closure lacks come from. In the server this is the
/// Java agent (`NativeBridge.classBytes` / `resourceBytes`).
pub trait CodeSource: Send + Sync + 'static {
    /// The class file of `binary_name`, `None` when no class loader has it.
    fn class_bytes(&self, binary_name: &str) -> Result<Option<Vec<u8>>, CodeSourceError>;
    /// The bytes of resource `path`, `None` when no class loader has it.
    fn resource_bytes(&self, path: &str) -> Result<Option<Vec<u8>>, CodeSourceError>;
}

pub struct AgentFallbackService {
    store: Arc<ClosureStore>,
    in_flight: Arc<InFlight>,
    stats: Arc<Stats>,
    code: Arc<dyn CodeSource>,
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
    ) -> AgentFallbackService {
        AgentFallbackService {
            store,
            in_flight,
            stats,
            code,
        }
    }

    fn answer(
        &self,
        capability: &Capability,
        request: FallbackRequest,
    ) -> Result<FallbackResponse, Refusal> {
        let authorized = self
            .in_flight
            .authorize(capability)
            .map_err(|e| Refusal::new(FallbackErrorKind::Unauthorized, e.to_string()))?;
        self.stats
            .record_fallback(&authorized.handler_key, request.kind());
        debug!(handler = %authorized.handler_key, kind = %request.kind(), "fallback request");
        let internal = |e: CodeSourceError| Refusal::new(FallbackErrorKind::Internal, e.0);
        match request {
            FallbackRequest::FetchClosure { id } => {
                if id != authorized.closure_id {
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
                let bytes = self.code.class_bytes(&name).map_err(internal)?;
                Ok(FallbackResponse::Class(bounded("class", &name, bytes)?))
            }
            FallbackRequest::GetResource { name } => {
                check_name("resource name", &name)?;
                let bytes = self.code.resource_bytes(&name).map_err(internal)?;
                Ok(FallbackResponse::Resource(bounded(
                    "resource", &name, bytes,
                )?))
            }
        }
    }
}

impl FallbackService for AgentFallbackService {
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
    use crate::{closures::tests::closure, policy::Ratios};
    use semifaas_closure::ClosureId;
    use std::collections::HashMap;

    /// Classes and resources held in memory, standing in for the application's class loaders.
    struct InMemoryCode {
        classes: HashMap<String, Vec<u8>>,
    }

    impl CodeSource for InMemoryCode {
        fn class_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
            if name == "com.example.Broken" {
                return Err(CodeSourceError(
                    "class loader threw java.lang.LinkageError".into(),
                ));
            }
            Ok(self.classes.get(name).cloned())
        }
        fn resource_bytes(&self, path: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
            Ok((path == "big.bin").then(|| vec![0; CLASS_MAX + 1]))
        }
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
        let code = InMemoryCode {
            classes: HashMap::from([("com.example.Util".to_owned(), vec![0xCA, 0xFE, 0xBA, 0xBE])]),
        };
        let service = AgentFallbackService::new(
            store.clone(),
            in_flight.clone(),
            stats.clone(),
            Arc::new(code),
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

        let report = stats.report(&Ratios::default());
        let fallbacks = &report.handlers["com.example.ImageController#resize"]
            .counters
            .fallbacks;
        assert_eq!(fallbacks["fetch_closure"], 2);
        assert_eq!(fallbacks["load_class"], 4);
        assert_eq!(fallbacks["get_resource"], 1);
    }
}
