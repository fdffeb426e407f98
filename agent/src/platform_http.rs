//! One request to a FaaS platform's HTTP API and its answer, read whole but never past the
//! platform's reply limit: what the Lambda and OpenWhisk invokers share.

use reqwest::{header::HeaderMap, RequestBuilder, StatusCode};
use semifaas_closure::limits::LAMBDA_SYNC_PAYLOAD_MAX;

use crate::{
    dispatch::{error_chain, OffloadFailure},
    stats::FailureReason,
};

/// An answer larger than this is not read: functions keep their replies within Lambda's limit,
/// so only a broken or hostile platform sends more.
pub(crate) const REPLY_MAX: usize = LAMBDA_SYNC_PAYLOAD_MAX;

/// A platform's answer, whatever its status.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Sends `request` and reads its answer; `target` names the function or action in failure
/// messages. A timeout is `Timeout`, no connection `PlatformUnreachable`, any other transport
/// failure `PlatformError`, and an answer over [`REPLY_MAX`] bytes `ResultUnusable`.
pub(crate) async fn exchange(
    request: RequestBuilder,
    target: &str,
) -> Result<Answer, OffloadFailure> {
    let mut response = request.send().await.map_err(|e| {
        let reason = if e.is_timeout() {
            FailureReason::Timeout
        } else if e.is_connect() {
            FailureReason::PlatformUnreachable
        } else {
            FailureReason::PlatformError
        };
        OffloadFailure::new(reason, format!("{target}: {}", error_chain(&e)))
    })?;
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() <= REPLY_MAX => {
                body.extend_from_slice(&chunk)
            }
            Ok(Some(_)) => {
                return Err(OffloadFailure::new(
                    FailureReason::ResultUnusable,
                    format!("{target}: the answer (HTTP {status}) is over {REPLY_MAX} bytes"),
                ))
            }
            Ok(None) => break,
            Err(e) => {
                let reason = if e.is_timeout() {
                    FailureReason::Timeout
                } else {
                    FailureReason::PlatformError
                };
                return Err(OffloadFailure::new(
                    reason,
                    format!("{target}: reading the answer: {}", error_chain(&e)),
                ));
            }
        }
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}
