//! # semifaas-closure
//!
//! The wire types that cross between the server (the agent), the FaaS platform and the function
//! (the `bootstrap` shim): the [`Closure`] (code + data shipped to a function), the
//! [`Invocation`] (what one offloaded call carries) and the [`InvocationOutcome`] (what comes back).
//!
//! It owns the binary codec ([`codec`], bincode 2 behind one module so it can change), content
//! hashing ([`ClosureId`]), size limits ([`limits`]) and validation of everything decoded from the
//! network. It does no I/O and knows nothing about JNI, QUIC or HTTP.
//!
//! Object payloads (the handler's receiver, its arguments, its return value or exception) are
//! opaque bytes here: they are produced and read by the Java codec in `jvm-hooks/common`.

pub mod checkpoint;
pub mod codec;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod limits;
mod payload;
mod types;

pub use codec::CodecError;
pub use payload::{
    is_smoke, LambdaEnvelopeError, SmokeReply, INVOCATION_FIELD, OUTCOME_FIELD, SMOKE_PAYLOAD,
};
pub use types::*;
