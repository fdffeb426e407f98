//! placeholder
pub mod closures;
pub mod config;
pub mod fallback_service;
pub mod policy;
pub mod stats;
