use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    codec::{self, CodecError},
    limits::{
        ARGS_MAX, CLASS_MAX, CLOSURE_MAX, LAMBDA_SYNC_PAYLOAD_MAX, NAME_MAX, PREWARM_CLOSURES_MAX,
        SHADOW_CALLS_MAX, SHADOW_ROUNDS_MAX,
    },
};

/// Content hash (SHA-256 of the encoded [`Closure`]) that names a closure. Two closures with the
/// same id have the same code and data as shipped; what an instance builds from one afterwards
/// (classes fetched lazily, static fields) came from one server, so instances key what they
/// install by server as well (`lambda-shim`'s `installed.rs`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClosureId(pub [u8; 32]);

impl fmt::Display for ClosureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ClosureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClosureId({})", &hex::encode(self.0)[..12])
    }
}

impl FromStr for ClosureId {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut id = [0u8; 32];
        hex::decode_to_slice(s, &mut id)
            .map_err(|e| ValidationError(format!("closure id {s:?} is not 64 hex digits: {e}")))?;
        Ok(ClosureId(id))
    }
}

/// A value that failed validation, with a message that names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

fn check_name(what: &str, name: &str) -> Result<(), ValidationError> {
    if name.is_empty() || name.len() > NAME_MAX || name.contains('\0') {
        return Err(ValidationError(format!(
            "{what} {:?} is empty, longer than {NAME_MAX} bytes or contains NUL",
            name.chars().take(80).collect::<String>()
        )));
    }
    Ok(())
}

/// The handler method a closure runs: a JVM class binary name, a method name and its descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HandlerRef {
    /// Binary name, e.g. `com.example.ImageController`.
    pub class_name: String,
    pub method_name: String,
    /// JVM method descriptor, e.g. `(I[B)[B`.
    pub descriptor: String,
}

impl HandlerRef {
    /// The handler key used in stats, configuration and logs: `Class#method`.
    pub fn key(&self) -> String {
        format!("{}#{}", self.class_name, self.method_name)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        check_name("handler class name", &self.class_name)?;
        check_name("handler method name", &self.method_name)?;
        check_name("handler descriptor", &self.descriptor)?;
        if !self.descriptor.starts_with('(') {
            return Err(ValidationError(format!(
                "handler descriptor {:?} is not a JVM method descriptor",
                self.descriptor
            )));
        }
        Ok(())
    }
}

/// A named blob: a class file (name is the binary class name) or a resource (name is its path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedBytes {
    pub name: String,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// The unit shipped to a function: the code (class files, resources) and the data (the handler's
/// receiver, serialized by the Java codec) a handler is likely to need. What it lacks, the
/// function fetches through fallbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub handler: HandlerRef,
    /// The receiver object graph, as bytes of the Java codec.
    #[serde(with = "serde_bytes")]
    pub receiver: Vec<u8>,
    pub classes: Vec<NamedBytes>,
    pub resources: Vec<NamedBytes>,
}

impl Closure {
    /// Content hash of the closure: equal content, equal id.
    pub fn id(&self) -> ClosureId {
        ClosureId(Sha256::digest(self.encode()).into())
    }

    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes and validates a closure received from a peer.
    pub fn decode(bytes: &[u8]) -> Result<Closure, CodecError> {
        let closure: Closure = codec::decode("closure", bytes, CLOSURE_MAX)?;
        closure.validate().map_err(|e| CodecError::Malformed {
            what: "closure",
            reason: e.0,
        })?;
        Ok(closure)
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        self.handler.validate()?;
        for class in &self.classes {
            check_name("class name", &class.name)?;
            if class.bytes.len() > CLASS_MAX
                || class.bytes.get(..4) != Some(&[0xCA, 0xFE, 0xBA, 0xBE])
            {
                return Err(ValidationError(format!(
                    "class {} is not a class file of at most {CLASS_MAX} bytes",
                    class.name
                )));
            }
        }
        for resource in &self.resources {
            check_name("resource name", &resource.name)?;
            if resource.bytes.len() > CLASS_MAX {
                return Err(ValidationError(format!(
                    "resource {} is over {CLASS_MAX} bytes",
                    resource.name
                )));
            }
        }
        Ok(())
    }

    /// Total size of the code section (class files and resources), in bytes.
    pub fn code_bytes(&self) -> usize {
        self.classes
            .iter()
            .chain(&self.resources)
            .map(|c| c.bytes.len())
            .sum()
    }
}

/// Proof that a fallback request belongs to an invocation the server dispatched. The server
/// answers only while that invocation is in flight and the token matches.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Capability {
    pub invocation_id: u64,
    pub token: [u8; 16],
}

impl fmt::Debug for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a secret: never log it.
        write!(f, "Capability(invocation {})", self.invocation_id)
    }
}

/// Where a function reaches the server's fallback endpoint, and the certificate it must present.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FallbackEndpoint {
    /// `host:port` of the QUIC endpoint.
    pub addr: String,
    /// TLS server name the certificate was issued for.
    pub server_name: String,
    /// SHA-256 of the DER certificate; the client trusts exactly this certificate.
    pub cert_sha256: [u8; 32],
}

/// One offloaded call: which closure, with which arguments, until when, and how to call back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invocation {
    pub closure_id: ClosureId,
    /// `Class#method`, for logs and statistics on the function side.
    pub handler_key: String,
    /// The argument array, as bytes of the Java codec.
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
    /// Absolute deadline, milliseconds since the Unix epoch.
    pub deadline_unix_ms: u64,
    pub fallback: FallbackEndpoint,
    pub capability: Capability,
    /// A real request, or a prewarm that installs closures and replays recorded samples.
    pub kind: InvocationKind,
}

/// Handler key a prewarm invocation carries: it runs no handler of its own.
pub const PREWARM_HANDLER_KEY: &str = "semifaas#prewarm";

/// What an [`Invocation`] asks the function to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvocationKind {
    /// Run the invocation's closure on its arguments and return the outcome.
    Call,
    /// Fetch and install each closure not installed yet, then run each shadow call and discard
    /// its result. The invocation's own `closure_id` and `args` are not used.
    Prewarm {
        closures: Vec<ClosureId>,
        shadow_calls: Vec<ShadowCall>,
        /// How many times the shadow calls are replayed, in order (1 to
        /// [`SHADOW_ROUNDS_MAX`](crate::limits::SHADOW_ROUNDS_MAX)): one round loads the classes,
        /// more let the JIT compile the hot paths before real traffic arrives.
        rounds: u32,
    },
}

/// A recorded real invocation replayed during a prewarm to warm the handler's code paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowCall {
    pub closure_id: ClosureId,
    pub handler_key: String,
    /// The argument array, as bytes of the Java codec.
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
}

impl Invocation {
    pub fn invocation_id(&self) -> u64 {
        self.capability.invocation_id
    }

    /// The binary form the Lambda envelope carries (base64) around it.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes and validates an invocation received from a peer.
    pub fn decode(bytes: &[u8]) -> Result<Invocation, CodecError> {
        let invocation: Invocation = codec::decode("invocation", bytes, LAMBDA_SYNC_PAYLOAD_MAX)?;
        invocation.validate().map_err(|e| CodecError::Malformed {
            what: "invocation",
            reason: e.0,
        })?;
        Ok(invocation)
    }

    /// Checks what decoding cannot: names are bounded, arguments fit the limit, and every shadow
    /// call of a prewarm runs one of the closures the prewarm installs.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_name("handler key", &self.handler_key)?;
        check_args(&self.handler_key, &self.args)?;
        check_name("fallback address", &self.fallback.addr)?;
        check_name("fallback server name", &self.fallback.server_name)?;
        let InvocationKind::Prewarm {
            closures,
            shadow_calls,
            rounds,
        } = &self.kind
        else {
            return Ok(());
        };
        if !(1..=SHADOW_ROUNDS_MAX).contains(rounds) {
            return Err(ValidationError(format!(
                "prewarm asks for {rounds} shadow rounds, not in 1..={SHADOW_ROUNDS_MAX}"
            )));
        }
        if closures.len() > PREWARM_CLOSURES_MAX {
            return Err(ValidationError(format!(
                "prewarm lists {} closures, over the limit of {PREWARM_CLOSURES_MAX}",
                closures.len()
            )));
        }
        if shadow_calls.len() > SHADOW_CALLS_MAX {
            return Err(ValidationError(format!(
                "prewarm carries {} shadow calls, over the limit of {SHADOW_CALLS_MAX}",
                shadow_calls.len()
            )));
        }
        for call in shadow_calls {
            check_name("shadow call handler key", &call.handler_key)?;
            check_args(&call.handler_key, &call.args)?;
            if !closures.contains(&call.closure_id) {
                return Err(ValidationError(format!(
                    "shadow call of {} runs closure {}, which the prewarm does not install",
                    call.handler_key, call.closure_id
                )));
            }
        }
        Ok(())
    }
}

fn check_args(handler_key: &str, args: &[u8]) -> Result<(), ValidationError> {
    if args.len() > ARGS_MAX {
        return Err(ValidationError(format!(
            "arguments of {handler_key} are {} bytes, over the limit of {ARGS_MAX}",
            args.len()
        )));
    }
    Ok(())
}

/// What the handler did on the function, or why it could not run there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvocationOutcome {
    /// The handler returned; the return value as bytes of the Java codec.
    Returned(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The handler threw; the exception as bytes of the Java codec. The server rethrows it.
    Threw(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The function could not run the handler (bad invocation, closure unavailable, setup
    /// failed). The server runs the handler locally instead.
    Failed(FunctionFailure),
}

/// Why a function could not run a handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct FunctionFailure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureKind {
    /// The invocation payload could not be decoded or failed validation.
    BadInvocation,
    /// The closure was not cached and could not be fetched.
    ClosureUnavailable,
    /// Installing the closure or decoding the arguments failed on the function side.
    Setup,
    /// The Java runtime failed outside the handler.
    Runtime,
    /// A fallback the handler needed got no answer (deadline, connection, refusal): what the
    /// handler returned after it is not the application's result.
    Fallback,
    /// The reply would exceed the platform's response limit, which would drop it.
    ResponseTooLarge,
}

/// Tags of the outcome encoding exchanged with Java (`io.semifaas.common.Outcome`): one tag byte,
/// then the codec bytes (returned, threw) or a UTF-8 message (failed).
pub mod outcome_tag {
    pub const RETURNED: u8 = 0;
    pub const THREW: u8 = 1;
    pub const FAILED: u8 = 2;
}

impl InvocationOutcome {
    /// Encodes for Java: a tag byte then the payload.
    pub fn to_tagged(&self) -> Vec<u8> {
        let (tag, body): (u8, &[u8]) = match self {
            InvocationOutcome::Returned(b) => (outcome_tag::RETURNED, b),
            InvocationOutcome::Threw(b) => (outcome_tag::THREW, b),
            InvocationOutcome::Failed(f) => (outcome_tag::FAILED, f.message.as_bytes()),
        };
        let mut out = Vec::with_capacity(body.len() + 1);
        out.push(tag);
        out.extend_from_slice(body);
        out
    }

    /// Decodes what the Java runtime returned. A failure from Java is a [`FailureKind::Setup`]
    /// failure unless its message says otherwise.
    pub fn from_tagged(bytes: &[u8]) -> Result<InvocationOutcome, ValidationError> {
        let (&tag, body) = bytes
            .split_first()
            .ok_or_else(|| ValidationError("empty outcome from the Java runtime".into()))?;
        match tag {
            outcome_tag::RETURNED => Ok(InvocationOutcome::Returned(body.to_vec())),
            outcome_tag::THREW => Ok(InvocationOutcome::Threw(body.to_vec())),
            outcome_tag::FAILED => Ok(InvocationOutcome::Failed(FunctionFailure {
                kind: FailureKind::Setup,
                message: String::from_utf8_lossy(body).into_owned(),
            })),
            other => Err(ValidationError(format!("unknown outcome tag {other}"))),
        }
    }
}

/// Fallback requests an invocation made, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FallbackCounts {
    pub fetch_closure: u32,
    pub load_class: u32,
    pub get_resource: u32,
    /// Calls on remote references (`InvokeRemote`).
    pub invoke: u32,
}

impl FallbackCounts {
    pub fn total(&self) -> u32 {
        self.fetch_closure + self.load_class + self.get_resource + self.invoke
    }
}

/// Where the time of one invocation went on the function side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionStats {
    /// Identifies the instance (process) that ran the invocation.
    pub instance_id: String,
    /// First invocation this instance served.
    pub cold: bool,
    /// Time from process start to the JVM being ready (cold invocations only).
    pub jvm_start_us: u64,
    /// Time spent fetching the closure (0 when it was cached).
    pub closure_fetch_us: u64,
    /// Time spent installing the closure: defining classes, decoding the receiver.
    pub install_us: u64,
    /// Time in the handler, including its fallbacks.
    pub handler_us: u64,
    pub fallbacks: FallbackCounts,
}

/// What a function returns for one invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvocationReply {
    pub outcome: InvocationOutcome,
    pub stats: FunctionStats,
}

impl InvocationReply {
    /// The binary form the Lambda envelope carries (base64) around it.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a reply received from a function.
    pub fn decode(bytes: &[u8]) -> Result<InvocationReply, CodecError> {
        codec::decode("invocation reply", bytes, LAMBDA_SYNC_PAYLOAD_MAX)
    }
}
