//! `bootstrap --openwhisk` with a real JVM running the runtime jar and a real fallback server,
//! driven over HTTP as OpenWhisk's invoker drives an action container.

mod support;

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream, UdpSocket},
    process::{Child, Command, Stdio},
    sync::atomic::Ordering,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use semifaas_closure::{FailureKind, Invocation, InvocationOutcome, InvocationReply, SmokeReply};
use serde_json::{json, Value};
use support::{assert_failed, calc_closure, invocation, java_fixtures, runtime_jar, start_server};

/// Bounds every wait so a broken instance fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(120);

/// A `bootstrap --openwhisk` process, killed when dropped.
struct Action {
    child: Child,
    addr: SocketAddr,
}

impl Action {
    fn start() -> Action {
        let java = java_fixtures();
        // A free port: bound and released; the instance binds it once its JVM is up.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_bootstrap"))
            .arg("--openwhisk")
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env("SEMIFAAS_ACTION_ADDR", addr.to_string())
            .env("SEMIFAAS_INSTANCE_ID", "ow-instance")
            .env("LAMBDA_TASK_ROOT", &java.dir)
            .env("SEMIFAAS_RUNTIME_JAR", runtime_jar())
            .env("SEMIFAAS_LOG", "info")
            .stdin(Stdio::null())
            .spawn()
            .expect("bootstrap starts");
        let mut action = Action { child, addr };
        action.wait_listening();
        action
    }

    /// Waits until the port accepts, as the platform does before `/init`.
    fn wait_listening(&mut self) {
        let started = Instant::now();
        while TcpStream::connect(self.addr).is_err() {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "bootstrap exited before listening"
            );
            assert!(started.elapsed() < PATIENCE, "bootstrap never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One request on a connection of its own; the status and the body.
    fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        exchange(self.addr, &[head.as_bytes(), body].concat())
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let (status, body) = self.request("POST", path, body.to_string().as_bytes());
        let body = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("{path}: not JSON ({e}): {}", String::from_utf8_lossy(&body))
        });
        (status, body)
    }

    /// `/run` with `params` and an activation context as OpenWhisk sends it.
    fn run(&self, params: Value, deadline_unix_ms: u128) -> (u16, Value) {
        self.post(
            "/run",
            &json!({
                "value": params,
                "namespace": "guest",
                "action_name": "/guest/semifaas",
                "action_version": "0.0.1",
                "activation_id": "0123456789abcdef0123456789abcdef",
                "transaction_id": "tid-1",
                "api_key": "uuid:key",
                "deadline": deadline_unix_ms.to_string(),
            }),
        )
    }

    /// `/run` with `invocation` as the parameters; its reply, checking the answer is one.
    fn invoke(&self, invocation: &Invocation, deadline_unix_ms: u128) -> InvocationReply {
        let params: Value = serde_json::from_slice(&invocation.to_lambda_payload()).unwrap();
        let (status, result) = self.run(params, deadline_unix_ms);
        assert_eq!(status, 200, "{result}");
        InvocationReply::from_lambda_payload(result.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("not a reply ({e}): {result}"))
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < PATIENCE, "bootstrap did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Action {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `request` and reads the answer to the end (the server closes the connection).
fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {}", String::from_utf8_lossy(&answer)));
    let status_line = String::from_utf8_lossy(&answer[..split]).to_string();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {status_line}"));
    (status, answer[split + 4..].to_vec())
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no \"error\": {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openwhisk_action_initializes_once_runs_activations_and_retires() {
    let java = java_fixtures();
    let add = calc_closure("add", "(I)I");
    let late = calc_closure("late", "(Z)I");
    let (add_id, late_id) = (add.id(), late.id());
    let (service, _server, endpoint) = start_server(vec![add, late]);
    let mut action = Action::start();
    let later = now_ms() + PATIENCE.as_millis();

    // Requests the protocol does not have.
    assert_eq!(action.request("GET", "/run", b"").0, 405);
    assert_eq!(action.request("POST", "/nothing", b"{}").0, 404);
    let (status, body) = action.request("POST", "/init", b"{\"value\":");
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    // /init once, as OpenWhisk sends it for a blackbox action.
    let init = json!({"value": {"name": "semifaas", "main": "main", "binary": false,
        "env": {"__OW_NAMESPACE": "guest"}}});
    assert_eq!(action.post("/init", &init), (200, json!({"ok": true})));
    let (status, again) = action.post("/init", &init);
    assert_eq!(status, 403);
    assert_eq!(
        error_of(&again),
        "Cannot initialize the action more than once."
    );

    // The smoke invocation, with its keys in another order.
    let (status, smoke) = action.run(json!({"smoke": true, "semifaas": 1}), later);
    assert_eq!(status, 200, "{smoke}");
    let smoke: SmokeReply = serde_json::from_value(smoke).unwrap();
    assert_eq!(smoke.instance_id, "ow-instance");
    assert!(smoke.jvm_start_ms > 0.0);
    assert!(!smoke.java_version.is_empty());

    // Parameters that are not an invocation: an application error naming why.
    let (status, bad) = action.run(json!({"semifaas": 1, "invocation": "AAAA"}), later);
    assert_eq!(status, 200);
    assert!(error_of(&bad).contains("could not be decoded"), "{bad}");
    let (status, bad) = action.run(json!({"hello": "world"}), later);
    assert_eq!(status, 200);
    assert!(error_of(&bad).contains("not a semifaas envelope"), "{bad}");
    // A body OpenWhisk would never send, and one over the limit (refused on its length).
    let (status, _) = action.request("POST", "/run", b"{\"deadline\":\"soon\"}");
    assert_eq!(status, 400);
    let oversized = format!(
        "POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        7 * 1024 * 1024
    );
    let (status, body) = exchange(action.addr, oversized.as_bytes());
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));

    // OpenWhisk's deadline bounds the fallbacks when it comes first: already passed, the
    // closure is not even fetched.
    let call = |id, key: &str, args: &[u8], n| invocation(&endpoint, n, id, key, args);
    let reply = action.invoke(
        &call(add_id, "demo.Calc#add", &java.args_add, 1),
        now_ms() - 1,
    );
    assert_failed(&reply.outcome, FailureKind::ClosureUnavailable, "deadline");
    assert_eq!(service.closure_fetches.load(Ordering::SeqCst), 0);

    let reply = action.invoke(&call(add_id, "demo.Calc#add", &java.args_add, 2), later);
    assert_eq!(
        reply.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
    assert_eq!(reply.stats.instance_id, "ow-instance");

    // One activation at a time: while one waits on a fallback server that never answers,
    // another /run is refused.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut stuck = call(add_id, "demo.Calc#add", &java.args_add, 3);
    stuck.fallback.addr = silent.local_addr().unwrap().to_string();
    stuck.deadline_unix_ms = (now_ms() + 3000) as u64;
    let slow = std::thread::scope(|scope| {
        let slow = scope.spawn(|| action.invoke(&stuck, later));
        std::thread::sleep(Duration::from_millis(500));
        let (status, busy) = action.run(json!({"semifaas": 1, "smoke": true}), later);
        assert_eq!(status, 503, "{busy}");
        assert!(
            error_of(&busy).contains("one activation at a time"),
            "{busy}"
        );
        slow.join().unwrap()
    });
    // The closure is installed: the wait is for the server to prove its certificate.
    assert_failed(&slow.outcome, FailureKind::Fallback, "deadline");

    // A class the server cannot load poisons the JVM: the instance answers, then exits.
    let reply = action.invoke(
        &call(late_id, "demo.Calc#late", &java.args_late_false, 4),
        later,
    );
    assert_eq!(
        reply.outcome,
        InvocationOutcome::Returned(java.value_minus_1.clone())
    );
    service.failing_classes.store(true, Ordering::SeqCst);
    let reply = action.invoke(
        &call(late_id, "demo.Calc#late", &java.args_late_true, 5),
        later,
    );
    assert_failed(&reply.outcome, FailureKind::Setup, "could not be loaded");
    assert!(
        action.wait_exit().success(),
        "the poisoned instance retires"
    );
}
