//! One fault's fresh deployment: faas-local on a port of its own (so a restart comes back on the
//! same one), the sample with the agent offloading every handler and its user logged in, and for
//! `fallback-drop` the UDP relay the functions reach the fallback server through.

use std::{
    net::{Ipv4Addr, SocketAddr, UdpSocket},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result};
use semifaas_cli::harness::{
    free_port, Admin, Browser, Dist, FaasLocalProcess, ServiceOptions, ServiceProcess, UdpRelay,
    PLACEMENT_HEADER,
};

use super::{
    sample::{Sample, Session},
    Fault,
};

pub const FUNCTION: &str = "semifaas";
/// Instances faas-local runs at once (what `throttle` restores).
pub const CONCURRENCY: usize = 4;

pub struct Stack {
    dist: Dist,
    logs: PathBuf,
    /// `None` only while it restarts.
    platform: Option<FaasLocalProcess>,
    pub platform_port: u16,
    generation: usize,
    pub service: ServiceProcess,
    pub admin: Admin,
    pub relay: Option<UdpRelay>,
    /// The logged-in session the load writes in.
    pub session: Session,
}

impl Stack {
    pub async fn start(
        dist: &Dist,
        fault: Fault,
        sample: Sample,
        timeout_ms: u64,
        logs: &Path,
    ) -> Result<Stack> {
        let platform_port = free_port();
        let concurrency = CONCURRENCY.to_string();
        let platform = FaasLocalProcess::start_on_port(
            dist,
            FUNCTION,
            platform_port,
            0,
            &["--concurrency", &concurrency],
            logs,
        )
        .await?;
        let mut options = ServiceOptions::for_platform(sample.name(), &platform);
        options.settings.extend(
            [
                ("include", "io.semifaas.samples"),
                ("min-cpu-ms", "0"),
                ("profile.samples", "0"),
                ("placement-header", PLACEMENT_HEADER),
                // Every offload the ratio asks for goes out, however slow the loaded machine.
                ("do-no-harm", "false"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let mut relay = None;
        match fault {
            Fault::Timeout => options
                .settings
                .push(("timeout-ms".into(), timeout_ms.to_string())),
            Fault::FallbackDrop => {
                let fallback_port = free_udp_port()?;
                let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, fallback_port));
                let started = UdpRelay::start(upstream).await?;
                options.settings.extend([
                    ("fallback.port".into(), fallback_port.to_string()),
                    (
                        "fallback.advertise".into(),
                        format!("127.0.0.1:{}", started.port),
                    ),
                ]);
                relay = Some(started);
            }
            _ => {}
        }
        let service = ServiceProcess::start(dist, &options, logs).await?;
        let admin = Admin::new(service.admin_port);
        // Logged in while everything runs on the server, so no fault can stop the session.
        let session = sample.log_in(&mut Browser::new(service.port)).await?;
        Ok(Stack {
            dist: dist.clone(),
            logs: logs.to_owned(),
            platform: Some(platform),
            platform_port,
            generation: 0,
            service,
            admin,
            relay,
            session,
        })
    }

    pub fn platform(&self) -> Option<&FaasLocalProcess> {
        self.platform.as_ref()
    }

    /// Stops the platform (`SIGTERM`, or with `kill` `SIGKILL` to it and its instances, as a
    /// crashed host) and starts it again on the same port.
    pub async fn restart_platform(&mut self, kill: bool) -> Result<()> {
        let old = self
            .platform
            .take()
            .context("the platform is not running")?;
        if kill {
            let instances = semifaas_cli::harness::procs::children(old.pid());
            old.kill();
            for instance in instances {
                semifaas_cli::harness::procs::signal_group(instance, libc::SIGKILL);
            }
        } else {
            tokio::task::spawn_blocking(move || old.stop()).await?;
        }
        self.generation += 1;
        // The port may take a moment to be free again.
        let mut tries = 0;
        let concurrency = CONCURRENCY.to_string();
        let platform = loop {
            match FaasLocalProcess::start_on_port(
                &self.dist,
                FUNCTION,
                self.platform_port,
                self.generation,
                &["--concurrency", &concurrency],
                &self.logs,
            )
            .await
            {
                Ok(platform) => break platform,
                Err(e) if tries >= 20 => return Err(e.context("restarting the platform")),
                Err(_) => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        };
        self.platform = Some(platform);
        Ok(())
    }

    /// The platform's reserved concurrency for the function (`PutFunctionConcurrency`).
    pub async fn set_concurrency(&self, limit: usize) -> Result<()> {
        let url = format!(
            "http://127.0.0.1:{}/2017-10-31/functions/{FUNCTION}/concurrency",
            self.platform_port
        );
        let response = reqwest::Client::builder()
            .no_proxy()
            .build()?
            .put(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::json!({ "ReservedConcurrentExecutions": limit }).to_string())
            .send()
            .await?;
        let status = response.status();
        anyhow::ensure!(
            status.is_success(),
            "PUT {url}: HTTP {status}: {}",
            response.text().await.unwrap_or_default()
        );
        Ok(())
    }
}

/// A loopback UDP port that was free a moment ago.
fn free_udp_port() -> Result<u16> {
    Ok(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
