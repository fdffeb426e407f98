//! `semifaas bench-fallbacks`: how many fallbacks (closure fetches, class and resource loads,
//! remote calls) one offloaded request of each blog handler needs, on a cold instance and on a
//! warm one. Reads the agent's per-handler counters around every single request, so each number
//! belongs to exactly one request.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, Context, Result};
use clap::Args;
use reqwest::{header, Method};
use serde::Serialize;
use serde_json::Value;

use semifaas_cli::{
    harness::{Admin, Dist, FaasLocalProcess, ServiceOptions, ServiceProcess},
    plot_bars::{self, BarSeries},
};

const FUNCTION: &str = "semifaas";
const KINDS: [&str; 4] = ["fetch_closure", "load_class", "get_resource", "invoke"];
/// Idle seconds before faas-local stops an instance, so each handler's first request is cold.
const KEEP_ALIVE_SECS: &str = "1";
const BLOG: &str = "io.semifaas.samples.blog.web.";

#[derive(Debug, Args)]
pub struct FallbackBenchArgs {
    /// Where the JSON report and the PNG plot go.
    #[arg(long, default_value = "bench-out")]
    out: PathBuf,
    /// Requests per handler on a warm instance, after the cold one.
    #[arg(long, default_value_t = 3)]
    warm: usize,
}

/// Fallbacks of the requests of one handler in one state (cold or warm).
#[derive(Debug, Default, Serialize)]
struct Tally {
    requests: u64,
    offloaded: u64,
    failed: u64,
    /// Sums over the offloaded requests, by kind.
    fallbacks: BTreeMap<String, u64>,
}

impl Tally {
    fn per_request(&self, kind: &str) -> f64 {
        match self.offloaded {
            0 => 0.0,
            n => self.fallbacks.get(kind).copied().unwrap_or(0) as f64 / n as f64,
        }
    }
}

#[derive(Debug, Serialize)]
struct HandlerResult {
    handler: String,
    request: String,
    cold: Tally,
    warm: Tally,
    /// The agent's last failure message for the handler, when an offload failed.
    last_failure: Option<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    unix_time: u64,
    command: String,
    warm_requests_per_handler: usize,
    keep_alive_secs: &'static str,
    handlers: Vec<HandlerResult>,
}

/// One blog request and the handler that serves it.
struct Case {
    handler: &'static str,
    method: Method,
    path: String,
    form: Option<&'static str>,
    json: Option<String>,
}

impl Case {
    fn new(handler: &'static str, method: Method, path: &str) -> Case {
        Case {
            handler,
            method,
            path: path.into(),
            form: None,
            json: None,
        }
    }

    fn form(mut self, body: &'static str) -> Case {
        self.form = Some(body);
        self
    }

    fn json(mut self, body: &str) -> Case {
        self.json = Some(body.into());
        self
    }

    fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

const POST_BODY: &str =
    "A post written by the fallback benchmark.\n\n## Section\n\nSome *markdown* \
     with a list:\n\n- one\n- two\n\nAnd `code`.";

fn cases(own_post: u64) -> Vec<Case> {
    let post_json = serde_json::json!({"title": "Benchmark post", "body": POST_BODY}).to_string();
    vec![
        Case::new("AuthController#session", Method::GET, "/api/session"),
        Case::new("PostApiController#list", Method::GET, "/api/posts"),
        Case::new("PostApiController#get", Method::GET, "/api/posts/1"),
        Case::new("PostApiController#create", Method::POST, "/api/posts").json(&post_json),
        Case::new(
            "PostApiController#comment",
            Method::POST,
            "/api/posts/1/comments",
        )
        .json(r#"{"body":"A comment from the fallback benchmark."}"#),
        Case::new(
            "PostApiController#edit",
            Method::PUT,
            &format!("/api/posts/{own_post}"),
        )
        .json(&post_json),
        Case::new("PageController#list", Method::GET, "/posts"),
        Case::new("PageController#show", Method::GET, "/posts/2"),
        Case::new("PageController#newPost", Method::GET, "/posts/new"),
        Case::new("PageController#create", Method::POST, "/posts")
            .form("title=Benchmark+page+post&body=Written+through+the+form+by+the+benchmark."),
        Case::new(
            "SearchController#search",
            Method::GET,
            "/api/search?q=markdown",
        ),
        Case::new("StatsController#stats", Method::GET, "/api/stats"),
        Case::new("AdminController#dump", Method::GET, "/api/admin/dump"),
        Case::new("AuthController#login", Method::POST, "/login")
            .form("username=alice&password=alice"),
    ]
}

/// A blog client that keeps the session cookie of its login.
struct BlogClient {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl BlogClient {
    fn new(port: u16) -> BlogClient {
        BlogClient {
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("building an HTTP client"),
            base: format!("http://127.0.0.1:{port}"),
            cookie: None,
        }
    }

    /// Sends the case's request; an answer that is not 2xx or a redirect is an error.
    async fn send(&mut self, case: &Case) -> Result<Value> {
        let mut builder = self
            .client
            .request(case.method.clone(), format!("{}{}", self.base, case.path));
        if let Some(cookie) = &self.cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        if let Some(form) = case.form {
            builder = builder
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form);
        } else if let Some(json) = &case.json {
            builder = builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(json.clone());
        }
        let response = builder.send().await.with_context(|| case.describe())?;
        if let Some(set) = response.headers().get(header::SET_COOKIE) {
            let pair = set.to_str()?.split(';').next().unwrap_or_default();
            self.cookie = Some(pair.to_owned());
        }
        let status = response.status();
        let body = response.bytes().await?;
        if !(status.is_success() || status.is_redirection()) {
            bail!(
                "{}: HTTP {status}: {}",
                case.describe(),
                String::from_utf8_lossy(&body)
            );
        }
        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

/// The counters of one handler in the agent's `/stats`.
#[derive(Debug, Clone, Default)]
struct Counters {
    offloaded: u64,
    failures: u64,
    fallbacks: BTreeMap<String, u64>,
    last_failure: Option<String>,
}

impl Counters {
    fn fallback(&self, kind: &str) -> u64 {
        self.fallbacks.get(kind).copied().unwrap_or(0)
    }
}

async fn counters(admin: &Admin, handler: &str) -> Result<Counters> {
    let stats = admin.stats().await?;
    let h = &stats["handlers"][format!("{BLOG}{handler}")];
    if h.is_null() {
        return Ok(Counters::default());
    }
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Ok(Counters {
        offloaded: n(&h["offloaded"]),
        failures: n(&h["failures"]),
        fallbacks: KINDS
            .iter()
            .map(|k| (k.to_string(), n(&h["fallbacks"][k])))
            .collect(),
        last_failure: h["last_failure"].as_str().map(str::to_owned),
    })
}

async fn cold_starts(platform: &FaasLocalProcess) -> Result<u64> {
    let stats = platform.stats().await?;
    stats["functions"][FUNCTION]["cold_starts"]
        .as_u64()
        .with_context(|| format!("no cold_starts for {FUNCTION} in /local/stats: {stats}"))
}

/// Waits until faas-local has stopped every idle instance, so the next request starts one.
async fn wait_no_instances(platform: &FaasLocalProcess) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = platform.stats().await?;
        if stats["functions"][FUNCTION]["instances"].as_u64() == Some(0) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("faas-local still has instances 30 s after the keep-alive: {stats}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends one request and adds its fallbacks to the cold or warm tally, by whether faas-local
/// started an instance for it.
async fn measure(
    blog: &mut BlogClient,
    admin: &Admin,
    platform: &FaasLocalProcess,
    case: &Case,
    result: &mut HandlerResult,
) -> Result<()> {
    let (before, starts) = (
        counters(admin, case.handler).await?,
        cold_starts(platform).await?,
    );
    blog.send(case).await?;
    let (after, starts_after) = (
        counters(admin, case.handler).await?,
        cold_starts(platform).await?,
    );
    let tally = if starts_after > starts {
        &mut result.cold
    } else {
        &mut result.warm
    };
    tally.requests += 1;
    if after.failures > before.failures {
        tally.failed += 1;
        result.last_failure = after.last_failure;
    } else if after.offloaded > before.offloaded {
        tally.offloaded += 1;
        for kind in KINDS {
            *tally.fallbacks.entry(kind.into()).or_default() +=
                after.fallback(kind).saturating_sub(before.fallback(kind));
        }
    }
    Ok(())
}

pub async fn run(args: FallbackBenchArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)?;
    let dist = Dist::locate()?;
    let logs = args.out.join("logs");
    let platform = FaasLocalProcess::start(
        &dist,
        FUNCTION,
        &["--concurrency", "1", "--keep-alive-secs", KEEP_ALIVE_SECS],
        &logs,
    )
    .await?;
    let mut options = ServiceOptions::new("blog", &platform.endpoint());
    options.settings.extend([
        ("min-cpu-ms".to_owned(), "0".to_owned()),
        ("profile.samples".to_owned(), "0".to_owned()),
    ]);
    let service = ServiceProcess::start(&dist, &options, &logs).await?;
    let admin = Admin::new(service.admin_port);
    let mut blog = BlogClient::new(service.port);

    // At ratio 0: log in and write the post the edit case changes (only its author may).
    let login = Case::new("AuthController#login", Method::POST, "/login")
        .form("username=alice&password=alice");
    blog.send(&login).await?;
    let post_json = serde_json::json!({"title": "Benchmark post", "body": POST_BODY}).to_string();
    let created = blog
        .send(&Case::new("PostApiController#create", Method::POST, "/api/posts").json(&post_json))
        .await?;
    let own_post = created["id"]
        .as_u64()
        .with_context(|| format!("POST /api/posts answered no id: {created}"))?;
    admin.set_ratio(1.0).await?;

    let mut results = vec![];
    for case in cases(own_post) {
        wait_no_instances(&platform).await?;
        let mut result = HandlerResult {
            handler: case.handler.into(),
            request: case.describe(),
            cold: Tally::default(),
            warm: Tally::default(),
            last_failure: None,
        };
        for _ in 0..=args.warm {
            measure(&mut blog, &admin, &platform, &case, &mut result).await?;
        }
        tracing::info!(handler = case.handler, "measured");
        results.push(result);
    }

    print_table(&results);
    let report = Report {
        unix_time: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        warm_requests_per_handler: args.warm,
        keep_alive_secs: KEEP_ALIVE_SECS,
        handlers: results,
    };
    let json = args.out.join("fallbacks.json");
    std::fs::write(&json, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", json.display()))?;
    let png = args.out.join("fallbacks.png");
    plot(&png, &report.handlers)?;
    println!("wrote {} and {}", json.display(), png.display());
    Ok(())
}

fn print_table(results: &[HandlerResult]) {
    println!(
        "| handler | cold: offloaded/requests | fetch_closure | load_class | get_resource | invoke | warm: offloaded/requests | load_class | get_resource | invoke |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in results {
        let (c, w) = (&r.cold, &r.warm);
        println!(
            "| `{}` | {}/{} | {:.1} | {:.1} | {:.1} | {:.1} | {}/{} | {:.1} | {:.1} | {:.1} |",
            r.handler,
            c.offloaded,
            c.requests,
            c.per_request("fetch_closure"),
            c.per_request("load_class"),
            c.per_request("get_resource"),
            c.per_request("invoke"),
            w.offloaded,
            w.requests,
            w.per_request("load_class"),
            w.per_request("get_resource"),
            w.per_request("invoke"),
        );
    }
    for r in results.iter().filter(|r| r.last_failure.is_some()) {
        println!(
            "{}: an offload failed: {}",
            r.handler,
            r.last_failure.as_deref().unwrap_or_default()
        );
    }
}

fn plot(path: &Path, results: &[HandlerResult]) -> Result<()> {
    let groups: Vec<String> = results.iter().map(|r| short_name(&r.handler)).collect();
    let mut series = vec![];
    for cold in [true, false] {
        let state = if cold { "cold" } else { "warm" };
        for kind in ["load_class", "get_resource", "invoke"] {
            let tally = |r: &HandlerResult| {
                if cold {
                    r.cold.per_request(kind)
                } else {
                    r.warm.per_request(kind)
                }
            };
            series.push(BarSeries {
                name: format!("{state} {kind}"),
                values: results.iter().map(tally).collect(),
            });
        }
    }
    plot_bars::grouped_bars(
        path,
        "Fallbacks per offloaded request (blog)",
        "fallbacks per request",
        &groups,
        &series,
    )
}

/// `PostApiController#get` → `PostApi#get`, short enough to label a bar group.
fn short_name(handler: &str) -> String {
    handler.replacen("Controller", "", 1)
}
