//! The fallback protocol without I/O: the hello that authenticates a connection, message
//! types, framing and limits. Everything here works
//! on byte buffers; the `server` and `client` modules move these bytes over QUIC.

mod framing;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod hello;
mod library;
mod messages;

pub use framing::*;
pub use hello::*;
pub use library::*;
pub use messages::*;

#[cfg(test)]
mod tests;
