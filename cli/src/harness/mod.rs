//! Starts and stops the real processes of a semifaas deployment on this machine — the local FaaS
//! platform and a sample service with the agent attached — for the demo, the benchmarks and the
//! end-to-end tests. Every child is killed when its handle drops, and also when this process dies.

mod admin;
mod browser;
mod dist;
mod http;
pub mod image_service;
mod process;
pub mod procs;
mod session;
mod udp_relay;

pub use admin::Admin;
pub use browser::{csrf_token, form_encode, Browser, Reply};
pub use dist::Dist;
pub use http::{Exchange, HttpClient, Request, PLACEMENT_HEADER};
pub use process::{
    free_port, pin_all_threads, test_criu, EmulatorProcess, FaasLocalProcess, PlatformApi,
    ServiceOptions, ServiceProcess,
};
pub use session::{placement_mismatches, Session, Step};
pub use udp_relay::UdpRelay;
