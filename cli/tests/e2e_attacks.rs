//! End to end, as an attacker on loopback tries it: the blog sample with the agent, offloading
//! every request to a platform of this test's own that hands each invocation to the attacker and
//! holds it (so its capability stays live) until the attacker is done; the request then runs on
//! the server. What must hold:
//!
//! - without a capability, the fallback port gives nothing: connections that present no valid
//!   hello are closed with one and the same refusal, whatever was wrong (so probing invocation
//!   ids learns nothing), and a flood of them plus one that tries 300 streams leaves the
//!   service's resident memory within 50 MB of its baseline;
//! - with a stolen capability, the server serves only the application's own code: its
//!   configuration (`application.properties`), the agent's and the JDK's classes are withheld by
//!   name; a method the closure's code never calls is refused on every live reference; a
//!   `ProcessBuilder` sent as an argument, and a harmless class of the blog's marked
//!   `@CodecForbidden`, are refused by name before anything of them is built; and
//!   300 streams of the largest frames still leave the service within 50 MB;
//! - the admin endpoint answers 401 without its token and 403 under a foreign `Host`, and its
//!   `/stats` counts every refusal above.
//!
//! Real processes: the blog jar with the agent; the attacker is raw quinn. Bounded: each attack
//! runs for seconds. Needs `make build`.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{body::Bytes, extract::State, routing::post, Router};
use semifaas_admin_token::{read_token_file, token_file_locations};
use semifaas_cli::harness::Admin;
use semifaas_cli::harness::{Dist, HttpClient, Request, ServiceOptions, ServiceProcess};
use semifaas_closure::outcome_tag;
use semifaas_closure::{
    Capability, FailureKind, FunctionFailure, FunctionStats, Invocation, InvocationKind,
    InvocationOutcome, InvocationReply,
};
use semifaas_fallback::{
    protocol::{encode_hello, CLOSE_UNAUTHENTICATED, HELLO_ACCEPTED, REQUEST_FRAME_MAX},
    tls, FallbackClient, FallbackClientError, JarHash,
};
use tokio::sync::{mpsc, Notify};

/// How far above its baseline the service's resident memory may go under attack.
const RSS_MARGIN: u64 = 50 * 1024 * 1024;

fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-logs")
        .join(test)
}

/// A Lambda Invoke API that gives every real invocation to the test and answers it with a
/// failure (so the agent runs the handler itself) once released; prewarms succeed at once.
#[derive(Clone)]
struct HeldPlatform {
    captured: mpsc::UnboundedSender<Invocation>,
    hold: Arc<AtomicBool>,
    release: Arc<Notify>,
}

fn failed() -> InvocationOutcome {
    InvocationOutcome::Failed(FunctionFailure {
        kind: FailureKind::Runtime,
        message: "this platform runs nothing".into(),
    })
}

async fn invoke(State(platform): State<HeldPlatform>, body: Bytes) -> Vec<u8> {
    let invocation = Invocation::from_lambda_payload(&body).expect("the agent sends invocations");
    let outcome = match invocation.kind {
        InvocationKind::Prewarm { .. } => InvocationOutcome::Returned(vec![]),
        // Only the invocations the test is waiting for, not the harness's health checks.
        InvocationKind::Call
            if platform.hold.load(Ordering::SeqCst)
                && invocation.handler_key.ends_with("#list") =>
        {
            let _ = platform.captured.send(invocation);
            let _ =
                tokio::time::timeout(Duration::from_secs(120), platform.release.notified()).await;
            failed()
        }
        InvocationKind::Call => failed(),
    };
    InvocationReply {
        outcome,
        stats: FunctionStats::default(),
    }
    .to_lambda_payload()
}

struct Platform {
    endpoint: String,
    invocations: mpsc::UnboundedReceiver<Invocation>,
    hold: Arc<AtomicBool>,
    release: Arc<Notify>,
}

async fn start_platform() -> Platform {
    let (captured, invocations) = mpsc::unbounded_channel();
    let state = HeldPlatform {
        captured,
        hold: Arc::default(),
        release: Arc::default(),
    };
    let (hold, release) = (state.hold.clone(), state.release.clone());
    let app = Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Platform {
        endpoint: format!("http://{addr}"),
        invocations,
        hold,
        release,
    }
}

async fn start_blog(dist: &Dist, endpoint: &str, logs: &std::path::Path) -> ServiceProcess {
    let mut options = ServiceOptions::new("blog", endpoint);
    options.ratio = 1.0;
    options.settings.extend(
        [
            ("include", "io.semifaas.samples.blog"),
            ("min-cpu-ms", "0"),
            ("profile.samples", "0"),
            ("shadow.samples", "0"),
            // Every offload fails here (this platform runs nothing): keep offloading anyway.
            ("do-no-harm", "false"),
            // The held invocation's capability must outlive every attack.
            ("timeout-ms", "120000"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    ServiceProcess::start(dist, &options, logs).await.unwrap()
}

/// A quinn client endpoint that trusts the service's certificate (it is no secret: it travels
/// in every invocation).
fn attacker(fingerprint: [u8; 32]) -> quinn::Endpoint {
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(tls::client_config(fingerprint).unwrap());
    endpoint
}

/// Connects and presents `hello` (any bytes); the server's one-byte answer, if it gave one.
async fn try_hello(
    endpoint: &quinn::Endpoint,
    server: SocketAddr,
    name: &str,
    hello: &[u8],
) -> (Option<quinn::Connection>, Option<u8>) {
    let Ok(connecting) = endpoint.connect(server, name) else {
        return (None, None);
    };
    let Ok(connection) = connecting.await else {
        return (None, None);
    };
    let answer = async {
        let (mut send, mut recv) = connection.open_bi().await.ok()?;
        send.write_all(hello).await.ok()?;
        send.finish().ok()?;
        let mut answer = [0u8; 1];
        recv.read_exact(&mut answer).await.ok().map(|_| answer[0])
    }
    .await;
    (Some(connection), answer)
}

/// How the server ended a connection: close code and reason, or the transport error's text.
async fn how_closed(connection: &quinn::Connection) -> String {
    let closed = tokio::time::timeout(Duration::from_secs(10), connection.closed())
        .await
        .expect("the server closes a connection that did not authenticate within seconds");
    match closed {
        quinn::ConnectionError::ApplicationClosed(close) => format!(
            "code {} {:?}",
            close.error_code,
            String::from_utf8_lossy(&close.reason)
        ),
        other => other.to_string(),
    }
}

/// Samples the service's resident memory every 100 ms while `attack` runs; the highest seen.
async fn peak_rss_during(
    service: &ServiceProcess,
    attack: impl std::future::Future<Output = ()>,
) -> u64 {
    let mut peak = service.resident_bytes().unwrap();
    tokio::pin!(attack);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            () = &mut attack => break,
            _ = tick.tick() => peak = peak.max(service.resident_bytes().unwrap()),
        }
    }
    // What was allocated may show a moment later.
    for _ in 0..10 {
        tick.tick().await;
        peak = peak.max(service.resident_bytes().unwrap());
    }
    peak
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Opens up to `streams` streams on `connection`, each announcing the largest remote call and
/// sending junk towards it, never finishing; runs for `duration`.
async fn stream_flood(connection: quinn::Connection, streams: usize, duration: Duration) {
    let junk = vec![0x5Au8; 256 * 1024];
    let deadline = tokio::time::Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..streams {
        let connection = connection.clone();
        let junk = junk.clone();
        tasks.spawn(async move {
            let flood = async {
                let (mut send, _recv) = connection.open_bi().await.ok()?;
                let header = [&(REQUEST_FRAME_MAX as u32).to_be_bytes()[..], &[3]].concat();
                send.write_all(&header).await.ok()?;
                let mut sent = 0;
                while sent + junk.len() < REQUEST_FRAME_MAX {
                    send.write_all(&junk).await.ok()?;
                    sent += junk.len();
                }
                // Never the last bytes: the frame stays incomplete.
                std::future::pending::<()>().await;
                Some(())
            };
            let _ = tokio::time::timeout_at(deadline, flood).await;
        });
    }
    while tasks.join_next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fallback_port_gives_strangers_nothing_and_bounds_what_a_capability_holder_gets() {
    let dist = Dist::locate().unwrap();
    let logs = log_dir("attacks-fallback");
    let mut platform = start_platform().await;
    let service = start_blog(&dist, &platform.endpoint, &logs).await;
    let http = HttpClient::new(service.port);

    // Warm up the paths the attack touches (offload attempt, local run) before the baseline.
    for _ in 0..3 {
        let answer = http.send(&Request::get("/api/posts")).await.unwrap();
        assert_eq!(answer.status, 200);
    }

    // A request whose invocation the attacker holds: its capability stays in flight.
    platform.hold.store(true, Ordering::SeqCst);
    let victim = {
        let http = HttpClient::new(service.port);
        tokio::spawn(async move { http.send(&Request::get("/api/posts")).await })
    };
    let stolen = tokio::time::timeout(Duration::from_secs(30), platform.invocations.recv())
        .await
        .expect("the agent offloads the request")
        .unwrap();
    let fallback = stolen.fallback.clone();
    let server: SocketAddr = fallback.addr.parse().unwrap();
    let name = fallback.server_name.clone();
    let endpoint = attacker(fallback.cert_sha256);
    // The first offload also starts the agent's one-time work (it indexes the library jars on a
    // background thread): the baseline is taken once the service's memory has stopped growing.
    let baseline = {
        let mut last = service.resident_bytes().unwrap();
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = service.resident_bytes().unwrap();
            let settled = now.abs_diff(last) < 4 * 1024 * 1024;
            last = last.max(now);
            if settled {
                break;
            }
        }
        last
    };

    // 1. Probing ids: the stolen id with a wrong token, and 300 ids around it, all read alike.
    let admin = Admin::new(service.admin_port);
    let unauthenticated = |stats: &serde_json::Value| {
        stats["refused"]["unauthenticated_connections"]
            .as_u64()
            .unwrap()
    };
    let before_probes = unauthenticated(&admin.stats().await.unwrap());
    let refusal = format!("code {CLOSE_UNAUTHENTICATED} \"unauthenticated\"");
    let id = stolen.capability.invocation_id;
    // Ids start small: the 300 ids from 150 below the stolen one, or from 0.
    let first = id.saturating_sub(150);
    for probe in first..first + 300 {
        let capability = Capability {
            invocation_id: probe,
            token: rand_token(probe),
        };
        let (connection, answer) =
            try_hello(&endpoint, server, &name, &encode_hello(&capability)).await;
        assert_eq!(
            answer, None,
            "a guessed capability for invocation {probe} was accepted"
        );
        let connection = connection.expect("the handshake itself succeeds");
        assert_eq!(how_closed(&connection).await, refusal, "invocation {probe}");
    }
    let after_probes = unauthenticated(&admin.stats().await.unwrap());
    assert_eq!(
        after_probes - before_probes,
        300,
        "every probe is counted as an unauthenticated connection"
    );

    // 2. What the capability holder may ask for is its closure's own code and calls.
    let capability = stolen.capability;
    let client = FallbackClient::connect(&fallback, capability)
        .await
        .unwrap();
    let refused = |e: FallbackClientError| e.to_string();
    let properties = client
        .get_resource(capability, "application.properties")
        .await
        .map_err(refused)
        .expect_err("the application's configuration is withheld");
    assert!(
        properties.contains(
            "resource application.properties is withheld: it matches 'application*.properties'"
        ),
        "{properties}"
    );
    let agent_class = client
        .load_class(capability, "io.semifaas.agent.NativeBridge")
        .await
        .map_err(refused)
        .expect_err("the agent's classes are withheld");
    assert!(
        agent_class.contains("is the agent's, not the application's code"),
        "{agent_class}"
    );
    let jdk_class = client
        .load_class(capability, "java.lang.Runtime")
        .await
        .map_err(refused)
        .expect_err("the JDK's classes are withheld");
    assert!(
        jdk_class.contains("class java.lang.Runtime is withheld: it is not the application's code"),
        "{jdk_class}"
    );
    // References are small sequential ids: find the live ones with a method the closure's code
    // never calls. Each is refused by name, and nothing runs.
    let mut live = Vec::new();
    for ref_id in 1..=64 {
        let outcome = client
            // Each call numbered on its own, as a function numbers its calls.
            .invoke_remote(
                capability,
                ref_id as u32,
                ref_id,
                "notifyAll",
                "()V",
                EMPTY_ARGS.to_vec(),
            )
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&outcome[1..]).into_owned();
        assert_eq!(outcome[0], outcome_tag::FAILED, "ref {ref_id}: {text}");
        if text.starts_with("remote call refused: ") {
            assert!(
                text.contains(
                    "#notifyAll()V is not called by the closure's code; to allow it, add "
                ),
                "{text}"
            );
            live.push(ref_id);
        } else {
            assert!(
                text.contains("was not exported to this invocation"),
                "{text}"
            );
        }
    }
    assert!(
        !live.is_empty(),
        "the closure's receiver exports references"
    );
    // A call every proxy makes (equals) carrying a ProcessBuilder: the class is refused by name
    // before anything of it is built.
    let outcome = client
        .invoke_remote(
            capability,
            65,
            live[0],
            "equals",
            "(Ljava/lang/Object;)Z",
            PROCESS_BUILDER_ARGS.to_vec(),
        )
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&outcome[1..]).into_owned();
    assert_eq!(outcome[0], outcome_tag::FAILED, "{text}");
    assert!(
        text.contains("the input holds a java.lang.ProcessBuilder, which is never decoded"),
        "{text}"
    );
    assert!(!std::path::Path::new(PWNED).exists());
    // The same for a harmless class of the blog's that it marks as never to be decoded.
    let command = "io.semifaas.samples.blog.maintenance.ReindexCommand";
    let outcome = client
        .invoke_remote(
            capability,
            66,
            live[0],
            "equals",
            "(Ljava/lang/Object;)Z",
            one_object_of(command),
        )
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&outcome[1..]).into_owned();
    assert!(
        text.contains(&format!(
            "the input holds a {command} (marked @CodecForbidden), which is never decoded"
        )),
        "{text}"
    );

    // Library jars: the manifest lists the application's libraries, never the agent's code;
    // a jar comes by its hash only, and an unknown hash or a read past the end is refused.
    let manifest = client.library_manifest(capability).await.unwrap();
    assert!(manifest.len() >= 10, "{} library jars", manifest.len());
    let packages: Vec<&String> = manifest.iter().flat_map(|jar| &jar.packages).collect();
    assert!(packages
        .iter()
        .any(|p| p.as_str() == "org.springframework.web.bind.annotation"));
    assert!(
        packages.iter().all(|p| !p.starts_with("io.semifaas.")),
        "the agent's or the application's own packages are never in a library jar"
    );
    let jar = &manifest[0];
    let (total, chunk) = client
        .library_jar_chunk(capability, jar.sha256, 0)
        .await
        .unwrap();
    assert_eq!(total, jar.size);
    assert_eq!(&chunk[..4], b"PK\x03\x04", "a jar is a zip file");
    let unknown = JarHash([0xee; 32]);
    let refusal = client
        .library_jar_chunk(capability, unknown, 0)
        .await
        .map_err(refused)
        .expect_err("an unknown hash is refused");
    assert!(
        refusal.contains(&format!(
            "library jar {unknown} is not in this server's library manifest"
        )),
        "{refusal}"
    );
    let past_end = client
        .library_jar_chunk(capability, jar.sha256, jar.size + 1)
        .await
        .map_err(refused)
        .expect_err("an offset past the end is refused");
    assert!(past_end.contains("is past its end"), "{past_end}");

    // 3. Strangers: 200 connections that say nothing or junk, and one that asks for 300
    // streams, at once. The first stream is all an unauthenticated connection gets.
    let started = Instant::now();
    let peak = peak_rss_during(&service, async {
        let mut tasks = tokio::task::JoinSet::new();
        // Connected first, so the server's cap on unauthenticated connections does not refuse it.
        let flood = endpoint.connect(server, &name).unwrap().await.unwrap();
        tasks.spawn(async move {
            stream_flood(flood.clone(), 300, Duration::from_secs(6)).await;
            assert!(
                flood.close_reason().is_some(),
                "the stream flood was not closed"
            );
        });
        // Beyond the cap, connections are refused in the handshake: also nothing gained.
        for i in 0..200u32 {
            let (endpoint, name) = (endpoint.clone(), name.clone());
            tasks.spawn(async move {
                let hello = if i % 2 == 0 { vec![] } else { vec![0xEE; 28] };
                let (connection, answer) = try_hello(&endpoint, server, &name, &hello).await;
                assert_eq!(answer, None);
                if let Some(connection) = connection {
                    how_closed(&connection).await;
                }
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.unwrap();
        }
    })
    .await;
    eprintln!(
        "strangers: {:.1} s, baseline {:.0} MiB, peak {:.0} MiB",
        started.elapsed().as_secs_f64(),
        mib(baseline),
        mib(peak)
    );
    assert!(
        peak < baseline + RSS_MARGIN,
        "unauthenticated connections took the service from {:.0} MiB to {:.0} MiB",
        mib(baseline),
        mib(peak)
    );

    // 4. The capability holder: 300 streams of the largest frames on an authenticated
    // connection. Back-pressure, not growth.
    let (connection, answer) =
        try_hello(&endpoint, server, &name, &encode_hello(&stolen.capability)).await;
    assert_eq!(
        answer,
        Some(HELLO_ACCEPTED),
        "the stolen capability is live"
    );
    let connection = connection.unwrap();
    let peak = peak_rss_during(
        &service,
        stream_flood(connection, 300, Duration::from_secs(8)),
    )
    .await;
    eprintln!(
        "capability holder: baseline {:.0} MiB, peak {:.0} MiB",
        mib(baseline),
        mib(peak)
    );
    assert!(
        peak < baseline + RSS_MARGIN,
        "300 streams took the service from {:.0} MiB to {:.0} MiB",
        mib(baseline),
        mib(peak)
    );

    // 5. The admin endpoint: nothing without the token, nothing under a foreign Host (DNS
    // rebinding), and what was refused above is counted.
    let raw = reqwest::Client::builder().no_proxy().build().unwrap();
    let admin_addr: SocketAddr = ([127, 0, 0, 1], service.admin_port).into();
    let base = format!("http://{admin_addr}");
    let token = token_file_locations(admin_addr)
        .iter()
        .find_map(|file| read_token_file(file).ok())
        .expect("the agent wrote its token file");
    for (method, path) in [
        ("GET", "/stats"),
        ("PUT", "/ratio"),
        ("POST", "/prewarm?instances=256"),
    ] {
        let request = raw.request(method.parse().unwrap(), format!("{base}{path}"));
        let status = request.body("0").send().await.unwrap().status();
        assert_eq!(status.as_u16(), 401, "{method} {path} without the token");
    }
    let rebound = raw
        .get(format!("{base}/stats"))
        .bearer_auth(&token)
        .header("Host", format!("attacker.example:{}", service.admin_port))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(rebound.as_u16(), 403, "a foreign Host");
    let stats = admin.stats().await.unwrap();
    let refused = &stats["refused"];
    // The strangers add to it, those the connection caps refused in the handshake excepted.
    assert!(unauthenticated(&stats) > after_probes, "{refused}");
    assert!(
        refused["remote_calls"].as_u64().unwrap() >= live.len() as u64,
        "{refused}"
    );
    assert_eq!(refused["classes"].as_u64(), Some(2), "{refused}");
    assert_eq!(refused["resources"].as_u64(), Some(1), "{refused}");
    assert!(
        refused["bad_frames"].as_u64().unwrap() > 0,
        "the flood's frames: {refused}"
    );

    // The victim's request is answered all the same, by the server.
    platform.hold.store(false, Ordering::SeqCst);
    platform.release.notify_waiters();
    let answer = victim.await.unwrap().unwrap();
    assert_eq!(answer.status, 200);
    assert!(http.send(&Request::get("/api/posts")).await.unwrap().status == 200);
}

/// The codec's bytes of an empty argument array (`new Object[0]`).
const EMPTY_ARGS: &[u8] = &[
    0x01, 0x00, 0x5b, 0x4c, 0x6a, 0x61, 0x76, 0x61, 0x2e, 0x6c, 0x61, 0x6e, 0x67, 0x2e, 0x4f, 0x62,
    0x6a, 0x65, 0x63, 0x74, 0xbb, 0x01, 0x01,
];

/// The codec's bytes of `new Object[] {x}` for an `x` of class `name` without fields: Kryo's
/// class-by-name marker and name id, then the name in ASCII with its last byte's high bit set.
fn one_object_of(name: &str) -> Vec<u8> {
    let mut bytes = EMPTY_ARGS[..EMPTY_ARGS.len() - 1].to_vec();
    bytes.extend_from_slice(&[0x02, 0x01, 0x01]); // one element, named class, name id 1
    let mut ascii = name.as_bytes().to_vec();
    *ascii.last_mut().unwrap() |= 0x80;
    bytes.extend_from_slice(&ascii);
    bytes.push(0x01); // a new object (no fields follow)
    bytes
}

/// What a ProcessBuilder would create, had it been built and started.
const PWNED: &str = "/tmp/semifaas-pwned";

/// The codec's bytes of `new Object[] {new ProcessBuilder("touch", "/tmp/semifaas-pwned")}`, as
/// the runtime's `ObjectCodec.serialize` writes them (class names in ASCII, the last character of
/// each with its high bit set).
#[rustfmt::skip]
const PROCESS_BUILDER_ARGS: &[u8] = &[0x01, 0x00, 0x5b, 0x4c, 0x6a, 0x61, 0x76, 0x61, 0x2e, 0x6c, 0x61, 0x6e, 0x67, 0x2e, 0x4f, 0x62, 0x6a, 0x65, 0x63, 0x74, 0xbb, 0x01, 0x02, 0x01, 0x01, 0x6a, 0x61, 0x76, 0x61, 0x2e, 0x6c, 0x61, 0x6e, 0x67, 0x2e, 0x50, 0x72, 0x6f, 0x63, 0x65, 0x73, 0x73, 0x42, 0x75, 0x69, 0x6c, 0x64, 0x65, 0xf2, 0x01, 0x01, 0x02, 0x6a, 0x61, 0x76, 0x61, 0x2e, 0x75, 0x74, 0x69, 0x6c, 0x2e, 0x41, 0x72, 0x72, 0x61, 0x79, 0x4c, 0x69, 0x73, 0xf4, 0x01, 0x03, 0x01, 0x74, 0x6f, 0x75, 0x63, 0xe8, 0x01, 0x2f, 0x74, 0x6d, 0x70, 0x2f, 0x73, 0x65, 0x6d, 0x69, 0x66, 0x61, 0x61, 0x73, 0x2d, 0x70, 0x77, 0x6e, 0x65, 0xe4, 0x00, 0x00, 0x00, 0x00];

/// A token nobody was given (the probe's own bytes, never the server's random ones).
fn rand_token(seed: u64) -> [u8; 16] {
    let mut token = [0u8; 16];
    token[..8].copy_from_slice(&seed.to_le_bytes());
    token[8..].copy_from_slice(&(!seed).to_le_bytes());
    token
}
