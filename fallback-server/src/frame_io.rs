//! Reads one length-prefixed frame from a QUIC stream, checking the length before allocating.

use quinn::{ReadError, ReadExactError, RecvStream};

use crate::protocol::{frame_length, Direction, FrameError, LENGTH_PREFIX_LEN};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadFrameError {
    /// The peer sent bytes that are not an acceptable frame.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The stream or connection failed underneath.
    #[error(transparent)]
    Stream(#[from] ReadError),
}

/// Reads a frame's body. Bytes after the frame are left unread.
pub(crate) async fn read_frame(
    recv: &mut RecvStream,
    direction: Direction,
) -> Result<Vec<u8>, ReadFrameError> {
    let mut header = [0u8; LENGTH_PREFIX_LEN];
    read_exact(recv, &mut header, direction, 0).await?;
    let len = frame_length(header, direction)?;
    let mut body = vec![0u8; len];
    read_exact(recv, &mut body, direction, LENGTH_PREFIX_LEN).await?;
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
