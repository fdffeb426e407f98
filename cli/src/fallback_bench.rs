//! `semifaas bench-fallbacks`: how many fallbacks (closure fetches, class and resource loads,
//! remote calls, lazy-data initializations) one offloaded request of each handler of the stateful
//! samples (blog, library) needs, on a cold instance and on a warm one, and what each request
//! takes at ratio 0 and at ratio 1. Reads the agent's per-handler counters around every single
//! request, so each number belongs to exactly one request.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, ensure, Context, Result};
use clap::{Args, ValueEnum};
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use semifaas_cli::{
    harness::{
        Admin, Browser, Dist, FaasLocalProcess, Reply, ServiceOptions, ServiceProcess,
        PLACEMENT_HEADER,
    },
    plot_bars::{self, BarSeries},
    timeline,
};

const FUNCTION: &str = "semifaas";
const KINDS: [&str; 6] = [
    "fetch_closure",
    "load_class",
    "get_resource",
    "invoke",
    "lazy_data",
    "library_jar",
];
/// Idle seconds before faas-local stops an instance, so each handler's first request is cold.
const KEEP_ALIVE_SECS: &str = "1";

#[derive(Debug, Args)]
pub struct FallbackBenchArgs {
    /// Where the JSON reports and the PNG plots go.
    #[arg(long, default_value = "bench-out")]
    out: PathBuf,
    /// Requests per handler on a warm instance (and locally after the first), after the cold one.
    #[arg(long, default_value_t = 3)]
    warm: usize,
    /// The samples to measure, each with a service and platform of its own.
    #[arg(long = "sample", value_enum, default_values_t = [Sample::Blog, Sample::Library])]
    samples: Vec<Sample>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sample {
    Blog,
    Library,
}

impl Sample {
    fn jar(self) -> &'static str {
        match self {
            Sample::Blog => "blog",
            Sample::Library => "library",
        }
    }

    /// The package the cases' handler names are relative to.
    fn package(self) -> &'static str {
        match self {
            Sample::Blog => "io.semifaas.samples.blog.web.",
            Sample::Library => "io.semifaas.samples.library.",
        }
    }

    /// The file name of its report and plot, without extension (the blog's kept its name).
    fn report_stem(self) -> &'static str {
        match self {
            Sample::Blog => "fallbacks",
            Sample::Library => "fallbacks-library",
        }
    }
}

/// The requests of one handler in one state: cold or warm instance.
#[derive(Debug, Default, Serialize)]
struct Tally {
    requests: u64,
    offloaded: u64,
    failed: u64,
    /// Sums over the offloaded requests, by kind.
    fallbacks: BTreeMap<String, u64>,
    /// Latency of each offloaded request, as the client saw it.
    latency_ms: Vec<f64>,
}

impl Tally {
    fn per_request(&self, kind: &str) -> f64 {
        match self.offloaded {
            0 => 0.0,
            n => self.fallbacks.get(kind).copied().unwrap_or(0) as f64 / n as f64,
        }
    }

    fn p50_ms(&self) -> Option<f64> {
        p50(&self.latency_ms)
    }
}

/// The handler's requests at ratio 0: its first on this server, then the rest.
#[derive(Debug, Default, Serialize)]
struct Local {
    first_ms: Option<f64>,
    warm_ms: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct HandlerResult {
    handler: String,
    request: String,
    local: Local,
    cold: Tally,
    warm: Tally,
    /// The agent's last failure message for the handler, when an offload failed.
    last_failure: Option<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    sample: Sample,
    unix_time: u64,
    command: String,
    warm_requests_per_handler: usize,
    keep_alive_secs: &'static str,
    handlers: Vec<HandlerResult>,
}

/// What a case sends.
enum Send {
    Get(String),
    /// A form POST (with the session's CSRF token when the sample has one).
    Form(String, Vec<(&'static str, String)>),
    Json(Method, String, String),
}

/// One request and the handler (relative to the sample's package) that serves it.
struct Case {
    handler: &'static str,
    send: Send,
}

impl Case {
    fn get(handler: &'static str, path: impl Into<String>) -> Case {
        Case {
            handler,
            send: Send::Get(path.into()),
        }
    }

    fn form(
        handler: &'static str,
        path: impl Into<String>,
        fields: &[(&'static str, &str)],
    ) -> Case {
        let fields = fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        Case {
            handler,
            send: Send::Form(path.into(), fields),
        }
    }

    fn json(handler: &'static str, method: Method, path: impl Into<String>, body: &str) -> Case {
        Case {
            handler,
            send: Send::Json(method, path.into(), body.into()),
        }
    }

    fn describe(&self) -> String {
        match &self.send {
            Send::Get(path) => format!("GET {path}"),
            Send::Form(path, _) => format!("POST {path}"),
            Send::Json(method, path, _) => format!("{method} {path}"),
        }
    }

    /// Sends it; a server error (5xx) is an error (4xx answers, such as a validation error page,
    /// are requests like any other).
    async fn send(&self, browser: &mut Browser) -> Result<Reply> {
        let reply = match &self.send {
            Send::Get(path) => browser.get(path).await,
            Send::Form(path, fields) => {
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                browser.form(path, &fields).await
            }
            Send::Json(method, path, body) => browser.json(method.clone(), path, body).await,
        };
        if reply.status >= 500 {
            bail!(
                "{}: HTTP {}: {}",
                self.describe(),
                reply.status,
                &reply.body[..reply.body.len().min(300)]
            );
        }
        Ok(reply)
    }
}

const POST_BODY: &str =
    "A post written by the fallback benchmark.\n\n## Section\n\nSome *markdown* \
     with a list:\n\n- one\n- two\n\nAnd `code`.";

/// At ratio 0: logs in, writes the post the edit case changes (only its author may), and returns
/// the blog's cases.
async fn blog_cases(browser: &mut Browser) -> Result<Vec<Case>> {
    let login = [("username", "alice"), ("password", "alice")];
    Case::form("AuthController#login", "/login", &login)
        .send(browser)
        .await?;
    let post_json = serde_json::json!({"title": "Benchmark post", "body": POST_BODY}).to_string();
    let created = Case::json(
        "PostApiController#create",
        Method::POST,
        "/api/posts",
        &post_json,
    )
    .send(browser)
    .await?;
    let own_post = created.json()["id"]
        .as_u64()
        .with_context(|| format!("POST /api/posts answered no id: {}", created.body))?;
    let comment = r#"{"body":"A comment from the fallback benchmark."}"#;
    Ok(vec![
        Case::get("AuthController#session", "/api/session"),
        Case::get("PostApiController#list", "/api/posts"),
        Case::get("PostApiController#get", "/api/posts/1"),
        Case::json(
            "PostApiController#create",
            Method::POST,
            "/api/posts",
            &post_json,
        ),
        Case::json(
            "PostApiController#comment",
            Method::POST,
            "/api/posts/1/comments",
            comment,
        ),
        Case::json(
            "PostApiController#edit",
            Method::PUT,
            format!("/api/posts/{own_post}"),
            &post_json,
        ),
        Case::get("PageController#list", "/posts"),
        Case::get("PageController#show", "/posts/2"),
        Case::get("PageController#newPost", "/posts/new"),
        Case::form(
            "PageController#create",
            "/posts",
            &[
                ("title", "Benchmark page post"),
                ("body", "Written through the form by the benchmark."),
            ],
        ),
        Case::get("SearchController#search", "/api/search?q=markdown"),
        Case::get("StatsController#stats", "/api/stats"),
        Case::get("AdminController#dump", "/api/admin/dump"),
        Case::form("AuthController#login", "/login", &login),
    ])
}

/// The book form's fields (`isbn` with a valid check digit).
fn book<'a>(title: &'a str, isbn: &'a str) -> [(&'static str, &'a str); 5] {
    [
        ("title", title),
        ("author", "Jane Austen"),
        ("isbn", isbn),
        ("publishedYear", "1817"),
        ("copies", "9"),
    ]
}

/// At ratio 0: logs in as the librarian (CSRF token and all), adds the book the edit and borrow
/// cases use, borrows it once for the return case, and returns the library's cases.
async fn library_cases(browser: &mut Browser) -> Result<Vec<Case>> {
    browser.get("/login").await;
    let login = Case::form(
        "web.HomeController#login",
        "/login",
        &[("username", "alice"), ("password", "alice")],
    )
    .send(browser)
    .await?;
    ensure!(
        login.status == 302 && !login.location.as_deref().unwrap_or("").contains("error"),
        "logging in as alice failed: {login:?}"
    );
    // Login replaced the session and its CSRF token: a page with a form carries the new one.
    browser.get("/books/new").await;
    let books = browser.get("/api/books").await.json();
    let pride = book_id(&books, "Pride and Prejudice")?;
    let created = Case::form(
        "web.CatalogueController#create",
        "/books",
        &book("Persuasion", "9780000030009"),
    )
    .send(browser)
    .await?;
    let added = created
        .location
        .as_deref()
        .and_then(|l| l.strip_prefix("/books/"))
        .and_then(|id| id.parse::<u64>().ok())
        .with_context(|| format!("adding a book redirected nowhere: {created:?}"))?;
    Case::form(
        "web.BookController#borrow",
        format!("/books/{added}/borrow"),
        &[],
    )
    .send(browser)
    .await?;
    let mine = browser.get("/my/loans").await;
    let loan = loan_id(&mine.body)
        .with_context(|| format!("no loan to return on /my/loans: {}", mine.body))?;
    Ok(vec![
        Case::get("web.HomeController#home", "/"),
        Case::get("web.CatalogueController#list", "/books?q=austen"),
        Case::get("web.BookController#show", format!("/books/{pride}")),
        Case::get("web.CatalogueController#newBook", "/books/new"),
        Case::form(
            "web.CatalogueController#create",
            "/books",
            &book("Sanditon", "9780000040008"),
        ),
        Case::get("web.BookController#edit", format!("/books/{added}/edit")),
        Case::form(
            "web.BookController#update",
            format!("/books/{added}/edit"),
            &book("Persuasion: A Novel", "9780000030009"),
        ),
        Case::form(
            "web.BookController#borrow",
            format!("/books/{added}/borrow"),
            &[],
        ),
        Case::get("web.LoanController#myLoans", "/my/loans"),
        Case::form(
            "web.LoanController#giveBack",
            format!("/loans/{loan}/return"),
            &[],
        ),
        Case::get("api.BookApiController#books", "/api/books"),
        Case::get("api.BookApiController#book", format!("/api/books/{pride}")),
        Case::get("api.BookApiController#summary", "/api/catalogue/summary"),
        Case::get("api.AdminController#dump", "/api/admin/dump"),
    ])
}

fn book_id(books: &Value, title: &str) -> Result<u64> {
    books
        .as_array()
        .and_then(|all| all.iter().find(|b| b["title"] == title))
        .and_then(|b| b["id"].as_u64())
        .with_context(|| format!("no book {title:?} in /api/books: {books}"))
}

/// The newest loan the page offers to return (`/loans/{id}/return`).
fn loan_id(page: &str) -> Option<u64> {
    page.match_indices("/loans/")
        .filter_map(|(at, _)| {
            let rest = &page[at + "/loans/".len()..];
            let digits = rest.find('/').map(|end| &rest[..end])?;
            rest[digits.len()..]
                .starts_with("/return")
                .then(|| digits.parse().ok())
                .flatten()
        })
        .max()
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
    let h = &stats["handlers"][handler];
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

/// One deployment of a sample: its platform, its service and a logged-in browser.
struct Bench<'a> {
    platform: &'a FaasLocalProcess,
    admin: Admin,
    browser: Browser,
    package: &'static str,
}

impl Bench<'_> {
    /// At ratio 0: sends the case and times it; it must have run locally.
    async fn measure_local(&mut self, case: &Case, local: &mut Local) -> Result<()> {
        let start = Instant::now();
        let reply = case.send(&mut self.browser).await?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        ensure!(
            reply.ran.as_deref() == Some("local"),
            "{} ran {:?} at ratio 0",
            case.describe(),
            reply.ran
        );
        match local.first_ms {
            None => local.first_ms = Some(ms),
            Some(_) => local.warm_ms.push(ms),
        }
        Ok(())
    }

    /// At ratio 1: sends the case and adds its fallbacks and latency to the cold or warm tally,
    /// by whether faas-local started an instance for it.
    async fn measure_offloaded(&mut self, case: &Case, result: &mut HandlerResult) -> Result<()> {
        let handler = format!("{}{}", self.package, case.handler);
        let (before, starts) = (
            counters(&self.admin, &handler).await?,
            cold_starts(self.platform).await?,
        );
        let start = Instant::now();
        let reply = case.send(&mut self.browser).await?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let (after, starts_after) = (
            counters(&self.admin, &handler).await?,
            cold_starts(self.platform).await?,
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
            ensure!(
                reply.ran.as_deref() == Some("offloaded"),
                "{}: /stats counted an offload of {handler}, the response says {:?}",
                case.describe(),
                reply.ran
            );
            tally.offloaded += 1;
            tally.latency_ms.push(ms);
            for kind in KINDS {
                *tally.fallbacks.entry(kind.into()).or_default() +=
                    after.fallback(kind).saturating_sub(before.fallback(kind));
            }
        }
        Ok(())
    }
}

pub async fn run(args: FallbackBenchArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)?;
    for sample in &args.samples {
        run_sample(*sample, &args).await?;
    }
    Ok(())
}

async fn run_sample(sample: Sample, args: &FallbackBenchArgs) -> Result<()> {
    let dist = Dist::locate()?;
    let logs = args.out.join("logs").join(sample.jar());
    let platform = FaasLocalProcess::start(
        &dist,
        FUNCTION,
        &["--concurrency", "1", "--keep-alive-secs", KEEP_ALIVE_SECS],
        &logs,
    )
    .await?;
    let mut options = ServiceOptions::new(sample.jar(), &platform.endpoint());
    options.settings.extend([
        ("min-cpu-ms".to_owned(), "0".to_owned()),
        ("profile.samples".to_owned(), "0".to_owned()),
        ("placement-header".to_owned(), PLACEMENT_HEADER.to_owned()),
    ]);
    let service = ServiceProcess::start(&dist, &options, &logs).await?;
    let mut bench = Bench {
        platform: &platform,
        admin: Admin::new(service.admin_port),
        browser: Browser::new(service.port),
        package: sample.package(),
    };
    let cases = match sample {
        Sample::Blog => blog_cases(&mut bench.browser).await?,
        Sample::Library => library_cases(&mut bench.browser).await?,
    };
    let mut results: Vec<HandlerResult> = cases
        .iter()
        .map(|case| HandlerResult {
            handler: case.handler.into(),
            request: case.describe(),
            local: Local::default(),
            cold: Tally::default(),
            warm: Tally::default(),
            last_failure: None,
        })
        .collect();
    // Ratio 0 first: the server's own first and warm runs of each handler.
    for (case, result) in cases.iter().zip(&mut results) {
        for _ in 0..=args.warm {
            bench.measure_local(case, &mut result.local).await?;
        }
    }
    bench.admin.set_ratio(1.0).await?;
    for (case, result) in cases.iter().zip(&mut results) {
        wait_no_instances(&platform).await?;
        for _ in 0..=args.warm {
            bench.measure_offloaded(case, result).await?;
        }
        tracing::info!(sample = sample.jar(), handler = case.handler, "measured");
    }

    println!("{}:", sample.jar());
    print_table(&results);
    let report = Report {
        sample,
        unix_time: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        warm_requests_per_handler: args.warm,
        keep_alive_secs: KEEP_ALIVE_SECS,
        handlers: results,
    };
    let json = args.out.join(format!("{}.json", sample.report_stem()));
    std::fs::write(&json, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", json.display()))?;
    let png = args.out.join(format!("{}.png", sample.report_stem()));
    plot(&png, sample, &report.handlers)?;
    println!("wrote {} and {}", json.display(), png.display());
    all_offloaded(&report.handlers)
}

/// Fails the run (its report already written) when a request sent at ratio 1 was not offloaded:
/// the fallback counts per offloaded request would then describe fewer requests than the table says.
fn all_offloaded(results: &[HandlerResult]) -> Result<()> {
    let missed: Vec<String> = results
        .iter()
        .filter_map(|r| {
            let requests = r.cold.requests + r.warm.requests;
            let offloaded = r.cold.offloaded + r.warm.offloaded;
            (offloaded < requests).then(|| {
                format!(
                    "{}: {offloaded} of {requests} offloaded (cold {}/{}, warm {}/{}){}",
                    r.handler,
                    r.cold.offloaded,
                    r.cold.requests,
                    r.warm.offloaded,
                    r.warm.requests,
                    r.last_failure
                        .as_deref()
                        .map(|f| format!("; last failure: {f}"))
                        .unwrap_or_default()
                )
            })
        })
        .collect();
    ensure!(
        missed.is_empty(),
        "not every request at ratio 1 was offloaded:\n{}",
        missed.join("\n")
    );
    Ok(())
}

fn p50(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    timeline::percentile(&sorted, 0.5)
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}"))
}

fn print_table(results: &[HandlerResult]) {
    println!(
        "| handler | ratio 0: first ms | warm ms | cold: offloaded/requests | ms | fetch_closure | load_class | get_resource | invoke | lazy_data | library_jar | warm: offloaded/requests | ms | load_class | get_resource | invoke | lazy_data |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in results {
        let (c, w) = (&r.cold, &r.warm);
        println!(
            "| `{}` | {} | {} | {}/{} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {}/{} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            r.handler,
            ms(r.local.first_ms),
            ms(p50(&r.local.warm_ms)),
            c.offloaded,
            c.requests,
            ms(c.p50_ms()),
            c.per_request("fetch_closure"),
            c.per_request("load_class"),
            c.per_request("get_resource"),
            c.per_request("invoke"),
            c.per_request("lazy_data"),
            c.per_request("library_jar"),
            w.offloaded,
            w.requests,
            ms(w.p50_ms()),
            w.per_request("load_class"),
            w.per_request("get_resource"),
            w.per_request("invoke"),
            w.per_request("lazy_data"),
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

fn plot(path: &Path, sample: Sample, results: &[HandlerResult]) -> Result<()> {
    let groups: Vec<String> = results.iter().map(|r| short_name(&r.handler)).collect();
    let mut series = vec![];
    for cold in [true, false] {
        let state = if cold { "cold" } else { "warm" };
        for kind in [
            "load_class",
            "get_resource",
            "invoke",
            "lazy_data",
            "library_jar",
        ] {
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
        &format!("Fallbacks per offloaded request ({})", sample.jar()),
        "fallbacks per request",
        &groups,
        &series,
    )
}

/// `web.PostApiController#get` → `PostApi#get`, short enough to label a bar group.
fn short_name(handler: &str) -> String {
    let class_and_method = handler.rsplit_once('.').map_or(handler, |(_, rest)| rest);
    class_and_method.replacen("Controller", "", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_returnable_loan_is_found_on_the_page() {
        let page = r#"<form action="/loans/3/return"></form><a href="/loans/12/return">x</a>
            <a href="/loans/40/renew">y</a>"#;
        assert_eq!(loan_id(page), Some(12));
        assert_eq!(loan_id("no loans"), None);
    }

    #[test]
    fn a_request_not_offloaded_at_ratio_1_fails_the_run() {
        let tally = |requests, offloaded| Tally {
            requests,
            offloaded,
            ..Tally::default()
        };
        let result = |handler: &str, warm: Tally| HandlerResult {
            handler: handler.into(),
            request: String::new(),
            local: Local::default(),
            cold: tally(1, 1),
            warm,
            last_failure: Some("timed out".into()),
        };
        assert!(all_offloaded(&[result("A#a", tally(3, 3))]).is_ok());
        let err = all_offloaded(&[result("A#a", tally(3, 3)), result("B#b", tally(3, 2))])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("B#b: 3 of 4 offloaded (cold 1/1, warm 2/3); last failure: timed out"),
            "{err}"
        );
        assert!(!err.contains("A#a"), "{err}");
    }

    #[test]
    fn bar_labels_drop_the_package_and_controller() {
        assert_eq!(short_name("web.BookController#show"), "Book#show");
        assert_eq!(short_name("PostApiController#get"), "PostApi#get");
    }
}
