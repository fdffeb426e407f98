//! `semifaas local` as a real process: serves the Lambda API (or OpenWhisk's), stops cleanly on
//! SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../faas-local/tests/fixtures/echo-runtime")
}

fn semifaas() -> Command {
    Command::new(env!("CARGO_BIN_EXE_semifaas"))
}

/// Starts `semifaas local` and returns it with the address it logged.
fn start_local(extra: &[&str]) -> (Child, SocketAddr) {
    let mut child = semifaas()
        .args(["local", "--port", "0", "--function", "echo", "--code-dir"])
        .arg(fixture_dir())
        .args(extra)
        .env("SEMIFAAS_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("semifaas starts");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = mpsc::channel();
    // Keep draining the logs so the process never blocks on a full pipe.
    thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(addr) = line
                .contains("faas-local listening")
                .then(|| line.split("addr=").nth(1))
                .flatten()
                .and_then(|rest| rest.split_whitespace().next())
            {
                let _ = tx.send(addr.parse::<SocketAddr>().expect("logged address"));
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("semifaas local logs its address");
    (child, addr)
}

fn invoke(addr: SocketAddr, function: &str, payload: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

fn process_alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
    })
}

#[test]
fn serves_invocations_and_stops_its_instances_on_sigterm() {
    let (mut child, addr) = start_local(&["--env", "ECHO_CUSTOM=from-cli", "--memory-mb", "256"]);

    let (status, body) = invoke(addr, "echo", r#""describe""#);
    assert_eq!(status, 200, "{body}");
    let described: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(described["custom"], "from-cli");
    assert_eq!(described["memory"], "256");
    let pid = described["pid"].as_u64().unwrap();
    assert!(process_alive(pid));

    let (status, _) = invoke(addr, "semifaas", "{}");
    assert_eq!(status, 404, "only --function echo is deployed");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "semifaas local exited with {exit}");
    assert!(!process_alive(pid), "instance {pid} outlived the platform");
}

#[test]
fn missing_bootstrap_is_a_clear_startup_error() {
    let output = semifaas()
        .args(["local", "--port", "0", "--code-dir", "/nonexistent-dir"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no `bootstrap` file at /nonexistent-dir/bootstrap"),
        "{stderr}"
    );
}

#[test]
fn malformed_env_flag_is_rejected() {
    let output = semifaas()
        .args(["local", "--env", "NOEQUALS"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("expected KEY=VALUE"), "{stderr}");
}

fn local_stats(addr: SocketAddr) -> serde_json::Value {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /local/stats HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap()
}

#[test]
fn provisioned_instances_stay_warm_past_the_keep_alive() {
    let (child, addr) = start_local(&["--provisioned", "2", "--keep-alive-secs", "0"]);
    let idle = || local_stats(addr)["functions"]["echo"]["idle"].as_u64();
    let mut waited = 0;
    while idle() != Some(2) {
        assert!(
            waited < 1500,
            "never 2 idle instances: {}",
            local_stats(addr)
        );
        thread::sleep(Duration::from_millis(20));
        waited += 1;
    }
    // Keep-alive 0 reaps idle instances at once, but not provisioned ones: this one is warm.
    let (status, body) = invoke(addr, "echo", r#""describe""#);
    assert_eq!(status, 200, "{body}");
    let stats = local_stats(addr);
    assert_eq!(stats["functions"]["echo"]["cold_starts"], 2, "{stats}");
    assert_eq!(stats["functions"]["echo"]["instances"], 2, "{stats}");
    // SIGTERM, so the platform stops its instances.
    terminate(child);
}

#[test]
fn provisioning_past_the_concurrency_limit_is_a_clear_startup_error() {
    let output = semifaas()
        .args([
            "local",
            "--port",
            "0",
            "--concurrency",
            "2",
            "--provisioned",
            "3",
            "--code-dir",
        ])
        .arg(fixture_dir())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("3 provisioned instances exceed the concurrency limit 2"),
        "{stderr}"
    );
}

/// `semifaas local --api openwhisk` with `extra` flags; returns it with the API host and
/// credential it printed for `wsk`.
fn start_openwhisk(extra: &[&str]) -> (Child, String, String) {
    let mut child = semifaas()
        .args([
            "local",
            "--api",
            "openwhisk",
            "--port",
            "0",
            "--function",
            "echo",
            "--code-dir",
        ])
        .arg(fixture_dir().with_file_name("openwhisk-action"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("semifaas starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(settings) = line.strip_prefix("wsk property set --apihost ") {
                let (host, auth) = settings.split_once(" --auth ").expect("--auth follows");
                let _ = tx.send((host.to_owned(), auth.to_owned()));
            }
        }
    });
    let (host, auth) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("semifaas local prints the wsk settings");
    (child, host, auth)
}

/// A blocking invoke of `echo` with `result=true`: the status and the body.
fn openwhisk_invoke(host: &str, auth: &str, params: &str) -> (u16, String) {
    let (user, key) = auth.split_once(':').unwrap();
    let url = format!("{host}/api/v1/namespaces/_/actions/echo?blocking=true&result=true");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let response = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(url)
            .basic_auth(user, Some(key))
            .body(params.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

fn terminate(mut child: Child) {
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(child.wait().unwrap().success());
}

#[test]
fn serves_openwhisk_with_the_credential_it_prints() {
    let (child, host, auth) = start_openwhisk(&["--blocking-wait-secs", "30"]);
    assert!(host.starts_with("http://127.0.0.1:"), "{host}");
    let (status, body) = openwhisk_invoke(&host, &auth, r#"{"hello":"wsk"}"#);
    assert_eq!((status, body.as_str()), (200, r#"{"hello":"wsk"}"#));
    let (status, _) = openwhisk_invoke(&host, &format!("{auth}x"), "{}");
    assert_eq!(status, 401);
    terminate(child);

    let given = "0c5f2d1e-7b3a-4c8e-9f60-1a2b3c4d5e6f:given-key";
    let (child, host, auth) = start_openwhisk(&["--auth", given]);
    assert_eq!(auth, given);
    let (status, _) = openwhisk_invoke(&host, given, "{}");
    assert_eq!(status, 200);
    terminate(child);
}

#[test]
fn openwhisk_flags_are_checked() {
    let output = semifaas()
        .args(["local", "--port", "0", "--auth", "a:b", "--code-dir"])
        .arg(fixture_dir())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--api openwhisk"), "{stderr}");

    let output = semifaas()
        .args([
            "local",
            "--api",
            "openwhisk",
            "--port",
            "0",
            "--auth",
            "no-colon",
            "--code-dir",
        ])
        .arg(fixture_dir())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("UUID:KEY"), "{stderr}");
}
