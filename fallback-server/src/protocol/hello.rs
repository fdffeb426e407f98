//! The first message of every connection: an invocation's capability, in a fixed-size form the
//! server can read without allocating and check before it reads a single request frame.
//!
//! `HELLO` = magic `SFH1` (4 bytes) + invocation id (8 bytes, big-endian) + token (16 bytes).
//! The server answers [`HELLO_ACCEPTED`] on the same stream, or closes the connection with
//! [`CLOSE_UNAUTHENTICATED`] whatever was wrong (bad magic, unknown invocation, wrong token,
//! too slow): one refusal, so a prober learns nothing about which invocations are in flight.

use quinn::VarInt;
use semifaas_closure::Capability;

/// Identifies the hello and the protocol version it opens.
pub const HELLO_MAGIC: [u8; 4] = *b"SFH1";

/// Bytes of a hello: magic, invocation id, token.
pub const HELLO_LEN: usize = 4 + 8 + 16;

/// The server's one-byte answer to an accepted hello.
pub const HELLO_ACCEPTED: u8 = 0x01;

/// Connection close code for a connection that did not authenticate.
pub const CLOSE_UNAUTHENTICATED: VarInt = VarInt::from_u32(2);

/// The close reason sent with [`CLOSE_UNAUTHENTICATED`]: the same for every cause.
pub const UNAUTHENTICATED_REASON: &[u8] = b"unauthenticated";

/// The hello that presents `capability`.
pub fn encode_hello(capability: &Capability) -> [u8; HELLO_LEN] {
    let mut hello = [0u8; HELLO_LEN];
    hello[..4].copy_from_slice(&HELLO_MAGIC);
    hello[4..12].copy_from_slice(&capability.invocation_id.to_be_bytes());
    hello[12..].copy_from_slice(&capability.token);
    hello
}

/// The capability a hello presents; `None` when the bytes are not a hello of this version.
pub fn decode_hello(hello: &[u8; HELLO_LEN]) -> Option<Capability> {
    let (magic, rest) = hello.split_first_chunk::<4>()?;
    if *magic != HELLO_MAGIC {
        return None;
    }
    let (id, token) = rest.split_first_chunk::<8>()?;
    Some(Capability {
        invocation_id: u64::from_be_bytes(*id),
        token: token.try_into().ok()?,
    })
}
