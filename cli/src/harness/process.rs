use std::{
    fs::File,
    net::TcpListener,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use super::{http::HttpClient, Dist};

/// A loopback TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral loopback port")
}

/// A child process that is killed when dropped, and when this process dies (`PR_SET_PDEATHSIG`).
struct Supervised {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Supervised {
    fn spawn(name: &str, mut command: Command, log_dir: &Path) -> Result<Supervised> {
        std::fs::create_dir_all(log_dir)?;
        let log = log_dir.join(format!("{name}.log"));
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to signal the child when the
        // parent thread exits, so no test or benchmark leaves processes behind.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {name}: {command:?}"))?;
        Ok(Supervised {
            name: name.into(),
            child,
            log,
        })
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Polls `ready` until it holds, the child exits (an error with its log) or `timeout` passes.
    async fn wait_ready<F, Fut>(&mut self, timeout: Duration, mut ready: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let start = Instant::now();
        loop {
            if ready().await {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                bail!(
                    "{} exited with {status} before it was ready; log {}:\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail()
                );
            }
            if start.elapsed() > timeout {
                bail!(
                    "{} not ready after {timeout:?}; log {}:\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(&mut self) {
        // SIGTERM first so the child can stop its own children, then SIGKILL.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `program`, under `taskset -c cpus` when `cpus` is given.
fn pinned_command(program: &Path, cpus: Option<&str>) -> Command {
    match cpus {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.args(["-c", cpus]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// How many CPUs a `taskset -c` list such as `0`, `0-1` or `0,2-3` names.
fn cpu_count(cpus: &str) -> Result<usize> {
    let mut count = 0;
    for part in cpus.split(',') {
        let bound = |s: &str| {
            s.trim()
                .parse::<usize>()
                .with_context(|| format!("CPU list {cpus:?}: {s:?} is not a CPU number"))
        };
        count += match part.split_once('-') {
            Some((first, last)) => (bound(first)?..=bound(last)?).count(),
            None => bound(part).map(|_| 1)?,
        };
    }
    anyhow::ensure!(count > 0, "CPU list {cpus:?} names no CPU");
    Ok(count)
}

/// Restricts every thread of `pid` (threads it starts later inherit it) to `cpus`.
pub fn pin_all_threads(pid: u32, cpus: &str) -> Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .context("running taskset")?;
    anyhow::ensure!(status.success(), "taskset -a -p -c {cpus} {pid}: {status}");
    Ok(())
}

/// The API the bundled platform speaks, and the agent with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PlatformApi {
    /// Lambda's Invoke API (`semifaas.platform=local`).
    #[default]
    #[value(alias = "local")]
    Lambda,
    /// OpenWhisk's REST API (`semifaas.platform=openwhisk`).
    Openwhisk,
}

impl PlatformApi {
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformApi::Lambda => "lambda",
            PlatformApi::Openwhisk => "openwhisk",
        }
    }
}

/// The credentials the harness gives `semifaas local --api openwhisk`.
const OPENWHISK_TEST_AUTH: &str = "semifaas-harness:0b5e3c0d5a1f4e7b9c2d8e6f1a3b5c7d";

/// `semifaas local`, running in the background.
pub struct FaasLocalProcess {
    process: Supervised,
    pub port: u16,
    pub api: PlatformApi,
}

impl FaasLocalProcess {
    /// Starts `semifaas local` serving the function `function` from `dist/` with the given flags.
    pub async fn start(
        dist: &Dist,
        function: &str,
        extra_args: &[&str],
        log_dir: &Path,
    ) -> Result<FaasLocalProcess> {
        Self::start_pinned(dist, function, extra_args, None, log_dir).await
    }

    /// Like `start`, speaking `api` (with OpenWhisk, the harness's credentials).
    pub async fn start_api(
        dist: &Dist,
        function: &str,
        api: PlatformApi,
        extra_args: &[&str],
        cpus: Option<&str>,
        log_dir: &Path,
    ) -> Result<FaasLocalProcess> {
        let mut args = extra_args.to_vec();
        if api == PlatformApi::Openwhisk {
            args.extend(["--api", "openwhisk", "--auth", OPENWHISK_TEST_AUTH]);
        }
        let command = pinned_command(&dist.semifaas()?, cpus);
        let mut platform = Self::start_command(command, dist, function, &args, log_dir).await?;
        platform.api = api;
        Ok(platform)
    }

    /// Like `start`, with snapshot starts: `criu`, a checkpoint after `snapshot_after`
    /// invocations, idle instances kept 1 s (so that later requests meet restored copies).
    pub async fn start_with_snapshots(
        dist: &Dist,
        function: &str,
        criu: &str,
        snapshot_after: u64,
        extra_args: &[&str],
        log_dir: &Path,
    ) -> Result<FaasLocalProcess> {
        let after = snapshot_after.to_string();
        let mut args = vec![
            "--keep-alive-secs",
            "1",
            "--snapshots",
            "--criu",
            criu,
            "--snapshot-after",
            &after,
        ];
        args.extend_from_slice(extra_args);
        Self::start(dist, function, &args, log_dir).await
    }

    /// Like `start`, restricted to the CPUs `cpus` (a `taskset -c` list such as `1` or `0-1`);
    /// its instances inherit the affinity.
    pub async fn start_pinned(
        dist: &Dist,
        function: &str,
        extra_args: &[&str],
        cpus: Option<&str>,
        log_dir: &Path,
    ) -> Result<FaasLocalProcess> {
        let command = pinned_command(&dist.semifaas()?, cpus);
        Self::start_command(command, dist, function, extra_args, log_dir).await
    }

    /// Like `start`, where no Java can be found: `JAVA_HOME` and `SEMIFAAS_JAVA_HOME` unset and
    /// `PATH` an empty directory. Only a package that brings its own Java runtime runs.
    pub async fn start_without_java(
        dist: &Dist,
        function: &str,
        extra_args: &[&str],
        log_dir: &Path,
    ) -> Result<FaasLocalProcess> {
        let empty = log_dir.join("empty-path");
        std::fs::create_dir_all(&empty)?;
        let mut command = Command::new(dist.semifaas()?);
        command
            .env_remove("JAVA_HOME")
            .env_remove("SEMIFAAS_JAVA_HOME")
            .env("PATH", &empty);
        Self::start_command(command, dist, function, extra_args, log_dir).await
    }

    /// Like `start`, on `port` (a restart on the port a stopped platform served), logging to
    /// `faas-local-{port}-{generation}.log`.
    pub async fn start_on_port(
        dist: &Dist,
        function: &str,
        port: u16,
        generation: usize,
        extra_args: &[&str],
        log_dir: &Path,
    ) -> Result<FaasLocalProcess> {
        let command = Command::new(dist.semifaas()?);
        let name = format!("faas-local-{port}-{generation}");
        Self::start_named(command, dist, function, port, &name, extra_args, log_dir).await
    }

    async fn start_command(
        command: Command,
        dist: &Dist,
        function: &str,
        extra_args: &[&str],
        log_dir: &Path,
    ) -> Result<FaasLocalProcess> {
        let port = free_port();
        let name = format!("faas-local-{port}");
        Self::start_named(command, dist, function, port, &name, extra_args, log_dir).await
    }

    async fn start_named(
        mut command: Command,
        dist: &Dist,
        function: &str,
        port: u16,
        name: &str,
        extra_args: &[&str],
        log_dir: &Path,
    ) -> Result<FaasLocalProcess> {
        command
            .args([
                "local",
                "--port",
                &port.to_string(),
                "--function",
                function,
                "--code-dir",
            ])
            .arg(dist.root())
            .args(extra_args);
        let mut process = Supervised::spawn(name, command, log_dir)?;
        let http = HttpClient::new(port);
        process
            .wait_ready(Duration::from_secs(30), || async {
                http.get_ok("/local/stats").await
            })
            .await?;
        Ok(FaasLocalProcess {
            process,
            port,
            api: PlatformApi::Lambda,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The credentials of its OpenWhisk API (`uuid:key`).
    pub fn openwhisk_auth(&self) -> &'static str {
        OPENWHISK_TEST_AUTH
    }

    /// The agent's settings (without `semifaas.`) that point it at this platform.
    pub fn agent_settings(&self) -> Vec<(String, String)> {
        let pairs = match self.api {
            PlatformApi::Lambda => vec![("lambda.endpoint", self.endpoint())],
            PlatformApi::Openwhisk => vec![
                ("platform", "openwhisk".to_owned()),
                ("openwhisk.apihost", self.endpoint()),
                ("openwhisk.auth", OPENWHISK_TEST_AUTH.to_owned()),
            ],
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    pub async fn stats(&self) -> Result<serde_json::Value> {
        HttpClient::new(self.port).get_json("/local/stats").await
    }

    /// The platform's log so far, with its instances' output.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.process.log).unwrap_or_default()
    }

    /// The process ids of the platform's function instances (its `bootstrap` children).
    pub fn instance_pids(&self) -> Vec<u32> {
        super::procs::children(self.pid())
    }

    /// Stops the platform (and so every instance it started).
    pub fn stop(mut self) {
        self.process.stop();
    }

    /// The platform's process id (its instances are its children).
    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// `SIGKILL`s the platform alone, as a crash would: instances it started are left running.
    pub fn kill(mut self) {
        let _ = self.process.child.kill();
        let _ = self.process.child.wait();
    }
}

/// The CRIU the snapshot tests run: `SEMIFAAS_CRIU`, which `make test` sets after `make criu`.
pub fn test_criu() -> String {
    std::env::var("SEMIFAAS_CRIU").expect(
        "SEMIFAAS_CRIU names the CRIU to test with: run `make criu`, or the tests through `make test`",
    )
}

/// How to start a sample service with the agent attached.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    pub sample: String,
    /// The `java` to run; `SEMIFAAS_JAVA`, else `$JAVA_HOME/bin/java`, else `java`.
    pub java: PathBuf,
    /// The settings that point the agent at its platform (see
    /// [`FaasLocalProcess::agent_settings`]), without `semifaas.`.
    pub platform: Vec<(String, String)>,
    pub ratio: f64,
    /// Further `-Dsemifaas.*` settings, without the prefix.
    pub settings: Vec<(String, String)>,
    pub jvm_options: Vec<String>,
    /// Environment variables set for the service (on top of this process's).
    pub env: Vec<(String, String)>,
    /// CPUs the JVM runs on once it serves (a `taskset -c` list such as `0`); `None` leaves it
    /// unrestricted. It starts on every CPU, sized for these (`-XX:ActiveProcessorCount`, so its
    /// GC and compiler threads are the pinned JVM's): Spring Boot starts in half the time.
    pub cpu_affinity: Option<String>,
    /// Whether `-javaagent` is attached (default). Without it the service runs as it would
    /// without semifaas: no `-Dsemifaas.*` settings, no admin endpoint, no placement header.
    pub agent: bool,
}

impl ServiceOptions {
    /// `sample` offloading to the Lambda Invoke API at `lambda_endpoint` (none when empty).
    pub fn new(sample: &str, lambda_endpoint: &str) -> ServiceOptions {
        let platform = if lambda_endpoint.is_empty() {
            vec![]
        } else {
            vec![("lambda.endpoint".to_owned(), lambda_endpoint.to_owned())]
        };
        ServiceOptions {
            platform,
            ..ServiceOptions::on(sample, vec![])
        }
    }

    /// `sample` offloading to the bundled platform `platform`, whichever API it speaks.
    pub fn for_platform(sample: &str, platform: &FaasLocalProcess) -> ServiceOptions {
        ServiceOptions::on(sample, platform.agent_settings())
    }

    fn on(sample: &str, platform: Vec<(String, String)>) -> ServiceOptions {
        let java = std::env::var_os("SEMIFAAS_JAVA")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("JAVA_HOME").map(|h| PathBuf::from(h).join("bin/java")))
            .unwrap_or_else(|| PathBuf::from("java"));
        ServiceOptions {
            sample: sample.into(),
            java,
            platform,
            ratio: 0.0,
            settings: vec![],
            jvm_options: vec![],
            env: vec![],
            cpu_affinity: None,
            agent: true,
        }
    }
}

/// The AWS Lambda Runtime Interface Emulator running `dist/bootstrap`: Lambda's Invoke API for
/// one function named `function`, one invocation at a time, its instances started and replaced
/// as Lambda does. `make rie` installs it in `target/tools/`; `SEMIFAAS_RIE` names another copy.
pub struct EmulatorProcess {
    process: Supervised,
    pub port: u16,
}

impl EmulatorProcess {
    pub async fn start(dist: &Dist, log_dir: &Path) -> Result<EmulatorProcess> {
        let emulator = std::env::var_os("SEMIFAAS_RIE")
            .map(PathBuf::from)
            .unwrap_or_else(|| dist.root().join("../target/tools/aws-lambda-rie"));
        if !emulator.is_file() {
            bail!(
                "{} is missing: run `make rie` or set SEMIFAAS_RIE",
                emulator.display()
            );
        }
        let port = free_port();
        let mut command = Command::new(emulator);
        command
            .arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{}", free_port()))
            .arg(dist.bootstrap()?)
            // bootstrap finds semifaas-runtime.jar in the task root, as in a deployed package.
            .env("LAMBDA_TASK_ROOT", dist.root());
        let mut process = Supervised::spawn(&format!("emulator-{port}"), command, log_dir)?;
        process
            .wait_ready(Duration::from_secs(30), || async {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
            })
            .await?;
        Ok(EmulatorProcess { process, port })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The emulator's log (its own lines and its instances').
    pub fn log(&self) -> String {
        self.process.log_tail()
    }
}

/// A sample Spring Boot service with `-javaagent:semifaas-agent.jar` (unless
/// [`ServiceOptions::agent`] is off).
pub struct ServiceProcess {
    process: Supervised,
    pub port: u16,
    /// The agent's admin port (nothing listens on it without the agent).
    pub admin_port: u16,
}

impl ServiceProcess {
    /// The `java` command line for `options`, with fresh ports.
    pub fn command(
        dist: &Dist,
        options: &ServiceOptions,
        port: u16,
        admin_port: u16,
    ) -> Result<Command> {
        let mut command = Command::new(&options.java);
        if let Some(cpus) = &options.cpu_affinity {
            command.arg(format!("-XX:ActiveProcessorCount={}", cpu_count(cpus)?));
        }
        if options.agent {
            command
                .arg(format!("-javaagent:{}", dist.agent_jar()?.display()))
                .arg(format!("-Dsemifaas.ratio={}", options.ratio))
                .arg(format!("-Dsemifaas.admin.port={admin_port}"))
                .args(
                    options
                        .platform
                        .iter()
                        .chain(&options.settings)
                        .map(|(k, v)| format!("-Dsemifaas.{k}={v}")),
                );
        }
        command
            .args(&options.jvm_options)
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .arg("-jar")
            .arg(dist.sample_jar(&options.sample)?)
            .arg(format!("--server.port={port}"));
        Ok(command)
    }

    pub async fn start(
        dist: &Dist,
        options: &ServiceOptions,
        log_dir: &Path,
    ) -> Result<ServiceProcess> {
        let (port, admin_port) = (free_port(), free_port());
        let command = Self::command(dist, options, port, admin_port)?;
        let mut process =
            Supervised::spawn(&format!("{}-{port}", options.sample), command, log_dir)?;
        let http = HttpClient::new(port);
        process
            .wait_ready(Duration::from_secs(90), || async {
                http.get_ok("/health").await
            })
            .await?;
        if let Some(cpus) = &options.cpu_affinity {
            pin_all_threads(process.child.id(), cpus)?;
        }
        Ok(ServiceProcess {
            process,
            port,
            admin_port,
        })
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.process.log).unwrap_or_default()
    }

    /// The JVM's resident memory now, in bytes (`VmRSS`: heap, native buffers, code, all).
    pub fn resident_bytes(&self) -> Result<u64> {
        let pid = self.process.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("reading /proc/{pid}/status"))?;
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .context("no VmRSS in /proc/<pid>/status")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .context("VmRSS is not a number of kB")?;
        Ok(kib * 1024)
    }

    /// CPU seconds the JVM has used so far, all its threads, user and system.
    pub fn cpu_seconds(&self) -> Result<f64> {
        let pid = self.process.child.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("reading /proc/{pid}/stat"))?;
        // Fields after the command name, which is in parentheses and may hold spaces:
        // state is field 3, utime and stime fields 14 and 15, in clock ticks.
        let after_name = &stat[stat.rfind(')').context("no ')' in /proc/<pid>/stat")? + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |i: usize| -> Result<f64> {
            Ok(fields
                .get(i - 3)
                .context("/proc/<pid>/stat is too short")?
                .parse::<u64>()? as f64)
        };
        // SAFETY: sysconf has no preconditions.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        Ok((ticks(14)? + ticks(15)?) / per_second.max(1.0))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(super::cpu_count("0").unwrap(), 1);
        assert_eq!(super::cpu_count("0-1").unwrap(), 2);
        assert_eq!(super::cpu_count("0,2-4").unwrap(), 4);
        assert!(super::cpu_count("x").is_err());
    }
}
