//! Framing: every stream direction carries exactly one frame, a 4-byte big-endian body length
//! followed by a bincode body (through `semifaas_closure::codec`, the one place that knows
//! bincode). A request's header adds one byte naming its kind, so the server checks the length
//! against that kind's limit (a few KiB for everything but a remote call) before it reserves
//! memory for the body.

use std::fmt;

use semifaas_closure::{
    codec,
    limits::{ARGS_MAX, CLOSURE_MAX, LIBRARY_REPORT_NAMES_MAX, NAME_MAX},
    CodecError,
};

use super::messages::{FallbackErrorKind, FallbackRequest, FallbackResponse, RequestFrame};

/// Bytes of the length prefix.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// Bytes of a request frame's header: the length prefix and the request's kind.
pub const REQUEST_HEADER_LEN: usize = LENGTH_PREFIX_LEN + 1;

/// Largest request body: requests carry a capability and names, never code; a remote call also
/// carries its arguments, bounded like an invocation's.
pub const REQUEST_FRAME_MAX: usize = ARGS_MAX + 64 * 1024;

/// Largest body of a request that carries only a capability and a name.
pub const NAMED_REQUEST_MAX: usize = NAME_MAX + 256;

/// The kind byte of a request frame: the index of the [`FallbackRequest`] variant.
pub fn request_tag(request: &FallbackRequest) -> u8 {
    match request {
        FallbackRequest::FetchClosure { .. } => 0,
        FallbackRequest::LoadClass { .. } => 1,
        FallbackRequest::GetResource { .. } => 2,
        FallbackRequest::InvokeRemote { .. } => 3,
        FallbackRequest::LibraryManifest => 4,
        FallbackRequest::LibraryJar { .. } => 5,
        FallbackRequest::LibraryClassesDefined { .. } => 6,
    }
}

/// Largest body of a report of classes defined from library jars: its names, each bounded.
pub const LIBRARY_REPORT_MAX: usize = LIBRARY_REPORT_NAMES_MAX * 256 + NAMED_REQUEST_MAX;

/// The largest body a request of kind `tag` may have; `None` for an unknown kind.
pub fn request_limit(tag: u8) -> Option<usize> {
    match tag {
        0..=2 | 4 | 5 => Some(NAMED_REQUEST_MAX),
        3 => Some(REQUEST_FRAME_MAX),
        6 => Some(LIBRARY_REPORT_MAX),
        _ => None,
    }
}

/// What a request frame's header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeader {
    /// Body bytes that follow.
    pub len: usize,
    /// The request's kind ([`request_tag`]).
    pub tag: u8,
}

/// Reads a request header and rejects an unknown kind or a length over that kind's limit, so a
/// reader can reserve the body's memory safely.
pub fn request_header(header: [u8; REQUEST_HEADER_LEN]) -> Result<RequestHeader, FrameError> {
    let (len, tag) = header.split_at(LENGTH_PREFIX_LEN);
    let len = u32::from_be_bytes(len.try_into().expect("four bytes")) as usize;
    let tag = tag[0];
    let limit = request_limit(tag).ok_or_else(|| FrameError::Invalid {
        direction: Direction::Request,
        reason: format!("unknown request kind {tag}"),
    })?;
    if len > limit {
        return Err(FrameError::TooLarge {
            direction: Direction::Request,
            len,
            limit,
        });
    }
    Ok(RequestHeader { len, tag })
}

/// Largest response body: a response may carry a whole closure.
pub const RESPONSE_FRAME_MAX: usize = CLOSURE_MAX;

/// Which way a frame travels; decides its size limit and names it in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Function to server.
    Request,
    /// Server to function.
    Response,
}

impl Direction {
    /// Largest body a frame in this direction may have.
    pub fn limit(self) -> usize {
        match self {
            Direction::Request => REQUEST_FRAME_MAX,
            Direction::Response => RESPONSE_FRAME_MAX,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Direction::Request => "request",
            Direction::Response => "response",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A frame that cannot be accepted, with a message that names what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("{direction} frame is {len} bytes, over the limit of {limit} bytes")]
    TooLarge {
        direction: Direction,
        len: usize,
        limit: usize,
    },
    #[error("{direction} frame is truncated: expected {expected} bytes, the stream ended after {received}")]
    Truncated {
        direction: Direction,
        expected: usize,
        received: usize,
    },
    #[error("{direction} frame is followed by {count} unexpected bytes")]
    TrailingBytes { direction: Direction, count: usize },
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("invalid {direction}: {reason}")]
    Invalid {
        direction: Direction,
        reason: String,
    },
}

impl FrameError {
    /// The error kind the server answers a bad request frame with.
    pub fn kind(&self) -> FallbackErrorKind {
        match self {
            FrameError::TooLarge { .. } | FrameError::Codec(CodecError::TooLarge { .. }) => {
                FallbackErrorKind::TooLarge
            }
            FrameError::Truncated { .. }
            | FrameError::TrailingBytes { .. }
            | FrameError::Codec(CodecError::Malformed { .. })
            | FrameError::Invalid { .. } => FallbackErrorKind::Malformed,
        }
    }

    /// The response the server sends for a bad request frame.
    pub fn to_response(&self) -> FallbackResponse {
        FallbackResponse::error(self.kind(), self.to_string())
    }
}

/// Prefixes `body` with its length. Callers keep bodies within their direction's limit (the
/// `encode_*` functions below check it), so the length always fits in 32 bits.
pub fn encode_frame(body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).expect("frame bodies are bounded far below 4 GiB");
    let mut frame = Vec::with_capacity(LENGTH_PREFIX_LEN + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

/// Reads a length prefix and rejects a length over the direction's limit, so a reader can
/// allocate the body buffer safely.
pub fn frame_length(
    header: [u8; LENGTH_PREFIX_LEN],
    direction: Direction,
) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes(header) as usize;
    check_len(len, direction)?;
    Ok(len)
}

/// Splits a buffer that must hold exactly one response frame into its body.
pub fn split_frame(buf: &[u8], direction: Direction) -> Result<&[u8], FrameError> {
    let Some((header, rest)) = buf.split_first_chunk::<LENGTH_PREFIX_LEN>() else {
        return Err(FrameError::Truncated {
            direction,
            expected: LENGTH_PREFIX_LEN,
            received: buf.len(),
        });
    };
    let len = frame_length(*header, direction)?;
    exact_body(rest, len, LENGTH_PREFIX_LEN, direction)
}

/// `rest` must be exactly the `len`-byte body that follows a `header_len`-byte header.
fn exact_body(
    rest: &[u8],
    len: usize,
    header_len: usize,
    direction: Direction,
) -> Result<&[u8], FrameError> {
    match rest.len().cmp(&len) {
        std::cmp::Ordering::Less => Err(FrameError::Truncated {
            direction,
            expected: header_len + len,
            received: header_len + rest.len(),
        }),
        std::cmp::Ordering::Greater => Err(FrameError::TrailingBytes {
            direction,
            count: rest.len() - len,
        }),
        std::cmp::Ordering::Equal => Ok(rest),
    }
}

fn check_len(len: usize, direction: Direction) -> Result<(), FrameError> {
    let limit = direction.limit();
    if len > limit {
        return Err(FrameError::TooLarge {
            direction,
            len,
            limit,
        });
    }
    Ok(())
}

/// Encodes a request into a complete frame (header included).
pub fn encode_request(frame: &RequestFrame) -> Result<Vec<u8>, FrameError> {
    let body = codec::encode(frame);
    let tag = request_tag(&frame.request);
    let limit = request_limit(tag).expect("every request variant has a limit");
    if body.len() > limit {
        return Err(FrameError::TooLarge {
            direction: Direction::Request,
            len: body.len(),
            limit,
        });
    }
    let len = u32::try_from(body.len()).expect("request bodies are bounded far below 4 GiB");
    let mut out = Vec::with_capacity(REQUEST_HEADER_LEN + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.push(tag);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Splits a buffer that must hold exactly one request frame into its header and body.
pub fn split_request(buf: &[u8]) -> Result<(RequestHeader, &[u8]), FrameError> {
    let direction = Direction::Request;
    let Some((header, rest)) = buf.split_first_chunk::<REQUEST_HEADER_LEN>() else {
        return Err(FrameError::Truncated {
            direction,
            expected: REQUEST_HEADER_LEN,
            received: buf.len(),
        });
    };
    let header = request_header(*header)?;
    exact_body(rest, header.len, REQUEST_HEADER_LEN, direction).map(|body| (header, body))
}

/// Decodes and validates a request body (without its header) of kind `tag`: the body must be a
/// request of the kind its header announced.
pub fn decode_request(tag: u8, body: &[u8]) -> Result<RequestFrame, FrameError> {
    let invalid = |reason: String| FrameError::Invalid {
        direction: Direction::Request,
        reason,
    };
    let limit = request_limit(tag).ok_or_else(|| invalid(format!("unknown request kind {tag}")))?;
    let frame: RequestFrame = codec::decode("fallback request", body, limit)?;
    if request_tag(&frame.request) != tag {
        return Err(invalid(format!(
            "the header announced request kind {tag}, the body holds {}",
            frame.request.kind()
        )));
    }
    frame.request.validate().map_err(invalid)?;
    Ok(frame)
}

/// Encodes a response into a complete frame (length prefix included).
pub fn encode_response(response: &FallbackResponse) -> Result<Vec<u8>, FrameError> {
    let body = codec::encode(response);
    check_len(body.len(), Direction::Response)?;
    Ok(encode_frame(&body))
}

/// Decodes and validates a response body (without its length prefix). A closure in it is
/// validated like any closure received from a peer.
pub fn decode_response(body: &[u8]) -> Result<FallbackResponse, FrameError> {
    let response: FallbackResponse = codec::decode("fallback response", body, RESPONSE_FRAME_MAX)?;
    if let FallbackResponse::Closure(closure) = &response {
        closure.validate().map_err(|e| FrameError::Invalid {
            direction: Direction::Response,
            reason: format!("closure: {e}"),
        })?;
    }
    response.validate().map_err(|reason| FrameError::Invalid {
        direction: Direction::Response,
        reason,
    })?;
    Ok(response)
}
