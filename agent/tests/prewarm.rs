//! Prewarming without a JVM: samples recorded through the agent, prewarm invocations sent to the
//! test platform, whose function fetches every closure over the real QUIC fallback server and
//! makes remote calls that the shadow flag lets the application refuse.

mod common;

use std::{
    collections::HashMap,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use parking_lot::Mutex;
use semifaas_agent::{
    config::AgentConfig,
    fallback_service::{CodeSource, CodeSourceError, RemoteCall},
    runtime::Agent,
};
use semifaas_closure::{Closure, HandlerRef, NamedBytes};

/// A remote call as received: (scope, ref, method, shadow, args).
type CallSeen = (u64, u64, String, bool, Vec<u8>);

/// Records the remote calls it gets; refuses `save` in shadow mode, as the Java side does.
#[derive(Default)]
struct RemoteApp {
    calls: Mutex<Vec<CallSeen>>,
}

impl CodeSource for RemoteApp {
    fn class_bytes(&self, _: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
        Ok(None)
    }
    fn resource_bytes(&self, _: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
        Ok(None)
    }
    fn invoke_remote(&self, call: &RemoteCall<'_>) -> Result<Vec<u8>, CodeSourceError> {
        self.calls.lock().push((
            call.scope_id,
            call.ref_id,
            call.method.to_owned(),
            call.shadow,
            call.args.to_vec(),
        ));
        if call.shadow && call.method == "save" {
            return Ok(b"\x02shadow execution refused a write: Repo#save".to_vec());
        }
        Ok(vec![0])
    }
}

fn closure(method: &str, receiver: &[u8]) -> Closure {
    Closure {
        handler: HandlerRef {
            class_name: "com.example.Blog".into(),
            method_name: method.into(),
            descriptor: "(J)Ljava/lang/String;".into(),
        },
        receiver: receiver.to_vec(),
        classes: vec![NamedBytes {
            name: "com.example.Blog".into(),
            bytes: vec![0xCA, 0xFE, 0xBA, 0xBE],
        }],
        resources: vec![],
    }
}

fn config(platform: std::net::SocketAddr) -> AgentConfig {
    AgentConfig {
        lambda_endpoint: Some(format!("http://{platform}")),
        function: "prewarmer".into(),
        admin_port: 0,
        fallback_port: 0,
        timeout: Duration::from_secs(20),
        shadow_samples: 2,
        ..AgentConfig::default()
    }
}

#[test]
fn prewarm_installs_the_latest_closures_and_replays_samples_in_shadow_mode() {
    let platform_runtime = tokio::runtime::Runtime::new().unwrap();
    let (platform, log) = platform_runtime.block_on(common::start_platform(None));
    let app = Arc::new(RemoteApp::default());
    let agent = Agent::start(config(platform), app.clone()).unwrap();

    let old_show = agent.register_closure(closure("show", b"v1")).unwrap();
    let show = agent.register_closure(closure("show", b"v2")).unwrap();
    let list = agent.register_closure(closure("list", b"v1")).unwrap();
    for args in [&b"s1"[..], b"s2", b"s3"] {
        agent.record_sample("com.example.Blog#show", old_show, args.to_vec());
    }
    agent.record_sample("com.example.Blog#list", list, b"l1".to_vec());
    assert!(!agent.wants_sample("com.example.Blog#show"));

    let report = agent.prewarm(3);
    assert_eq!(report.failures, Vec::<String>::new());
    assert_eq!(report.requested, 3);
    assert_eq!(report.answered, 3);
    assert_eq!((report.cold, report.warm), (1, 2));
    assert_eq!(report.closures, 2, "the latest closure of each handler");
    assert_eq!(report.shadow_calls, 3, "two samples of show, one of list");
    assert_eq!(report.remote_calls_refused, 9, "every save was refused");
    assert_eq!(report.instances.len(), 3);
    assert_eq!(log.prewarms.load(Ordering::SeqCst), 3);

    let calls = app.calls.lock().clone();
    assert_eq!(
        calls.len(),
        18,
        "save and findAll per shadow call per instance"
    );
    assert!(calls
        .iter()
        .all(|(scope, r, _, shadow, _)| *scope == 0 && *r == 1 && *shadow));
    let mut replayed: HashMap<Vec<u8>, usize> = HashMap::new();
    for (_, _, _, _, args) in &calls {
        *replayed.entry(args.clone()).or_default() += 1;
    }
    assert_eq!(replayed.len(), 3, "s3 was past the quota: {replayed:?}");
    assert!(!replayed.contains_key(b"s3".as_slice()));

    // A prewarm is not a request: no handler statistics, and the closures stay current.
    let report = agent.stats().report(&agent.policy().ratios());
    assert!(report.handlers.is_empty(), "{:?}", report.handlers.keys());
    assert_ne!(show, old_show);
}

#[test]
fn prewarm_from_a_blocking_task_of_a_runtime_and_with_the_platform_down() {
    let platform_runtime = tokio::runtime::Runtime::new().unwrap();
    let (platform, _log) = platform_runtime.block_on(common::start_platform(None));
    let mut down = config(platform);
    down.function = "missing".into();
    let agent = Arc::new(Agent::start(down, Arc::new(RemoteApp::default())).unwrap());
    agent.register_closure(closure("show", b"v1")).unwrap();

    let caller = agent.clone();
    let task = platform_runtime.spawn_blocking(move || caller.prewarm(2));
    let report = platform_runtime.block_on(task).unwrap();
    assert_eq!(report.requested, 2);
    assert_eq!(report.answered, 0);
    assert_eq!(report.failures.len(), 2);
    assert!(
        report.failures[0].contains("missing"),
        "the failure names the function: {:?}",
        report.failures
    );
}

/// Traffic offloaded while an operator prewarms may hold an instance for a moment: a throttled
/// prewarm invocation is sent once more, and only once.
#[test]
fn a_throttled_prewarm_invocation_is_sent_once_more() {
    let platform_runtime = tokio::runtime::Runtime::new().unwrap();
    let (platform, log) = platform_runtime.block_on(common::start_platform(None));
    let mut busy = config(platform);
    busy.function = "busy".into();
    let agent = Arc::new(Agent::start(busy, Arc::new(RemoteApp::default())).unwrap());
    agent.register_closure(closure("show", b"v1")).unwrap();

    let caller = agent.clone();
    let task = platform_runtime.spawn_blocking(move || caller.prewarm(2));
    let report = platform_runtime.block_on(task).unwrap();
    assert_eq!(report.retried, 2, "{report:?}");
    assert_eq!(report.throttled, 2, "each throttled again: {report:?}");
    assert_eq!(report.answered, 0);
    assert_eq!(
        log.requests.load(Ordering::SeqCst),
        4,
        "2 sent, 2 sent again"
    );
}
