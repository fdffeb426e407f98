//! The library half of the `semifaas` CLI: starting real deployments on this machine (the
//! demo, the benchmarks and the end-to-end tests share it), the open-loop load generator and its
//! per-window timeline, and plotting benchmark results.

pub mod harness;
pub mod loadgen;
pub mod plot;
pub mod plot_bars;
pub mod timeline;
