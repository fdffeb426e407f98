//! The agent never takes the application down: the real image service with
//! `-javaagent:semifaas-agent.jar` and a configuration mistake (a mistyped key, an unknown
//! `SEMIFAAS_*` variable, a busy admin port, the agent turned off) starts and serves, with one
//! `semifaas:` line on stderr that names the problem. And every configuration key, set through
//! its environment variable, is accepted. Needs `make build` (the test says so if `dist/` is
//! missing).

use std::{
    collections::BTreeMap,
    fs::File,
    net::TcpListener,
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use semifaas_cli::harness::{free_port, Admin, Dist, HttpClient, ServiceOptions};

const SAMPLE: &str = "image-service";

fn log_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-logs")
        .join(test);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The image service with the agent attached, killed when dropped.
struct Service {
    child: Child,
    stderr: PathBuf,
    port: u16,
}

impl Service {
    /// Starts the sample with `-javaagent`, the `-D` options `properties` and only the
    /// `SEMIFAAS_*` variables of `environment`, and waits until `GET /health` is 200.
    async fn start(
        test: &str,
        properties: &[(&str, String)],
        environment: &BTreeMap<String, String>,
    ) -> Service {
        let dist = Dist::locate().expect("dist/ with the agent jar");
        let java = ServiceOptions::new(SAMPLE, "").java;
        let port = free_port();
        let dir = log_dir(test);
        let stderr = dir.join("stderr.log");
        let mut command = Command::new(java);
        command
            .arg(format!(
                "-javaagent:{}",
                dist.agent_jar().unwrap().display()
            ))
            .args(properties.iter().map(|(k, v)| format!("-D{k}={v}")))
            .arg("-jar")
            .arg(dist.sample_jar(SAMPLE).unwrap())
            .arg(format!("--server.port={port}"))
            .stdin(Stdio::null())
            .stdout(File::create(dir.join("stdout.log")).unwrap())
            .stderr(File::create(&stderr).unwrap());
        for (name, _) in std::env::vars_os() {
            if name
                .to_string_lossy()
                .to_ascii_uppercase()
                .starts_with("SEMIFAAS_")
            {
                command.env_remove(name);
            }
        }
        command.envs(environment);
        // SAFETY: prctl is async-signal-safe; the JVM dies with this test.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().expect("start java");
        let mut service = Service {
            child,
            stderr,
            port,
        };
        service.wait_healthy().await;
        service
    }

    async fn wait_healthy(&mut self) {
        let http = HttpClient::new(self.port);
        let start = Instant::now();
        loop {
            if http.get_ok("/health").await {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the application exited with {status} instead of serving; stderr:\n{}",
                    self.stderr()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "GET /health is not 200 after 90 s; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The agent's own lines: the ones premain prints, all starting with `semifaas:`.
    fn agent_lines(&self) -> Vec<String> {
        self.stderr()
            .lines()
            .filter(|l| l.starts_with("semifaas:"))
            .map(str::to_owned)
            .collect()
    }

    /// Exactly one agent line, containing every one of `parts`.
    fn assert_one_line(&self, parts: &[&str]) {
        let lines = self.agent_lines();
        assert_eq!(lines.len(), 1, "stderr:\n{}", self.stderr());
        for part in parts {
            assert!(lines[0].contains(part), "{part:?} is not in {:?}", lines[0]);
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn admin_answers(port: u16) -> bool {
    Admin::new(port).stats().await.is_ok()
}

fn no_environment() -> BTreeMap<String, String> {
    BTreeMap::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_key_is_named_with_a_suggestion_and_the_application_runs() {
    let admin_port = free_port();
    let service = Service::start(
        "mistyped-key",
        &[
            ("semifaas.ration", "1".into()),
            ("semifaas.admin.port", admin_port.to_string()),
        ],
        &no_environment(),
    )
    .await;
    service.assert_one_line(&[
        "\"semifaas.ration\"",
        "did you mean semifaas.ratio?",
        "; the application runs without offloading",
    ]);
    assert!(
        !admin_answers(admin_port).await,
        "the agent is off: nothing listens on its admin port"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_value_is_named_with_what_is_expected_and_the_application_runs() {
    let admin_port = free_port();
    let service = Service::start(
        "bad-value",
        &[
            ("semifaas.ratio", "lots".into()),
            ("semifaas.admin.port", admin_port.to_string()),
        ],
        &no_environment(),
    )
    .await;
    service.assert_one_line(&[
        "semifaas.ratio",
        "\"lots\"",
        "expected a number in [0, 1]",
        "; the application runs without offloading",
    ]);
    assert!(!admin_answers(admin_port).await, "the agent is off");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_environment_variable_is_a_warning_and_the_agent_runs() {
    let admin_port = free_port();
    let environment = BTreeMap::from([("SEMIFAAS_FOO".to_owned(), "1".to_owned())]);
    let service = Service::start(
        "unknown-variable",
        &[("semifaas.admin.port", admin_port.to_string())],
        &environment,
    )
    .await;
    service.assert_one_line(&["semifaas: warning:", "SEMIFAAS_FOO", "ignored"]);
    assert!(
        admin_answers(admin_port).await,
        "the agent runs; stderr:\n{}",
        service.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_admin_port_is_named_and_the_application_runs() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let admin_port = busy.local_addr().unwrap().port();
    let service = Service::start(
        "busy-admin-port",
        &[("semifaas.admin.port", admin_port.to_string())],
        &no_environment(),
    )
    .await;
    service.assert_one_line(&[
        &format!("127.0.0.1:{admin_port}"),
        "semifaas.admin.port",
        "; the application runs without offloading",
    ]);
    drop(busy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enabled_false_turns_the_agent_off() {
    let admin_port = free_port();
    let environment = BTreeMap::from([("SEMIFAAS_ENABLED".to_owned(), "false".to_owned())]);
    let service = Service::start(
        "disabled",
        &[("semifaas.admin.port", admin_port.to_string())],
        &environment,
    )
    .await;
    service.assert_one_line(&[
        "semifaas.enabled=false",
        "; the application runs without offloading",
    ]);
    assert!(!admin_answers(admin_port).await, "the agent is off");
}

/// `semifaas.timeout-ms` is `SEMIFAAS_TIMEOUT_MS`.
fn variable(key: &str) -> String {
    key.to_ascii_uppercase().replace(['.', '-'], "_")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_is_accepted_through_its_environment_variable() {
    let admin_port = free_port();
    let dir = log_dir("every-key");
    let config_file = dir.join("semifaas.properties");
    std::fs::write(&config_file, "# every key is set through the environment\n").unwrap();
    let token_file = dir.join("admin.token");
    let overrides = BTreeMap::from([
        ("semifaas.admin.port", admin_port.to_string()),
        ("semifaas.admin.host", "127.0.0.1".to_owned()),
        ("semifaas.config", config_file.display().to_string()),
        ("semifaas.ratio", "0.25".to_owned()),
        (
            "semifaas.admin.token-file",
            token_file.display().to_string(),
        ),
    ]);
    let mut environment = BTreeMap::new();
    for (key, example) in semifaas_agent::config::key_examples() {
        let value = overrides
            .get(key)
            .cloned()
            .unwrap_or_else(|| example.to_owned());
        environment.insert(variable(key), value);
    }
    assert!(environment.contains_key("SEMIFAAS_PLACEMENT_HEADER"));
    assert!(environment.contains_key("SEMIFAAS_OFFLOAD_MAX_IN_FLIGHT"));
    let service = Service::start("every-key", &[], &environment).await;
    assert_eq!(
        service.agent_lines(),
        Vec::<String>::new(),
        "no warning or error; stderr:\n{}",
        service.stderr()
    );
    // SEMIFAAS_ADMIN_TOKEN (shared with the CLI) and SEMIFAAS_ADMIN_TOKEN_FILE are applied.
    let token = environment["SEMIFAAS_ADMIN_TOKEN"].clone();
    assert_eq!(std::fs::read_to_string(&token_file).unwrap().trim(), token);
    let admin = Admin::at(&format!("http://127.0.0.1:{admin_port}"), Some(token)).unwrap();
    admin.stats().await.expect("GET /stats on the admin port");
    assert_eq!(
        admin.ratio().await.unwrap(),
        0.25,
        "SEMIFAAS_RATIO is applied"
    );
}
