//! Where and as whom to call OpenWhisk: settings given explicitly win over the `wsk`
//! properties, as flags win over them in `wsk`.

use std::time::Duration;

use url::Url;

use crate::{
    auth::{Auth, AuthError},
    names::{check_entity, ActionName, NameError},
    props::WskProps,
};

/// The namespace of the credentials' own subject, as `wsk` uses it.
pub const DEFAULT_NAMESPACE: &str = "_";

/// What a user set explicitly (configuration keys, command-line flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSettings {
    pub apihost: Option<String>,
    pub namespace: Option<String>,
    pub auth: Option<Auth>,
    /// Accept a self-signed controller certificate (`wsk -i`).
    pub insecure: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("no OpenWhisk API host: set {setting} or APIHOST in {props} (`wsk property set --apihost HOST`)")]
    NoApiHost { setting: String, props: String },
    #[error("no OpenWhisk credentials: set {setting} or AUTH in {props} (`wsk property set --auth UUID:KEY`)")]
    NoAuth { setting: String, props: String },
    #[error("API host {0:?} is not a host, host:port or an http(s) URL")]
    ApiHost(String),
    #[error("AUTH in {props}: {source}")]
    PropsAuth { props: String, source: AuthError },
    #[error("namespace: {0}")]
    Namespace(NameError),
}

/// A resolved OpenWhisk API endpoint with credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https://host[:port]`, or the URL given (a path prefix is kept).
    pub base: Url,
    pub namespace: String,
    pub auth: Auth,
    pub insecure: bool,
}

impl Target {
    /// `settings` first, then `props`; `names` says how the settings are spelled where the user
    /// gives them (e.g. `semifaas.openwhisk.` or `--`), for the error messages.
    pub fn resolve(
        settings: &TargetSettings,
        props: &WskProps,
        names: &str,
    ) -> Result<Target, TargetError> {
        let props_name = props
            .source
            .as_ref()
            .map_or("~/.wskprops".to_owned(), |p| p.display().to_string());
        let apihost = settings
            .apihost
            .clone()
            .or_else(|| props.get("APIHOST").map(str::to_owned))
            .ok_or_else(|| TargetError::NoApiHost {
                setting: format!("{names}apihost"),
                props: props_name.clone(),
            })?;
        let auth = match (&settings.auth, props.get("AUTH")) {
            (Some(auth), _) => auth.clone(),
            (None, Some(text)) => Auth::parse(text).map_err(|source| TargetError::PropsAuth {
                props: props_name.clone(),
                source,
            })?,
            (None, None) => {
                return Err(TargetError::NoAuth {
                    setting: format!("{names}auth"),
                    props: props_name,
                })
            }
        };
        let namespace = settings
            .namespace
            .clone()
            .or_else(|| props.get("NAMESPACE").map(str::to_owned))
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        if namespace != DEFAULT_NAMESPACE {
            check_entity(&namespace).map_err(TargetError::Namespace)?;
        }
        Ok(Target {
            base: api_base(&apihost)?,
            namespace,
            auth,
            insecure: settings.insecure,
        })
    }

    /// An HTTP client for this target: every request carries its credentials (encoded once
    /// here, not per request, and marked sensitive so they stay out of debug output); a
    /// self-signed certificate is accepted only when the target is `insecure`;
    /// `connect_timeout` bounds reaching the controller.
    pub fn http_client(
        &self,
        connect_timeout: Duration,
    ) -> Result<reqwest::Client, reqwest::Error> {
        let mut authorization = reqwest::header::HeaderValue::from_str(&self.auth.header_value())
            .expect("base64 of printable credentials is a valid header value");
        authorization.set_sensitive(true);
        let headers = reqwest::header::HeaderMap::from_iter([(
            reqwest::header::AUTHORIZATION,
            authorization,
        )]);
        reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(connect_timeout)
            .danger_accept_invalid_certs(self.insecure)
            .build()
    }

    /// `…/api/v1/namespaces/{namespace}/actions/[package/]action`.
    pub fn action_url(&self, action: &ActionName) -> Url {
        self.url(["actions"].into_iter().chain(action.segments()))
    }

    /// `…/api/v1/namespaces/{namespace}/packages/{package}`.
    pub fn package_url(&self, package: &str) -> Url {
        self.url(["packages", package])
    }

    /// `…/api/v1/namespaces/{namespace}/activations/{id}`.
    pub fn activation_url(&self, id: &str) -> Url {
        self.url(["activations", id])
    }

    fn url<'a>(&self, tail: impl IntoIterator<Item = &'a str>) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has a path")
            .pop_if_empty()
            .extend(["api", "v1", "namespaces", &self.namespace])
            .extend(tail);
        url
    }
}

/// The API base URL of an `APIHOST`: with a scheme as given, without one https (as `wsk`).
pub fn api_base(apihost: &str) -> Result<Url, TargetError> {
    let text = apihost.trim();
    let bad = || TargetError::ApiHost(apihost.to_owned());
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|_| bad())?;
    let plain = url.query().is_none() && url.fragment().is_none() && url.username().is_empty();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !plain {
        return Err(bad());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(apihost: &str) -> TargetSettings {
        TargetSettings {
            apihost: Some(apihost.to_owned()),
            auth: Some(Auth::parse("u:k").unwrap()),
            ..TargetSettings::default()
        }
    }

    fn resolve(settings: &TargetSettings, props: &str) -> Result<Target, TargetError> {
        Target::resolve(settings, &WskProps::parse(props), "semifaas.openwhisk.")
    }

    #[test]
    fn an_api_host_without_a_scheme_is_https() {
        let action = ActionName::parse("tools/semi faas").unwrap();
        let cases = [
            (
                "ow.example.com",
                "https://ow.example.com/api/v1/namespaces/_/actions/tools/semi%20faas",
            ),
            (
                "10.0.0.5:31001",
                "https://10.0.0.5:31001/api/v1/namespaces/_/actions/tools/semi%20faas",
            ),
            (
                "http://127.0.0.1:3233",
                "http://127.0.0.1:3233/api/v1/namespaces/_/actions/tools/semi%20faas",
            ),
            (
                "https://gw.example.com/ow/",
                "https://gw.example.com/ow/api/v1/namespaces/_/actions/tools/semi%20faas",
            ),
        ];
        for (apihost, url) in cases {
            let target = resolve(&settings(apihost), "").unwrap();
            assert_eq!(target.action_url(&action).as_str(), url, "{apihost}");
        }
        for bad in [
            "",
            "ftp://x",
            "https://",
            "http://u:p@host",
            "host?x=1",
            "a b",
        ] {
            assert_eq!(
                resolve(&settings(bad), ""),
                Err(TargetError::ApiHost(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn settings_win_over_the_wsk_properties() {
        let props = "APIHOST=props.example.com\nAUTH=pu:pk\nNAMESPACE=team\n";
        let from_props = resolve(&TargetSettings::default(), props).unwrap();
        assert_eq!(from_props.base.as_str(), "https://props.example.com/");
        assert_eq!(from_props.auth.uuid(), "pu");
        assert_eq!(from_props.namespace, "team");
        assert_eq!(
            from_props.activation_url("abc").as_str(),
            "https://props.example.com/api/v1/namespaces/team/activations/abc"
        );
        let explicit = resolve(&settings("http://127.0.0.1:3233"), props).unwrap();
        assert_eq!(explicit.base.as_str(), "http://127.0.0.1:3233/");
        assert_eq!(explicit.auth.uuid(), "u");
    }

    #[test]
    fn what_is_missing_is_named_with_how_to_set_it() {
        let none = resolve(&TargetSettings::default(), "")
            .unwrap_err()
            .to_string();
        assert!(
            none.contains("semifaas.openwhisk.apihost") && none.contains("APIHOST"),
            "{none}"
        );
        let no_auth = resolve(&TargetSettings::default(), "APIHOST=x")
            .unwrap_err()
            .to_string();
        assert!(
            no_auth.contains("semifaas.openwhisk.auth") && no_auth.contains("AUTH"),
            "{no_auth}"
        );
        let bad_auth = resolve(&TargetSettings::default(), "APIHOST=x\nAUTH=nokey").unwrap_err();
        assert!(
            matches!(bad_auth, TargetError::PropsAuth { .. }),
            "{bad_auth}"
        );
        let mut bad_ns = settings("x");
        bad_ns.namespace = Some("../admin".into());
        assert!(matches!(
            resolve(&bad_ns, ""),
            Err(TargetError::Namespace(_))
        ));
    }
}
