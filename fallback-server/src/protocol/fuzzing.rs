//! Entry points of the fuzz targets in `fuzz/` (cargo-fuzz) for the fallback protocol's frames:
//! arbitrary bytes must be refused with a [`FrameError`](super::FrameError) or accepted as a value
//! that survives a round trip through the real encoder. The unit test below replays the committed
//! corpora.
//!
//! Each input is tried both as a whole frame (`split_frame`, length prefix included) and as a
//! bare body, so mutations that break the length prefix still exercise the body decoder.

use super::{
    decode_request, decode_response, encode_request, encode_response, split_frame, Direction,
};

/// A request frame as the server reads it from a stream.
pub fn request_frame(data: &[u8]) {
    for body in split_frame(data, Direction::Request)
        .into_iter()
        .chain([data])
    {
        if let Ok(frame) = decode_request(body) {
            let bytes = encode_request(&frame).unwrap();
            let again = decode_request(split_frame(&bytes, Direction::Request).unwrap()).unwrap();
            assert_eq!(again, frame);
        }
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

// The connection's fixed-size authentication message gets its entry point (and a target in
// fuzz/fuzz_targets, a corpus in fuzz/corpus, a line in the replay test below) beside these.

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
    }
}
