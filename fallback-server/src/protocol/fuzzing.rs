//! Entry points of the fuzz targets in `fuzz/` (cargo-fuzz) for the fallback protocol's frames:
//! arbitrary bytes must be refused with a [`FrameError`](super::FrameError) or accepted as a value
//! that survives a round trip through the real encoder. The unit test below replays the committed
//! corpora.
//!
//! Each input is tried both as a whole frame (header included) and as a bare body (of every
//! request kind), so mutations that break the header still exercise the body decoder.

use super::{
    decode_hello, decode_request, decode_response, encode_hello, encode_request, encode_response,
    split_frame, split_request, Direction, HELLO_LEN,
};

/// A request frame as the server reads it from a stream.
pub fn request_frame(data: &[u8]) {
    let whole = split_request(data).map(|(header, body)| (header.tag, body));
    let bare = (0..=7).map(|tag| (tag, data));
    for (tag, body) in whole.into_iter().chain(bare) {
        if let Ok(frame) = decode_request(tag, body) {
            let bytes = encode_request(&frame).unwrap();
            let (header, body) = split_request(&bytes).unwrap();
            assert_eq!(header.tag, tag);
            assert_eq!(decode_request(tag, body).unwrap(), frame);
        }
    }
}

/// A connection's hello as the server reads it: exactly [`HELLO_LEN`] bytes.
pub fn hello(data: &[u8]) {
    let Ok(hello) = <[u8; HELLO_LEN]>::try_from(data) else {
        return;
    };
    if let Some(capability) = decode_hello(&hello) {
        assert_eq!(encode_hello(&capability), hello);
    }
}

/// A response frame as the client reads it from a stream.
pub fn response_frame(data: &[u8]) {
    for body in split_frame(data, Direction::Response)
        .into_iter()
        .chain([data])
    {
        if let Ok(response) = decode_response(body) {
            let bytes = encode_response(&response).unwrap();
            let again = decode_response(split_frame(&bytes, Direction::Response).unwrap()).unwrap();
            assert_eq!(again, response);
        }
    }
}

#[cfg(test)]
mod tests {
    use semifaas_closure::fuzzing::replay_corpus;

    use super::*;

    #[test]
    fn the_fuzz_corpora_decode_without_panics() {
        replay_corpus(
            env!("CARGO_MANIFEST_DIR"),
            "fallback_request",
            request_frame,
        );
        replay_corpus(
            env!("CARGO_MANIFEST_DIR"),
            "fallback_response",
            response_frame,
        );
        replay_corpus(env!("CARGO_MANIFEST_DIR"), "hello", hello);
    }
}
