//! The messages of the fallback protocol.
//!
//! Compatibility: bincode encodes an enum variant by its index, so new kinds of request (invoke
//! on a remote reference, open a TCP tunnel, report statistics), response or error are added
//! **at the end** of their enum and existing variants are never reordered or removed. A peer
//! that does not know a variant fails to decode the frame and answers
//! [`FallbackErrorKind::Malformed`].

use std::fmt;

use semifaas_closure::{limits::NAME_MAX, Capability, Closure, ClosureId};
use serde::{Deserialize, Serialize};

/// What a function asks the server for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FallbackRequest {
    /// The closure of an invocation, when the instance does not have it cached.
    FetchClosure { id: ClosureId },
    /// The class file of a class the closure lacks, by binary name (`com.example.Foo$Bar`).
    LoadClass { name: String },
    /// A class-path resource the closure lacks, by path (`templates/index.html`).
    GetResource { name: String },
}

impl FallbackRequest {
    /// The kind of request, for statistics and logs.
    pub fn kind(&self) -> FallbackKind {
        match self {
            FallbackRequest::FetchClosure { .. } => FallbackKind::FetchClosure,
            FallbackRequest::LoadClass { .. } => FallbackKind::LoadClass,
            FallbackRequest::GetResource { .. } => FallbackKind::GetResource,
        }
    }

    /// Checks what decoding cannot: names are non-empty, bounded and free of NUL.
    pub fn validate(&self) -> Result<(), String> {
        let name = match self {
            FallbackRequest::FetchClosure { .. } => return Ok(()),
            FallbackRequest::LoadClass { name } | FallbackRequest::GetResource { name } => name,
        };
        if name.is_empty() || name.len() > NAME_MAX || name.contains('\0') {
            return Err(format!(
                "{} name {:?} is empty, longer than {NAME_MAX} bytes or contains NUL",
                self.kind(),
                name.chars().take(80).collect::<String>()
            ));
        }
        Ok(())
    }
}

impl fmt::Display for FallbackRequest {
    /// `load_class com.example.Foo`: names the request in logs and errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FallbackRequest::FetchClosure { id } => write!(f, "fetch_closure {id}"),
            FallbackRequest::LoadClass { name } => write!(f, "load_class {name}"),
            FallbackRequest::GetResource { name } => write!(f, "get_resource {name}"),
        }
    }
}

/// The kind of a [`FallbackRequest`], without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FallbackKind {
    FetchClosure,
    LoadClass,
    GetResource,
}

impl FallbackKind {
    /// Every kind, in a stable order (for statistics tables).
    pub const ALL: [FallbackKind; 3] = [
        FallbackKind::FetchClosure,
        FallbackKind::LoadClass,
        FallbackKind::GetResource,
    ];

    /// The snake-case name used in statistics: `fetch_closure`, `load_class`, `get_resource`.
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackKind::FetchClosure => "fetch_closure",
            FallbackKind::LoadClass => "load_class",
            FallbackKind::GetResource => "get_resource",
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
    Class(Option<Vec<u8>>),
    /// Answers [`FallbackRequest::GetResource`]: the bytes, or `None` when the server does not
    /// have the resource.
    Resource(Option<Vec<u8>>),
    /// The request was refused or failed.
    Error(FallbackError),
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
