//! End to end on the image service: the real `semifaas local`, the real Spring Boot sample with
//! `-javaagent:semifaas-agent.jar`, real `bootstrap` instances hosting a JVM, real sockets.
//! Needs `make build` (the test says so if `dist/` is missing).

use std::path::PathBuf;

use semifaas_cli::harness::image_service::{
    assert_offloads_match_local, assert_same, offload_everything, request_set, run_round, totals,
};
use semifaas_cli::harness::{
    free_port, Admin, Dist, EmulatorProcess, FaasLocalProcess, HttpClient, PlatformApi,
    ServiceOptions, ServiceProcess, PLACEMENT_HEADER,
};
use serde_json::Value;

const FUNCTION: &str = "semifaas";

fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-logs")
        .join(test)
}

fn cold_starts(local_stats: &Value) -> u64 {
    local_stats["functions"][FUNCTION]["cold_starts"]
        .as_u64()
        .unwrap_or_else(|| panic!("no cold_starts in {local_stats}"))
}

/// The same equivalence through AWS's own Invoke and Runtime API implementation, the Lambda
/// Runtime Interface Emulator, running `dist/bootstrap` as the function `function`; the agent
/// on `semifaas.platform=aws`, its credentials from the environment, the endpoint overridden,
/// and its fallback server reached at the address it advertises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offloads_through_the_lambda_runtime_interface_emulator_are_byte_identical() {
    let dist = Dist::locate().unwrap();
    let logs = log_dir("image-service-emulator");
    let emulator = EmulatorProcess::start(&dist, &logs).await.unwrap();
    let mut options =
        offload_everything(ServiceOptions::new("image-service", &emulator.endpoint()));
    options.settings.extend(
        [
            ("platform", "aws"),
            ("aws.region", "eu-west-1"),
            ("function", "function"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    // Functions dial the advertised address; the host alone names nothing they could reach.
    let port = free_port().to_string();
    options.settings.extend([
        ("fallback.host".to_owned(), "fallback.invalid".to_owned()),
        ("fallback.bind".to_owned(), "127.0.0.1".to_owned()),
        ("fallback.port".to_owned(), port.clone()),
        ("fallback.advertise".to_owned(), format!("127.0.0.1:{port}")),
    ]);
    options.env.extend(
        [
            ("AWS_ACCESS_KEY_ID", "AKIDSEMIFAASTEST"),
            ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret"),
            // No instance metadata on this machine: do not wait for it.
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    // The emulator runs one invocation at a time; the requests below are sequential.
    options
        .settings
        .push(("offload.max-in-flight".to_owned(), "1".to_owned()));
    let service = ServiceProcess::start(&dist, &options, &logs).await.unwrap();
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);
    assert_offloads_match_local("through the emulator", &http, &admin, || {
        format!("{}\n{}", service.log(), emulator.log())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offloaded_responses_are_byte_identical_and_failures_fall_back_to_local() {
    equivalence_and_fallback(PlatformApi::Lambda).await;
}

/// The same through the bundled platform's OpenWhisk API: `bootstrap --openwhisk` instances
/// answering `/init` and `/run`, the agent on `semifaas.platform=openwhisk`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_openwhisk_offloaded_responses_are_byte_identical_and_failures_fall_back() {
    equivalence_and_fallback(PlatformApi::Openwhisk).await;
}

async fn equivalence_and_fallback(api: PlatformApi) {
    let dist = Dist::locate().unwrap();
    let logs = log_dir(&format!("image-service-{}", api.as_str()));
    let platform =
        FaasLocalProcess::start_api(&dist, FUNCTION, api, &["--concurrency", "4"], None, &logs)
            .await
            .unwrap();
    let options = offload_everything(ServiceOptions::for_platform("image-service", &platform));
    let service = ServiceProcess::start(&dist, &options, &logs).await.unwrap();
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);
    let requests = request_set(&http).await;

    // Round 1: ratio 0, everything runs on the server.
    assert_eq!(admin.ratio().await.unwrap(), 0.0);
    let local = run_round(&http, &requests).await;
    assert!(
        local[..5].iter().all(|e| e.status == 200),
        "the happy requests succeed locally"
    );
    assert!(
        local[5].status >= 400 && local[6].status >= 400,
        "the bad inputs are HTTP errors"
    );
    let before = totals(&admin.stats().await.unwrap());
    assert_eq!(before.1, 0, "nothing offloaded at ratio 0");

    // Round 2: ratio 1, every candidate invocation runs in a function instance.
    admin.set_ratio(1.0).await.unwrap();
    let offloaded = run_round(&http, &requests).await;
    assert_same("ratio 1 (cold)", &local, &offloaded, &requests);
    let after = totals(&admin.stats().await.unwrap());
    let n = requests.len() as u64;
    assert_eq!(
        after.0 - before.0,
        n,
        "every request was one handler invocation"
    );
    assert_eq!(
        after.1 - before.1,
        n,
        "every invocation offloaded: {after:?} after {before:?}\n{}",
        service.log()
    );
    assert_eq!(after.3, 0, "no failures");
    let cold = cold_starts(&platform.stats().await.unwrap());
    assert!(cold >= 1, "faas-local started an instance");

    // Round 3: warm instances are reused: no new cold start, still identical.
    let warm = run_round(&http, &requests).await;
    assert_same("ratio 1 (warm)", &local, &warm, &requests);
    assert_eq!(
        cold_starts(&platform.stats().await.unwrap()),
        cold,
        "warm round started no instance"
    );
    let stats = admin.stats().await.unwrap();
    assert_eq!(totals(&stats).1 - after.1, n);
    assert!(
        stats["totals"]["fallbacks"]["fetch_closure"]
            .as_u64()
            .unwrap()
            >= 1,
        "a cold instance fetched its closure: {stats}"
    );

    // Bad admin input is refused with a reason and changes nothing.
    for bad in ["abc", "1.5", "-0.1", "", "NaN"] {
        let (status, text) = admin.put_ratio_raw(bad).await.unwrap();
        assert_eq!(status, 400, "PUT /ratio {bad:?} → {status} {text}");
        assert!(!text.is_empty(), "a 400 says why");
    }
    assert_eq!(admin.ratio().await.unwrap(), 1.0);

    // Round 4: the platform goes away; every request is still answered, locally, and counted.
    platform.stop();
    let fallen_back = run_round(&http, &requests).await;
    assert_same("platform down", &local, &fallen_back, &requests);
    let end = totals(&admin.stats().await.unwrap());
    let before_down = totals(&stats);
    assert_eq!(
        end.3 - before_down.3,
        n,
        "each request counted as a failure"
    );
    assert_eq!(end.2 - before_down.2, n, "and ran locally");
}

/// The agent starts and offloads on the newer JDK as well (and on JDK 17 above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_works_on_the_newer_jdk() {
    let Some(jdk) = std::fs::read_dir("/usr/lib/jvm")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("temurin-"))
                && p.join("bin/java").exists()
        })
    else {
        panic!("no Temurin JDK under /usr/lib/jvm: install one (see .ci/run)");
    };
    let dist = Dist::locate().unwrap();
    let logs = log_dir("newer-jdk");
    let platform = FaasLocalProcess::start(&dist, FUNCTION, &[], &logs)
        .await
        .unwrap();
    let mut options =
        offload_everything(ServiceOptions::new("image-service", &platform.endpoint()));
    options.java = jdk.join("bin/java");
    let service = ServiceProcess::start(&dist, &options, &logs).await.unwrap();
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);
    let requests = request_set(&http).await;
    let local = run_round(&http, &requests[..3]).await;
    admin.set_ratio(1.0).await.unwrap();
    let offloaded = run_round(&http, &requests[..3]).await;
    assert_same("newer JDK", &local, &offloaded, &requests[..3]);
    let (_, off, _, failures) = totals(&admin.stats().await.unwrap());
    assert_eq!((off, failures), (3, 0));
}

/// Spring Boot 2.7 (`javax.servlet`, Tomcat 9, Spring Framework 5; the `-Pboot2` build, whose
/// manifest says `Spring-Boot-Version: 2.7.18`), the line many production applications still run: the same requests answer byte for byte the same offloaded, every one
/// is offloaded (the request's `javax` snapshot and context holders work on the function), and
/// each response's placement header says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_spring_boot_2_offloaded_responses_are_byte_identical() {
    let dist = Dist::locate().unwrap();
    let logs = log_dir("image-service-boot2");
    let platform = FaasLocalProcess::start(&dist, FUNCTION, &["--concurrency", "2"], &logs)
        .await
        .unwrap();
    let mut options =
        offload_everything(ServiceOptions::new("image-service", &platform.endpoint()));
    options.sample = "image-service-boot2".into();
    options
        .settings
        .push(("placement-header".into(), PLACEMENT_HEADER.into()));
    let service = ServiceProcess::start(&dist, &options, &logs).await.unwrap();
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);
    let requests = request_set(&http).await;
    let local = run_round(&http, &requests).await;
    assert!(local
        .iter()
        .all(|e| e.placement.as_deref() == Some("local")));
    let before = totals(&admin.stats().await.unwrap());
    admin.set_ratio(1.0).await.unwrap();
    for round in ["ratio 1 (cold)", "ratio 1 (warm)"] {
        let offloaded = run_round(&http, &requests).await;
        assert_same(round, &local, &offloaded, &requests);
        for (exchange, request) in offloaded.iter().zip(&requests) {
            assert_eq!(
                exchange.placement.as_deref(),
                Some("offloaded"),
                "{round}: {} {}\n{}",
                request.method,
                request.path,
                service.log()
            );
        }
    }
    let after = totals(&admin.stats().await.unwrap());
    let n = requests.len() as u64;
    assert_eq!(after.1 - before.1, 2 * n, "every invocation offloaded");
    assert_eq!(after.3, 0, "no failures:\n{}", service.log());
}

/// `semifaas deploy --platform local`: the package (bootstrap, runtime jar, jlinked Java) is
/// built once with `--dry-run`, deployed with `--package` to a platform that has no Java to offer
/// (no `JAVA_HOME`, nothing on `PATH`), and the image service offloads to the alias byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_package_serves_the_image_service_with_no_jdk_in_sight() {
    let dist = Dist::locate().unwrap();
    let logs = log_dir("image-service-deployed");
    let platform = FaasLocalProcess::start_without_java(&dist, FUNCTION, &[], &logs)
        .await
        .unwrap();
    let zip = logs.join("image-fn.zip");
    let deploy = |args: &[&str]| {
        let output = std::process::Command::new(dist.semifaas().unwrap())
            .arg("deploy")
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "deploy {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    let endpoint = platform.endpoint();
    let common = [
        "--platform",
        "local",
        "--endpoint",
        &endpoint,
        "--function",
        "image",
    ];
    let dry = deploy(&[&common[..], &["--dry-run", "--out", zip.to_str().unwrap()]].concat());
    assert!(dry.contains("CreateFunction image"), "{dry}");
    assert!(zip.is_file(), "the dry run wrote the zip:\n{dry}");
    let stats = platform.stats().await.unwrap();
    assert!(
        stats["functions"].get("image").is_none(),
        "a dry run deploys nothing: {stats}"
    );

    let deployed = deploy(
        &[
            &common[..],
            &[
                "--package",
                zip.to_str().unwrap(),
                "--provisioned",
                "1",
                "--reserved",
                "4",
            ],
        ]
        .concat(),
    );
    let smoke = deployed
        .lines()
        .find(|l| l.contains("smoke invocation"))
        .unwrap_or_else(|| panic!("no smoke line:\n{deployed}"));
    assert!(
        smoke.contains("/jre)") && !smoke.contains("/usr/lib/jvm"),
        "the instance runs the packaged Java: {smoke}"
    );
    assert!(deployed.contains("image:live (version 1)"), "{deployed}");

    let mut options = offload_everything(ServiceOptions::new("image-service", &endpoint));
    options
        .settings
        .push(("function".to_owned(), "image:live".to_owned()));
    let service = ServiceProcess::start(&dist, &options, &logs).await.unwrap();
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);
    let (requests, local) =
        assert_offloads_match_local("deployed package", &http, &admin, || platform.log()).await;
    let stats = platform.stats().await.unwrap();
    let version = &stats["functions"]["image:1"];
    assert!(
        version["invocations"].as_u64().unwrap() > requests.len() as u64,
        "the alias's version ran the offloads and the smoke invocation: {stats}"
    );
    assert_eq!(stats["functions"]["image"]["invocations"], 0, "{stats}");

    // Deploying again updates the function in place and moves the alias, under a running service.
    let redeployed = deploy(
        &[
            &common[..],
            &["--package", zip.to_str().unwrap(), "--memory-mb", "2048"],
        ]
        .concat(),
    );
    assert!(
        redeployed.contains("UpdateFunctionCode image")
            && redeployed.contains("UpdateFunctionConfiguration image: 2048 MB")
            && redeployed.contains("image:live (version 2)"),
        "{redeployed}"
    );
    let again = run_round(&http, &requests).await;
    assert_same("redeployed package", &local, &again, &requests);
    let stats = platform.stats().await.unwrap();
    assert!(
        stats["functions"]["image:2"]["invocations"]
            .as_u64()
            .unwrap()
            > requests.len() as u64,
        "the alias now runs version 2: {stats}"
    );
    assert_eq!(totals(&admin.stats().await.unwrap()).3, 0, "no failures");
}

/// `semifaas bench capacity`, short: every endpoint measured without the agent, at ratio 0 and at
/// ratio 1, each response checked to have run where its mode says and the offloads counted by
/// the agent; the 6 × 64 thumbnail grid costs the server less CPU offloaded than local.
#[test]
fn bench_capacity_measures_every_endpoint_in_every_mode() {
    let out = log_dir("bench-capacity");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_semifaas"))
        .args(["bench", "--out"])
        .arg(&out)
        .args(["capacity", "--requests", "20", "--warmup", "20"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("local ÷ offloaded"), "{stdout}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("capacity.json")).unwrap()).unwrap();
    let endpoints = report["endpoints"].as_array().unwrap();
    let paths: Vec<&str> = endpoints
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/health",
            "/images/thumbnails/4?seed=1&size=32",
            "/images/thumbnails/6?seed=1&size=64"
        ]
    );
    for endpoint in endpoints {
        let modes = &endpoint["modes"];
        assert_eq!(modes["no-agent"]["offloads"], Value::Null, "{endpoint}");
        assert_eq!(modes["ratio-0"]["offloads"], 0, "{endpoint}");
        assert_eq!(modes["ratio-1"]["offloads"], 40, "{endpoint}");
        for mode in ["no-agent", "ratio-0", "ratio-1"] {
            assert!(
                modes[mode]["requests_per_s"].as_f64().unwrap() > 0.0,
                "{endpoint}"
            );
            assert!(modes[mode]["p50_ms"].as_f64().unwrap() > 0.0, "{endpoint}");
        }
    }
    let grid = &endpoints[2]["comparison"]["local_over_offloaded"];
    assert!(grid.as_f64().unwrap() > 1.0, "{}", endpoints[2]);
    for plot in ["capacity.png", "capacity-throughput.png"] {
        assert!(out.join(plot).is_file(), "no {plot}");
    }
}
