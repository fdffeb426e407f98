//! `semifaas ratio` and `semifaas stats`: thin wrappers over the agent's admin endpoint.

use anyhow::{Context, Result};
use clap::Args;
use reqwest::Method;
use semifaas_cli::harness::Admin;
use serde_json::Value;

use crate::output::{self, Align, Output, OutputArgs, Table};

#[derive(Debug, Args)]
pub struct AdminTarget {
    /// The agent's admin endpoint: a URL, `host:port` or a port on 127.0.0.1.
    #[arg(long, env = "SEMIFAAS_ADMIN", default_value = "http://127.0.0.1:7071", value_parser = admin_url)]
    admin: String,
    /// The admin token. Without it, the token file the agent on this machine wrote for the
    /// admin address is read (its path is in the agent's start-up log).
    #[arg(long, env = "SEMIFAAS_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// The admin endpoint's base URL from what an operator types: `http://host:port`, `host:port`,
/// or `port` (the agent listens on 127.0.0.1 unless told otherwise).
fn admin_url(given: &str) -> Result<String, String> {
    let given = given.trim();
    let url = if given.contains("://") {
        given.to_owned()
    } else if given.parse::<u16>().is_ok() {
        format!("http://127.0.0.1:{given}")
    } else {
        format!("http://{given}")
    };
    let parsed =
        reqwest::Url::parse(&url).map_err(|e| format!("{given:?} is no admin endpoint: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(format!(
            "{given:?} is no admin endpoint: expected http://HOST:PORT, HOST:PORT or PORT"
        ));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

impl AdminTarget {
    /// A client of the admin endpoint that sends the token.
    pub fn client(&self) -> Result<Admin> {
        Admin::at(&self.admin, self.token.clone())
    }
}

#[derive(Debug, Args)]
pub struct RatioArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// The new ratio in [0,1]; without it, print the current one.
    #[arg(conflicts_with = "clear")]
    value: Option<String>,
    /// Set the ratio of one handler (`Class#method`, as listed by `semifaas stats`) instead of
    /// the global one.
    #[arg(long)]
    handler: Option<String>,
    /// Remove the handler's override: it follows the global ratio again.
    #[arg(long, requires = "handler")]
    clear: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// Print the raw JSON (same as `--output json`).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// Prints an admin answer: the JSON as is, or as `key  value` lines with `first` keys on top.
pub fn print(output: Output, text: &str, first: &[&str]) -> Result<()> {
    match output {
        Output::Json => println!("{}", text.trim()),
        Output::Table => {
            let value: Value =
                serde_json::from_str(text).context("the admin endpoint returned no JSON")?;
            print!("{}", output::document(&value, first));
        }
    }
    Ok(())
}

pub async fn ratio(args: RatioArgs) -> Result<()> {
    let admin = args.target.client()?;
    let mut path = "/ratio".to_owned();
    if let Some(handler) = &args.handler {
        path.push_str(&format!("?handler={}", handler.replace('#', "%23")));
    }
    let text = match (args.value, args.clear) {
        (_, true) => admin.call(Method::DELETE, &path, None).await?,
        (Some(value), false) => admin.call(Method::PUT, &path, Some(value)).await?,
        (None, false) => admin.call(Method::GET, &path, None).await?,
    };
    print(
        args.output.output,
        &text,
        &["handler", "ratio", "mode", "note"],
    )
}

pub async fn stats(args: StatsArgs) -> Result<()> {
    let text = args
        .target
        .client()?
        .call(Method::GET, "/stats", None)
        .await?;
    if args.json || args.output.output == Output::Json {
        println!("{}", text.trim());
        return Ok(());
    }
    let stats: Value =
        serde_json::from_str(&text).context("the admin endpoint returned no JSON")?;
    print!("{}", stats_table(&stats));
    Ok(())
}

/// Sum of the values of a JSON object of counts (`fallbacks` by kind).
fn sum(counts: &Value) -> u64 {
    counts
        .as_object()
        .map_or(0, |m| m.values().filter_map(Value::as_u64).sum())
}

/// Whether a handler is offloaded and, if not, why: `candidate`, `profiling 1/3`,
/// `ineligible: <reason>` or `local: <reason>`.
fn why(h: &Value) -> String {
    let reason = h["reason"].as_str().unwrap_or_default();
    let status = h["status"].as_str().unwrap_or_else(|| {
        // An agent without `status`: from `candidate` and the reasons alone.
        if h["ineligible_reason"].is_string() {
            "ineligible"
        } else if h["candidate"].as_bool() == Some(true) {
            "candidate"
        } else {
            "not_candidate"
        }
    });
    match status {
        "candidate" => "candidate".into(),
        "profiling" => format!("profiling {}/{}", h["profiled_runs"], h["profile_samples"]),
        "ineligible" => format!(
            "ineligible: {}",
            h["ineligible_reason"].as_str().unwrap_or(reason)
        ),
        _ if reason.is_empty() => status.into(),
        _ => format!("local: {reason}"),
    }
}

/// The p50 of a latency summary in ms, `-` when nothing was recorded.
fn p50(summary: &Value) -> String {
    match summary["count"].as_u64() {
        Some(n) if n > 0 => output::ms(summary["p50"].as_f64().unwrap_or(0.0)),
        _ => "-".into(),
    }
}

/// `GET /stats` for people: the mode line, then one aligned row per handler and the totals.
pub fn stats_table(stats: &Value) -> String {
    let mut head = Table::key_value();
    for (key, label) in [
        ("mode", "mode"),
        ("phase", "phase"),
        ("in_flight", "in flight"),
    ] {
        if !stats[key].is_null() {
            head.row(vec![label.into(), output::cell(&stats[key])]);
        }
    }
    head.row(vec![
        "ratio".into(),
        output::ratio(stats["ratio"].as_f64().unwrap_or(0.0)),
    ]);
    if let Some(overrides) = stats["ratio_overrides"].as_object() {
        for (handler, r) in overrides {
            head.row(vec![
                format!("ratio {handler}"),
                output::ratio(r.as_f64().unwrap_or(0.0)),
            ]);
        }
    }
    let right = Align::Right;
    let mut table = Table::new(
        &[
            "handler",
            "invocations",
            "offloaded",
            "local",
            "failures",
            "re-executed",
            "diverged",
            "abandoned",
            "fallbacks",
            "p50 local ms",
            "p50 offload ms",
            "status",
        ],
        &[
            Align::Left,
            right,
            right,
            right,
            right,
            right,
            right,
            right,
            right,
            right,
            right,
            Align::Left,
        ],
    );
    let counts = |v: &Value| {
        vec![
            output::cell(&v["invocations"]),
            output::cell(&v["offloaded"]),
            output::cell(&v["local"]),
            output::cell(&v["failures"]),
            v["reexecuted"].as_u64().unwrap_or(0).to_string(),
            v["diverged"].as_u64().unwrap_or(0).to_string(),
            v["abandoned"].as_u64().unwrap_or(0).to_string(),
            sum(&v["fallbacks"]).to_string(),
        ]
    };
    if let Some(handlers) = stats["handlers"].as_object() {
        for (key, h) in handlers {
            let mut row = vec![key.clone()];
            row.extend(counts(h));
            row.push(p50(&h["local_wall_ms"]));
            row.push(p50(&h["offload_round_trip_ms"]));
            row.push(why(h));
            table.row(row);
        }
    }
    let mut total = vec!["total".to_owned()];
    total.extend(counts(&stats["totals"]));
    table.row(total);
    let mut out = head.render();
    out.push('\n');
    out.push_str(&table.render());
    let platform = &stats["platform"];
    if matches!(platform["state"].as_str(), Some("paused" | "probing")) {
        out.push_str(&format!(
            "\noffloading {} ({}, probed again in {} ms): {}\nto fix: {}\n",
            platform["state"].as_str().unwrap_or_default(),
            platform["reason"].as_str().unwrap_or("?"),
            platform["retry_in_ms"].as_u64().unwrap_or(0),
            platform["message"].as_str().unwrap_or(""),
            platform["remedy"].as_str().unwrap_or("see the agent's log"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_admin_endpoint_may_be_a_url_a_host_and_port_or_a_port() {
        assert_eq!(
            admin_url("http://127.0.0.1:7071/").unwrap(),
            "http://127.0.0.1:7071"
        );
        assert_eq!(
            admin_url("127.0.0.1:7181").unwrap(),
            "http://127.0.0.1:7181"
        );
        assert_eq!(admin_url("7181").unwrap(), "http://127.0.0.1:7181");
        assert_eq!(
            admin_url("svc.internal:7071").unwrap(),
            "http://svc.internal:7071"
        );
        assert!(admin_url("ftp://x:1")
            .unwrap_err()
            .contains("expected http://HOST:PORT"));
        assert!(admin_url("http://").is_err());
    }

    #[test]
    fn stats_are_an_aligned_table_with_rounded_numbers_and_why() {
        let summary = |count: u64, p50: f64| json!({"count": count, "p50": p50, "p99": p50, "max": p50, "sum": p50});
        let stats = json!({
            "mode": "manual", "phase": "manual", "in_flight": 0,
            "ratio": 0.016_192_588_501_819_37, "ratio_overrides": {},
            "totals": {"invocations": 12, "offloaded": 3, "local": 9, "failures": 1, "abandoned": 0,
                       "fallbacks": {"load_class": 4, "fetch_closure": 2}},
            "handlers": {
                "com.example.Image#resize": {
                    "invocations": 10, "offloaded": 3, "local": 7, "failures": 1, "abandoned": 0,
                    "fallbacks": {"load_class": 4, "fetch_closure": 2},
                    "local_wall_ms": summary(7, 41.234_567), "offload_round_trip_ms": summary(3, 120.06),
                    "candidate": true, "reason": "median local CPU 40.000 ms >= semifaas.min-cpu-ms 5.000 ms",
                    "status": "candidate", "profiled_runs": 7, "profile_samples": 3, "ineligible_reason": null
                },
                "com.example.Image#fresh": {
                    "invocations": 1, "offloaded": 0, "local": 1, "failures": 0, "abandoned": 0,
                    "fallbacks": {}, "local_wall_ms": summary(1, 3.0), "offload_round_trip_ms": summary(0, 0.0),
                    "candidate": false, "reason": "profiling: 1 of 3 local runs (semifaas.profile.samples)",
                    "status": "profiling", "profiled_runs": 1, "profile_samples": 3, "ineligible_reason": null
                },
                "com.example.Async#get": {
                    "invocations": 1, "offloaded": 0, "local": 1, "failures": 0,
                    "fallbacks": {}, "local_wall_ms": summary(1, 0.5), "offload_round_trip_ms": summary(0, 0.0),
                    "candidate": false, "reason": "x",
                    "ineligible_reason": "returns a CompletableFuture"
                }
            }
        });
        let text = stats_table(&stats);
        let expected = "\
mode       manual
phase      manual
in flight  0
ratio      0.016

handler                   invocations  offloaded  local  failures  re-executed  diverged  abandoned  fallbacks  p50 local ms  p50 offload ms  status
com.example.Async#get               1          0      1         0            0         0          0          0           0.5               -  ineligible: returns a CompletableFuture
com.example.Image#fresh             1          0      1         0            0         0          0          0           3.0               -  profiling 1/3
com.example.Image#resize           10          3      7         1            0         0          0          6          41.2           120.1  candidate
total                              12          3      9         1            0         0          0          6
";
        assert_eq!(text, expected, "\n{text}");

        // Paused offloading is said below the table, with what to do.
        let mut paused = stats.clone();
        paused["platform"] = json!({
            "state": "paused", "retry_in_ms": 4200, "reason": "access_denied",
            "message": "function semifaas: not authorized to perform: lambda:InvokeFunction",
            "remedy": "allow lambda:InvokeFunction", "trips": 1
        });
        let text = stats_table(&paused);
        assert!(
            text.ends_with(
                "\noffloading paused (access_denied, probed again in 4200 ms): function semifaas: \
                 not authorized to perform: lambda:InvokeFunction\nto fix: allow lambda:InvokeFunction\n"
            ),
            "{text}"
        );
    }
}
