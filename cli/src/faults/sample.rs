//! What differs between the samples the fault benchmark writes to: how the user logs in, the
//! write request, where the database dump lists the written rows and what a success answer names,
//! and the handler the writes run. Everything else (faults, load, reconciliation, report, checks)
//! is the same for all of them.

use anyhow::{Context, Result};
use clap::ValueEnum;
use serde_json::{json, Value};

use semifaas_cli::harness::{csrf_token, form_encode, Browser, Request};

use super::reconcile::Written;

/// The seeded user every sample's load writes as (the library's librarian).
const USER: (&str, &str) = ("alice", "alice");

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sample {
    /// The blog: `POST /api/posts` (JSON) as the seeded user alice; a 2xx is a success.
    Blog,
    /// The library: `POST /books` (the add-book form with the session's CSRF token, a valid ISBN
    /// of its own) as the librarian alice; success is the redirect to the new book's page.
    Library,
}

/// A logged-in session the load writes in.
#[derive(Debug, Clone)]
pub struct Session {
    /// `JSESSIONID=…`.
    pub cookie: String,
    /// The session's CSRF token, for a sample whose forms need one.
    pub csrf: Option<String>,
}

impl Sample {
    /// Its jar's name in `dist/samples/`, and its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Sample::Blog => "blog",
            Sample::Library => "library",
        }
    }

    /// What one write creates, for messages.
    pub fn row(self) -> &'static str {
        match self {
            Sample::Blog => "post",
            Sample::Library => "book",
        }
    }

    /// The agent's key of the handler every write runs (`/stats` `handlers`).
    pub fn create_handler(self) -> &'static str {
        match self {
            Sample::Blog => "io.semifaas.samples.blog.web.PostApiController#create",
            Sample::Library => "io.semifaas.samples.library.web.CatalogueController#create",
        }
    }

    /// Logs [`USER`] in through `browser` (a fresh one on the service) and returns the session.
    pub async fn log_in(self, browser: &mut Browser) -> Result<Session> {
        let csrf = match self {
            Sample::Blog => {
                let login = browser
                    .form("/login", &[("username", USER.0), ("password", USER.1)])
                    .await;
                anyhow::ensure!(login.status == 200, "logging in: {login:?}");
                None
            }
            Sample::Library => {
                // The login form's page carries the anonymous session's CSRF token.
                browser.get("/login").await;
                let login = browser
                    .form("/login", &[("username", USER.0), ("password", USER.1)])
                    .await;
                anyhow::ensure!(
                    login.status == 302
                        && !login.location.as_deref().unwrap_or("").contains("error"),
                    "logging in: {login:?}"
                );
                // Logging in replaced the session and its token: the add-book form has the new one.
                let form = browser.get("/books/new").await;
                anyhow::ensure!(form.status == 200, "GET /books/new: {form:?}");
                Some(csrf_token(&form.body).context("the add-book form has no CSRF token")?)
            }
        };
        let cookie = browser
            .session_cookie()
            .context("the login set no session cookie")?
            .to_owned();
        Ok(Session { cookie, csrf })
    }

    /// The `n`th write of a stack (warm-up included, so `n` is unique on it), with `title`.
    pub fn write(self, session: &Session, n: usize, title: &str) -> Request {
        match self {
            Sample::Blog => {
                let body = json!({ "title": title, "body": "A write under an injected fault." });
                Request::post(
                    "/api/posts",
                    "application/json",
                    body.to_string().into_bytes(),
                )
            }
            Sample::Library => {
                let isbn = isbn(n);
                let mut fields = vec![
                    ("title", title),
                    ("author", "A. Writer"),
                    ("isbn", isbn.as_str()),
                    ("publishedYear", "2001"),
                    ("copies", "1"),
                ];
                if let Some(token) = &session.csrf {
                    fields.push(("_csrf", token.as_str()));
                }
                let body: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
                    .collect();
                Request::post(
                    "/books",
                    "application/x-www-form-urlencoded",
                    body.join("&").into_bytes(),
                )
            }
        }
    }

    /// Every row the writes create, from `GET /api/admin/dump`: its title and the `Location`
    /// a success answer names (none for the blog, whose 201 is judged by status alone).
    pub fn written(self, dump: &Value) -> Result<Vec<Written>> {
        let (table, location): (&str, fn(&Value) -> Option<String>) = match self {
            Sample::Blog => ("posts", |_| None),
            Sample::Library => ("books", |book| {
                Some(format!("/books/{}", book["id"].as_u64()?))
            }),
        };
        let rows = dump[table]
            .as_array()
            .with_context(|| format!("the dump has no {table}"))?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                Some(Written {
                    title: row["title"].as_str()?.to_owned(),
                    location: location(row),
                })
            })
            .collect())
    }
}

/// The `n`th of a series of valid ISBN-13s: `979`, `n` in nine digits, the check digit. The
/// seeded books' are `978…`, so none is taken.
fn isbn(n: usize) -> String {
    let digits = format!("979{:09}", n % 1_000_000_000);
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the library checks (`catalogue/Isbn.java`).
    fn valid(isbn: &str) -> bool {
        isbn.len() == 13
            && isbn
                .bytes()
                .enumerate()
                .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 1 } else { 3 })
                .sum::<u32>()
                % 10
                == 0
    }

    #[test]
    fn isbns_are_valid_and_distinct() {
        let isbns: Vec<String> = (0..2000).map(isbn).collect();
        assert!(isbns.iter().all(|i| valid(i)), "{isbns:?}");
        let distinct: std::collections::HashSet<&String> = isbns.iter().collect();
        assert_eq!(distinct.len(), isbns.len());
        assert_eq!(isbn(0), "9790000000001");
        assert!(valid("9780000020000") && !valid("9780000020001"));
    }

    #[test]
    fn the_library_posts_the_form_with_the_csrf_token() {
        let session = Session {
            cookie: "JSESSIONID=x".into(),
            csrf: Some("t-1".into()),
        };
        let request = Sample::Library.write(&session, 7, "faults-none-7");
        assert_eq!(request.path, "/books");
        assert_eq!(
            String::from_utf8(request.body).unwrap(),
            format!(
                "title=faults-none-7&author=A.+Writer&isbn={}&publishedYear=2001&copies=1&_csrf=t-1",
                isbn(7)
            )
        );
        let blog = Sample::Blog.write(&session, 7, "faults-none-7");
        assert_eq!(blog.path, "/api/posts");
        assert!(String::from_utf8(blog.body)
            .unwrap()
            .contains("\"faults-none-7\""));
    }

    #[test]
    fn rows_and_the_locations_a_success_names() {
        let dump = json!({
            "posts": [{ "id": 1, "title": "p" }],
            "books": [{ "id": 26, "title": "b" }, { "id": 27 }],
        });
        let books = Sample::Library.written(&dump).unwrap();
        assert_eq!(books.len(), 1);
        assert_eq!(
            (books[0].title.as_str(), books[0].location.as_deref()),
            ("b", Some("/books/26"))
        );
        let posts = Sample::Blog.written(&dump).unwrap();
        assert_eq!(
            (posts[0].title.as_str(), posts[0].location.as_deref()),
            ("p", None)
        );
        assert!(Sample::Blog.written(&json!({})).is_err());
    }
}
