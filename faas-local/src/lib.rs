//! faas-local: a local FaaS platform that speaks the AWS Lambda API, or Apache OpenWhisk's.
//!
//! With the Lambda API ([`PlatformApi::Lambda`]) it serves `Invoke` (so the real
//! `aws-sdk-lambda` client works against it with an endpoint override) and a subset of
//! function management; each function instance is a real `{code_dir}/bootstrap` process with
//! its own Lambda Runtime API on a loopback port, under a secret path only that instance is
//! given. With OpenWhisk's REST API ([`PlatformApi::OpenWhisk`]) it serves actions,
//! invocations and activations behind Basic auth; each instance is `bootstrap --openwhisk`
//! serving OpenWhisk's action protocol (`/init`, `/run`) on a loopback port. Either way an
//! instance runs one invocation at a time, idle instances are reused (most recently used
//! first) and stopped after a keep-alive, invocations past the concurrency limit are
//! throttled with 429, and `GET /local/stats` reports the counters.
//!
//! It is not a sandbox (instances run as the current user, with its environment); the Lambda
//! API runs synchronous invocations only. The Lambda API has no authentication, so the
//! platform listens on loopback only and refuses requests a web page could send.
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

mod action_client;
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
mod instance_process;
mod invocation;
mod lambda_api;
mod loopback_guard;
mod management_api;
mod openwhisk_actions;
mod openwhisk_activations;
mod openwhisk_api;
mod openwhisk_auth;
mod openwhisk_error;
mod openwhisk_names;
mod payload;
mod pool;
mod registry;
mod runtime_api;
mod runtime_key;
mod snapshot;
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
    ActionProtocol, ConfigError, CreatedFunctionLimits, FaasLocalConfig, FunctionConfig,
    OpenWhiskConfig, PlatformApi, SnapshotConfig, DEFAULT_BLOCKING_WAIT, DEFAULT_CONCURRENCY_LIMIT,
    DEFAULT_INIT_TIMEOUT, DEFAULT_KEEP_ALIVE, DEFAULT_MEMORY_MB, DEFAULT_SNAPSHOT_AFTER,
    DEFAULT_TIMEOUT,
};
pub use error::FaasLocalError;
pub use payload::PAYLOAD_LIMIT;
pub use stats::{FunctionStats, PlatformStats};

use openwhisk_auth::AuthKey;
use registry::{CreateError, Registry};

/// How long `shutdown` waits for instances to exit and connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running platform. Dropping it kills its instances; `shutdown` also waits for them.
pub struct FaasLocal {
    addr: SocketAddr,
    registry: Arc<Registry>,
    /// `UUID:KEY` of the OpenWhisk API; `None` when serving the Lambda API.
    openwhisk_auth: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl FaasLocal {
    /// Validates the functions, binds the API and starts serving. Instances start on demand,
    /// at the first invocation.
    pub async fn start(mut config: FaasLocalConfig) -> Result<Self, FaasLocalError> {
        if !config.bind.ip().is_loopback() {
            return Err(FaasLocalError::NotLoopback(config.bind));
        }
        let auth = match &config.api {
            PlatformApi::Lambda => None,
            PlatformApi::OpenWhisk(openwhisk) => Some(match &openwhisk.auth {
                Some(auth) => AuthKey::parse(auth)?,
                None => AuthKey::generate().map_err(FaasLocalError::Auth)?,
            }),
        };
        let protocol = match config.api {
            PlatformApi::Lambda => ActionProtocol::LambdaRuntime,
            PlatformApi::OpenWhisk(_) => ActionProtocol::OpenWhisk,
        };
        let code_store = code_store::CodeStore::in_temp_dir().map_err(FaasLocalError::CodeStore)?;
        let snapshotter = match config.snapshots.take() {
            Some(_) if protocol != ActionProtocol::LambdaRuntime => {
                return Err(FaasLocalError::SnapshotsNeedLambda)
            }
            Some(snapshots) => Some(Arc::new(
                snapshot::Snapshotter::new(snapshots).map_err(FaasLocalError::Snapshots)?,
            )),
            None => None,
        };
        let registry = Arc::new(Registry::new(
            config.region,
            config.init_timeout,
            code_store,
            config.created_functions,
            snapshotter,
        ));
        for mut function in config.functions.drain(..) {
            function.protocol = protocol;
            registry.create(function, None).map_err(|e| match e {
                CreateError::Exists(name) => FaasLocalError::DuplicateFunction(name),
                CreateError::Invalid(e) => FaasLocalError::Config(e),
            })?;
        }
        let openwhisk_auth = auth.as_ref().map(|auth| auth.expose().to_owned());
        let app = match (config.api, auth) {
            (PlatformApi::OpenWhisk(openwhisk), Some(auth)) => {
                openwhisk_api::router(Arc::new(openwhisk_api::OpenWhisk::new(
                    registry.clone(),
                    auth,
                    openwhisk.blocking_wait,
                    openwhisk.code_dir,
                    config.created_functions,
                )))
            }
            _ => lambda_api::router(registry.clone()),
        };
        let bind_error = |source| FaasLocalError::Bind {
            addr: config.bind,
            source,
        };
        let listener = TcpListener::bind(config.bind).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let (stop, stopped) = oneshot::channel::<()>();
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
            openwhisk_auth,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// The bound address of the API.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to give an AWS SDK as its endpoint, or `wsk` as its API host, e.g.
    /// `http://127.0.0.1:9000`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The OpenWhisk API's `UUID:KEY` (given or generated); `None` for the Lambda API.
    pub fn openwhisk_auth(&self) -> Option<&str> {
        self.openwhisk_auth.as_deref()
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
