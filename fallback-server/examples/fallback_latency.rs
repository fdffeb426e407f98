//! Latency and throughput of `load_class` fallbacks over loopback QUIC.
//!
//! `cargo run --release -p semifaas-fallback --example fallback_latency -- [class-bytes] [requests] [concurrency]`
//! (defaults: 4096 bytes, 2000 requests, 64 concurrent).

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use semifaas_closure::Capability;
use semifaas_fallback::{
    FallbackClient, FallbackRequest, FallbackResponse, FallbackServer, FallbackService,
};

/// Answers every class request with the same bytes.
struct FixedClass(Vec<u8>);

impl FallbackService for FixedClass {
    fn authenticate(&self, _: &Capability) -> bool {
        true
    }

    fn handle(&self, _: &Capability, _: FallbackRequest) -> FallbackResponse {
        FallbackResponse::Class(Some(self.0.clone()))
    }
}

fn arg(index: usize, default: usize) -> anyhow::Result<usize> {
    match std::env::args().nth(index) {
        Some(text) => text
            .parse()
            .with_context(|| format!("argument {index} ({text:?}) is not a number")),
        None => Ok(default),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (size, requests, concurrency) = (arg(1, 4096)?, arg(2, 2000)?, arg(3, 64)?);
    anyhow::ensure!(
        requests > 0 && concurrency > 0,
        "requests and concurrency must be positive"
    );
    let bind: SocketAddr = "127.0.0.1:0".parse()?;
    let server = FallbackServer::start(
        bind,
        "semifaas-fallback",
        Arc::new(FixedClass(vec![0; size])),
    )?;
    let capability = Capability {
        invocation_id: 1,
        token: [0; 16],
    };
    let client = FallbackClient::connect(&server.endpoint("127.0.0.1"), capability).await?;

    let mut latencies = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        client.load_class(capability, "bench.C").await?;
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "sequential, {size}-byte class: p50 {:?}  p99 {:?}  max {:?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );

    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let share = requests / concurrency + usize::from(worker < requests % concurrency);
        workers.spawn(async move {
            for _ in 0..share {
                client.load_class(capability, "bench.C").await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    let elapsed = started.elapsed();
    println!(
        "{concurrency} concurrent: {requests} requests in {elapsed:?} ({:.0} requests/s)",
        requests as f64 / elapsed.as_secs_f64()
    );
    server.shutdown().await;
    Ok(())
}
