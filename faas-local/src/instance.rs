//! One function instance: a `bootstrap` process in its own process group, its transport (a
//! Runtime API listener, or a client of the action it serves), its output forwarded to
//! tracing, and a supervisor that reaps it.
//!
//! Each line the instance writes (stdout or stderr) becomes one `info` event with target
//! [`OUTPUT_TARGET`] in a span `instance{function=.. id=..}`, stripped of terminal escape
//! codes. The line keeps no timestamp of its own: the semifaas `bootstrap` writes none when its
//! stderr is not a terminal, so the forwarded line carries faas-local's only.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::unix::pipe;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;
use tracing::{info, info_span, warn};

use crate::action_client::ActionClient;
use crate::config::ActionProtocol;
use crate::function::FunctionContext;
use crate::ids;
use crate::instance_process::InstanceProcess;
use crate::runtime_api::{self, Invocation, RuntimeState};
use crate::runtime_key::RuntimeKey;
use crate::snapshot::{self, Identity, Marker, Snapshot, SnapshotError};

/// The tracing target of forwarded instance output (`faas_local::instance_output=off` hides it).
pub(crate) const OUTPUT_TARGET: &str = "faas_local::instance_output";

#[derive(Debug, thiserror::Error)]
pub(crate) enum SpawnError {
    #[error("cannot open a Runtime API listener on loopback: {0}")]
    RuntimeApi(std::io::Error),
    #[error("cannot draw the instance's Runtime API key from the operating system: {0}")]
    RuntimeKey(rand::rand_core::OsError),
    #[error("cannot find a free loopback port for the action to serve on: {0}")]
    ActionPort(std::io::Error),
    #[error("cannot start {path}: {source}", path = path.display())]
    Process {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot restore the function's snapshot: {0}")]
    Restore(#[from] SnapshotError),
    #[error("cannot hand the restored instance its identity: {0}")]
    Identity(std::io::Error),
}

pub(crate) struct Instance {
    pub(crate) id: String,
    queue: mpsc::Sender<Invocation>,
    kill: Arc<Notify>,
    /// `Some(how it ended)` once the process has exited.
    exit: watch::Receiver<Option<String>>,
    ready: watch::Receiver<bool>,
}

/// Ends an instance's cold start, once: when its runtime first asks for an invocation (Lambda)
/// or its action has been initialised (OpenWhisk).
pub(crate) struct Readiness {
    function: Arc<FunctionContext>,
    instance_id: String,
    spawned_at: Instant,
    /// Restored from a snapshot rather than started.
    restored: bool,
    ready: watch::Sender<bool>,
}

impl Readiness {
    pub(crate) fn mark_ready(&self) {
        let first = self
            .ready
            .send_if_modified(|ready| !std::mem::replace(ready, true));
        if first {
            let duration = self.spawned_at.elapsed();
            self.function.counters.cold_start(duration, self.restored);
            info!(
                function = self.function.name(),
                instance = %self.instance_id,
                cold_start_ms = duration.as_millis() as u64,
                restored = self.restored,
                "cold start"
            );
        }
    }
}

/// How the platform hands the instance its invocations.
enum Transport {
    /// The instance polls this Runtime API.
    RuntimeApi {
        listener: TcpListener,
        state: Arc<RuntimeState>,
    },
    /// The platform posts to the action the instance serves.
    Action(ActionClient),
}

impl Transport {
    fn serve(self) -> JoinHandle<()> {
        match self {
            Transport::RuntimeApi { listener, state } => tokio::spawn(async move {
                let _ = axum::serve(listener, runtime_api::router(state)).await;
            }),
            Transport::Action(client) => tokio::spawn(client.run()),
        }
    }
}

/// What every new instance gets, spawned or restored: its invocation queue, readiness and kill
/// switch.
struct Plumbing {
    queue_tx: mpsc::Sender<Invocation>,
    queue_rx: mpsc::Receiver<Invocation>,
    ready_rx: watch::Receiver<bool>,
    kill: Arc<Notify>,
    readiness: Readiness,
}

impl Plumbing {
    /// Its cold start counts from now; `restored`: from a snapshot.
    fn new(function: &Arc<FunctionContext>, id: &str, restored: bool) -> Self {
        let (queue_tx, queue_rx) = mpsc::channel(1);
        let (ready_tx, ready_rx) = watch::channel(false);
        Self {
            queue_tx,
            queue_rx,
            ready_rx,
            kill: Arc::new(Notify::new()),
            readiness: Readiness {
                function: function.clone(),
                instance_id: id.to_owned(),
                spawned_at: Instant::now(),
                restored,
                ready: ready_tx,
            },
        }
    }
}

/// A Runtime API of its own for a new instance: its transport, and the value of the instance's
/// `AWS_LAMBDA_RUNTIME_API`.
async fn runtime_api_transport(
    function: &Arc<FunctionContext>,
    id: &str,
    queue: mpsc::Receiver<Invocation>,
    readiness: Readiness,
    kill: Arc<Notify>,
    checkpointable: bool,
) -> Result<(Transport, SocketAddr, String), SpawnError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(SpawnError::RuntimeApi)?;
    let api_addr = listener.local_addr().map_err(SpawnError::RuntimeApi)?;
    let key = RuntimeKey::generate().map_err(SpawnError::RuntimeKey)?;
    // The only place the key leaves the platform: the instance's environment (or its stdin).
    let runtime_api = format!("{api_addr}/{}", key.expose());
    let state = Arc::new(RuntimeState::new(
        function.clone(),
        id.to_owned(),
        key,
        queue,
        readiness,
        kill,
        checkpointable,
    ));
    Ok((
        Transport::RuntimeApi { listener, state },
        api_addr,
        runtime_api,
    ))
}

impl Instance {
    /// Starts the process; `on_exit` runs once it has exited and been reaped.
    pub(crate) async fn spawn(
        function: Arc<FunctionContext>,
        id: String,
        on_exit: impl FnOnce() + Send + 'static,
    ) -> Result<Arc<Self>, SpawnError> {
        let Plumbing {
            queue_tx,
            queue_rx,
            ready_rx,
            kill,
            readiness,
        } = Plumbing::new(&function, &id, false);

        let config = &function.config;
        let path = config.bootstrap_path();
        // For snapshots: the first process of a PID namespace of its own (a restored copy keeps
        // the process ids it had) and a session leader in it (CRIU dumps whole sessions).
        let snapshots = function.snapshots.clone();
        let mut command = match snapshots {
            Some(_) => {
                let mut command = Command::new(snapshot::UNSHARE);
                command
                    .args(["--pid", "--fork", "--kill-child", "setsid"])
                    .arg(&path);
                command
            }
            None => Command::new(&path),
        };
        if !config.inherit_env {
            command.env_clear().envs(lambda_base_env());
        }
        command.current_dir(&config.code_dir).envs(&config.env);
        if snapshots.is_some() {
            // bootstrap then starts its JVM so that its checkpoint image stays small.
            command.env(snapshot::CHECKPOINTABLE_ENV, "1");
        }
        let (transport, addr, identity) = match config.protocol {
            ActionProtocol::LambdaRuntime => {
                let (transport, addr, runtime_api) = runtime_api_transport(
                    &function,
                    &id,
                    queue_rx,
                    readiness,
                    kill.clone(),
                    snapshots.is_some(),
                )
                .await?;
                set_lambda_env(&mut command, &function, &id, &runtime_api);
                let identity = Identity {
                    runtime_api: &runtime_api,
                    instance_id: &ids::log_stream_name(&function.version, &id),
                    restore_ms: None,
                }
                .line();
                (transport, addr, Some(identity))
            }
            ActionProtocol::OpenWhisk => {
                let action_addr = free_loopback_port().await.map_err(SpawnError::ActionPort)?;
                command
                    .arg("--openwhisk")
                    .env("SEMIFAAS_ACTION_ADDR", action_addr.to_string())
                    .env("SEMIFAAS_INSTANCE_ID", &id);
                let client = ActionClient::new(
                    function.clone(),
                    id.clone(),
                    action_addr,
                    queue_rx,
                    readiness,
                    kill.clone(),
                );
                (Transport::Action(client), action_addr, None)
            }
        };
        let mut child = command
            .stdin(if snapshots.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, so stopping the instance also stops whatever it started.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| SpawnError::Process { path, source })?;

        info!(function = %config.name, instance = %id, %addr, pid = child.id(), "instance starting");
        let markers = match (&snapshots, child.stdin.take(), identity) {
            (Some(snapshots), Some(stdin), Some(identity)) => {
                let stdin = stdin
                    .into_owned_fd()
                    .and_then(pipe::Sender::from_owned_fd)
                    .map_err(SpawnError::Identity)?;
                let (markers, markers_rx) = mpsc::unbounded_channel();
                let unshare = child.id();
                tokio::spawn(snapshot::answer_checkpoints(
                    snapshots.clone(),
                    (config.name.clone(), id.clone()),
                    markers_rx,
                    stdin,
                    move || unshare.and_then(snapshot::namespace_init),
                    identity,
                ));
                Some(markers)
            }
            _ => None,
        };
        let transport = transport.serve();
        forward_output(child.stdout.take(), "stdout", &config.name, &id, markers);
        forward_output(child.stderr.take(), "stderr", &config.name, &id, None);

        let process = InstanceProcess::Spawned {
            child,
            namespace: snapshots.is_some(),
        };
        Ok(Self::supervised(
            &function, id, process, transport, queue_tx, kill, ready_rx, on_exit,
        ))
    }

    /// Restores a copy of the function's `snapshot` as a new instance; `on_exit` as for
    /// [`Instance::spawn`].
    pub(crate) async fn restore(
        function: Arc<FunctionContext>,
        id: String,
        snapshot: &Snapshot,
        on_exit: impl FnOnce() + Send + 'static,
    ) -> Result<Arc<Self>, SpawnError> {
        let Plumbing {
            queue_tx,
            queue_rx,
            ready_rx,
            kill,
            readiness,
        } = Plumbing::new(&function, &id, true);
        let Some(snapshots) = &function.snapshots else {
            unreachable!("only a function with snapshots has one to restore")
        };
        // A copy is not checkpointed again: its version has a snapshot already.
        let (transport, addr, runtime_api) =
            runtime_api_transport(&function, &id, queue_rx, readiness, kill.clone(), false).await?;
        let restored = snapshots.snapshotter().restore(snapshot, &id).await?;
        let pid = restored.pid;
        let process = InstanceProcess::restored(restored.pidfd).map_err(|e| {
            // Nothing would stop the copy otherwise.
            // SAFETY: kill(2) has no memory-safety preconditions; the copy is our unreaped child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            SpawnError::Restore(SnapshotError::Process {
                what: "pidfd",
                source: e,
            })
        })?;
        let identity = Identity {
            runtime_api: &runtime_api,
            instance_id: &ids::log_stream_name(&function.version, &id),
            restore_ms: Some(restored.took.as_secs_f64() * 1000.0),
        }
        .line();
        // An empty pipe takes a line this short at once.
        std::fs::File::from(restored.stdin)
            .write_all(&identity)
            .map_err(SpawnError::Identity)?;
        let config = &function.config;
        info!(function = %config.name, instance = %id, %addr, pid, restore_ms = restored.took.as_millis() as u64, "instance restored from a snapshot");
        let transport = transport.serve();
        let receiver = |fd| pipe::Receiver::from_owned_fd(fd).map_err(SpawnError::Identity);
        forward_output(
            Some(receiver(restored.stdout)?),
            "stdout",
            &config.name,
            &id,
            None,
        );
        forward_output(
            Some(receiver(restored.stderr)?),
            "stderr",
            &config.name,
            &id,
            None,
        );
        Ok(Self::supervised(
            &function, id, process, transport, queue_tx, kill, ready_rx, on_exit,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn supervised(
        function: &Arc<FunctionContext>,
        id: String,
        process: InstanceProcess,
        transport: JoinHandle<()>,
        queue: mpsc::Sender<Invocation>,
        kill: Arc<Notify>,
        ready: watch::Receiver<bool>,
        on_exit: impl FnOnce() + Send + 'static,
    ) -> Arc<Self> {
        let (exit_tx, exit_rx) = watch::channel(None);
        tokio::spawn(supervise(
            process,
            kill.clone(),
            transport,
            exit_tx,
            (function.config.name.clone(), id.clone()),
            on_exit,
        ));
        Arc::new(Self {
            id,
            queue,
            kill,
            exit: exit_rx,
            ready,
        })
    }

    /// Hands an invocation to the instance; false if it cannot take one.
    pub(crate) fn submit(&self, invocation: Invocation) -> bool {
        !self.has_exited() && self.queue.try_send(invocation).is_ok()
    }

    /// Stops the process (and its process group). Returns at once; see `exited`.
    pub(crate) fn kill(&self) {
        self.kill.notify_one();
    }

    pub(crate) fn has_exited(&self) -> bool {
        self.exit.borrow().is_some()
    }

    /// Waits until the process has exited; returns how it ended.
    pub(crate) async fn exited(&self) -> String {
        wait_exit(&mut self.exit.clone()).await
    }

    pub(crate) fn exit_watch(&self) -> watch::Receiver<Option<String>> {
        self.exit.clone()
    }

    /// Waits until the instance is ready for its first invocation; false if it exited first.
    pub(crate) async fn ready(&self) -> bool {
        let mut ready = self.ready.clone();
        let mut exit = self.exit.clone();
        tokio::select! {
            r = ready.wait_for(|r| *r) => r.is_ok(),
            _ = wait_exit(&mut exit) => false,
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Lambda's variables, with `runtime_api` the instance's `AWS_LAMBDA_RUNTIME_API`.
fn set_lambda_env(command: &mut Command, function: &FunctionContext, id: &str, runtime_api: &str) {
    let config = &function.config;
    command
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("LAMBDA_TASK_ROOT", &config.code_dir)
        .env("AWS_LAMBDA_FUNCTION_NAME", &config.name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", &function.version)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        )
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            ids::log_stream_name(&function.version, id),
        )
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            ids::log_group_name(&config.name),
        )
        .env("AWS_REGION", &function.region)
        .env("_HANDLER", "bootstrap");
}

/// A loopback port nothing listens on now, for the action to bind. Another process could take
/// it before the action binds; the action then fails to start and the invocation reports it.
async fn free_loopback_port() -> std::io::Result<SocketAddr> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await?
        .local_addr()
}

/// What a packaged function's instances start from instead of the platform's environment, as
/// on Lambda: nothing of the host's leaks in (no `JAVA_HOME`, no `SEMIFAAS_*`), so the
/// package must bring its own Java runtime. `PATH` stays the platform's, so an operator decides
/// what is on it.
fn lambda_base_env() -> Vec<(&'static str, std::ffi::OsString)> {
    let mut env = vec![("LANG", "en_US.UTF-8".into()), ("TZ", ":UTC".into())];
    if let Some(path) = std::env::var_os("PATH") {
        env.push(("PATH", path));
    }
    env
}

pub(crate) async fn wait_exit(exit: &mut watch::Receiver<Option<String>>) -> String {
    match exit.wait_for(Option::is_some).await {
        Ok(status) => status.clone().unwrap_or_default(),
        Err(_) => "the instance supervisor stopped".to_owned(),
    }
}

async fn supervise(
    mut process: InstanceProcess,
    kill: Arc<Notify>,
    transport: JoinHandle<()>,
    exit: watch::Sender<Option<String>>,
    (function, instance): (String, String),
    on_exit: impl FnOnce(),
) {
    let description = tokio::select! {
        status = process.wait() => status,
        _ = kill.notified() => {
            process.kill();
            process.wait().await
        }
    };
    info!(%function, %instance, status = %description, "instance stopped");
    // Publish the status before the transport goes (and drops the invocation channel).
    exit.send_replace(Some(description));
    transport.abort();
    on_exit();
}

/// Logs each line of `reader`; stdout's checkpoint markers go to `markers` instead, when the
/// instance may be checkpointed.
fn forward_output<R>(
    reader: Option<R>,
    stream: &'static str,
    function: &str,
    instance: &str,
    markers: Option<mpsc::UnboundedSender<Marker>>,
) where
    R: AsyncRead + Unpin + Send + 'static,
{
    let Some(reader) = reader else { return };
    let span = info_span!(target: OUTPUT_TARGET, "instance", function = %function, id = %instance);
    tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) => break,
                Ok(_) => {
                    let text = plain_text(&line);
                    if let Some(marker) = markers
                        .as_ref()
                        .and_then(|m| Some((m, Marker::parse(&text)?)))
                    {
                        let _ = marker.0.send(marker.1);
                        continue;
                    }
                    if !text.is_empty() {
                        info!(target: OUTPUT_TARGET, parent: &span, "{text}");
                    }
                }
                Err(e) => {
                    warn!(parent: &span, stream, error = %e, "cannot read instance output");
                    break;
                }
            }
        }
    });
}

/// One line of instance output as plain text: no terminal escape sequences (colours, cursor
/// moves, titles), no other control characters but tabs, no trailing whitespace.
pub(crate) fn plain_text(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC and other strings: up to BEL or ESC \.
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' {
                            break;
                        }
                        if c == '\x1b' {
                            chars.next_if_eq(&'\\');
                            break;
                        }
                    }
                }
                // nF escapes (`ESC ( B`): intermediates, then one final byte.
                Some(' '..='/') => {
                    for c in chars.by_ref() {
                        if !(' '..='/').contains(&c) {
                            break;
                        }
                    }
                }
                // Two-byte escapes.
                _ => {}
            },
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::plain_text;

    #[test]
    fn escape_codes_and_controls_are_stripped() {
        assert_eq!(
            plain_text(
                b"\x1b[2m2026-01-01\x1b[0m \x1b[32m INFO\x1b[0m \x1b[1mspan\x1b[0m: ready\r\n"
            ),
            "2026-01-01  INFO span: ready"
        );
        assert_eq!(plain_text(b"\x1b]0;title\x07a\tb\x1b(B\x08c"), "a\tbc");
        assert_eq!(
            plain_text(b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"),
            "link"
        );
        assert_eq!(
            plain_text("caf\u{e9} \u{1b}[31mrouge".as_bytes()),
            "caf\u{e9} rouge"
        );
    }
}
