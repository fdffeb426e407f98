//! Reading request and response bodies against Lambda's 6 MB payload limit.

use axum::body::HttpBody;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

/// Lambda's limit for synchronous request and response payloads.
pub const PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// Past this much, an oversized body is no longer drained and the connection is dropped.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum PayloadError {
    #[error("payload of {0} bytes or more exceeds the limit of {PAYLOAD_LIMIT} bytes")]
    TooLarge(usize),
    #[error("could not read the request body: {0}")]
    Read(axum::Error),
}

/// Reads a body (a request's, or an action's answer) of at most `PAYLOAD_LIMIT` bytes. An
/// oversized body is drained (up to a bound) so the client reliably receives the error
/// response instead of a reset.
pub(crate) async fn read_limited<B>(mut body: B) -> Result<Bytes, PayloadError>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    let mut buf = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| PayloadError::Read(axum::Error::new(e)))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_LIMIT {
            return Err(PayloadError::TooLarge(seen));
        }
        if seen <= PAYLOAD_LIMIT {
            buf.extend_from_slice(&data);
        }
    }
    if seen > PAYLOAD_LIMIT {
        return Err(PayloadError::TooLarge(seen));
    }
    Ok(buf.freeze())
}
