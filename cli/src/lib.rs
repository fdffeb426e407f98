//! The library half of the `semifaas` CLI: starting real deployments on this machine (the
//! demo, the benchmarks and the end-to-end tests share it) and plotting benchmark results.

pub mod harness;
pub mod plot;
