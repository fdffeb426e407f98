//! A browser-like client for the end-to-end sessions on the stateful samples: it keeps the
//! `JSESSIONID` cookie, never follows redirects, sends forms (with the last page's CSRF token when
//! it had one) and JSON, and records where each handler ran (the placement header).

use reqwest::{header, redirect, Method};
use serde_json::Value;

use super::http::PLACEMENT_HEADER;

/// One response as the scripts compare it: the redirect target matters, the date header not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    /// Without this service's own origin, which differs between two services.
    pub location: Option<String>,
    pub body: String,
    /// The placement header's value (`offloaded` or `local`), when the service sets it.
    pub ran: Option<String>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub struct Browser {
    client: reqwest::Client,
    base: String,
    session_cookie: Option<String>,
    /// The CSRF token of the last page that carried one (`name="_csrf" value="…"`).
    csrf: Option<String>,
}

impl Browser {
    pub fn new(port: u16) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
            base: format!("http://127.0.0.1:{port}"),
            session_cookie: None,
            csrf: None,
        }
    }

    /// The `JSESSIONID=…` cookie of the session, once the service has set one.
    pub fn session_cookie(&self) -> Option<&str> {
        self.session_cookie.as_deref()
    }

    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .header(header::ACCEPT, "text/html,application/json;q=0.9,*/*;q=0.8");
        if let Some(cookie) = &self.session_cookie {
            request = request.header(header::COOKIE, cookie);
        }
        if let Some((content_type, body)) = body {
            request = request
                .header(header::CONTENT_TYPE, content_type)
                .body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let header_text = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let location = header_text(header::LOCATION.as_str())
            .map(|l| l.strip_prefix(&self.base).map(str::to_owned).unwrap_or(l));
        let content_type = header_text(header::CONTENT_TYPE.as_str());
        let ran = header_text(PLACEMENT_HEADER);
        for cookie in response.headers().get_all(header::SET_COOKIE) {
            let cookie = cookie.to_str().unwrap_or_default();
            if let Some(pair) = cookie
                .split(';')
                .next()
                .filter(|p| p.starts_with("JSESSIONID="))
            {
                self.session_cookie = Some(pair.to_owned());
            }
        }
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if let Some(token) = csrf_token(&body) {
            self.csrf = Some(token);
        }
        Reply {
            status,
            content_type,
            location,
            body,
            ran,
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    /// A form POST; the last page's CSRF token goes with it when there was one.
    pub async fn form(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut pairs: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        if let Some(token) = &self.csrf {
            pairs.push(format!("_csrf={}", form_encode(token)));
        }
        self.send(
            Method::POST,
            path,
            Some(("application/x-www-form-urlencoded", pairs.join("&"))),
        )
        .await
    }

    /// A form POST without the CSRF token (a forged request).
    pub async fn form_without_csrf(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let token = self.csrf.take();
        let reply = self.form(path, fields).await;
        self.csrf = token;
        reply
    }

    pub async fn json(&mut self, method: Method, path: &str, body: &str) -> Reply {
        self.send(method, path, Some(("application/json", body.to_owned())))
            .await
    }
}

/// The value of the page's `_csrf` hidden field, if it has one.
pub fn csrf_token(html: &str) -> Option<String> {
    let at = html.find("name=\"_csrf\"")?;
    let rest = &html[at..];
    let value = rest.find("value=\"")? + "value=\"".len();
    let end = rest[value..].find('"')?;
    Some(rest[value..value + end].to_owned())
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_field_and_form_encoding() {
        let page = r#"<form><input type="hidden" name="_csrf" value="a-b_c"/></form>"#;
        assert_eq!(csrf_token(page).as_deref(), Some("a-b_c"));
        assert_eq!(csrf_token("<p>no form</p>"), None);
        assert_eq!(form_encode("Jane Austen: é&x"), "Jane+Austen%3A+%C3%A9%26x");
    }
}
