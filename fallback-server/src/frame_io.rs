//! Reads one frame from a QUIC stream. The header is checked before anything is reserved, and
//! the body buffer grows only as bytes arrive, so a peer that announces a large frame and sends
//! nothing holds no memory.

use quinn::{ReadError, ReadExactError, RecvStream};

use crate::protocol::{
    frame_length, request_header, Direction, FrameError, RequestHeader, LENGTH_PREFIX_LEN,
    REQUEST_HEADER_LEN,
};

/// Largest chunk appended to a body at once.
const CHUNK_MAX: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadFrameError {
    /// The peer sent bytes that are not an acceptable frame.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The stream or connection failed underneath.
    #[error(transparent)]
    Stream(#[from] ReadError),
}

/// Reads a request frame's header (kind and length checked against the kind's limit).
pub(crate) async fn read_request_header(
    recv: &mut RecvStream,
) -> Result<RequestHeader, ReadFrameError> {
    let mut header = [0u8; REQUEST_HEADER_LEN];
    read_exact(recv, &mut header, Direction::Request, 0).await?;
    Ok(request_header(header)?)
}

/// Reads a response frame's body. Bytes after the frame are left unread.
pub(crate) async fn read_response(recv: &mut RecvStream) -> Result<Vec<u8>, ReadFrameError> {
    let direction = Direction::Response;
    let mut header = [0u8; LENGTH_PREFIX_LEN];
    read_exact(recv, &mut header, direction, 0).await?;
    let len = frame_length(header, direction)?;
    read_body(recv, len, LENGTH_PREFIX_LEN, direction).await
}

/// Reads the `len`-byte body that follows a `header_len`-byte header, growing the buffer as
/// chunks arrive.
pub(crate) async fn read_body(
    recv: &mut RecvStream,
    len: usize,
    header_len: usize,
    direction: Direction,
) -> Result<Vec<u8>, ReadFrameError> {
    let mut body = Vec::with_capacity(len.min(CHUNK_MAX));
    while body.len() < len {
        let want = (len - body.len()).min(CHUNK_MAX);
        match recv.read_chunk(want, true).await? {
            Some(chunk) => body.extend_from_slice(&chunk.bytes),
            None => {
                return Err(FrameError::Truncated {
                    direction,
                    expected: header_len + len,
                    received: header_len + body.len(),
                }
                .into())
            }
        }
    }
    Ok(body)
}

/// `already_read`: bytes of the frame before `buf`, so truncation reports frame offsets.
async fn read_exact(
    recv: &mut RecvStream,
    buf: &mut [u8],
    direction: Direction,
    already_read: usize,
) -> Result<(), ReadFrameError> {
    match recv.read_exact(buf).await {
        Ok(()) => Ok(()),
        Err(ReadExactError::FinishedEarly(received)) => Err(FrameError::Truncated {
            direction,
            expected: already_read + buf.len(),
            received: already_read + received,
        }
        .into()),
        Err(ReadExactError::ReadError(e)) => Err(e.into()),
    }
}
