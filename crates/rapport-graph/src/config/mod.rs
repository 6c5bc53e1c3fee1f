//! The Graph source configuration: a TOML file naming the app registration, its credential, the
//! national cloud and the request caps (issue 4's contract), checked with every problem collected.
//!
//! ```toml
//! tenant_id = "contoso.onmicrosoft.com"
//! client_id = "11111111-2222-3333-4444-555555555555"
//! client_secret_env = "RAPPORT_GRAPH_SECRET"   # or client_secret = "...", or certificate_path = "app.pem"
//! cloud = "global"                             # global, usgov, usgov-dod, china
//! max_concurrency_per_mailbox = 4
//! max_concurrency = 64
//! page_size = 100
//! ```
//!
//! The secret is held in [`Secret`], whose `Debug` and `Display` print `[redacted]`; nothing in
//! this crate logs it. The environment is a parameter (clippy.toml allows `std::env::var` only in
//! the binary's config module).

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::Url;
use ring::signature::RsaKeyPair;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

#[cfg(test)]
mod tests;

/// Requests in flight per mailbox when the file does not say (Microsoft's documented limit).
pub const DEFAULT_MAX_CONCURRENCY_PER_MAILBOX: usize = 4;
/// Requests in flight overall when the file does not say.
pub const DEFAULT_MAX_CONCURRENCY: usize = 64;
/// Items per page asked with `Prefer: odata.maxpagesize` when the file does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// The largest page size accepted (Outlook resources page at most 1,000 items).
pub const MAX_PAGE_SIZE: u32 = 1000;
/// The largest concurrency accepted for either cap: more only invites throttling.
pub const MAX_CONCURRENCY: usize = 1024;

/// The keys a Graph configuration file may hold.
const KNOWN_KEYS: [&str; 11] = [
    "tenant_id",
    "client_id",
    "client_secret",
    "client_secret_env",
    "certificate_path",
    "cloud",
    "login_endpoint",
    "graph_endpoint",
    "max_concurrency_per_mailbox",
    "max_concurrency",
    "page_size",
];

/// A Microsoft cloud: each has its own login (Entra ID) and Graph hosts.
///
/// Hosts per Microsoft's "national cloud deployments" page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    /// The global service.
    Global,
    /// US Government L4 (GCC High).
    UsGov,
    /// US Government L5 (DoD).
    UsGovDod,
    /// China, operated by 21Vianet.
    China,
}

impl Cloud {
    /// Every cloud, in the order the configuration lists them.
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::UsGov, Cloud::UsGovDod, Cloud::China];

    /// The name used in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::UsGovDod => "usgov-dod",
            Cloud::China => "china",
        }
    }

    /// The cloud of a configuration name (exact, lowercase).
    pub fn from_name(name: &str) -> Option<Cloud> {
        Cloud::ALL.into_iter().find(|cloud| cloud.name() == name)
    }

    /// The Entra ID (token) endpoint.
    pub fn login_endpoint(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGov | Cloud::UsGovDod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The Microsoft Graph endpoint.
    pub fn graph_endpoint(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::UsGovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }
}

/// A client secret. `Debug` and `Display` print `[redacted]`, so it cannot leak through a log
/// line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The secret itself, for the one place that sends it (the token request).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("[redacted]")
    }
}

/// A certificate credential: the certificate (DER) and its RSA private key, read from one PEM
/// file. `Debug` shows the path only.
#[derive(Clone)]
pub struct Certificate {
    /// Where the PEM file was read.
    pub path: PathBuf,
    certificate_der: Vec<u8>,
    key_pair: Arc<RsaKeyPair>,
}

impl Certificate {
    /// Reads a PEM text holding a `CERTIFICATE` and its RSA key (`PRIVATE KEY`, PKCS#8, or
    /// `RSA PRIVATE KEY`, PKCS#1). The key must belong to the certificate.
    pub fn from_pem(path: &Path, pem: &[u8]) -> Result<Certificate, String> {
        let certificate = CertificateDer::from_pem_slice(pem)
            .map_err(|error| format!("no CERTIFICATE section can be read ({error})"))?;
        let key = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|error| format!("no PRIVATE KEY section can be read ({error})"))?;
        let key_pair = match &key {
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
            _ => {
                return Err(
                    "the private key is not an RSA key (client assertions are RS256)".into()
                );
            }
        }
        .map_err(|error| format!("the private key cannot be used for RS256 ({error})"))?;
        let certificate_der = certificate.as_ref().to_vec();
        // The certificate's SubjectPublicKeyInfo holds the PKCS#1 RSAPublicKey as its bit string:
        // finding those bytes tells that the key pair and the certificate belong together,
        // without a certificate parser.
        let public_key = ring::signature::KeyPair::public_key(&key_pair).as_ref();
        if public_key.is_empty()
            || !certificate_der.windows(public_key.len()).any(|window| window == public_key)
        {
            return Err("the private key does not belong to the certificate".into());
        }
        Ok(Certificate { path: path.to_path_buf(), certificate_der, key_pair: Arc::new(key_pair) })
    }

    /// The certificate, DER-encoded.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The RSA key pair that signs client assertions.
    pub(crate) fn key_pair(&self) -> &RsaKeyPair {
        &self.key_pair
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("Certificate").field("path", &self.path).finish_non_exhaustive()
    }
}

/// How the app proves who it is to the token endpoint.
#[derive(Clone, Debug)]
pub enum Credential {
    /// A client secret (from `client_secret` or the variable named by `client_secret_env`).
    Secret(Secret),
    /// A certificate: each token request carries a client assertion signed with its key.
    Certificate(Certificate),
}

/// A checked Graph source configuration. Built only by [`GraphConfig::from_toml_str`] or
/// [`GraphConfig::load`]; there is no `Default`.
#[derive(Clone, Debug)]
pub struct GraphConfig {
    /// The tenant: its id (a GUID) or one of its domains.
    pub tenant_id: String,
    /// The app registration's application (client) id.
    pub client_id: String,
    /// The app's credential.
    pub credential: Credential,
    /// The national cloud.
    pub cloud: Cloud,
    /// The token endpoint root: `login_endpoint`, else the cloud's (no trailing `/`).
    pub login_endpoint: String,
    /// The Graph root: `graph_endpoint`, else the cloud's (no trailing `/`).
    pub graph_endpoint: String,
    /// Requests in flight per mailbox, at least 1.
    pub max_concurrency_per_mailbox: usize,
    /// Requests in flight overall, at least 1.
    pub max_concurrency: usize,
    /// Items per page asked with `Prefer: odata.maxpagesize`, 1 to 1,000.
    pub page_size: u32,
}

/// One problem of a configuration: the field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key the problem is about (`syntax` for a file that is not TOML).
    pub field: String,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

/// Every problem found in a configuration, with the file it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, when the configuration was read from one.
    pub file: Option<PathBuf>,
    /// The problems, in the order of the fields.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match &self.file {
            Some(file) => format!("graph config {}", file.display()),
            None => "graph config".to_owned(),
        };
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                formatter.write_str("\n")?;
            }
            write!(formatter, "{origin}: {}: {}", problem.field, problem.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl GraphConfig {
    /// Reads and checks the configuration file at `path`. The client secret variable named by
    /// `client_secret_env` is looked up through `env`; a relative `certificate_path` is read
    /// beside the file.
    pub fn load(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<GraphConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
            file: Some(path.to_path_buf()),
            problems: vec![ConfigProblem {
                field: "file".into(),
                message: format!("cannot read: {error}"),
            }],
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new(""));
        parse(&text, env, base)
            .map_err(|problems| ConfigError { file: Some(path.to_path_buf()), problems })
    }

    /// Checks a configuration given as TOML text. A relative `certificate_path` is read from the
    /// working directory.
    pub fn from_toml_str(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<GraphConfig, ConfigError> {
        parse(text, env, Path::new("")).map_err(|problems| ConfigError { file: None, problems })
    }

    /// The token endpoint: `{login}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.login_endpoint, self.tenant_id)
    }

    /// The scope of the client-credentials request: `{graph}/.default`.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.graph_endpoint)
    }
}

/// The admin-consent URL a tenant administrator opens to grant the app its application
/// permissions: `{login}/{tenant}/adminconsent?client_id=...`.
pub fn consent_url(config: &GraphConfig) -> String {
    format!(
        "{}/{}/adminconsent?client_id={}",
        config.login_endpoint,
        crate::http::encode_path_segment(&config.tenant_id),
        crate::http::encode_query_value(&config.client_id)
    )
}

/// [`consent_url`] with a `redirect_uri` parameter: where Entra ID sends the administrator after
/// consent (it must be a redirect URI of the app registration).
pub fn consent_url_with_redirect(config: &GraphConfig, redirect_uri: &str) -> String {
    let mut url = consent_url(config);
    url.push_str("&redirect_uri=");
    url.push_str(&crate::http::encode_query_value(redirect_uri));
    url
}

/// Checks the TOML text; `base` is the folder a relative certificate path is read from.
fn parse(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    base: &Path,
) -> Result<GraphConfig, Vec<ConfigProblem>> {
    let table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(error) => {
            // The error's own rendering quotes the offending line, which may hold the secret:
            // report its message and position only.
            let line = error.span().map(|span| {
                text.get(..span.start).map_or(0, |head| head.matches('\n').count()) + 1
            });
            let message = match line {
                Some(line) => format!("not valid TOML at line {line}: {}", error.message()),
                None => format!("not valid TOML: {}", error.message()),
            };
            return Err(vec![ConfigProblem { field: "syntax".into(), message }]);
        }
    };
    let mut problems = Vec::new();
    for key in table.keys() {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            problems.push(problem(key, "unknown key"));
        }
    }
    let tenant_id = required_identifier(&table, "tenant_id", &mut problems);
    let client_id = required_identifier(&table, "client_id", &mut problems);
    let credential = credential(&table, env, base, &mut problems);
    let cloud = match optional_string(&table, "cloud", &mut problems) {
        None => Some(Cloud::Global),
        Some(name) => {
            let cloud = Cloud::from_name(name.trim());
            if cloud.is_none() {
                problems.push(problem(
                    "cloud",
                    &format!("{name:?} is not a cloud (global, usgov, usgov-dod or china)"),
                ));
            }
            cloud
        }
    };
    let login_endpoint = optional_string(&table, "login_endpoint", &mut problems)
        .and_then(|value| checked_endpoint("login_endpoint", value, &mut problems));
    let graph_endpoint = optional_string(&table, "graph_endpoint", &mut problems)
        .and_then(|value| checked_endpoint("graph_endpoint", value, &mut problems));
    let max_concurrency_per_mailbox = integer_in(
        &table,
        "max_concurrency_per_mailbox",
        (1, MAX_CONCURRENCY as i64),
        DEFAULT_MAX_CONCURRENCY_PER_MAILBOX as i64,
        &mut problems,
    );
    let max_concurrency = integer_in(
        &table,
        "max_concurrency",
        (1, MAX_CONCURRENCY as i64),
        DEFAULT_MAX_CONCURRENCY as i64,
        &mut problems,
    );
    let page_size = integer_in(
        &table,
        "page_size",
        (1, i64::from(MAX_PAGE_SIZE)),
        i64::from(DEFAULT_PAGE_SIZE),
        &mut problems,
    );
    match (tenant_id, client_id, credential, cloud) {
        (Some(tenant_id), Some(client_id), Some(credential), Some(cloud))
            if problems.is_empty() =>
        {
            Ok(GraphConfig {
                tenant_id,
                client_id,
                credential,
                cloud,
                login_endpoint: login_endpoint.unwrap_or_else(|| cloud.login_endpoint().to_owned()),
                graph_endpoint: graph_endpoint.unwrap_or_else(|| cloud.graph_endpoint().to_owned()),
                max_concurrency_per_mailbox: usize::try_from(max_concurrency_per_mailbox)
                    .unwrap_or(DEFAULT_MAX_CONCURRENCY_PER_MAILBOX),
                max_concurrency: usize::try_from(max_concurrency)
                    .unwrap_or(DEFAULT_MAX_CONCURRENCY),
                page_size: u32::try_from(page_size).unwrap_or(DEFAULT_PAGE_SIZE),
            })
        }
        _ => Err(problems),
    }
}

fn problem(field: &str, message: &str) -> ConfigProblem {
    ConfigProblem { field: field.to_owned(), message: message.to_owned() }
}

/// The string value of `key`, or `None` when absent (a problem when it is not a string).
fn optional_string<'a>(
    table: &'a toml::Table,
    key: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<&'a str> {
    match table.get(key)? {
        toml::Value::String(value) => Some(value.as_str()),
        other => {
            problems.push(problem(key, &format!("must be a string, not {}", other.type_str())));
            None
        }
    }
}

/// A required id that goes into URLs: non-empty, without white space or URL delimiters.
fn required_identifier(
    table: &toml::Table,
    key: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<String> {
    if !table.contains_key(key) {
        problems.push(problem(key, "is required"));
        return None;
    }
    let value = optional_string(table, key, problems)?.trim();
    if value.is_empty() {
        problems.push(problem(key, "must not be empty"));
        return None;
    }
    let valid = value
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_'));
    if !valid {
        problems.push(problem(key, "may hold only letters, digits, '-', '.' and '_'"));
        return None;
    }
    Some(value.to_owned())
}

/// Exactly one of `client_secret`, `client_secret_env` and `certificate_path`.
fn credential(
    table: &toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
    base: &Path,
    problems: &mut Vec<ConfigProblem>,
) -> Option<Credential> {
    let given: Vec<&str> = ["client_secret", "client_secret_env", "certificate_path"]
        .into_iter()
        .filter(|key| table.contains_key(*key))
        .collect();
    match given.as_slice() {
        [] => {
            problems.push(problem(
                "client_secret",
                "one of client_secret, client_secret_env or certificate_path is required",
            ));
            None
        }
        ["client_secret"] => {
            let value = optional_string(table, "client_secret", problems)?;
            if value.is_empty() {
                problems.push(problem("client_secret", "must not be empty"));
                return None;
            }
            Some(Credential::Secret(Secret::new(value.to_owned())))
        }
        ["client_secret_env"] => {
            let name = optional_string(table, "client_secret_env", problems)?.trim();
            if name.is_empty() {
                problems.push(problem("client_secret_env", "must name an environment variable"));
                return None;
            }
            match env(name) {
                Some(value) if !value.is_empty() => Some(Credential::Secret(Secret::new(value))),
                Some(_) => {
                    problems.push(problem(
                        "client_secret_env",
                        &format!("environment variable {name} is empty"),
                    ));
                    None
                }
                None => {
                    problems.push(problem(
                        "client_secret_env",
                        &format!("environment variable {name} is not set"),
                    ));
                    None
                }
            }
        }
        ["certificate_path"] => {
            let value = optional_string(table, "certificate_path", problems)?.trim();
            if value.is_empty() {
                problems.push(problem("certificate_path", "must not be empty"));
                return None;
            }
            let path = base.join(value);
            let pem = match std::fs::read(&path) {
                Ok(pem) => pem,
                Err(error) => {
                    problems.push(problem(
                        "certificate_path",
                        &format!("cannot read {}: {error}", path.display()),
                    ));
                    return None;
                }
            };
            match Certificate::from_pem(&path, &pem) {
                Ok(certificate) => Some(Credential::Certificate(certificate)),
                Err(message) => {
                    problems.push(problem(
                        "certificate_path",
                        &format!("{}: {message}", path.display()),
                    ));
                    None
                }
            }
        }
        several => {
            problems.push(problem(
                several.first().copied().unwrap_or("client_secret"),
                &format!("give only one of {}", several.join(", ")),
            ));
            None
        }
    }
}

/// An endpoint override: `https://`, or `http://` on a loopback host only (for tests); no user
/// info, query or fragment. Returned without a trailing `/`.
fn checked_endpoint(key: &str, value: &str, problems: &mut Vec<ConfigProblem>) -> Option<String> {
    let url = match Url::parse(value.trim()) {
        Ok(url) => url,
        Err(error) => {
            problems.push(problem(key, &format!("{value:?} is not a URL ({error})")));
            return None;
        }
    };
    let host = url.host_str().unwrap_or_default();
    // `host_str` writes an IPv6 address in brackets.
    let bare_host = host.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).unwrap_or(host);
    let loopback = host.eq_ignore_ascii_case("localhost")
        || bare_host.parse::<IpAddr>().is_ok_and(|address| address.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            problems.push(problem(
                key,
                &format!(
                    "{value:?} must use https:// (http:// is accepted only for loopback hosts)"
                ),
            ));
            return None;
        }
        _ => {
            problems.push(problem(key, &format!("{value:?} must be an https:// URL")));
            return None;
        }
    }
    if host.is_empty() {
        problems.push(problem(key, &format!("{value:?} has no host")));
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        problems.push(problem(key, "must not hold a user name or password"));
        return None;
    }
    if url.query().is_some() || url.fragment().is_some() {
        problems.push(problem(key, &format!("{value:?} must not hold a query or fragment")));
        return None;
    }
    Some(url.as_str().trim_end_matches('/').to_owned())
}

/// An integer in `range` (inclusive), `default` when absent.
fn integer_in(
    table: &toml::Table,
    key: &str,
    range: (i64, i64),
    default: i64,
    problems: &mut Vec<ConfigProblem>,
) -> i64 {
    match table.get(key) {
        None => default,
        Some(toml::Value::Integer(value)) if (range.0..=range.1).contains(value) => *value,
        Some(toml::Value::Integer(value)) => {
            problems.push(problem(
                key,
                &format!("must be between {} and {}, not {value}", range.0, range.1),
            ));
            default
        }
        Some(other) => {
            problems.push(problem(key, &format!("must be an integer, not {}", other.type_str())));
            default
        }
    }
}
