//! Errors of the library API.

use std::net::SocketAddr;

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum FaasLocalError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("function {0:?} is configured twice; give each function a unique name")]
    DuplicateFunction(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot listen on {0}: the Lambda API has no authentication and CreateFunction runs any directory's `bootstrap`, so it listens on a loopback address only (127.0.0.1 or ::1)")]
    NotLoopback(SocketAddr),
    #[error(
        "cannot create a directory for uploaded function code in the temporary directory: {0}"
    )]
    CodeStore(std::io::Error),
    #[error("cannot draw the OpenWhisk API's credential from the operating system: {0}")]
    Auth(rand::rand_core::OsError),
    #[error("snapshot starts restore instances through the Lambda Runtime API: use them with the Lambda API")]
    SnapshotsNeedLambda,
    #[error("snapshot starts: {0}")]
    Snapshots(String),
    #[error("no function named {0:?} is deployed")]
    UnknownFunction(String),
}
