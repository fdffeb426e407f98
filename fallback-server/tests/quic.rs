//! The fallback protocol over real QUIC on loopback: a server with a test service, the
//! library's client, and a raw quinn client that sends bad frames.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use semifaas_closure::{
    limits::LIBRARY_JAR_CHUNK, Capability, Closure, ClosureId, HandlerRef, NamedBytes,
};
use semifaas_fallback::{
    protocol::{
        decode_response, encode_hello, encode_request, split_frame, Direction,
        CLOSE_UNAUTHENTICATED, HELLO_ACCEPTED, NAMED_REQUEST_MAX, REQUEST_FRAME_MAX,
        RESPONSE_FRAME_MAX, UNAUTHENTICATED_REASON,
    },
    server::ServerLimits,
    tls, FallbackClient, FallbackClientError, FallbackErrorKind, FallbackRequest, FallbackResponse,
    FallbackServer, FallbackServerError, FallbackService, JarHash, LibraryJarEntry, RequestFrame,
};

const CAPABILITY: Capability = Capability {
    invocation_id: 42,
    token: [7; 16],
};
const CLASS_MAGIC: [u8; 4] = [0xCA, 0xFE, 0xBA, 0xBE];

/// Knows one invocation, one closure, a few classes and resources. Classes under
/// `generated.` are made up from their name so many distinct requests can be checked.
struct TestService {
    closure: Closure,
    classes: HashMap<String, Vec<u8>>,
    resources: HashMap<String, Vec<u8>>,
    handled: AtomicUsize,
}

impl FallbackService for TestService {
    fn authenticate(&self, capability: &Capability) -> bool {
        *capability == CAPABILITY
    }

    fn handle(&self, capability: &Capability, request: FallbackRequest) -> FallbackResponse {
        self.handled.fetch_add(1, Ordering::SeqCst);
        if *capability != CAPABILITY {
            return FallbackResponse::error(
                FallbackErrorKind::Unauthorized,
                format!("invocation {} is not in flight", capability.invocation_id),
            );
        }
        match request {
            FallbackRequest::FetchClosure { id } if id == self.closure.id() => {
                FallbackResponse::Closure(self.closure.clone())
            }
            FallbackRequest::FetchClosure { id } => {
                FallbackResponse::error(FallbackErrorKind::NotFound, format!("no closure {id}"))
            }
            FallbackRequest::LoadClass { name } if name == "explode" => {
                panic!("test service asked to fail")
            }
            FallbackRequest::LoadClass { name } if name == "generated.Huge" => {
                FallbackResponse::Class(Some(vec![0; RESPONSE_FRAME_MAX]))
            }
            FallbackRequest::LoadClass { name } if name.starts_with("generated.") => {
                FallbackResponse::Class(Some(class_bytes(&name)))
            }
            FallbackRequest::LoadClass { name } => {
                FallbackResponse::Class(self.classes.get(&name).cloned())
            }
            FallbackRequest::GetResource { name } => {
                FallbackResponse::Resource(self.resources.get(&name).cloned())
            }
            // Reference 1 echoes its arguments behind a "returned" tag; others are unknown.
            FallbackRequest::InvokeRemote {
                ref_id: 1, args, ..
            } => FallbackResponse::Invoked([&[0u8][..], &args].concat()),
            FallbackRequest::InvokeRemote { ref_id, .. } => FallbackResponse::Invoked(
                [
                    &[2u8][..],
                    format!("no remote reference {ref_id}").as_bytes(),
                ]
                .concat(),
            ),
            FallbackRequest::LibraryManifest => {
                FallbackResponse::LibraryManifest(vec![LibraryJarEntry {
                    sha256: LIBRARY_JAR_HASH,
                    size: library_jar().len() as u64,
                    packages: vec!["org.example.lib".into()],
                }])
            }
            FallbackRequest::LibraryJar { sha256, offset } if sha256 == LIBRARY_JAR_HASH => {
                let jar = library_jar();
                let start = offset as usize;
                let end = (start + LIBRARY_JAR_CHUNK).min(jar.len());
                FallbackResponse::LibraryJarChunk {
                    total: jar.len() as u64,
                    bytes: jar[start..end].to_vec(),
                }
            }
            FallbackRequest::LibraryJar { sha256, .. } => FallbackResponse::error(
                FallbackErrorKind::NotFound,
                format!("library jar {sha256} is not in this server's library manifest"),
            ),
            FallbackRequest::LibraryClassesDefined { names } => {
                FallbackResponse::LibraryClassesRecorded(names.len() as u32)
            }
        }
    }
}

const LIBRARY_JAR_HASH: JarHash = JarHash([0x5a; 32]);

/// A "jar" of two and a half chunks: its bytes say where they are.
fn library_jar() -> Vec<u8> {
    (0..LIBRARY_JAR_CHUNK * 5 / 2)
        .map(|i| (i / 4096) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_jars_come_in_bounded_chunks_and_unknown_hashes_are_refused() {
    let fixture = start_server();
    let client = connect(&fixture).await;
    let manifest = client.library_manifest(CAPABILITY).await.unwrap();
    assert_eq!(manifest.len(), 1);
    let mut fetched = Vec::new();
    let mut requests = 0;
    while (fetched.len() as u64) < manifest[0].size {
        let (total, chunk) = client
            .library_jar_chunk(CAPABILITY, manifest[0].sha256, fetched.len() as u64)
            .await
            .unwrap();
        assert_eq!(total, manifest[0].size);
        assert!(chunk.len() <= LIBRARY_JAR_CHUNK);
        fetched.extend_from_slice(&chunk);
        requests += 1;
    }
    assert_eq!(fetched, library_jar());
    assert_eq!(requests, 3, "two full chunks and a half one");

    let unknown = JarHash([1; 32]);
    match client.library_jar_chunk(CAPABILITY, unknown, 0).await {
        Err(FallbackClientError::Refused { error, .. }) => {
            assert_eq!(error.kind, FallbackErrorKind::NotFound);
            assert!(error.message.contains(&unknown.to_string()), "{error}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    let names = vec!["org.example.lib.A".to_string(), "org.example.lib.B".into()];
    assert_eq!(
        client
            .library_classes_defined(CAPABILITY, names)
            .await
            .unwrap(),
        2
    );
    // An empty report is malformed: the client sends it, the server's decoder refuses it.
    match client.library_classes_defined(CAPABILITY, vec![]).await {
        Err(FallbackClientError::Refused { error, .. }) => {
            assert_eq!(error.kind, FallbackErrorKind::Malformed);
            assert!(error.message.contains("names 0 classes"), "{error}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    fixture.server.shutdown().await;
}

fn class_bytes(name: &str) -> Vec<u8> {
    [&CLASS_MAGIC[..], name.as_bytes()].concat()
}

fn test_closure() -> Closure {
    Closure {
        handler: HandlerRef {
            class_name: "com.example.ImageController".into(),
            method_name: "resize".into(),
            descriptor: "(I[B)[B".into(),
        },
        receiver: vec![5; 1000],
        classes: vec![NamedBytes {
            name: "com.example.ImageController".into(),
            bytes: class_bytes("com.example.ImageController"),
        }],
        resources: vec![NamedBytes {
            name: "application.properties".into(),
            bytes: b"a=b".to_vec(),
        }],
    }
}

struct Fixture {
    server: FallbackServer,
    service: Arc<TestService>,
}

fn start_server() -> Fixture {
    start_server_with(ServerLimits::default())
}

fn start_server_with(limits: ServerLimits) -> Fixture {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let service = Arc::new(TestService {
        closure: test_closure(),
        classes: HashMap::from([(
            "com.example.Helper".to_owned(),
            class_bytes("com.example.Helper"),
        )]),
        resources: HashMap::from([("static/logo.svg".to_owned(), b"<svg/>".to_vec())]),
        handled: AtomicUsize::new(0),
    });
    let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server =
        FallbackServer::start_with(bind, "semifaas-fallback", service.clone(), limits).unwrap();
    Fixture { server, service }
}

async fn connect(fixture: &Fixture) -> FallbackClient {
    FallbackClient::connect(&fixture.server.endpoint("127.0.0.1"), CAPABILITY)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_closure_round_trips() {
    let fixture = start_server();
    let client = connect(&fixture).await;
    let closure = test_closure();

    let fetched = client
        .fetch_closure(CAPABILITY, closure.id())
        .await
        .unwrap();
    assert_eq!(fetched, closure);

    let raw = client
        .request(
            CAPABILITY,
            FallbackRequest::FetchClosure { id: closure.id() },
        )
        .await
        .unwrap();
    assert_eq!(raw, FallbackResponse::Closure(closure));

    let missing = ClosureId([1; 32]);
    match client.fetch_closure(CAPABILITY, missing).await {
        Err(FallbackClientError::Refused { error, .. }) => {
            assert_eq!(error.kind, FallbackErrorKind::NotFound);
            assert!(error.message.contains(&missing.to_string()), "{error}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    fixture.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_class_and_get_resource_found_and_not_found() {
    let fixture = start_server();
    let client = connect(&fixture).await;

    let found = client
        .load_class(CAPABILITY, "com.example.Helper")
        .await
        .unwrap();
    assert_eq!(found, Some(class_bytes("com.example.Helper")));
    let missing = client
        .load_class(CAPABILITY, "com.example.Missing")
        .await
        .unwrap();
    assert_eq!(missing, None);

    let resource = client
        .get_resource(CAPABILITY, "static/logo.svg")
        .await
        .unwrap();
    assert_eq!(resource.as_deref(), Some(&b"<svg/>"[..]));
    assert_eq!(
        client.get_resource(CAPABILITY, "nope.txt").await.unwrap(),
        None
    );
    assert_eq!(fixture.service.handled.load(Ordering::SeqCst), 4);
    fixture.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_remote_returns_the_servers_outcome_bytes() {
    let fixture = start_server();
    let client = connect(&fixture).await;

    let big_args = vec![7u8; 200 * 1024];
    let outcome = client
        .invoke_remote(
            CAPABILITY,
            1,
            1,
            "save",
            "(Ljava/lang/Object;)V",
            big_args.clone(),
        )
        .await
        .unwrap();
    assert_eq!(outcome[0], 0);
    assert_eq!(&outcome[1..], &big_args[..], "arguments over 64 KiB cross");

    let refused = client
        .invoke_remote(CAPABILITY, 1, 9, "get", "()I", vec![])
        .await
        .unwrap();
    assert_eq!(refused, b"\x02no remote reference 9");

    let err = client
        .invoke_remote(CAPABILITY, 1, 1, "get", "not a descriptor", vec![])
        .await
        .unwrap_err();
    let FallbackClientError::Refused { error, .. } = &err else {
        panic!("expected a refusal, got {err}");
    };
    assert_eq!(error.kind, FallbackErrorKind::Malformed);
    assert!(
        err.to_string().contains("not a JVM method descriptor"),
        "{err}"
    );

    // The connection stays usable after the refusal.
    let outcome = client
        .invoke_remote(CAPABILITY, 1, 1, "get", "()I", vec![5])
        .await
        .unwrap();
    assert_eq!(outcome, [0, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_capability_is_unauthorized() {
    let fixture = start_server();
    let client = connect(&fixture).await;
    let stranger = Capability {
        invocation_id: 43,
        token: [0; 16],
    };

    let response = client
        .request(
            stranger,
            FallbackRequest::LoadClass {
                name: "com.example.Helper".into(),
            },
        )
        .await
        .unwrap();
    match response {
        FallbackResponse::Error(error) => {
            assert_eq!(error.kind, FallbackErrorKind::Unauthorized);
            assert!(error.message.contains("invocation 43"), "{error}");
        }
        other => panic!("expected an Unauthorized error, got {other:?}"),
    }

    let err = client
        .load_class(stranger, "com.example.Helper")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, FallbackClientError::Refused { error, .. } if error.kind == FallbackErrorKind::Unauthorized)
    );
    assert!(
        message.contains("load_class com.example.Helper"),
        "{message}"
    );
    assert!(
        message.contains(&fixture.server.endpoint("127.0.0.1").addr),
        "{message}"
    );
    fixture.server.shutdown().await;
}

/// A quinn connection that speaks to the server without the library's client, before its
/// hello.
async fn unauthenticated_connection(fixture: &Fixture) -> (quinn::Endpoint, quinn::Connection) {
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(tls::client_config(fixture.server.cert_sha256()).unwrap());
    let connection = endpoint
        .connect(fixture.server.local_addr(), "semifaas-fallback")
        .unwrap()
        .await
        .unwrap();
    (endpoint, connection)
}

/// Sends `hello` on the connection's first stream; the server's one-byte answer, if any.
async fn send_hello(connection: &quinn::Connection, hello: &[u8]) -> Option<u8> {
    let (mut send, mut recv) = connection.open_bi().await.ok()?;
    send.write_all(hello).await.ok()?;
    send.finish().ok()?;
    let mut answer = [0u8; 1];
    recv.read_exact(&mut answer).await.ok().map(|_| answer[0])
}

/// A raw connection that presented [`CAPABILITY`].
async fn raw_connection(fixture: &Fixture) -> (quinn::Endpoint, quinn::Connection) {
    let (endpoint, connection) = unauthenticated_connection(fixture).await;
    assert_eq!(
        send_hello(&connection, &encode_hello(&CAPABILITY)).await,
        Some(HELLO_ACCEPTED)
    );
    (endpoint, connection)
}

/// The close code and reason of a connection the server closed.
async fn closed_by_server(connection: &quinn::Connection) -> (quinn::VarInt, Vec<u8>) {
    match connection.closed().await {
        quinn::ConnectionError::ApplicationClosed(close) => {
            (close.error_code, close.reason.to_vec())
        }
        other => panic!("expected the server to close the connection, got {other}"),
    }
}

fn request_frame(tag: u8, body: &[u8]) -> Vec<u8> {
    [&(body.len() as u32).to_be_bytes()[..], &[tag], body].concat()
}

/// Sends `bytes` on a new stream, finishes it and decodes the single response frame.
async fn raw_exchange(connection: &quinn::Connection, bytes: &[u8]) -> FallbackResponse {
    let (mut send, mut recv) = connection.open_bi().await.unwrap();
    send.write_all(bytes).await.unwrap();
    send.finish().unwrap();
    let reply = recv.read_to_end(1 << 20).await.unwrap();
    decode_response(split_frame(&reply, Direction::Response).unwrap()).unwrap()
}

fn assert_error(response: FallbackResponse, kind: FallbackErrorKind, needle: &str) {
    match response {
        FallbackResponse::Error(error) => {
            assert_eq!(error.kind, kind, "{error}");
            assert!(error.message.contains(needle), "{error}");
        }
        other => panic!("expected a {kind} error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_an_error_and_the_connection_stays_usable() {
    let fixture = start_server();
    let (_endpoint, connection) = raw_connection(&fixture).await;
    let valid = encode_request(&RequestFrame {
        capability: CAPABILITY,
        request: FallbackRequest::LoadClass {
            name: "com.example.Helper".into(),
        },
    })
    .unwrap();

    let cases: Vec<(&str, Vec<u8>, FallbackErrorKind, &str)> = vec![
        (
            "garbage body",
            request_frame(1, &[0xFF; 32]),
            FallbackErrorKind::Malformed,
            "malformed fallback request",
        ),
        (
            "unknown kind",
            request_frame(7, &[0; 8]),
            FallbackErrorKind::Malformed,
            "unknown request kind 7",
        ),
        (
            "a body of another kind than its header",
            [&valid[..4], &[2], &valid[5..]].concat(),
            FallbackErrorKind::Malformed,
            "announced request kind 2",
        ),
        (
            "length over the remote call limit",
            [&((REQUEST_FRAME_MAX + 1) as u32).to_be_bytes()[..], &[3]].concat(),
            FallbackErrorKind::TooLarge,
            "over the limit",
        ),
        (
            "a named request over its kind's limit",
            [&((NAMED_REQUEST_MAX + 1) as u32).to_be_bytes()[..], &[1]].concat(),
            FallbackErrorKind::TooLarge,
            "over the limit",
        ),
        (
            "4 GiB length",
            [&[0xFF; 4][..], &[3], &[0xFF; 59]].concat(),
            FallbackErrorKind::TooLarge,
            "over the limit",
        ),
        (
            "truncated body",
            [&100u32.to_be_bytes()[..], &[1], &[1; 10]].concat(),
            FallbackErrorKind::Malformed,
            "truncated",
        ),
        (
            "truncated header",
            vec![0, 0],
            FallbackErrorKind::Malformed,
            "truncated",
        ),
        (
            "empty stream",
            vec![],
            FallbackErrorKind::Malformed,
            "truncated",
        ),
        (
            "valid frame cut short",
            valid[..valid.len() - 3].to_vec(),
            FallbackErrorKind::Malformed,
            "truncated",
        ),
    ];
    for (case, bytes, kind, needle) in cases {
        let response = raw_exchange(&connection, &bytes).await;
        assert_error(response, kind, needle);
        let response = raw_exchange(&connection, &valid).await;
        assert_eq!(
            response,
            FallbackResponse::Class(Some(class_bytes("com.example.Helper"))),
            "valid request after {case}"
        );
    }
    // Only the valid requests reached the service.
    assert_eq!(fixture.service.handled.load(Ordering::SeqCst), 10);
    assert_eq!(
        fixture.server.counters().bad_frames.load(Ordering::SeqCst),
        10
    );
    assert!(connection.close_reason().is_none());
    fixture.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_service_gets_an_internal_error_and_the_connection_stays_usable() {
    let fixture = start_server();
    let client = connect(&fixture).await;
    let err = client.load_class(CAPABILITY, "explode").await.unwrap_err();
    assert!(
        matches!(&err, FallbackClientError::Refused { error, .. } if error.kind == FallbackErrorKind::Internal),
        "{err}"
    );
    assert!(err.to_string().contains("load_class explode"), "{err}");
    let found = client
        .load_class(CAPABILITY, "com.example.Helper")
        .await
        .unwrap();
    assert!(found.is_some());
    fixture.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_over_the_frame_limit_becomes_a_too_large_error() {
    let fixture = start_server();
    let client = connect(&fixture).await;
    let err = client
        .load_class(CAPABILITY, "generated.Huge")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FallbackClientError::Refused { error, .. } if error.kind == FallbackErrorKind::TooLarge),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("the response to load_class generated.Huge"),
        "{err}"
    );
    let found = client
        .load_class(CAPABILITY, "com.example.Helper")
        .await
        .unwrap();
    assert!(found.is_some());
    fixture.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pinned_to_another_certificate_cannot_connect() {
    let fixture = start_server();
    let mut endpoint = fixture.server.endpoint("127.0.0.1");
    endpoint.cert_sha256[0] ^= 1;
    let err = FallbackClient::connect(&endpoint, CAPABILITY)
        .await
        .err()
        .expect("handshake must fail");
    let message = err.to_string();
    assert!(
        matches!(err, FallbackClientError::CertificateMismatch { .. }),
        "{message}"
    );
    assert!(message.contains(&endpoint.addr), "{message}");
    assert!(
        message.contains(&hex::encode(endpoint.cert_sha256)),
        "{message}"
    );
    assert!(
        message.contains(&hex::encode(fixture.server.cert_sha256())),
        "{message}"
    );
    // The server is unharmed: a correctly pinned client still works.
    let client = connect(&fixture).await;
    assert!(client
        .load_class(CAPABILITY, "com.example.Helper")
        .await
        .unwrap()
        .is_some());
    fixture.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_on_one_connection() {
    let fixture = start_server();
    let client = connect(&fixture).await;
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = client.clone();
        requests.spawn(async move {
            let name = format!("generated.C{i}");
            let bytes = client.load_class(CAPABILITY, &name).await;
            (name, bytes)
        });
    }
    let mut done = 0;
    while let Some(joined) = requests.join_next().await {
        let (name, bytes) = joined.unwrap();
        assert_eq!(bytes.unwrap(), Some(class_bytes(&name)));
        done += 1;
    }
    assert_eq!(done, 200);
    assert_eq!(fixture.service.handled.load(Ordering::SeqCst), 200);
    fixture.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_after_shutdown_fail_and_name_the_server() {
    let fixture = start_server();
    let client = connect(&fixture).await;
    let addr = client.endpoint().addr.clone();
    assert!(!client.is_closed());
    fixture.server.shutdown().await;
    let err = client
        .load_class(CAPABILITY, "com.example.Helper")
        .await
        .unwrap_err();
    assert!(matches!(err, FallbackClientError::Request { .. }), "{err}");
    assert!(err.to_string().contains(&addr), "{err}");
    assert!(client.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_is_refused_locally() {
    let fixture = start_server();
    let client = connect(&fixture).await;
    let name = "x".repeat(NAMED_REQUEST_MAX);
    let err = client.load_class(CAPABILITY, &name).await.unwrap_err();
    assert!(
        matches!(err, FallbackClientError::RequestTooLarge { .. }),
        "{err}"
    );
    assert_eq!(fixture.service.handled.load(Ordering::SeqCst), 0);
    // Not a connection failure: the client keeps working.
    assert!(client
        .load_class(CAPABILITY, "com.example.Helper")
        .await
        .unwrap()
        .is_some());
    fixture.server.shutdown().await;
}

#[test]
fn starting_outside_a_tokio_runtime_is_an_error() {
    struct Nothing;
    impl FallbackService for Nothing {
        fn authenticate(&self, _: &Capability) -> bool {
            true
        }
        fn handle(&self, _: &Capability, _: FallbackRequest) -> FallbackResponse {
            FallbackResponse::Class(None)
        }
    }
    let result = FallbackServer::start("127.0.0.1:0".parse().unwrap(), "x", Arc::new(Nothing));
    assert!(matches!(result, Err(FallbackServerError::NoRuntime)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_formats_the_advertised_host() {
    let fixture = start_server();
    let port = fixture.server.local_addr().port();
    let endpoint = fixture.server.endpoint("::1");
    assert_eq!(endpoint.addr, format!("[::1]:{port}"));
    assert_eq!(
        fixture.server.endpoint("fallback.internal").addr,
        format!("fallback.internal:{port}")
    );
    assert_eq!(endpoint.server_name, "semifaas-fallback");
    assert_eq!(endpoint.cert_sha256, fixture.server.cert_sha256());

    let bad = FallbackClient::connect(
        &semifaas_closure::FallbackEndpoint {
            addr: "no port here".into(),
            ..endpoint
        },
        CAPABILITY,
    )
    .await
    .err()
    .expect("an address without a port cannot resolve");
    assert!(matches!(bad, FallbackClientError::Resolve { .. }), "{bad}");
    assert!(bad.to_string().contains("no port here"), "{bad}");
    fixture.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_does_not_authenticate_is_closed_with_one_refusal() {
    let fixture = start_server_with(ServerLimits {
        hello_timeout: std::time::Duration::from_millis(300),
        ..ServerLimits::default()
    });
    let refusal = (CLOSE_UNAUTHENTICATED, UNAUTHENTICATED_REASON.to_vec());

    // A wrong token, an invocation that is not in flight, bytes that are not a hello, a request
    // frame instead of a hello, and silence all end the same way.
    let wrong_token = Capability {
        token: [8; 16],
        ..CAPABILITY
    };
    let not_in_flight = Capability {
        invocation_id: 43,
        ..CAPABILITY
    };
    let request = encode_request(&RequestFrame {
        capability: CAPABILITY,
        request: FallbackRequest::LoadClass {
            name: "com.example.Helper".into(),
        },
    })
    .unwrap();
    let hellos: Vec<(&str, Vec<u8>)> = vec![
        ("wrong token", encode_hello(&wrong_token).to_vec()),
        ("not in flight", encode_hello(&not_in_flight).to_vec()),
        ("not a hello", vec![0xAB; 28]),
        ("a request frame", request),
        ("a short hello", encode_hello(&CAPABILITY)[..20].to_vec()),
    ];
    for (case, hello) in hellos {
        let (_endpoint, connection) = unauthenticated_connection(&fixture).await;
        assert_eq!(send_hello(&connection, &hello).await, None, "{case}");
        assert_eq!(closed_by_server(&connection).await, refusal, "{case}");
    }
    let (_endpoint, silent) = unauthenticated_connection(&fixture).await;
    let started = std::time::Instant::now();
    assert_eq!(closed_by_server(&silent).await, refusal, "silence");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    let counters = fixture.server.counters();
    assert_eq!(counters.unauthenticated.load(Ordering::SeqCst), 6);
    assert_eq!(fixture.service.handled.load(Ordering::SeqCst), 0);

    // A client that leaves before its hello is counted too.
    let (_endpoint, leaving) = unauthenticated_connection(&fixture).await;
    leaving.close(0u32.into(), b"leaving");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while counters.unauthenticated.load(Ordering::SeqCst) < 7 {
        assert!(
            std::time::Instant::now() < deadline,
            "a connection lost before its hello was not counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // The library's client names the refusal.
    let err = FallbackClient::connect(&fixture.server.endpoint("127.0.0.1"), wrong_token)
        .await
        .err()
        .expect("a wrong capability cannot connect");
    assert!(
        matches!(err, FallbackClientError::Unauthenticated { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("did not accept"), "{err}");
    fixture.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_connection_gets_one_stream_only() {
    let fixture = start_server();
    let (_endpoint, connection) = unauthenticated_connection(&fixture).await;
    let (mut first, _first_recv) = connection.open_bi().await.unwrap();
    first.write_all(b"SF").await.unwrap();
    // No credit for a second stream until the hello is accepted.
    let second =
        tokio::time::timeout(std::time::Duration::from_millis(500), connection.open_bi()).await;
    assert!(second.is_err(), "a second stream opened before the hello");
    fixture.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_announced_and_never_sent_hold_no_budget_past_their_timeout() {
    let fixture = start_server_with(ServerLimits {
        request_timeout: std::time::Duration::from_millis(500),
        ..ServerLimits::default()
    });
    let (_endpoint, connection) = raw_connection(&fixture).await;
    // Sixty-two of its 64 streams each announce the largest remote call and send nothing more:
    // the connection's budget holds two of them, the rest wait (no memory taken). (Streams the
    // peer never finishes keep their slots: that only starves the peer's own connection.)
    let mut stalled = Vec::new();
    for _ in 0..62 {
        let (mut send, recv) = connection.open_bi().await.unwrap();
        send.write_all(&[&(REQUEST_FRAME_MAX as u32).to_be_bytes()[..], &[3]].concat())
            .await
            .unwrap();
        stalled.push((send, recv));
    }
    // A valid request still gets its answer once the stalled ones time out. It comes half a
    // timeout after them, as a later request would: its own deadline then leaves it time to be
    // read once their budget is free (sent at once, its deadline would race theirs).
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    let valid = encode_request(&RequestFrame {
        capability: CAPABILITY,
        request: FallbackRequest::LoadClass {
            name: "com.example.Helper".into(),
        },
    })
    .unwrap();
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        raw_exchange(&connection, &valid),
    )
    .await
    .expect("the valid request was answered");
    assert_eq!(
        answer,
        FallbackResponse::Class(Some(class_bytes("com.example.Helper")))
    );
    for (_, mut recv) in stalled {
        let reply = recv.read_to_end(1 << 20).await.unwrap();
        let response = decode_response(split_frame(&reply, Direction::Response).unwrap()).unwrap();
        assert_error(
            response,
            FallbackErrorKind::Malformed,
            "no complete request frame",
        );
    }
    fixture.server.shutdown().await;
}
