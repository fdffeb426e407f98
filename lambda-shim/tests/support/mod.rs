//! Real processes for the bootstrap tests: a Lambda Runtime API on loopback, a fallback server
//! serving closures built from Java classes compiled at test time, and the `bootstrap` binary.

#![allow(dead_code)]

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, ExitStatus, Stdio},
    sync::{
        atomic::{AtomicU32, AtomicU64, Ordering},
        Arc, OnceLock,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    body::Bytes,
    extract::{Path as UrlPath, State},
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use semifaas_closure::{
    Capability, Closure, ClosureId, FailureKind, FallbackEndpoint, HandlerRef, Invocation,
    InvocationKind, InvocationOutcome, InvocationReply, NamedBytes,
};
use semifaas_fallback::{
    FallbackError, FallbackErrorKind, FallbackRequest, FallbackResponse, FallbackServer,
    FallbackService,
};
use tokio::sync::{mpsc, Mutex};

/// Bounds every wait so a broken instance fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(120);

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn runtime_jar() -> PathBuf {
    let jar = repo_root().join("jvm-hooks/runtime/target/semifaas-runtime.jar");
    assert!(
        jar.is_file(),
        "{} is missing: run `mvn -q -f jvm-hooks/pom.xml package -DskipTests` first",
        jar.display()
    );
    jar
}

/// The test's Java classes and the codec bytes made from them by the runtime jar's codec.
pub struct JavaFixtures {
    pub dir: PathBuf,
    pub calc_class: Vec<u8>,
    pub helper_class: Vec<u8>,
    /// Codec bytes: `new demo.Calc(40)`.
    pub receiver: Vec<u8>,
    /// Codec bytes: `new Object[]{2}`.
    pub args_add: Vec<u8>,
    /// Codec bytes: `Integer.valueOf(42)`.
    pub value_42: Vec<u8>,
    /// Codec bytes: `new Object[]{"boom from the handler"}`.
    pub args_fail: Vec<u8>,
    /// Codec bytes: `new Object[]{false}` and `new Object[]{true}`, for `late`.
    pub args_late_false: Vec<u8>,
    pub args_late_true: Vec<u8>,
    /// Codec bytes: `Integer.valueOf(-1)`.
    pub value_minus_1: Vec<u8>,
    /// Codec bytes: `Integer.valueOf(400)`: what `remote(2)` returns (4 outcome bytes, tag 0).
    pub value_400: Vec<u8>,
    /// Codec bytes: `new Object[]{5 MiB}`, for `big`: a value whose reply exceeds Lambda's limit.
    pub args_big: Vec<u8>,
    /// Codec bytes: `new Object[]{}`, and what `trace()` returns with [`TRACE_ID`] and without.
    pub args_none: Vec<u8>,
    pub value_trace: Vec<u8>,
    pub value_none: Vec<u8>,
}

/// A trace header as Lambda sends it (the same string as `demo.Encode.TRACE`).
pub const TRACE_ID: &str =
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

const CALC: &str = r#"package demo;
public class Calc {
    private final int base;
    public Calc(int base) { this.base = base; }
    public int add(int x) { return Helper.plus(base, x); }
    public int late(boolean use) { return use ? Late.value() : -1; }
    // An application that swallows every failure, the missing class's included.
    public int guarded(boolean use) { try { return late(use); } catch (Throwable t) { return -2; } }
    public String fail(String message) { throw new IllegalStateException(message); }
    // What the Lambda runtimes hand Java code of the invocation's trace header.
    public String trace() { return System.getProperty("com.amazonaws.xray.traceHeader", "none"); }
    public byte[] big(int size) { return new byte[size]; }
    // Through the system class loader: closure loaders do not expose the runtime's classes.
    public int remote(int ref) throws Exception {
        byte[] out = (byte[]) ClassLoader.getSystemClassLoader().loadClass("io.semifaas.runtime.FallbackNative")
            .getMethod("invokeRemote", long.class, String.class, String.class, byte[].class)
            .invoke(null, (long) ref, "describe", "()Ljava/lang/String;", new byte[] {1, 2, 3});
        return out.length * 100 + out[0];
    }
}
"#;

const HELPER: &str = r#"package demo;
final class Helper {
    private Helper() {}
    static int plus(int a, int b) { return a + b; }
}
"#;

const LATE: &str = r#"package demo;
final class Late {
    private Late() {}
    static int value() { return 7; }
}
"#;

const ENCODE: &str = r#"package demo;
import io.semifaas.common.ObjectCodec;
import java.util.Base64;
public final class Encode {
    static final int BIG = 5 * 1024 * 1024;
    static final String TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    public static void main(String[] args) throws Exception {
        Base64.Encoder b64 = Base64.getEncoder();
        System.out.println("receiver=" + b64.encodeToString(ObjectCodec.serialize(new Calc(40))));
        System.out.println("args_add=" + b64.encodeToString(ObjectCodec.serialize(new Object[] {2})));
        System.out.println("value_42=" + b64.encodeToString(ObjectCodec.serialize(42)));
        System.out.println("args_fail=" + b64.encodeToString(ObjectCodec.serialize(new Object[] {"boom from the handler"})));
        System.out.println("args_late_false=" + b64.encodeToString(ObjectCodec.serialize(new Object[] {false})));
        System.out.println("args_late_true=" + b64.encodeToString(ObjectCodec.serialize(new Object[] {true})));
        System.out.println("value_minus_1=" + b64.encodeToString(ObjectCodec.serialize(-1)));
        System.out.println("value_400=" + b64.encodeToString(ObjectCodec.serialize(400)));
        System.out.println("args_big=" + b64.encodeToString(ObjectCodec.serialize(new Object[] {BIG})));
        System.out.println("args_none=" + b64.encodeToString(ObjectCodec.serialize(new Object[] {})));
        System.out.println("value_trace=" + b64.encodeToString(ObjectCodec.serialize(TRACE)));
        System.out.println("value_none=" + b64.encodeToString(ObjectCodec.serialize("none")));
    }
}
"#;

/// Compiles the Java sources once per test binary and encodes the test objects.
pub fn java_fixtures() -> &'static JavaFixtures {
    static FIXTURES: OnceLock<JavaFixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let jar = runtime_jar();
        let dir = std::env::temp_dir().join(format!("semifaas-shim-test-{}", std::process::id()));
        let src = dir.join("src/demo");
        std::fs::create_dir_all(&src).unwrap();
        let sources = [
            ("Calc", CALC),
            ("Helper", HELPER),
            ("Late", LATE),
            ("Encode", ENCODE),
        ];
        for (name, text) in sources {
            std::fs::write(src.join(format!("{name}.java")), text).unwrap();
        }
        let classes = dir.join("classes");
        let status = Command::new("javac")
            .args(["--release", "17", "-cp"])
            .arg(&jar)
            .arg("-d")
            .arg(&classes)
            .args(sources.map(|(name, _)| src.join(format!("{name}.java"))))
            .status()
            .expect("javac must be on PATH");
        assert!(status.success(), "javac failed: {status}");
        let output = Command::new("java")
            .arg("-cp")
            .arg(std::env::join_paths([jar.as_path(), classes.as_path()]).unwrap())
            .arg("demo.Encode")
            .output()
            .expect("java must be on PATH");
        assert!(
            output.status.success(),
            "demo.Encode failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let values: HashMap<String, Vec<u8>> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|line| {
                let (key, value) = line.split_once('=').unwrap();
                (key.to_owned(), STANDARD.decode(value).unwrap())
            })
            .collect();
        JavaFixtures {
            calc_class: std::fs::read(classes.join("demo/Calc.class")).unwrap(),
            helper_class: std::fs::read(classes.join("demo/Helper.class")).unwrap(),
            receiver: values["receiver"].clone(),
            args_add: values["args_add"].clone(),
            value_42: values["value_42"].clone(),
            args_fail: values["args_fail"].clone(),
            args_late_false: values["args_late_false"].clone(),
            args_late_true: values["args_late_true"].clone(),
            value_minus_1: values["value_minus_1"].clone(),
            value_400: values["value_400"].clone(),
            args_big: values["args_big"].clone(),
            args_none: values["args_none"].clone(),
            value_trace: values["value_trace"].clone(),
            value_none: values["value_none"].clone(),
            dir,
        }
    })
}

/// A closure of `demo.Calc#method` that carries `Calc` but not `Helper` (a fallback serves it).
pub fn calc_closure(method: &str, descriptor: &str) -> Closure {
    let java = java_fixtures();
    Closure {
        handler: HandlerRef {
            class_name: "demo.Calc".into(),
            method_name: method.into(),
            descriptor: descriptor.into(),
        },
        receiver: java.receiver.clone(),
        classes: vec![NamedBytes {
            name: "demo.Calc".into(),
            bytes: java.calc_class.clone(),
        }],
        resources: vec![],
    }
}

/// A remote call the server received: (ref, method, descriptor, args).
pub type RemoteCallSeen = (u64, String, String, Vec<u8>);

/// The server side of fallbacks: the closures and classes it has, and what it was asked.
#[derive(Default)]
pub struct TestService {
    closures: HashMap<ClosureId, Closure>,
    classes: HashMap<String, Vec<u8>>,
    pub closure_fetches: AtomicU32,
    pub class_loads: AtomicU32,
    /// Answers class fallbacks with an error, as a server whose class loaders fail.
    pub failing_classes: std::sync::atomic::AtomicBool,
    pub remote_calls: std::sync::Mutex<Vec<RemoteCallSeen>>,
}

impl FallbackService for TestService {
    /// Every invocation the tests send is in flight here.
    fn authenticate(&self, _: &Capability) -> bool {
        true
    }

    fn handle(&self, _: &Capability, request: FallbackRequest) -> FallbackResponse {
        match request {
            FallbackRequest::FetchClosure { id } => {
                self.closure_fetches.fetch_add(1, Ordering::SeqCst);
                match self.closures.get(&id) {
                    Some(closure) => FallbackResponse::Closure(closure.clone()),
                    None => FallbackResponse::Error(FallbackError::new(
                        FallbackErrorKind::NotFound,
                        format!("closure {id} is not known to this server"),
                    )),
                }
            }
            FallbackRequest::LoadClass { name } => {
                self.class_loads.fetch_add(1, Ordering::SeqCst);
                if self.failing_classes.load(Ordering::SeqCst) {
                    return FallbackResponse::Error(FallbackError::new(
                        FallbackErrorKind::Internal,
                        format!("the class loaders failed on {name}"),
                    ));
                }
                FallbackResponse::Class(self.classes.get(&name).cloned())
            }
            FallbackRequest::GetResource { .. } => FallbackResponse::Resource(None),
            // Reference 2 returns three bytes; any other is refused.
            FallbackRequest::InvokeRemote {
                ref_id,
                method,
                descriptor,
                args,
                ..
            } => {
                self.remote_calls
                    .lock()
                    .unwrap()
                    .push((ref_id, method, descriptor, args));
                match ref_id {
                    2 => FallbackResponse::Invoked(vec![0, 9, 9, 9]),
                    _ => FallbackResponse::Invoked(b"\x02no such reference".to_vec()),
                }
            }
            // No library jars: classes come one by one.
            FallbackRequest::LibraryManifest => FallbackResponse::LibraryManifest(vec![]),
            other => FallbackResponse::error(FallbackErrorKind::NotFound, format!("no {other}")),
        }
    }
}

/// What the instance posted to the Runtime API.
#[derive(Debug)]
pub enum Posted {
    Response {
        request_id: String,
        body: Vec<u8>,
    },
    Error {
        request_id: String,
        body: serde_json::Value,
        /// The `Lambda-Runtime-Function-Error-Type` header.
        error_type: Option<String>,
    },
    InitError {
        body: serde_json::Value,
        error_type: Option<String>,
    },
}

const ERROR_TYPE_HEADER: &str = "Lambda-Runtime-Function-Error-Type";

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(ERROR_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// An invocation waiting for `/next`: request id, payload and more headers of `/next`'s answer.
type Pending = (String, Vec<u8>, Vec<(&'static str, String)>);

#[derive(Clone)]
struct ApiState {
    pending: Arc<Mutex<mpsc::UnboundedReceiver<Pending>>>,
    posted: mpsc::UnboundedSender<Posted>,
}

async fn next(State(state): State<ApiState>) -> impl IntoResponse {
    let mut pending = state.pending.lock().await;
    match pending.recv().await {
        Some((request_id, payload, more)) => {
            let mut headers = HeaderMap::new();
            headers.insert("Lambda-Runtime-Aws-Request-Id", request_id.parse().unwrap());
            for (name, value) in more {
                headers.insert(name, value.parse().unwrap());
            }
            (StatusCode::OK, headers, payload).into_response()
        }
        None => StatusCode::GONE.into_response(),
    }
}

async fn response(
    State(state): State<ApiState>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let _ = state.posted.send(Posted::Response {
        request_id,
        body: body.to_vec(),
    });
    StatusCode::ACCEPTED
}

async fn error(
    State(state): State<ApiState>,
    UrlPath(request_id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let _ = state.posted.send(Posted::Error {
        request_id,
        body,
        error_type: error_type(&headers),
    });
    StatusCode::ACCEPTED
}

async fn init_error(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let _ = state.posted.send(Posted::InitError {
        body,
        error_type: error_type(&headers),
    });
    StatusCode::ACCEPTED
}

/// A fallback server whose service has `closures` and the class `demo.Helper`.
pub fn start_server(
    closures: Vec<Closure>,
) -> (Arc<TestService>, FallbackServer, FallbackEndpoint) {
    let java = java_fixtures();
    let service = Arc::new(TestService {
        closures: closures.into_iter().map(|c| (c.id(), c)).collect(),
        classes: HashMap::from([("demo.Helper".to_owned(), java.helper_class.clone())]),
        ..TestService::default()
    });
    let server = FallbackServer::start(
        "127.0.0.1:0".parse().unwrap(),
        "semifaas-fallback",
        service.clone(),
    )
    .expect("fallback server starts");
    let endpoint = server.endpoint("127.0.0.1");
    (service, server, endpoint)
}

/// A call of `closure_id` with `args` that calls back `endpoint`, due within the patience bound.
pub fn invocation(
    endpoint: &FallbackEndpoint,
    invocation_id: u64,
    closure_id: ClosureId,
    handler_key: &str,
    args: &[u8],
) -> Invocation {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    Invocation {
        closure_id,
        handler_key: handler_key.into(),
        args: args.to_vec(),
        deadline_unix_ms: now_ms + PATIENCE.as_millis() as u64,
        fallback: endpoint.clone(),
        capability: Capability {
            invocation_id,
            token: [7; 16],
        },
        kind: InvocationKind::Call,
    }
}

/// One `bootstrap` instance with its own Runtime API and fallback server.
pub struct Instance {
    pub service: Arc<TestService>,
    pub endpoint: FallbackEndpoint,
    server: Option<FallbackServer>,
    pending: mpsc::UnboundedSender<Pending>,
    posted: mpsc::UnboundedReceiver<Posted>,
    child: Child,
    next_request: AtomicU64,
    /// The Runtime API's routes (without a key) and the task serving them.
    api: Router,
    api_server: tokio::task::JoinHandle<()>,
    /// With [`Instance::start_with_pipes`]: the instance's stdin, and its stdout's lines.
    stdin: Option<ChildStdin>,
    stdout: Option<mpsc::UnboundedReceiver<String>>,
}

/// The Runtime API `api` served on a new loopback port (under `/{key}` if given); the
/// `AWS_LAMBDA_RUNTIME_API` value that names it, and the task serving it.
async fn serve_api(api: Router, key: Option<&str>) -> (String, tokio::task::JoinHandle<()>) {
    let app = match key {
        Some(key) => Router::new().nest(&format!("/{key}"), api),
        None => api,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    match key {
        Some(key) => (format!("{addr}/{key}"), server),
        None => (addr.to_string(), server),
    }
}

impl Instance {
    /// Starts an instance whose server has `closures` and the class `demo.Helper`.
    pub async fn start(closures: Vec<Closure>) -> Instance {
        Instance::start_with_env(closures, &[]).await
    }

    pub async fn start_with_env(closures: Vec<Closure>, env: &[(&str, &str)]) -> Instance {
        Instance::start_with(closures, env, None, false).await
    }

    /// Serves the Runtime API only under `/{key}` and gives the instance
    /// `AWS_LAMBDA_RUNTIME_API=host:port/{key}`, as faas-local does.
    pub async fn start_with_api_key(closures: Vec<Closure>, key: &str) -> Instance {
        Instance::start_with(closures, &[], Some(key), false).await
    }

    /// [`Instance::start_with_env`] with stdin and stdout as pipes, as faas-local starts an
    /// instance it may checkpoint, and the Runtime API under `/{key}`.
    pub async fn start_with_pipes(
        closures: Vec<Closure>,
        env: &[(&str, &str)],
        key: &str,
    ) -> Instance {
        Instance::start_with(closures, env, Some(key), true).await
    }

    async fn start_with(
        closures: Vec<Closure>,
        env: &[(&str, &str)],
        api_key: Option<&str>,
        pipes: bool,
    ) -> Instance {
        let java = java_fixtures();
        let (service, server, endpoint) = start_server(closures);

        let (pending_tx, pending_rx) = mpsc::unbounded_channel();
        let (posted_tx, posted_rx) = mpsc::unbounded_channel();
        let state = ApiState {
            pending: Arc::new(Mutex::new(pending_rx)),
            posted: posted_tx,
        };
        let api = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state);
        let (api_env, api_server) = serve_api(api.clone(), api_key).await;

        let mut command = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
        command
            .env("AWS_LAMBDA_RUNTIME_API", api_env)
            .env("LAMBDA_TASK_ROOT", &java.dir)
            .env("SEMIFAAS_RUNTIME_JAR", runtime_jar())
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test-instance")
            .env("SEMIFAAS_LOG", "info")
            .stdin(Stdio::null());
        if pipes {
            command.stdin(Stdio::piped()).stdout(Stdio::piped());
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("bootstrap starts");
        let stdout = child.stdout.take().map(|stdout| {
            let (lines, lines_rx) = mpsc::unbounded_channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            });
            lines_rx
        });
        Instance {
            service,
            endpoint,
            server: Some(server),
            pending: pending_tx,
            posted: posted_rx,
            next_request: AtomicU64::new(1),
            api,
            api_server,
            stdin: child.stdin.take(),
            stdout,
            child,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Answers the next `/next` as faas-local does to ask for a checkpoint.
    pub fn request_checkpoint(&self) {
        let prepare = vec![("Semifaas-Checkpoint", "prepare".to_owned())];
        self.pending
            .send(("checkpoint".to_owned(), Vec::new(), prepare))
            .unwrap();
    }

    /// The next line the instance wrote to stdout ([`Instance::start_with_pipes`] only).
    pub async fn stdout_line(&mut self) -> String {
        let lines = self.stdout.as_mut().expect("stdout is a pipe");
        tokio::time::timeout(PATIENCE, lines.recv())
            .await
            .expect("the instance wrote no line to stdout")
            .expect("the instance closed stdout")
    }

    /// Writes `line` and a newline to the instance's stdin ([`Instance::start_with_pipes`] only).
    pub fn write_stdin(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is a pipe");
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes the instance's stdin, as faas-local does when it drops an instance.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Serves the Runtime API on a new port under `/{key}` and stops serving the old one; returns
    /// the new address, as an identity line names it.
    pub async fn move_api(&mut self, key: &str) -> String {
        let (address, server) = serve_api(self.api.clone(), Some(key)).await;
        std::mem::replace(&mut self.api_server, server).abort();
        address
    }

    /// Hands `payload` to the instance as the next invocation and returns what it posted.
    pub async fn send(&mut self, payload: Vec<u8>) -> (String, Posted) {
        self.send_with_headers(payload, vec![]).await
    }

    /// [`Instance::send`] with more headers on `/next`'s answer (deadline, trace id).
    pub async fn send_with_headers(
        &mut self,
        payload: Vec<u8>,
        headers: Vec<(&'static str, String)>,
    ) -> (String, Posted) {
        let request_id = format!("req-{}", self.next_request.fetch_add(1, Ordering::SeqCst));
        self.pending
            .send((request_id.clone(), payload, headers))
            .unwrap();
        (request_id, self.posted().await)
    }

    /// The next thing the instance posted.
    pub async fn posted(&mut self) -> Posted {
        tokio::time::timeout(PATIENCE, self.posted.recv())
            .await
            .expect("the instance posted nothing")
            .expect("the Runtime API stopped")
    }

    /// Invokes `closure_id` with `args` and returns the reply, checking it is a `/response`.
    pub async fn invoke(
        &mut self,
        closure_id: ClosureId,
        handler_key: &str,
        args: &[u8],
    ) -> InvocationReply {
        let invocation = self.invocation(closure_id, handler_key, args);
        self.invoke_with(&invocation).await
    }

    /// Sends `invocation` and returns the reply, checking it is a `/response`.
    pub async fn invoke_with(&mut self, invocation: &Invocation) -> InvocationReply {
        self.invoke_with_headers(invocation, vec![]).await
    }

    /// [`Instance::invoke_with`] with more headers on `/next`'s answer.
    pub async fn invoke_with_headers(
        &mut self,
        invocation: &Invocation,
        headers: Vec<(&'static str, String)>,
    ) -> InvocationReply {
        match self
            .send_with_headers(invocation.to_lambda_payload(), headers)
            .await
        {
            (id, Posted::Response { request_id, body }) => {
                assert_eq!(request_id, id, "the response is for the request sent");
                InvocationReply::from_lambda_payload(&body)
                    .expect("the response is an InvocationReply")
            }
            (_, other) => panic!("expected a /response, got {other:?}"),
        }
    }

    pub fn invocation(&self, closure_id: ClosureId, handler_key: &str, args: &[u8]) -> Invocation {
        invocation(
            &self.endpoint,
            self.next_request.load(Ordering::SeqCst),
            closure_id,
            handler_key,
            args,
        )
    }

    /// Waits for the process to exit (it must, within the patience bound).
    pub fn wait_exit(&mut self) -> ExitStatus {
        for _ in 0..PATIENCE.as_millis() / 50 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("bootstrap did not exit");
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.server.take());
    }
}

/// Asserts `outcome` is a failure of `kind` whose message contains `needle`; returns the message.
pub fn assert_failed(outcome: &InvocationOutcome, kind: FailureKind, needle: &str) -> String {
    let InvocationOutcome::Failed(failure) = outcome else {
        panic!("expected a {kind:?} failure, got {outcome:?}");
    };
    assert_eq!(failure.kind, kind, "{}", failure.message);
    assert!(
        failure.message.contains(needle),
        "{kind:?} failure without {needle:?}: {}",
        failure.message
    );
    failure.message.clone()
}
