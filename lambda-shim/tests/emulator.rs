//! `bootstrap` under the AWS Lambda Runtime Interface Emulator (`aws-lambda-rie`, the Runtime API
//! AWS ships for testing custom runtimes): the conformance check that the function runs where
//! Lambda runs it. `make rie` installs the emulator in `target/tools/`; `SEMIFAAS_RIE` names
//! another copy.

mod support;

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use semifaas_closure::{FailureKind, InvocationOutcome, InvocationReply};
use support::{assert_failed, calc_closure, invocation, java_fixtures, repo_root, runtime_jar};

const INVOKE_PATH: &str = "/2015-03-31/functions/function/invocations";

fn emulator_binary() -> PathBuf {
    let path = std::env::var_os("SEMIFAAS_RIE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/tools/aws-lambda-rie"));
    assert!(
        path.is_file(),
        "{} is missing: run `make rie` (go install of the AWS Lambda Runtime Interface Emulator) \
         or set SEMIFAAS_RIE",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The emulator running `bootstrap`, which it starts on the first invocation and again after
/// the instance exits.
struct Emulator {
    child: Child,
    port: u16,
}

/// What the emulator answered an invocation.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }

    fn reply(&self) -> InvocationReply {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        InvocationReply::from_lambda_payload(&self.body).expect("an InvocationReply")
    }
}

impl Emulator {
    fn start(env: &[(&str, &str)]) -> Emulator {
        let java = java_fixtures();
        let port = free_port();
        let mut command = Command::new(emulator_binary());
        command
            .arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{}", free_port()))
            .arg(env!("CARGO_BIN_EXE_bootstrap"))
            .env("LAMBDA_TASK_ROOT", &java.dir)
            .env("SEMIFAAS_RUNTIME_JAR", runtime_jar())
            .env("AWS_LAMBDA_FUNCTION_TIMEOUT", "60")
            .env("SEMIFAAS_LOG", "info")
            .stdin(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("the emulator starts");
        let emulator = Emulator { child, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return emulator;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the emulator did not listen on port {port}");
    }

    /// Invokes the function with `payload`, as Lambda's Invoke does.
    async fn invoke(&self, payload: Vec<u8>) -> Answer {
        let url = format!("http://127.0.0.1:{}{INVOKE_PATH}", self.port);
        tokio::task::spawn_blocking(move || {
            let agent = ureq::Agent::new_with_config(
                ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(120)))
                    .build(),
            );
            let mut response = agent
                .post(&url)
                .send(&payload[..])
                .expect("the emulator answers");
            Answer {
                status: response.status().as_u16(),
                body: response
                    .body_mut()
                    .with_config()
                    .limit(64 << 20)
                    .read_to_vec()
                    .unwrap(),
            }
        })
        .await
        .unwrap()
    }

    /// Kills the `bootstrap` the emulator started, as a crash or an out-of-memory kill would.
    fn kill_instance(&self) {
        let mut children = Vec::new();
        for task in std::fs::read_dir(format!("/proc/{}/task", self.child.id())).unwrap() {
            let listed =
                std::fs::read_to_string(task.unwrap().path().join("children")).unwrap_or_default();
            children.extend(listed.split_whitespace().map(str::to_owned));
        }
        assert!(!children.is_empty(), "the emulator runs no instance");
        for pid in children {
            let status = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
            assert!(status.success());
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_conforms_to_the_runtime_interface_emulator() {
    let java = java_fixtures();
    let add = calc_closure("add", "(I)I");
    let big = calc_closure("big", "(I)[B");
    let (add_id, big_id) = (add.id(), big.id());
    let (_service, _server, endpoint) = support::start_server(vec![add, big]);
    let emulator = Emulator::start(&[]);
    let call =
        |id, key: &str, args: &[u8], n| invocation(&endpoint, n, id, key, args).to_lambda_payload();

    // Started on the first invocation, which it answers.
    let cold = emulator
        .invoke(call(add_id, "demo.Calc#add", &java.args_add, 1))
        .await
        .reply();
    assert_eq!(
        cold.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
    assert!(cold.stats.cold);

    // A payload that is not an invocation: Lambda's error shape, with a type it keeps.
    let garbage = emulator.invoke(b"not an invocation".to_vec()).await;
    let error = garbage.json();
    assert_eq!(error["errorType"], "Runtime.BadInvocation", "{error}");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("could not be decoded"),
        "{error}"
    );

    // A result over Lambda's 6 MB response limit: a failure the server can act on (it runs the
    // handler itself), not a platform error.
    let oversized = emulator
        .invoke(call(big_id, "demo.Calc#big", &java.args_big, 2))
        .await
        .reply();
    assert_failed(
        &oversized.outcome,
        FailureKind::ResponseTooLarge,
        "response limit",
    );

    // The instance is killed: the emulator reports the exit, then starts a new instance.
    emulator.kill_instance();
    let lost = emulator
        .invoke(call(add_id, "demo.Calc#add", &java.args_add, 4))
        .await;
    assert_eq!(lost.status, 502);
    assert_eq!(lost.json()["errorType"], "Runtime.ExitError");
    let replaced = emulator
        .invoke(call(add_id, "demo.Calc#add", &java.args_add, 5))
        .await
        .reply();
    assert_eq!(
        replaced.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
    assert!(replaced.stats.cold, "a new instance answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_cannot_start_reports_an_init_error_the_emulator_keeps() {
    let emulator = Emulator::start(&[("SEMIFAAS_JAVA_HOME", "/nonexistent/java")]);
    let answer = emulator.invoke(b"{}".to_vec()).await;
    assert_eq!(answer.status, 502);
    let error = answer.json();
    assert_eq!(error["errorType"], "Runtime.InitFailed", "{error}");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/java"),
        "{error}"
    );
}
