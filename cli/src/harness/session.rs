//! A scripted browser session for the end-to-end equivalence tests: each step keeps its label,
//! its reply, and how many invocations the agent offloaded and ran locally while serving it (from
//! `/stats` before and after), so two runs compare step by step and the placement header can be
//! checked against the statistics request by request.

use reqwest::Method;

use super::{Admin, Browser, Reply, ServiceProcess};

/// One request of the session.
#[derive(Debug, Clone)]
pub struct Step {
    pub label: String,
    pub reply: Reply,
    /// Invocations offloaded while it was served.
    pub offloaded: u64,
    /// Invocations run locally (abandoned offloads included) while it was served.
    pub local: u64,
}

pub struct Session {
    pub browser: Browser,
    admin: Admin,
    steps: Vec<Step>,
}

impl Session {
    pub fn new(service: &ServiceProcess) -> Session {
        Session {
            browser: Browser::new(service.port),
            admin: Admin::new(service.admin_port),
            steps: vec![],
        }
    }

    /// The admin API of the service under test (to set the ratio between steps).
    pub fn admin(&self) -> &Admin {
        &self.admin
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn into_steps(self) -> Vec<Step> {
        self.steps
    }

    async fn totals(&self) -> (u64, u64) {
        let stats = self.admin.stats().await.expect("stats");
        let n = |k: &str| stats["totals"][k].as_u64().unwrap_or(0);
        (n("offloaded"), n("local") + n("abandoned"))
    }

    /// Sends one request through `send` and records it as a step labelled `label`.
    async fn step(
        &mut self,
        label: &str,
        method: Method,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Reply {
        let before = self.totals().await;
        let reply = self.browser.send(method, path, body).await;
        self.record(label, reply, before).await
    }

    async fn record(&mut self, label: &str, reply: Reply, before: (u64, u64)) -> Reply {
        let after = self.totals().await;
        self.steps.push(Step {
            label: label.to_owned(),
            reply: reply.clone(),
            offloaded: after.0 - before.0,
            local: after.1 - before.1,
        });
        reply
    }

    /// `GET path`, labelled so.
    pub async fn get(&mut self, path: &str) -> Reply {
        self.step(&format!("GET {path}"), Method::GET, path, None)
            .await
    }

    /// `GET path` under its own label.
    pub async fn get_as(&mut self, label: &str, path: &str) -> Reply {
        self.step(label, Method::GET, path, None).await
    }

    /// A form POST with the last page's CSRF token.
    pub async fn form(&mut self, label: &str, path: &str, fields: &[(&str, &str)]) -> Reply {
        let before = self.totals().await;
        let reply = self.browser.form(path, fields).await;
        self.record(label, reply, before).await
    }

    /// A form POST without the CSRF token (a forged request).
    pub async fn forged(&mut self, label: &str, path: &str) -> Reply {
        let before = self.totals().await;
        let reply = self.browser.form_without_csrf(path, &[]).await;
        self.record(label, reply, before).await
    }

    /// A JSON request.
    pub async fn json(&mut self, label: &str, method: Method, path: &str, body: &str) -> Reply {
        self.step(
            label,
            method,
            path,
            Some(("application/json", body.to_owned())),
        )
        .await
    }
}

/// The steps whose placement header disagrees with `/stats`, one line each: `offloaded` needs an
/// offload while it was served, `local` a local run, and no header no invocation at all. The first
/// handler of a request sets the header; an error page may follow it.
pub fn placement_mismatches(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .filter(|s| match s.reply.ran.as_deref() {
            Some("offloaded") => s.offloaded == 0,
            Some("local") => s.local == 0,
            Some(_) => true,
            None => s.offloaded + s.local > 0,
        })
        .map(|s| {
            format!(
                "{}: header {:?}, stats {} offloaded / {} local",
                s.label, s.reply.ran, s.offloaded, s.local
            )
        })
        .collect()
}
