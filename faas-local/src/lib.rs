//! faas-local: a local FaaS platform that speaks the AWS Lambda API.
//!
//! It serves Lambda `Invoke` (so the real `aws-sdk-lambda` client works against it with an
//! endpoint override), a subset of function management, and `GET /local/stats`. Each
//! function instance is a real `{code_dir}/bootstrap` process with its own Lambda Runtime
//! API on a loopback port, under a secret path only that instance is given; an instance runs one invocation at a time, idle instances are
//! reused (most recently used first) and stopped after a keep-alive, and invocations past
//! the concurrency limit are throttled with 429.
//!
//! It is not a sandbox (instances run as the current user, with its environment) and it
//! runs synchronous invocations only. Its Lambda API has no authentication, so it listens on
//! loopback only and refuses requests a web page could send.
//!
//! ```no_run
//! # async fn demo() -> Result<(), faas_local::FaasLocalError> {
//! use faas_local::{FaasLocal, FaasLocalConfig, FunctionConfig};
//! let mut config = FaasLocalConfig::new("127.0.0.1:9000".parse().unwrap());
//! config.functions.push(FunctionConfig::new("semifaas", "dist"));
//! let platform = FaasLocal::start(config).await?;
//! println!("Lambda endpoint: {}", platform.endpoint_url());
//! platform.shutdown().await;
//! # Ok(()) }
//! ```

mod api_error;
mod code_store;
mod config;
mod error;
mod function;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod instance;
mod invocation;
mod lambda_api;
mod loopback_guard;
mod management_api;
mod payload;
mod pool;
mod registry;
mod runtime_api;
mod runtime_key;
mod stats;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

pub use code_store::{UNZIPPED_LIMIT, ZIP_LIMIT};
pub use config::{
    ConfigError, CreatedFunctionLimits, FaasLocalConfig, FunctionConfig, DEFAULT_CONCURRENCY_LIMIT,
    DEFAULT_INIT_TIMEOUT, DEFAULT_KEEP_ALIVE, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT,
};
pub use error::FaasLocalError;
pub use payload::PAYLOAD_LIMIT;
pub use stats::{FunctionStats, PlatformStats};

use registry::{CreateError, Registry};

/// How long `shutdown` waits for instances to exit and connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running platform. Dropping it kills its instances; `shutdown` also waits for them.
pub struct FaasLocal {
    addr: SocketAddr,
    registry: Arc<Registry>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl FaasLocal {
    /// Validates the functions, binds the Lambda API and starts serving. Instances start
    /// on demand, at the first invocation.
    pub async fn start(config: FaasLocalConfig) -> Result<Self, FaasLocalError> {
        if !config.bind.ip().is_loopback() {
            return Err(FaasLocalError::NotLoopback(config.bind));
        }
        let code_store = code_store::CodeStore::in_temp_dir().map_err(FaasLocalError::CodeStore)?;
        let registry = Arc::new(Registry::new(
            config.region,
            config.init_timeout,
            code_store,
            config.created_functions,
        ));
        for function in config.functions {
            registry.create(function, None).map_err(|e| match e {
                CreateError::Exists(name) => FaasLocalError::DuplicateFunction(name),
                CreateError::Invalid(e) => FaasLocalError::Config(e),
            })?;
        }
        let bind_error = |source| FaasLocalError::Bind {
            addr: config.bind,
            source,
        };
        let listener = TcpListener::bind(config.bind).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = lambda_api::router(registry.clone());
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                error!(error = %e, "faas-local API server failed");
            }
        });
        let functions: Vec<_> = registry
            .list()
            .iter()
            .map(|p| p.name().to_owned())
            .collect();
        info!(%addr, ?functions, "faas-local listening");
        Ok(Self {
            addr,
            registry,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// The bound address of the Lambda API.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to give an AWS SDK as its endpoint, e.g. `http://127.0.0.1:9000`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The same document as `GET /local/stats`.
    pub fn stats(&self) -> PlatformStats {
        self.registry.stats()
    }

    /// Starts up to `count` more instances of `function` (within its concurrency limit)
    /// ahead of traffic. Returns how many became ready.
    pub async fn prewarm(&self, function: &str, count: usize) -> Result<usize, FaasLocalError> {
        let (name, qualifier) = lambda_api::split_qualifier(function);
        let pool = self
            .registry
            .resolve(name, qualifier)
            .map_err(|_| FaasLocalError::UnknownFunction(function.to_owned()))?;
        Ok(pool.prewarm(count).await)
    }

    /// Stops accepting requests, kills every instance and waits for them to exit.
    pub async fn shutdown(mut self) {
        let instances = self.registry.close_all();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let exits = futures_join_all(instances.iter().map(|i| i.exited()));
        if tokio::time::timeout(SHUTDOWN_GRACE, exits).await.is_err() {
            warn!("some instances did not exit within {SHUTDOWN_GRACE:?}");
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
        info!(addr = %self.addr, "faas-local stopped");
    }
}

impl Drop for FaasLocal {
    fn drop(&mut self) {
        self.registry.close_all();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Awaits all futures (a few, so sequential awaiting is as fast as joining).
async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) {
    for future in futures {
        future.await;
    }
}
