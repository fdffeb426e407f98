//! The whole native agent without a JVM: configuration, policy, closure registration, an
//! offload whose function fetches its closure and a class back over the QUIC fallback server,
//! statistics over the admin endpoint.

mod common;

use std::{collections::HashMap, sync::Arc, time::Duration};

use semifaas_agent::{
    config::AgentConfig,
    fallback_service::{CodeSource, CodeSourceError},
    handler_ids::HandlerId,
    runtime::{self, Agent, AgentError},
};
use semifaas_closure::{outcome_tag, Closure, ClosureId, HandlerRef, NamedBytes};
use serde_json::Value;

const H: &str = "com.example.ImageController#resize";
const HELPER: &[u8] = &[0xCA, 0xFE, 0xBA, 0xBE, 1, 2];

/// The application's classes, held in memory.
struct AppClasses(HashMap<String, Vec<u8>>);

impl CodeSource for AppClasses {
    fn class_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
        Ok(self.0.get(name).cloned())
    }
    fn resource_bytes(&self, _: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
        Ok(None)
    }
}

fn closure() -> Closure {
    Closure {
        handler: HandlerRef {
            class_name: "com.example.ImageController".into(),
            method_name: "resize".into(),
            descriptor: "([B)[B".into(),
        },
        receiver: b"receiver|".to_vec(),
        classes: vec![NamedBytes {
            name: "com.example.ImageController".into(),
            bytes: vec![0xCA, 0xFE, 0xBA, 0xBE],
        }],
        resources: vec![],
    }
}

fn config(platform: std::net::SocketAddr) -> AgentConfig {
    AgentConfig {
        ratio: 1.0,
        lambda_endpoint: Some(format!("http://{platform}")),
        function: "fetcher".into(),
        admin_port: 0,
        fallback_port: 0,
        timeout: Duration::from_secs(20),
        // Every handler is a candidate from its first invocation.
        profile_samples: 0,
        min_cpu: Duration::ZERO,
        ..AgentConfig::default()
    }
}

/// The handler's id, as the Java side asks for it once.
fn handler(agent: &Agent, key: &str) -> HandlerId {
    agent.handler_id(key).expect("an id for the handler")
}

fn app_classes() -> Arc<AppClasses> {
    Arc::new(AppClasses(HashMap::from([(
        "com.example.Helper".to_owned(),
        HELPER.to_vec(),
    )])))
}

#[test]
fn an_offloaded_invocation_fetches_its_closure_and_classes_through_the_fallback_server() {
    let platform_runtime = tokio::runtime::Runtime::new().unwrap();
    let (platform, _log) = platform_runtime.block_on(common::start_platform(None));
    let agent = Agent::start(config(platform), app_classes()).unwrap();

    assert!(agent.should_offload(handler(&agent, H)));
    let id = agent.register_closure(closure()).unwrap();
    assert_eq!(id, closure().id());
    let outcome = agent
        .offload(H, id, b"args".to_vec(), 7)
        .expect("the offload succeeds");
    assert_eq!(outcome[0], outcome_tag::RETURNED);
    assert_eq!(&outcome[1..], [b"receiver|".as_slice(), HELPER].concat());

    // A closure the agent does not have: the function cannot fetch it and reports Failed.
    assert!(agent.should_offload(handler(&agent, H)));
    assert_eq!(
        agent.offload(H, ClosureId([9; 32]), b"args".to_vec(), 0),
        None
    );
    agent.record_local(
        handler(&agent, H),
        Duration::from_millis(4),
        Some(Duration::from_millis(3)),
    );

    let (status, body) =
        platform_runtime.block_on(common::http(agent.admin(), "GET", "/stats", ""));
    assert_eq!(status, 200);
    let stats: Value = serde_json::from_str(&body).unwrap();
    let h = &stats["handlers"][H];
    assert_eq!(h["invocations"], 2);
    assert_eq!(h["offloaded"], 1);
    assert_eq!(h["local"], 1);
    assert_eq!(h["failures"], 1);
    assert_eq!(h["failure_reasons"]["function_failed"], 1);
    assert_eq!(h["fallbacks"]["fetch_closure"], 2, "{body}");
    // The function asks for the helper class in both invocations.
    assert_eq!(h["fallbacks"]["load_class"], 2, "{body}");
    assert_eq!(stats["totals"]["invocations"], 2);
}

#[test]
fn invalid_closures_are_refused_with_the_reason() {
    let platform_runtime = tokio::runtime::Runtime::new().unwrap();
    let (platform, _log) = platform_runtime.block_on(common::start_platform(None));
    let agent = Agent::start(config(platform), app_classes()).unwrap();
    let mut bad = closure();
    bad.classes[0].bytes = b"not a class file".to_vec();
    let err = agent.register_closure(bad).unwrap_err();
    assert!(err.0.contains("com.example.ImageController"), "{err}");
}

#[test]
fn the_process_wide_agent_starts_once() {
    let platform_runtime = tokio::runtime::Runtime::new().unwrap();
    let (platform, _log) = platform_runtime.block_on(common::start_platform(None));
    assert!(runtime::global().is_none());
    let agent = runtime::init_global(config(platform), app_classes()).unwrap();
    assert!(std::ptr::eq(agent, runtime::global().unwrap()));
    let again = runtime::init_global(config(platform), app_classes());
    assert!(matches!(again, Err(AgentError::AlreadyInitialized)));
}

#[test]
fn a_busy_admin_port_is_an_error_naming_the_setting() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = AgentConfig {
        admin_port: taken.local_addr().unwrap().port(),
        ..config("127.0.0.1:9".parse().unwrap())
    };
    let err = Agent::start(config, app_classes())
        .err()
        .expect("the port is taken")
        .to_string();
    assert!(err.contains("semifaas.admin.port"), "{err}");
}

#[test]
fn handlers_are_profiled_before_they_are_offloaded_and_requests_are_counted_in_flight() {
    let platform_runtime = tokio::runtime::Runtime::new().unwrap();
    let (platform, _log) = platform_runtime.block_on(common::start_platform(None));
    let agent = Agent::start(
        AgentConfig {
            profile_samples: 3,
            min_cpu: Duration::from_millis(5),
            exclude: vec!["com.example.Health".into()],
            ..config(platform)
        },
        app_classes(),
    )
    .unwrap();
    let gauge = agent.control().gauge();
    // Ratio 1, but the first three runs are profiled locally.
    for _ in 0..3 {
        assert!(!agent.should_offload(handler(&agent, H)));
        assert_eq!(gauge.current(), 1);
        agent.record_local(
            handler(&agent, H),
            Duration::from_millis(30),
            Some(Duration::from_millis(20)),
        );
        assert_eq!(gauge.current(), 0);
    }
    assert!(
        agent.should_offload(handler(&agent, H)),
        "20 ms of CPU makes it a candidate"
    );
    let id = agent.register_closure(closure()).unwrap();
    assert!(agent.offload(H, id, b"args".to_vec(), 0).is_some());
    assert_eq!(
        gauge.current(),
        0,
        "a returned offload leaves the in-flight count"
    );
    // An excluded handler always runs here, however expensive.
    for _ in 0..5 {
        assert!(!agent.should_offload(handler(&agent, "com.example.Health#check")));
        agent.record_local(
            handler(&agent, "com.example.Health#check"),
            Duration::from_millis(50),
            Some(Duration::from_millis(50)),
        );
    }
    assert_eq!(gauge.current(), 0);
    let (status, body) =
        platform_runtime.block_on(common::http(agent.admin(), "GET", "/stats", ""));
    assert_eq!(status, 200);
    let stats: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["handlers"][H]["candidate"], true);
    assert_eq!(stats["handlers"][H]["invocations"], 4);
    assert_eq!(
        stats["handlers"]["com.example.Health#check"]["candidate"],
        false
    );
    assert_eq!(
        stats["handlers"]["com.example.Health#check"]["invocations"],
        5
    );
    assert_eq!(stats["in_flight"], 0);
    assert_eq!(stats["mode"], "manual");
}

#[test]
fn a_missing_function_pauses_offloading_without_a_round_trip_per_request() {
    let platform_runtime = tokio::runtime::Runtime::new().unwrap();
    let (platform, log) = platform_runtime.block_on(common::start_platform(None));
    let agent = Agent::start(
        AgentConfig {
            function: "missing".into(),
            ..config(platform)
        },
        app_classes(),
    )
    .unwrap();
    let id = agent.register_closure(closure()).unwrap();

    assert!(agent.should_offload(handler(&agent, H)));
    assert_eq!(agent.offload(H, id, b"args".to_vec(), 0), None);
    agent.record_local(
        handler(&agent, H),
        Duration::from_millis(4),
        Some(Duration::from_millis(3)),
    );
    // Paused: the next requests run locally at once, and the platform sees none of them.
    for _ in 0..20 {
        assert!(!agent.should_offload(handler(&agent, H)));
        agent.record_local(
            handler(&agent, H),
            Duration::from_millis(4),
            Some(Duration::from_millis(3)),
        );
    }
    assert_eq!(log.requests.load(std::sync::atomic::Ordering::SeqCst), 1);

    for path in ["/stats", "/controller"] {
        let (status, body) =
            platform_runtime.block_on(common::http(agent.admin(), "GET", path, ""));
        assert_eq!(status, 200);
        let platform: Value = serde_json::from_str::<Value>(&body).unwrap()["platform"].clone();
        assert_eq!(platform["state"], "paused", "{path}: {body}");
        assert_eq!(platform["reason"], "function_not_found", "{path}: {body}");
        assert_eq!(platform["trips"], 1, "{path}: {body}");
        assert!(
            platform["remedy"]
                .as_str()
                .unwrap()
                .contains("semifaas.function"),
            "{path}: {body}"
        );
        assert!(
            platform["retry_in_ms"].as_u64().unwrap() <= 5000,
            "{path}: {body}"
        );
    }
}
