//! The one place that knows the binary encoding (bincode 2, standard config).
//!
//! Every decode is bounded: the input length is checked against the caller's limit, bincode is told
//! the global upper bound so a forged length prefix cannot make it allocate more, and trailing
//! bytes are an error.

use serde::{de::DeserializeOwned, Serialize};

use crate::limits::CLOSURE_MAX;

/// Why a byte buffer could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("{what} is {len} bytes, over the limit of {limit} bytes")]
    TooLarge {
        what: &'static str,
        len: usize,
        limit: usize,
    },
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ CLOSURE_MAX + 1024 }>()
}

/// Encodes a value. Encoding our own types cannot fail.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, config()).expect("semifaas wire types always encode")
}

/// Decodes a value of type `T` named `what` (for error messages) from at most `limit` bytes.
pub fn decode<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
    limit: usize,
) -> Result<T, CodecError> {
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            what,
            len: bytes.len(),
            limit,
        });
    }
    let (value, used) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|e| CodecError::Malformed {
            what,
            reason: e.to_string(),
        })?;
    if used != bytes.len() {
        return Err(CodecError::Malformed {
            what,
            reason: format!("{} trailing bytes", bytes.len() - used),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NamedBytes;

    /// Byte fields are encoded as one byte string (`serde_bytes`), which must be the same bytes
    /// as the element-by-element `Vec<u8>` encoding the wire format was defined with.
    #[test]
    fn byte_strings_keep_the_element_wise_wire_format() {
        let bytes: Vec<u8> = (0..=255).chain(0..40).collect();
        let named = NamedBytes {
            name: "a/B.class".into(),
            bytes: bytes.clone(),
        };
        let element_wise = encode(&("a/B.class".to_owned(), bytes));
        assert_eq!(encode(&named), element_wise);
        let back: NamedBytes = decode("named bytes", &element_wise, 1 << 20).unwrap();
        assert_eq!(back, named);
    }
}
