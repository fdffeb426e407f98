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
    #[error("no function named {0:?} is deployed")]
    UnknownFunction(String),
}
