//! End to end on the stateful blog sample: one scripted browser session of 40+ requests (login,
//! pages, JSON API, writes, validation errors, error pages, 404, session attributes, logout) runs
//! against a fresh service at ratio 0 and against a second fresh service (fresh H2) at ratio 1,
//! every handler of the app a candidate from its first call (`include`, `profile.samples=0`,
//! `min-cpu-ms=0`). Statuses, content types, redirect targets and bodies, the database dump and
//! the session must be the same; the writes must have happened once each; at least 60 % of the
//! invocations offloaded, none abandoned, and the placement header must agree with `/stats`
//! request by request. The offloaded handlers must have called back into the server for their
//! repositories and session. The search handler mutates a by-value helper on its controller:
//! its local profiling runs demote that class, and afterwards it is offloaded with the list kept
//! on the server. Real processes throughout: `semifaas local`, the blog jar with the agent, real
//! `bootstrap` instances. Needs `make build`.

use std::{path::PathBuf, sync::LazyLock};

use regex_lite::Regex;
use reqwest::Method;
use semifaas_cli::harness::{
    form_encode, placement_mismatches, Admin, Dist, FaasLocalProcess, PlatformApi, Reply,
    ServiceOptions, ServiceProcess, Session, Step, PLACEMENT_HEADER,
};
use serde_json::Value;

const FUNCTION: &str = "semifaas";
const API: &str = "io.semifaas.samples.blog.web.PostApiController";
const PAGES: &str = "io.semifaas.samples.blog.web.PageController";
const AUTH: &str = "io.semifaas.samples.blog.web.AuthController";
const SEARCH: &str = "io.semifaas.samples.blog.web.SearchController#search";
const RECENT_SEARCHES: &str = "io.semifaas.samples.blog.web.RecentSearches";
/// Local runs the agent fingerprints the receiver around (the mutation watch).
const WATCHED_LOCAL_RUNS: usize = 3;

fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-logs")
        .join(test)
}

/// What the normaliser masks, and nothing else: generated ids and `createdAt`/`updatedAt`
/// timestamps, wherever they appear in JSON bodies, HTML and redirect targets.
static MASKS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // JSON: "id":12, "postId":12
        (r#""(id|postId)":\d+"#, r#""$1":<id>"#),
        // JSON: "createdAt":"2026-11-23T13:15:04.123456Z" (and updatedAt, or null)
        (
            r#""(createdAt|updatedAt)":("[^"]*"|null)"#,
            r#""$1":<time>"#,
        ),
        // HTML: href="/posts/12", id="post-12", id="comment-12"; Location: /posts/12
        (r"/posts/\d+", "/posts/<id>"),
        (r#"id="(post|comment)-\d+""#, r#"id="$1-<id>""#),
        // HTML: any ISO-8601 instant the templates print
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "<time>"),
        // Spring Boot's whitelabel error page: when it was rendered
        (
            r"<div id='created'>[^<]*</div>",
            "<div id='created'><time></div>",
        ),
        // JSON: the session's visited post ids
        (r#""visited":\[[\d,]*\]"#, r#""visited":[<ids>]"#),
    ]
    .into_iter()
    .map(|(pattern, replacement)| (Regex::new(pattern).unwrap(), replacement))
    .collect()
});

fn normalise(text: &str) -> String {
    MASKS.iter().fold(text.to_owned(), |text, (regex, with)| {
        regex.replace_all(&text, *with).into_owned()
    })
}

fn normalised(reply: &Reply) -> Reply {
    Reply {
        status: reply.status,
        content_type: reply.content_type.clone(),
        location: reply.location.as_deref().map(normalise),
        body: normalise(&reply.body),
        // Where it ran differs by design.
        ran: None,
    }
}

/// The transcript of one run: the steps, then what the server holds afterwards.
struct Transcript {
    steps: Vec<Step>,
    dump: Value,
    session: Value,
}

/// The searches the script makes, in order; each adds its query to the recent list. The first
/// [`WATCHED_LOCAL_RUNS`] run locally (profiling), the next [`OFFLOADED_SEARCHES`] at the ratio
/// under test, the last one locally again: it sees the list the server holds.
const SEARCHES: [&str; 7] = [
    "caching",
    "SESSIONS",
    "zzz",
    "post",
    "transactions",
    "a",
    "end",
];
const OFFLOADED_SEARCHES: usize = 3;

async fn search(s: &mut Session, query: &str) {
    s.get_as(
        &format!("GET /api/search?q={query}"),
        &format!("/api/search?q={}", form_encode(query)),
    )
    .await;
}

/// The scripted session. With `offload`, the ratio is 1 after the profiling searches, except
/// for the last search.
async fn run_script(service: &ServiceProcess, offload: bool) -> Transcript {
    let mut s = Session::new(service);
    let set_ratio = async |s: &Session, ratio: f64| {
        if offload {
            s.admin().set_ratio(ratio).await.unwrap();
        }
    };

    // Local profiling runs of the search handler (ratio 0 on both services).
    for query in &SEARCHES[..WATCHED_LOCAL_RUNS] {
        search(&mut s, query).await;
    }
    set_ratio(&s, 1.0).await;

    s.get_as("GET /api/session (anonymous)", "/api/session")
        .await;
    s.json(
        "POST /api/posts (not logged in)",
        Method::POST,
        "/api/posts",
        r#"{"title":"t","body":"b"}"#,
    )
    .await;
    s.form(
        "POST /login (wrong password)",
        "/login",
        &[("username", "alice"), ("password", "nope")],
    )
    .await;
    let login = s
        .form(
            "POST /login",
            "/login",
            &[("username", "alice"), ("password", "alice")],
        )
        .await;
    assert_eq!(login.status, 200, "login: {}", login.body);
    s.get("/posts").await;
    let list = s.get("/api/posts").await.json();
    let seeded = list.as_array().expect("a list of posts");
    let first = seeded[0]["id"].as_u64().unwrap();
    let bobs = seeded
        .iter()
        .find(|p| p["author"] == "bob")
        .and_then(|p| p["id"].as_u64())
        .expect("bob wrote a seeded post");
    s.get_as("GET /posts/{first}", &format!("/posts/{first}"))
        .await;
    s.get_as("GET /api/posts/{first}", &format!("/api/posts/{first}"))
        .await;

    let created = s
        .json(
            "POST /api/posts",
            Method::POST,
            "/api/posts",
            r#"{"title":"Equivalence, end to end","body":"The same *script* twice.\n\n- once local\n- once offloaded\n\nBoth must agree."}"#,
        )
        .await;
    assert_eq!(created.status, 201, "create: {}", created.body);
    let post = created.json()["id"].as_u64().unwrap();
    s.json(
        "POST /api/posts/{post}/comments",
        Method::POST,
        &format!("/api/posts/{post}/comments"),
        r#"{"body":"A comment, written once."}"#,
    )
    .await;
    s.json(
        "PUT /api/posts/{post}",
        Method::PUT,
        &format!("/api/posts/{post}"),
        r#"{"title":"Equivalence, edited","body":"Edited *once*, in place."}"#,
    )
    .await;
    s.json(
        "PUT /api/posts/{bobs} (forbidden)",
        Method::PUT,
        &format!("/api/posts/{bobs}"),
        r#"{"title":"mine now","body":"no"}"#,
    )
    .await;
    s.get("/posts/new").await;
    s.form(
        "POST /posts (invalid form)",
        "/posts",
        &[("title", ""), ("body", "x")],
    )
    .await;
    let redirect = s
        .form(
            "POST /posts (valid form)",
            "/posts",
            &[
                ("title", "From the form"),
                ("body", "Posted through the *HTML* form."),
            ],
        )
        .await;
    assert_eq!(redirect.status, 302, "form post redirects: {redirect:?}");
    let target = redirect.location.clone().expect("a redirect target");
    s.get_as("GET the form post's redirect target", &target)
        .await;
    s.get_as("GET /posts/{post}", &format!("/posts/{post}"))
        .await;
    s.json(
        "POST /api/posts (validation error)",
        Method::POST,
        "/api/posts",
        r#"{"title":"","body":""}"#,
    )
    .await;
    s.json(
        "POST /api/posts (malformed JSON)",
        Method::POST,
        "/api/posts",
        "{not json",
    )
    .await;
    s.get("/api/posts/abc").await;
    s.get("/api/posts/999999").await;
    s.get("/posts/999999").await;
    s.get("/posts/abc").await;
    s.get("/nowhere").await;
    s.get("/api/stats").await;
    s.get_as("GET /api/search (no q)", "/api/search").await;
    for query in &SEARCHES[WATCHED_LOCAL_RUNS..][..OFFLOADED_SEARCHES] {
        search(&mut s, query).await;
    }
    set_ratio(&s, 0.0).await;
    search(&mut s, SEARCHES[SEARCHES.len() - 1]).await;
    set_ratio(&s, 1.0).await;
    s.get_as("GET /posts (after the writes)", "/posts").await;
    s.get_as("GET /api/posts (after the writes)", "/api/posts")
        .await;
    s.get_as("GET /api/stats (after the writes)", "/api/stats")
        .await;
    s.get("/health").await;
    let session = s.get("/api/session").await.json();
    let dump = s.get("/api/admin/dump").await.json();
    s.form("POST /logout", "/logout", &[]).await;
    s.get_as("GET /api/session (logged out)", "/api/session")
        .await;
    s.json(
        "PUT /api/posts/{post} (logged out)",
        Method::PUT,
        &format!("/api/posts/{post}"),
        r#"{"title":"x","body":"y"}"#,
    )
    .await;
    Transcript {
        steps: s.into_steps(),
        dump,
        session,
    }
}

/// A fresh blog service (fresh in-memory H2) where every handler is a candidate from its first
/// run, started at ratio 0. The agent's INFO lines (demotions) go to the service log.
async fn start_blog(
    dist: &Dist,
    platform: &FaasLocalProcess,
    logs: &std::path::Path,
) -> ServiceProcess {
    let mut options = ServiceOptions::for_platform("blog", platform);
    options.settings.extend(
        [
            ("include", "io.semifaas.samples.blog"),
            ("min-cpu-ms", "0"),
            ("profile.samples", "0"),
            ("placement-header", PLACEMENT_HEADER),
            // The session checks equivalence with most invocations offloaded: the do-no-harm
            // guard, which keeps requests local while offloads are slower (a loaded machine),
            // is tested on its own (agent/src/harm_guard.rs).
            ("do-no-harm", "false"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    options
        .jvm_options
        .push("-Dlogging.level.io.semifaas.agent=INFO".to_owned());
    ServiceProcess::start(dist, &options, logs).await.unwrap()
}

/// The steps that must fail, by label: status and the error code of the JSON body (`None`:
/// Spring Boot's own error page).
const EXPECTED_ERRORS: [(&str, u16, Option<&str>); 12] = [
    (
        "POST /api/posts (not logged in)",
        401,
        Some("not_logged_in"),
    ),
    ("POST /login (wrong password)", 401, Some("bad_credentials")),
    ("PUT /api/posts/{bobs} (forbidden)", 403, Some("forbidden")),
    (
        "POST /api/posts (validation error)",
        400,
        Some("validation_failed"),
    ),
    ("POST /api/posts (malformed JSON)", 400, Some("bad_request")),
    ("GET /api/posts/abc", 400, Some("bad_request")),
    ("GET /api/posts/999999", 404, Some("not_found")),
    ("GET /posts/999999", 404, Some("not_found")),
    ("GET /posts/abc", 400, Some("bad_request")),
    ("GET /nowhere", 404, None),
    ("GET /api/search (no q)", 400, Some("bad_request")),
    (
        "PUT /api/posts/{post} (logged out)",
        401,
        Some("not_logged_in"),
    ),
];

fn handler<'a>(stats: &'a Value, key: &str) -> &'a Value {
    let report = &stats["handlers"][key];
    assert!(report.is_object(), "no stats for {key}: {stats}");
    report
}

fn count(report: &Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(report, |v, k| &v[*k])
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blog_session_offloaded_equals_the_local_one() {
    blog_session(PlatformApi::Lambda).await;
}

/// The same session through the bundled platform's OpenWhisk API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_openwhisk_a_blog_session_offloaded_equals_the_local_one() {
    blog_session(PlatformApi::Openwhisk).await;
}

async fn blog_session(api: PlatformApi) {
    let dist = Dist::locate().unwrap();
    let logs = log_dir(&format!("blog-{}", api.as_str()));
    let platform =
        FaasLocalProcess::start_api(&dist, FUNCTION, api, &["--concurrency", "4"], None, &logs)
            .await
            .unwrap();

    // Reference: everything on the server.
    let local = {
        let service = start_blog(&dist, &platform, &logs).await;
        let transcript = run_script(&service, false).await;
        let stats = Admin::new(service.admin_port).stats().await.unwrap();
        assert_eq!(stats["totals"]["offloaded"], 0, "ratio 0 offloads nothing");
        transcript
    };

    // Under test: a second fresh service, ratio 1 after the profiling searches.
    let service = start_blog(&dist, &platform, &logs).await;
    let admin = Admin::new(service.admin_port);
    let offloaded = run_script(&service, true).await;
    let stats = admin.stats().await.unwrap();
    let log = service.log();

    // The reference itself behaves: bad input gets its error, nothing else fails.
    assert!(local.steps.len() >= 40, "{} requests", local.steps.len());
    for Step { label, reply, .. } in &local.steps {
        let expected = EXPECTED_ERRORS
            .iter()
            .find(|(l, _, _)| label == l)
            .map(|(_, status, code)| (*status, *code));
        match expected {
            Some((status, code)) => {
                assert_eq!(reply.status, status, "{label}: {}", reply.body);
                if let Some(code) = code {
                    assert_eq!(reply.json()["error"], code, "{label}: {}", reply.body);
                }
            }
            None => assert!(reply.status < 400, "{label}: {reply:?}"),
        }
    }

    // The same statuses, content types, redirect targets and bodies, step by step, after
    // masking ids and timestamps only.
    assert_eq!(local.steps.len(), offloaded.steps.len());
    for (want, got) in local.steps.iter().zip(&offloaded.steps) {
        assert_eq!(
            normalised(&want.reply),
            normalised(&got.reply),
            "{}: offloaded reply differs from the local one",
            want.label
        );
    }
    assert_eq!(
        normalise(&local.dump.to_string()),
        normalise(&offloaded.dump.to_string()),
        "the databases differ"
    );
    assert_eq!(
        local.session, offloaded.session,
        "the session attributes differ"
    );

    // Most of the session's invocations offloaded (not counting the readiness probes the start
    // sent, as many as the seeding takes), none abandoned, and the placement header agrees with
    // `/stats` request by request.
    let totals = &stats["totals"];
    let n = |k: &str| totals[k].as_u64().unwrap_or(0);
    assert_eq!(n("abandoned"), 0, "{totals}");
    let session_offloaded: u64 = offloaded.steps.iter().map(|s| s.offloaded).sum();
    let session_invocations: u64 = offloaded.steps.iter().map(|s| s.offloaded + s.local).sum();
    let share = session_offloaded as f64 / session_invocations.max(1) as f64;
    println!(
        "blog session: {} requests, {session_offloaded} of {session_invocations} invocations offloaded",
        offloaded.steps.len(),
    );
    assert!(
        share >= 0.6,
        "{:.0} % of the invocations offloaded: {totals}",
        share * 100.0
    );
    let mismatched = placement_mismatches(&offloaded.steps);
    assert!(
        mismatched.is_empty(),
        "the placement header disagrees with /stats:\n{}",
        mismatched.join("\n")
    );

    // Every write happened exactly once: the seeded rows plus what the script created.
    for dump in [&local.dump, &offloaded.dump] {
        let titles: Vec<&str> = dump["posts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles.len(), 6, "4 seeded posts + 2 written: {titles:?}");
        assert_eq!(&titles[4..], ["Equivalence, edited", "From the form"]);
        let comments = dump["comments"].as_array().unwrap();
        assert_eq!(comments.len(), 7, "6 seeded comments + 1 written");
        assert_eq!(comments[6]["body"], "A comment, written once.");
        assert_eq!(dump["users"].as_array().unwrap().len(), 2);
    }
    assert_eq!(offloaded.session["user"], "alice");
    assert_eq!(
        offloaded.session["visited"].as_array().map(Vec::len),
        Some(4),
        "four post views recorded in the session (the first post as a page and as JSON, the \
         form's post after its redirect, the API's post): {}",
        offloaded.session
    );

    // The handlers ran in function instances without failures, and the writes went through
    // remote calls to the server's repositories and session.
    let must_offload = [
        format!("{API}#list"),
        format!("{API}#get"),
        format!("{API}#create"),
        format!("{API}#comment"),
        format!("{API}#edit"),
        format!("{PAGES}#list"),
        format!("{PAGES}#show"),
        format!("{PAGES}#newPost"),
        format!("{PAGES}#create"),
        format!("{AUTH}#login"),
        format!("{AUTH}#session"),
        SEARCH.to_owned(),
    ];
    for key in &must_offload {
        let report = handler(&stats, key);
        assert!(
            count(report, &["offloaded"]) > 0,
            "{key} was offloaded: {report}\n{log}"
        );
        assert_eq!(
            count(report, &["failures"]),
            0,
            "{key} had no failures: {report}"
        );
        assert!(
            report["failure_reasons"]
                .as_object()
                .is_none_or(|r| r.values().all(|n| n == 0)),
            "{key} has no failure reasons: {report}"
        );
    }
    for key in ["create", "comment", "edit"].map(|m| format!("{API}#{m}")) {
        assert!(
            count(handler(&stats, &key), &["fallbacks", "invoke"]) > 0,
            "{key} wrote through remote calls: {stats}"
        );
    }
    assert!(
        count(
            handler(&stats, &format!("{PAGES}#create")),
            &["fallbacks", "invoke"]
        ) > 0,
        "the form post wrote through remote calls: {stats}"
    );

    // Demotion: the profiling runs saw the search handler change its RecentSearches in place.
    assert!(
        log.lines().any(|l| l.contains(SEARCH)
            && l.contains(RECENT_SEARCHES)
            && l.contains("now stays on the server")),
        "the agent logged the demotion of {RECENT_SEARCHES}:\n{log}"
    );
    let demotions: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("now stays on the server"))
        .collect();
    assert_eq!(
        demotions.len(),
        1,
        "only RecentSearches is demoted; classes merely referencing server-bound beans are not: \
         {demotions:#?}"
    );
    let search = handler(&stats, SEARCH);
    assert_eq!(
        count(search, &["local"]),
        (WATCHED_LOCAL_RUNS + 1) as u64,
        "{search}"
    );
    assert_eq!(
        count(search, &["offloaded"]),
        OFFLOADED_SEARCHES as u64,
        "{search}"
    );
    assert!(
        count(search, &["fallbacks", "invoke"]) > 0,
        "the offloaded search called the server's RecentSearches: {search}"
    );
    // The list kept growing on the server: the last search, run there, sees every query.
    let last = offloaded
        .steps
        .iter()
        .rev()
        .find(|step| step.label.starts_with("GET /api/search"))
        .unwrap();
    assert_eq!(
        last.reply.json()["recent"],
        serde_json::json!(SEARCHES),
        "every query is in the server's list"
    );
}
