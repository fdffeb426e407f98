//! The messages of the fallback protocol.
//!
//! Compatibility: bincode encodes an enum variant by its index, so new kinds of request (invoke
//! on a remote reference, open a TCP tunnel, report statistics), response or error are added
//! **at the end** of their enum and existing variants are never reordered or removed. A peer
//! that does not know a variant fails to decode the frame and answers
//! [`FallbackErrorKind::Malformed`].

use std::fmt;

use semifaas_closure::{
    limits::{LIBRARY_JAR_CHUNK, LIBRARY_REPORT_NAMES_MAX, NAME_MAX},
    Capability, Closure, ClosureId,
};
use serde::{Deserialize, Serialize};

use super::library::{validate_manifest, JarHash, LibraryJarEntry};

/// What a function asks the server for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FallbackRequest {
    /// The closure of an invocation, when the instance does not have it cached.
    FetchClosure { id: ClosureId },
    /// The class file of a class the closure lacks, by binary name (`com.example.Foo$Bar`).
    LoadClass { name: String },
    /// A class-path resource the closure lacks, by path (`templates/index.html`).
    GetResource { name: String },
    /// A call on a remote reference: method `method` with JVM descriptor `descriptor` of the
    /// server object exported as `ref_id`, with `args` (bytes of the Java codec). Answered by
    /// [`FallbackResponse::Invoked`]. `seq` numbers the invocation's remote calls from 1 in the
    /// order the function makes them: the server logs each call's answer under it, so a call sent
    /// again (a retried stream, a re-execution) gets the logged answer instead of running twice.
    InvokeRemote {
        seq: u32,
        ref_id: u64,
        method: String,
        descriptor: String,
        #[serde(with = "serde_bytes")]
        args: Vec<u8>,
    },
    /// The application's library jars a function may fetch whole (answered by
    /// [`FallbackResponse::LibraryManifest`]).
    LibraryManifest,
    /// Bytes of library jar `sha256` from `offset`, at most [`LIBRARY_JAR_CHUNK`] of them
    /// (answered by [`FallbackResponse::LibraryJarChunk`]). Only jars of the manifest are served.
    LibraryJar { sha256: JarHash, offset: u64 },
    /// Classes the function defined from library jars since its last report: the server records
    /// them as served code, as it does a class it served by [`FallbackRequest::LoadClass`], so
    /// it decodes what they build and runs the remote calls they make.
    LibraryClassesDefined { names: Vec<String> },
}

impl FallbackRequest {
    /// The kind of request, for statistics and logs.
    pub fn kind(&self) -> FallbackKind {
        match self {
            FallbackRequest::FetchClosure { .. } => FallbackKind::FetchClosure,
            FallbackRequest::LoadClass { .. } => FallbackKind::LoadClass,
            FallbackRequest::GetResource { .. } => FallbackKind::GetResource,
            FallbackRequest::InvokeRemote { method, .. } if method == LAZY_DATA_METHOD => {
                FallbackKind::LazyData
            }
            FallbackRequest::InvokeRemote { .. } => FallbackKind::Invoke,
            FallbackRequest::LibraryManifest
            | FallbackRequest::LibraryJar { .. }
            | FallbackRequest::LibraryClassesDefined { .. } => FallbackKind::LibraryJar,
        }
    }

    /// Checks what decoding cannot: names are non-empty, bounded and free of NUL, and a remote
    /// call names a method with a JVM method descriptor.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            FallbackRequest::FetchClosure { .. } => Ok(()),
            FallbackRequest::LoadClass { name } | FallbackRequest::GetResource { name } => {
                check_name(self.kind(), "name", name)
            }
            FallbackRequest::InvokeRemote {
                method, descriptor, ..
            } => {
                check_name(self.kind(), "method name", method)?;
                check_name(self.kind(), "descriptor", descriptor)?;
                if !descriptor.starts_with('(') {
                    return Err(format!(
                        "invoke descriptor {:?} is not a JVM method descriptor",
                        descriptor.chars().take(80).collect::<String>()
                    ));
                }
                Ok(())
            }
            FallbackRequest::LibraryManifest | FallbackRequest::LibraryJar { .. } => Ok(()),
            FallbackRequest::LibraryClassesDefined { names } => {
                if names.is_empty() || names.len() > LIBRARY_REPORT_NAMES_MAX {
                    return Err(format!(
                        "a report of classes defined from library jars names {} classes, not \
                         1 to {LIBRARY_REPORT_NAMES_MAX}",
                        names.len()
                    ));
                }
                names
                    .iter()
                    .try_for_each(|name| check_name(self.kind(), "class name", name))
            }
        }
    }
}

fn check_name(kind: FallbackKind, what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > NAME_MAX || name.contains('\0') {
        return Err(format!(
            "{kind} {what} {:?} is empty, longer than {NAME_MAX} bytes or contains NUL",
            name.chars().take(80).collect::<String>()
        ));
    }
    Ok(())
}

impl fmt::Display for FallbackRequest {
    /// `load_class com.example.Foo`: names the request in logs and errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FallbackRequest::FetchClosure { id } => write!(f, "fetch_closure {id}"),
            FallbackRequest::LoadClass { name } => write!(f, "load_class {name}"),
            FallbackRequest::GetResource { name } => write!(f, "get_resource {name}"),
            FallbackRequest::InvokeRemote {
                seq,
                ref_id,
                method,
                descriptor,
                ..
            } => write!(f, "invoke #{seq} ref {ref_id} {method}{descriptor}"),
            FallbackRequest::LibraryManifest => f.write_str("library_manifest"),
            FallbackRequest::LibraryJar { sha256, offset } => {
                write!(f, "library_jar {sha256} from byte {offset}")
            }
            FallbackRequest::LibraryClassesDefined { names } => {
                write!(f, "library_classes_defined ({} classes)", names.len())
            }
        }
    }
}

/// The method a function calls on a lazy placeholder to have the server initialize it
/// (`io.semifaas.common.LazyData.MATERIALIZE`; a test reads the Java constant): such a remote
/// call is counted as a lazy-data fallback, apart from the handler's own remote calls.
pub const LAZY_DATA_METHOD: &str = "semifaas$materialize";

/// The kind of a [`FallbackRequest`], without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FallbackKind {
    FetchClosure,
    LoadClass,
    GetResource,
    Invoke,
    /// A remote call that initializes lazy data (Hibernate collections and proxies).
    LazyData,
    /// Library jars: the manifest, a chunk of a jar, or a report of classes defined from them.
    LibraryJar,
}

impl FallbackKind {
    /// Every kind, in a stable order (for statistics tables).
    pub const ALL: [FallbackKind; 6] = [
        FallbackKind::FetchClosure,
        FallbackKind::LoadClass,
        FallbackKind::GetResource,
        FallbackKind::Invoke,
        FallbackKind::LazyData,
        FallbackKind::LibraryJar,
    ];

    /// The snake-case name used in statistics: `fetch_closure`, `load_class`, `get_resource`,
    /// `invoke`, `lazy_data`, `library_jar`.
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackKind::FetchClosure => "fetch_closure",
            FallbackKind::LoadClass => "load_class",
            FallbackKind::GetResource => "get_resource",
            FallbackKind::Invoke => "invoke",
            FallbackKind::LazyData => "lazy_data",
            FallbackKind::LibraryJar => "library_jar",
        }
    }
}

impl fmt::Display for FallbackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of a request frame: the invocation's proof of authority and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFrame {
    pub capability: Capability,
    pub request: FallbackRequest,
}

/// The body of a response frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FallbackResponse {
    /// Answers [`FallbackRequest::FetchClosure`].
    Closure(Closure),
    /// Answers [`FallbackRequest::LoadClass`]: the class file, or `None` when the server does not
    /// have the class.
    Class(#[serde(with = "serde_bytes")] Option<Vec<u8>>),
    /// Answers [`FallbackRequest::GetResource`]: the bytes, or `None` when the server does not
    /// have the resource.
    Resource(#[serde(with = "serde_bytes")] Option<Vec<u8>>),
    /// The request was refused or failed.
    Error(FallbackError),
    /// Answers [`FallbackRequest::InvokeRemote`]: outcome bytes (tag 0 returned, 1 threw,
    /// 2 refused or failed with a UTF-8 message), as `InvocationOutcome::to_tagged` encodes them.
    Invoked(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Answers [`FallbackRequest::LibraryManifest`] (empty: no jar is shipped whole).
    LibraryManifest(Vec<LibraryJarEntry>),
    /// Answers [`FallbackRequest::LibraryJar`]: the jar's size and the bytes asked for.
    LibraryJarChunk {
        total: u64,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Answers [`FallbackRequest::LibraryClassesDefined`]: how many of the classes the server
    /// recorded as served.
    LibraryClassesRecorded(u32),
}

impl FallbackResponse {
    /// Shorthand for an [`FallbackResponse::Error`].
    pub fn error(kind: FallbackErrorKind, message: impl Into<String>) -> FallbackResponse {
        FallbackResponse::Error(FallbackError::new(kind, message))
    }

    /// The variant's name, for errors about unexpected responses.
    pub fn variant_name(&self) -> &'static str {
        match self {
            FallbackResponse::Closure(_) => "closure",
            FallbackResponse::Class(_) => "class",
            FallbackResponse::Resource(_) => "resource",
            FallbackResponse::Error(_) => "error",
            FallbackResponse::Invoked(_) => "invoked",
            FallbackResponse::LibraryManifest(_) => "library manifest",
            FallbackResponse::LibraryJarChunk { .. } => "library jar chunk",
            FallbackResponse::LibraryClassesRecorded(_) => "library classes recorded",
        }
    }

    /// Checks what decoding cannot: a manifest within its limits, a chunk no larger than
    /// [`LIBRARY_JAR_CHUNK`].
    pub fn validate(&self) -> Result<(), String> {
        match self {
            FallbackResponse::LibraryManifest(entries) => validate_manifest(entries),
            FallbackResponse::LibraryJarChunk { bytes, .. } if bytes.len() > LIBRARY_JAR_CHUNK => {
                Err(format!(
                    "library jar chunk of {} bytes is over the limit of {LIBRARY_JAR_CHUNK}",
                    bytes.len()
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Why the server refused or failed a request; travels to the client in a response frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct FallbackError {
    pub kind: FallbackErrorKind,
    pub message: String,
}

impl FallbackError {
    pub fn new(kind: FallbackErrorKind, message: impl Into<String>) -> FallbackError {
        FallbackError {
            kind,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FallbackErrorKind {
    /// The capability does not belong to an invocation in flight, or its token is wrong.
    Unauthorized,
    /// The server does not have what was asked for (e.g. a closure it no longer keeps).
    NotFound,
    /// The request frame could not be decoded or failed validation.
    Malformed,
    /// A frame (request or the response it would need) is over its size limit.
    TooLarge,
    /// The server failed while handling a valid request.
    Internal,
}

impl FallbackErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackErrorKind::Unauthorized => "unauthorized",
            FallbackErrorKind::NotFound => "not found",
            FallbackErrorKind::Malformed => "malformed request",
            FallbackErrorKind::TooLarge => "too large",
            FallbackErrorKind::Internal => "internal error",
        }
    }
}

impl fmt::Display for FallbackErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
