//! OpenWhisk's own ways for an offload to end, through the bundled platform's OpenWhisk API
//! (`semifaas local --api openwhisk`) with real `bootstrap --openwhisk` instances, and
//! `semifaas deploy --platform openwhisk` against it. Needs `make build`.
//!
//! - A blocking invocation that outlasts the controller's wait is answered 202 while the
//!   activation goes on: the request runs on the server, and the late activation can neither
//!   write nor answer for it: the blog post is written once.
//! - Credentials the platform refuses (401) and an action it does not have (404) cost one round
//!   trip: offloading pauses with what to do, and every later request runs locally at once.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::Method;
use semifaas_cli::harness::image_service::offload_everything;
use semifaas_cli::harness::{
    Admin, Browser, Dist, FaasLocalProcess, HttpClient, PlatformApi, Request, ServiceOptions,
    ServiceProcess,
};
use serde_json::Value;

const FUNCTION: &str = "semifaas";

fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-logs")
        .join(test)
}

fn count(stats: &Value, pointer: &str) -> u64 {
    stats
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no {pointer} in {stats}"))
}

/// The blog's post titles, through its JSON API.
async fn titles(browser: &mut Browser) -> Vec<String> {
    let list = browser.get("/api/posts").await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.json()
        .as_array()
        .expect("a list of posts")
        .iter()
        .map(|p| p["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_activation_writes_nothing_and_refused_credentials_cost_one_round_trip() {
    let dist = Dist::locate().unwrap();
    let logs = log_dir("openwhisk");
    // A blocking wait of 0 s: every blocking invocation is answered 202 at once, while its
    // activation starts an instance and runs.
    let platform = FaasLocalProcess::start_api(
        &dist,
        FUNCTION,
        PlatformApi::Openwhisk,
        &["--concurrency", "2", "--blocking-wait-secs", "0"],
        None,
        &logs,
    )
    .await
    .unwrap();

    // Three services at once: the blog on the 202 platform, and two image services whose agents
    // have wrong credentials and a wrong action name.
    let mut blog_options = ServiceOptions::for_platform("blog", &platform);
    blog_options.ratio = 1.0;
    blog_options.settings.extend(
        [
            ("include", "io.semifaas.samples.blog"),
            ("min-cpu-ms", "0"),
            ("profile.samples", "0"),
            ("do-no-harm", "false"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let mut bad_auth = offload_everything(ServiceOptions::for_platform("image-service", &platform));
    bad_auth.settings.push((
        "openwhisk.auth".into(),
        "semifaas-harness:not-the-key".into(),
    ));
    // This one finds the platform as `wsk` would: in the properties file WSK_CONFIG_FILE names.
    let props = logs.join("wskprops");
    std::fs::write(
        &props,
        format!(
            "APIHOST={}\nAUTH={}\nNAMESPACE=guest\n",
            platform.endpoint(),
            platform.openwhisk_auth()
        ),
    )
    .unwrap();
    let mut no_action = offload_everything(ServiceOptions::new("image-service", ""));
    no_action.settings.extend(
        [("platform", "openwhisk"), ("function", "tools/nosuch")]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    no_action
        .env
        .push(("WSK_CONFIG_FILE".into(), props.display().to_string()));
    let (blog, bad_auth, no_action) = tokio::join!(
        ServiceProcess::start(&dist, &blog_options, &logs),
        ServiceProcess::start(&dist, &bad_auth, &logs),
        ServiceProcess::start(&dist, &no_action, &logs),
    );
    let (blog, bad_auth, no_action) = (blog.unwrap(), bad_auth.unwrap(), no_action.unwrap());

    // 202: the post is created once, by the server, and the request succeeds.
    let mut browser = Browser::new(blog.port);
    let login = browser
        .form("/login", &[("username", "alice"), ("password", "alice")])
        .await;
    assert_eq!(login.status, 200, "login: {}", login.body);
    let before = titles(&mut browser).await;
    let created = browser
        .json(
            Method::POST,
            "/api/posts",
            r#"{"title":"Written once","body":"whatever the platform says"}"#,
        )
        .await;
    assert_eq!(
        created.status,
        201,
        "create: {}\n{}",
        created.body,
        blog.log()
    );
    let admin = Admin::new(blog.admin_port);
    let stats = admin.stats().await.unwrap();
    let handler = "io.semifaas.samples.blog.web.PostApiController#create";
    assert_eq!(
        count(
            &stats,
            &format!("/handlers/{handler}/failure_reasons/timeout")
        ),
        1,
        "the create's offload was answered 202, a timeout: {stats}"
    );
    assert_eq!(count(&stats, &format!("/handlers/{handler}/local")), 1);
    assert_eq!(count(&stats, "/totals/offloaded"), 0, "{stats}");
    // The late activations call back after their invocations left the flight table (or, racing
    // the 202, fetch the closure just before): refused at the handshake or at their next call,
    // so none of them runs a handler or writes.
    let refused = |stats: &Value| {
        count(stats, "/refused/unauthenticated_connections")
            + count(stats, "/refused/not_in_flight")
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut stats = admin.stats().await.unwrap();
    while refused(&stats) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        stats = admin.stats().await.unwrap();
    }
    assert!(
        refused(&stats) >= 1,
        "a late activation called back and was refused: {stats}\n{}",
        platform.log()
    );
    assert_eq!(count(&stats, "/totals/fallbacks/invoke"), 0, "{stats}");
    let after = titles(&mut browser).await;
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert_eq!(
        after.iter().filter(|t| *t == "Written once").count(),
        1,
        "{after:?}"
    );
    assert_eq!(count(&stats, "/totals/abandoned"), 0, "{stats}");

    // 401 and 404: one round trip each, then the pause; every request is answered locally.
    for (service, reason, remedy) in [
        (&bad_auth, "bad_credentials", "semifaas.openwhisk.auth"),
        (
            &no_action,
            "function_not_found",
            "semifaas deploy --platform openwhisk",
        ),
    ] {
        // Offloading starts now, so the five requests fall within the first pause (5 s): the
        // first meets the refusal, the others run locally without a round trip.
        let admin = Admin::new(service.admin_port);
        admin.set_ratio(1.0).await.unwrap();
        let http = HttpClient::new(service.port);
        for seed in 0..5 {
            let request = Request::get(&format!("/images/thumbnails/2?seed={seed}&size=16"));
            let exchange = http.send(&request).await.unwrap();
            assert_eq!(exchange.status, 200, "{reason}: {}", service.log());
        }
        let stats = admin.stats().await.unwrap();
        assert_eq!(
            count(&stats, &format!("/totals/failure_reasons/{reason}")),
            1,
            "one round trip, then no more: {stats}"
        );
        assert_eq!(count(&stats, "/totals/failures"), 1, "{stats}");
        // The readiness probe's /health and the five thumbnails: all run on the server.
        assert_eq!(count(&stats, "/totals/invocations"), 6, "{stats}");
        assert_eq!(count(&stats, "/totals/local"), 6, "{stats}");
        assert_eq!(stats["platform"]["state"], "paused", "{stats}");
        assert!(
            stats["platform"]["remedy"]
                .as_str()
                .is_some_and(|r| r.contains(remedy)),
            "{stats}"
        );
        let log = service.log();
        assert_eq!(
            log.matches("offloading paused").count(),
            1,
            "logged once, with what to do:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_creates_the_action_and_writes_the_image_build_context() {
    let dist = Dist::locate().unwrap();
    let logs = log_dir("openwhisk-deploy");
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openwhisk-deploy");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let platform =
        FaasLocalProcess::start_api(&dist, FUNCTION, PlatformApi::Openwhisk, &[], None, &logs)
            .await
            .unwrap();
    let zip = work.join("function.zip");
    package_of_dist(&dist, &zip);
    let context = work.join("image");
    let deploy = |extra: &[&str]| {
        Command::new(dist.semifaas().unwrap())
            .args(["deploy", "--platform", "openwhisk", "--apihost"])
            .arg(platform.endpoint())
            .args([
                "--auth",
                platform.openwhisk_auth(),
                "--function",
                "tools/deployed",
            ])
            .args(["--image", "registry.example.com/semifaas:1", "--package"])
            .arg(&zip)
            .arg("--context")
            .arg(&context)
            .args(extra)
            // Whatever this machine's wsk properties say, the flags win.
            .env("WSK_CONFIG_FILE", work.join("no-wskprops"))
            .output()
            .unwrap()
    };

    let dry = deploy(&["--dry-run"]);
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(
        out.contains("docker build -t registry.example.com/semifaas:1")
            && out.contains("docker push registry.example.com/semifaas:1")
            && out.contains("/api/v1/namespaces/_/packages/tools")
            && out.contains("/api/v1/namespaces/_/actions/tools/deployed?overwrite=true")
            && out.contains(r#""kind":"blackbox""#),
        "{out}"
    );
    assert!(context.join("Dockerfile").is_file());
    assert_eq!(
        std::fs::read(context.join("semifaas-function.zip")).unwrap(),
        std::fs::read(&zip).unwrap()
    );
    assert!(
        platform.stats().await.unwrap()["functions"]["tools/deployed"].is_null(),
        "a dry run creates nothing"
    );

    let real = deploy(&[]);
    let out = String::from_utf8_lossy(&real.stdout);
    assert!(
        real.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&real.stderr)
    );
    assert!(
        out.contains("smoke invocation of tools/deployed: JVM"),
        "{out}"
    );
    assert!(
        out.contains("set semifaas.platform=openwhisk and semifaas.function=tools/deployed"),
        "{out}"
    );
    let stats = platform.stats().await.unwrap();
    assert_eq!(
        stats["functions"]["tools/deployed"]["cold_starts"], 1,
        "the smoke invocation started the action's first instance: {stats}"
    );

    // Refused credentials are named with what to do.
    let refused = Command::new(dist.semifaas().unwrap())
        .args(["deploy", "--platform", "openwhisk", "--apihost"])
        .arg(platform.endpoint())
        .args(["--auth", "someone:wrong", "--package"])
        .arg(&zip)
        .arg("--context")
        .arg(&context)
        .env("WSK_CONFIG_FILE", work.join("no-wskprops"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(err.contains("HTTP 401") && err.contains("--auth"), "{err}");
}

/// A package of `dist/bootstrap` and the runtime jar (no Java runtime: the platform's instances
/// find the machine's).
fn package_of_dist(dist: &Dist, zip: &std::path::Path) {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::fs::File::create(zip).unwrap());
    for (name, mode) in [("bootstrap", 0o755), ("semifaas-runtime.jar", 0o644)] {
        writer
            .start_file(
                name,
                zip::write::SimpleFileOptions::default().unix_permissions(mode),
            )
            .unwrap();
        writer
            .write_all(&std::fs::read(dist.root().join(name)).unwrap())
            .unwrap();
    }
    writer.finish().unwrap();
}
