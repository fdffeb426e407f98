//! The `bootstrap` binary against a real Runtime API server, a real fallback server and a real
//! JVM running the runtime jar.

mod support;

use std::sync::atomic::Ordering;

use semifaas_closure::{
    ClosureId, FailureKind, InvocationKind, InvocationOutcome, ShadowCall, PREWARM_HANDLER_KEY,
};
use support::{
    assert_failed, calc_closure, java_fixtures, start_server, Instance, Posted, TRACE_ID,
};

const ADD: (&str, &str) = ("add", "(I)I");
const LATE: (&str, &str) = ("late", "(Z)I");
const GUARDED: (&str, &str) = ("guarded", "(Z)I");
const FAIL: (&str, &str) = ("fail", "(Ljava/lang/String;)Ljava/lang/String;");
const REMOTE: (&str, &str) = ("remote", "(I)I");
const TRACE: (&str, &str) = ("trace", "()Ljava/lang/String;");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_invocation_returns_the_value_and_the_warm_one_reuses_the_closure() {
    let java = java_fixtures();
    let closure = calc_closure(ADD.0, ADD.1);
    let id = closure.id();
    let mut instance = Instance::start(vec![closure]).await;

    let cold = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_eq!(
        cold.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
    assert!(cold.stats.cold, "the first invocation is cold");
    assert!(
        cold.stats.jvm_start_us > 0,
        "the cold invocation reports the JVM start"
    );
    assert_eq!(cold.stats.instance_id, "test-instance");
    assert_eq!(cold.stats.fallbacks.fetch_closure, 1);
    assert_eq!(
        cold.stats.fallbacks.load_class, 1,
        "demo.Helper comes by fallback"
    );

    let warm = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_eq!(
        warm.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
    assert!(!warm.stats.cold);
    assert_eq!(warm.stats.jvm_start_us, 0);
    assert_eq!(
        warm.stats.fallbacks.fetch_closure, 0,
        "the closure is cached"
    );
    assert_eq!(
        warm.stats.fallbacks.load_class, 0,
        "the helper class is already defined"
    );
    assert_eq!(warm.stats.closure_fetch_us, 0);
    assert_eq!(warm.stats.install_us, 0);
    assert_eq!(instance.service.closure_fetches.load(Ordering::SeqCst), 1);
    assert_eq!(instance.service.class_loads.load(Ordering::SeqCst), 1);
}

/// Two servers running the same application ship the same closure: the instance installs it
/// once per server, from that server, and a certificate an invocation merely claims runs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_closure_of_two_servers_is_installed_once_for_each() {
    let java = java_fixtures();
    let closure = calc_closure(ADD.0, ADD.1);
    let id = closure.id();
    let mut instance = Instance::start(vec![closure.clone()]).await;
    let (other, _other_server, other_endpoint) = start_server(vec![closure]);
    assert_ne!(other_endpoint.cert_sha256, instance.endpoint.cert_sha256);

    let on_a = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_eq!(
        on_a.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
    let mut for_b = instance.invocation(id, "demo.Calc#add", &java.args_add);
    for_b.fallback = other_endpoint.clone();
    let on_b = instance.invoke_with(&for_b).await;
    assert_eq!(
        on_b.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
    assert_eq!(
        (
            on_b.stats.fallbacks.fetch_closure,
            on_b.stats.fallbacks.load_class
        ),
        (1, 1),
        "b's closure and its Helper come from b, not from what a installed"
    );
    assert_eq!(other.closure_fetches.load(Ordering::SeqCst), 1);
    assert_eq!(other.class_loads.load(Ordering::SeqCst), 1);
    let again_on_a = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_eq!(
        again_on_a.stats.fallbacks.total(),
        0,
        "a's installation stays warm"
    );
    assert_eq!(instance.service.closure_fetches.load(Ordering::SeqCst), 1);
    assert_eq!(instance.service.class_loads.load(Ordering::SeqCst), 1);

    // a's certificate at b's address: the server cannot prove it, so a's installation does not run.
    let mut claimed = instance.invocation(id, "demo.Calc#add", &java.args_add);
    claimed.fallback.addr = other_endpoint.addr.clone();
    let reply = instance.invoke_with(&claimed).await;
    assert_failed(&reply.outcome, FailureKind::Fallback, "certificate");
    assert_eq!(reply.stats.handler_us, 0, "the handler did not run");
    assert_eq!(other.closure_fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_api_address_with_a_key_path_is_used_for_every_request() {
    // faas-local gives `host:port/<key>` and serves nothing outside the key's path: an answer
    // reaching the test's Runtime API shows both `/next` and `/response` carried the key.
    let java = java_fixtures();
    let closure = calc_closure(ADD.0, ADD.1);
    let id = closure.id();
    let mut instance = Instance::start_with_api_key(vec![closure], "k3y-0f_the.instance~1").await;

    let reply = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_eq!(
        reply.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
    let malformed = instance.send(b"not json".to_vec()).await;
    assert!(
        matches!(malformed, (ref sent, Posted::Error { ref request_id, .. }) if sent == request_id),
        "/error carries the key too: {malformed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_header_reaches_java_code_for_its_invocation_only() {
    let java = java_fixtures();
    let closure = calc_closure(TRACE.0, TRACE.1);
    let id = closure.id();
    let mut instance = Instance::start(vec![closure]).await;
    let invocation = instance.invocation(id, "demo.Calc#trace", &java.args_none);
    let traced = instance
        .invoke_with_headers(
            &invocation,
            vec![("Lambda-Runtime-Trace-Id", TRACE_ID.to_owned())],
        )
        .await;
    assert_eq!(
        traced.outcome,
        InvocationOutcome::Returned(java.value_trace.clone())
    );
    let invocation = instance.invocation(id, "demo.Calc#trace", &java.args_none);
    let untraced = instance.invoke_with(&invocation).await;
    assert_eq!(
        untraced.outcome,
        InvocationOutcome::Returned(java.value_none.clone()),
        "an invocation without a trace header does not see the previous one's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platforms_deadline_bounds_the_fallbacks_when_it_comes_first() {
    let java = java_fixtures();
    let closure = calc_closure(ADD.0, ADD.1);
    let id = closure.id();
    let mut instance = Instance::start(vec![closure]).await;
    // The invocation allows minutes; the platform's deadline has already passed, so the
    // closure's fetch must not be tried.
    let invocation = instance.invocation(id, "demo.Calc#add", &java.args_add);
    let past = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        - 1;
    let reply = instance
        .invoke_with_headers(
            &invocation,
            vec![("Lambda-Runtime-Deadline-Ms", past.to_string())],
        )
        .await;
    assert_failed(&reply.outcome, FailureKind::ClosureUnavailable, "deadline");
    assert_eq!(instance.service.closure_fetches.load(Ordering::SeqCst), 0);

    // Without the header, the invocation's own deadline applies.
    let reply = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_eq!(
        reply.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throwing_handler_returns_threw() {
    let java = java_fixtures();
    let closure = calc_closure(FAIL.0, FAIL.1);
    let id = closure.id();
    let mut instance = Instance::start(vec![closure]).await;

    let reply = instance.invoke(id, "demo.Calc#fail", &java.args_fail).await;
    let InvocationOutcome::Threw(exception) = reply.outcome else {
        panic!("expected Threw, got {:?}", reply.outcome);
    };
    // Exceptions cross as data: the type name and message as codec strings, which Kryo writes in
    // ASCII with the last character's high bit set.
    let text = String::from_utf8_lossy(&exception);
    assert!(
        text.contains("java.lang.IllegalStateExceptio"),
        "the exception's class is encoded: {text}"
    );
    assert!(
        text.contains("boom from the handle"),
        "the exception's message is encoded: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_payload_gets_an_error_and_the_instance_serves_on() {
    let java = java_fixtures();
    let closure = calc_closure(ADD.0, ADD.1);
    let id = closure.id();
    let mut instance = Instance::start(vec![closure]).await;

    for payload in [
        &b"not json"[..],
        br#"{"semifaas":1,"invocation":"AAAA"}"#,
        b"{}",
    ] {
        match instance.send(payload.to_vec()).await {
            (
                sent,
                Posted::Error {
                    request_id,
                    body,
                    error_type,
                },
            ) => {
                assert_eq!(request_id, sent);
                // Lambda's `Runtime.<Reason>` form, in the body and in the header.
                assert_eq!(body["errorType"], "Runtime.BadInvocation");
                assert_eq!(error_type.as_deref(), Some("Runtime.BadInvocation"));
                let message = body["errorMessage"].as_str().unwrap();
                assert!(message.contains("could not be decoded"), "{message}");
            }
            (_, other) => panic!("expected an /error, got {other:?}"),
        }
    }

    let reply = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_eq!(
        reply.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
    assert!(
        reply.stats.cold,
        "a rejected payload does not count as served"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_closure_fails_with_the_servers_message() {
    let java = java_fixtures();
    let closure = calc_closure(ADD.0, ADD.1);
    let known = closure.id();
    let mut instance = Instance::start(vec![closure]).await;
    let unknown = ClosureId([0x5a; 32]);

    let reply = instance
        .invoke(unknown, "demo.Calc#add", &java.args_add)
        .await;
    assert_failed(
        &reply.outcome,
        FailureKind::ClosureUnavailable,
        "is not known to this server",
    );
    assert_eq!(reply.stats.fallbacks.fetch_closure, 1);

    let reply = instance
        .invoke(known, "demo.Calc#add", &java.args_add)
        .await;
    assert_eq!(
        reply.outcome,
        InvocationOutcome::Returned(java.value_42.clone()),
        "the instance serves on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_arguments_fail_and_the_closure_stays_usable() {
    let java = java_fixtures();
    let closure = calc_closure(ADD.0, ADD.1);
    let id = closure.id();
    let mut instance = Instance::start(vec![closure]).await;

    let reply = instance.invoke(id, "demo.Calc#add", &[1, 2, 3]).await;
    assert_failed(&reply.outcome, FailureKind::Setup, "decoding the arguments");

    let reply = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_eq!(
        reply.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closure_that_cannot_install_fails_with_what_failed() {
    let java = java_fixtures();
    let closure = calc_closure("add", "(J)J");
    let id = closure.id();
    let mut instance = Instance::start(vec![closure]).await;

    let reply = instance.invoke(id, "demo.Calc#add", &java.args_add).await;
    assert_failed(
        &reply.outcome,
        FailureKind::Setup,
        "demo.Calc#add(J)J does not exist",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_fallback_that_fails_mid_handler_fails_the_offload_naming_why() {
    let java = java_fixtures();
    let closure = calc_closure(LATE.0, LATE.1);
    let id = closure.id();
    let mut instance = Instance::start(vec![closure]).await;

    let reply = instance
        .invoke(id, "demo.Calc#late", &java.args_late_false)
        .await;
    assert_eq!(
        reply.outcome,
        InvocationOutcome::Returned(java.value_minus_1.clone())
    );

    // The server cannot answer the class the handler needs now.
    instance
        .service
        .failing_classes
        .store(true, Ordering::SeqCst);
    let reply = instance
        .invoke(id, "demo.Calc#late", &java.args_late_true)
        .await;
    // The handler met a class it could not load: the offload's failure, not the application's
    // outcome (the server then runs the handler itself).
    let message = assert_failed(
        &reply.outcome,
        FailureKind::Setup,
        "a class could not be loaded on the function: java.lang.NoClassDefFoundError",
    );
    assert!(
        message.contains("the class loaders failed on demo.Late"),
        "the cause says why: {message}"
    );
    assert_eq!(reply.stats.fallbacks.load_class, 1);
    assert_eq!(instance.service.class_loads.load(Ordering::SeqCst), 1);

    // The JVM now records `Late` as failed for good: the instance retires after answering.
    assert!(instance.wait_exit().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fallback_the_handler_swallowed_still_fails_the_offload() {
    let java = java_fixtures();
    let closure = calc_closure(GUARDED.0, GUARDED.1);
    let id = closure.id();
    let mut instance = Instance::start(vec![closure]).await;
    // Installs the closure; `Late` is not needed yet.
    let reply = instance
        .invoke(id, "demo.Calc#guarded", &java.args_late_false)
        .await;
    assert_eq!(
        reply.outcome,
        InvocationOutcome::Returned(java.value_minus_1.clone())
    );

    instance
        .service
        .failing_classes
        .store(true, Ordering::SeqCst);
    let reply = instance
        .invoke(id, "demo.Calc#guarded", &java.args_late_true)
        .await;
    // The handler returned -2 after catching the NoClassDefFoundError: not the application's
    // result, since the class exists on the server.
    assert_failed(
        &reply.outcome,
        FailureKind::Fallback,
        "the fallback for class demo.Late got no answer",
    );
    assert!(
        instance.wait_exit().success(),
        "the poisoned instance retires"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_jvm_options_post_an_init_error_naming_them() {
    let mut instance = Instance::start_with_env(
        vec![],
        &[("SEMIFAAS_JVM_OPTS", "-XX:+NoSuchSemifaasOption")],
    )
    .await;
    match instance.posted().await {
        Posted::InitError { body, .. } => {
            let message = body["errorMessage"].as_str().unwrap();
            assert!(message.contains("starting the JVM"), "{message}");
            assert!(message.contains("-XX:+NoSuchSemifaasOption"), "{message}");
        }
        other => panic!("expected an init error, got {other:?}"),
    }
    assert!(!instance.wait_exit().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jvm_that_cannot_start_posts_an_init_error_and_exits() {
    let mut instance =
        Instance::start_with_env(vec![], &[("SEMIFAAS_JAVA_HOME", "/nonexistent/java")]).await;
    match instance.posted().await {
        Posted::InitError { body, error_type } => {
            assert_eq!(body["errorType"], "Runtime.InitFailed");
            assert_eq!(error_type.as_deref(), Some("Runtime.InitFailed"));
            let message = body["errorMessage"].as_str().unwrap();
            assert!(message.contains("/nonexistent/java"), "{message}");
        }
        other => panic!("expected an init error, got {other:?}"),
    }
    assert!(!instance.wait_exit().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prewarm_installs_its_closures_and_replays_samples_so_a_later_call_fetches_nothing() {
    let java = java_fixtures();
    let add = calc_closure(ADD.0, ADD.1);
    let late = calc_closure(LATE.0, LATE.1);
    let (add_id, late_id) = (add.id(), late.id());
    let mut instance = Instance::start(vec![add, late]).await;

    let mut prewarm = instance.invocation(ClosureId([0; 32]), PREWARM_HANDLER_KEY, &[]);
    prewarm.kind = InvocationKind::Prewarm {
        closures: vec![add_id, late_id],
        shadow_calls: vec![
            ShadowCall {
                closure_id: add_id,
                handler_key: "demo.Calc#add".into(),
                args: java.args_add.clone(),
            },
            ShadowCall {
                closure_id: late_id,
                handler_key: "demo.Calc#late".into(),
                args: java.args_late_true.clone(),
            },
        ],
        rounds: 3,
    };
    let reply = instance.invoke_with(&prewarm).await;
    assert_eq!(reply.outcome, InvocationOutcome::Returned(Vec::new()));
    assert!(reply.stats.cold);
    // The same prewarm again (a scale-out that found this instance free): already as warm, it
    // replays nothing.
    let again = instance.invoke_with(&prewarm).await;
    assert_eq!(again.outcome, InvocationOutcome::Returned(Vec::new()));
    assert!(
        again.stats.handler_us < reply.stats.handler_us,
        "no replay the second time: {} µs against {} µs",
        again.stats.handler_us,
        reply.stats.handler_us
    );
    assert_eq!(
        reply.stats.fallbacks.fetch_closure, 2,
        "both closures fetched"
    );
    assert_eq!(
        reply.stats.fallbacks.load_class, 2,
        "the samples ran: add loaded Helper, late(true) loaded Late"
    );
    assert!(reply.stats.install_us > 0);

    for (id, key, args, value) in [
        (add_id, "demo.Calc#add", &java.args_add, &java.value_42),
        (
            late_id,
            "demo.Calc#late",
            &java.args_late_false,
            &java.value_minus_1,
        ),
    ] {
        let call = instance.invoke(id, key, args).await;
        assert_eq!(call.outcome, InvocationOutcome::Returned(value.clone()));
        assert!(!call.stats.cold);
        assert_eq!(call.stats.fallbacks.fetch_closure, 0, "{key} was installed");
        assert_eq!(
            call.stats.fallbacks.load_class, 0,
            "{key}'s classes are defined"
        );
    }
    assert_eq!(instance.service.closure_fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prewarm_with_an_unknown_closure_installs_the_others_and_says_which_failed() {
    let java = java_fixtures();
    let add = calc_closure(ADD.0, ADD.1);
    let add_id = add.id();
    let unknown = ClosureId([0x5a; 32]);
    let mut instance = Instance::start(vec![add]).await;

    let mut prewarm = instance.invocation(ClosureId([0; 32]), PREWARM_HANDLER_KEY, &[]);
    prewarm.kind = InvocationKind::Prewarm {
        closures: vec![unknown, add_id],
        shadow_calls: vec![ShadowCall {
            closure_id: unknown,
            handler_key: "demo.Calc#add".into(),
            args: java.args_add.clone(),
        }],
        rounds: 1,
    };
    let reply = instance.invoke_with(&prewarm).await;
    assert_failed(
        &reply.outcome,
        FailureKind::ClosureUnavailable,
        "is not known to this server",
    );
    assert_eq!(
        reply.stats.fallbacks.load_class, 0,
        "no sample of a missing closure ran"
    );

    let call = instance
        .invoke(add_id, "demo.Calc#add", &java.args_add)
        .await;
    assert_eq!(
        call.outcome,
        InvocationOutcome::Returned(java.value_42.clone())
    );
    assert_eq!(
        call.stats.fallbacks.fetch_closure, 0,
        "the other closure was installed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_calls_a_remote_reference_through_the_fallback_connection() {
    let java = java_fixtures();
    let closure = calc_closure(REMOTE.0, REMOTE.1);
    let id = closure.id();
    let mut instance = Instance::start(vec![closure]).await;

    // args_add is `new Object[]{2}`: remote(2) calls reference 2.
    let reply = instance
        .invoke(id, "demo.Calc#remote", &java.args_add)
        .await;
    assert_eq!(
        reply.outcome,
        InvocationOutcome::Returned(java.value_400.clone())
    );
    assert_eq!(reply.stats.fallbacks.invoke, 1);
    let calls = instance.service.remote_calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [(
            2,
            "describe".to_owned(),
            "()Ljava/lang/String;".to_owned(),
            vec![1, 2, 3]
        )]
    );
}

/// The files of the class-data-sharing cache `dir` whose names end with `suffix`.
fn cache_files(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default()
}

/// The first instance records the classes it loads and has the archive built once it has
/// answered; the next maps it (an archive the JVM cannot map is removed, so it is still there);
/// a damaged archive still lets an instance start and answer, and is removed to be rebuilt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_instance_has_the_class_archive_built_and_later_ones_map_it() {
    let java = java_fixtures();
    let cache = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("class-archive-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let env = [("SEMIFAAS_CDS_DIR", cache.to_str().unwrap())];
    let answers = |reply: semifaas_closure::InvocationReply| {
        assert_eq!(
            reply.outcome,
            InvocationOutcome::Returned(java.value_42.clone())
        );
    };

    let closure = calc_closure(ADD.0, ADD.1);
    let mut first = Instance::start_with_env(vec![closure.clone()], &env).await;
    // `deploy`'s smoke invocation runs nothing: the classes recorded so far are not the ones
    // an invocation needs, so the builder still waits.
    match first
        .send(semifaas_closure::SMOKE_PAYLOAD.as_bytes().to_vec())
        .await
    {
        (_, Posted::Response { .. }) => {}
        (_, other) => panic!("expected the smoke reply, got {other:?}"),
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        cache_files(&cache, ".done").is_empty() && cache_files(&cache, ".jsa").is_empty(),
        "the archive is not built from a smoke invocation: {:?}",
        cache_files(&cache, "")
    );
    answers(
        first
            .invoke(closure.id(), "demo.Calc#add", &java.args_add)
            .await,
    );
    drop(first);
    let mut waited = 0;
    while cache_files(&cache, ".jsa").is_empty() || !cache_files(&cache, ".lock").is_empty() {
        assert!(
            waited < 1200,
            "no archive after 60 s; the builder's log: {:?}",
            cache_files(&cache, ".log")
                .first()
                .map(std::fs::read_to_string)
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    let archive = cache_files(&cache, ".jsa").remove(0);
    assert!(
        cache_files(&cache, "")
            .iter()
            .all(|f| f == &archive || f.extension() == Some("log".as_ref())),
        "the builder leaves the archive and its log only: {:?}",
        cache_files(&cache, "")
    );

    let mut second = Instance::start_with_env(vec![closure.clone()], &env).await;
    answers(
        second
            .invoke(closure.id(), "demo.Calc#add", &java.args_add)
            .await,
    );
    drop(second);
    assert!(archive.is_file(), "the JVM mapped the archive, so it stays");

    std::fs::remove_file(&archive).unwrap();
    std::fs::write(&archive, b"not an archive").unwrap();
    let mut third = Instance::start_with_env(vec![closure.clone()], &env).await;
    answers(
        third
            .invoke(closure.id(), "demo.Calc#add", &java.args_add)
            .await,
    );
    drop(third);
    assert!(
        !archive.exists(),
        "an archive the JVM cannot map is removed"
    );
    let _ = std::fs::remove_dir_all(&cache);
}
