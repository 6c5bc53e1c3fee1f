//! App-only authentication: client-credentials tokens (secret or certificate assertion), their
//! cache and renewal, and the application roles a token grants.
//!
//! The token is cached and renewed ahead of its expiry (five minutes before, or halfway through
//! a lifetime shorter than ten minutes), and once more when Graph answers 401 to a request made
//! with it. Concurrent callers share one token request.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE_NO_PAD, URL_SAFE_NO_PAD_INDIFFERENT};
use tokio::time::Instant;

use crate::GraphError;
use crate::config::{Certificate, Credential, GraphConfig};
use crate::http::{ClientOptions, GraphClient, encode_form};
use crate::wire::{LenientInt, LenientList, LenientStr};

#[cfg(test)]
mod tests;

/// How long before its expiry a token is renewed (for lifetimes of ten minutes or more).
pub const RENEW_MARGIN: Duration = Duration::from_secs(300);
/// How long a client assertion is valid (Entra ID accepts up to ten minutes of clock skew).
pub const ASSERTION_LIFETIME_SECONDS: i64 = 600;
/// The `client_assertion_type` of a certificate credential.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// One permission the sync needs, and the application roles that grant it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PermissionNeed {
    /// The least-privileged application permission, as issue 4 names it.
    pub name: &'static str,
    /// Every role that grants what is needed (the least one first). Graph's permission tables
    /// list the others as "higher privileged" for the same calls.
    pub satisfied_by: &'static [&'static str],
    /// What the sync reads with it.
    pub why: &'static str,
}

/// The application permissions the sync needs, none of which exposes a body.
///
/// `GroupMember.Read.All` is also satisfied by `Group.Read.All`, `Group.ReadWrite.All`,
/// `Directory.Read.All` and `Directory.ReadWrite.All`: Graph's permission tables list each as a
/// higher-privileged permission for both calls the directory makes (`List groups` with
/// `$filter` and `List group transitive members`). `GroupMember.ReadBasic.All` is not accepted:
/// it is listed for transitive members but not for listing groups by mail or name.
pub const NEEDED_PERMISSIONS: [PermissionNeed; 4] = [
    PermissionNeed {
        name: "Mail.ReadBasic.All",
        satisfied_by: &["Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite"],
        why: "message delta per folder: ids, sender, recipients, sent time, conversationIndex",
    },
    PermissionNeed {
        name: "Calendars.ReadBasic.All",
        satisfied_by: &["Calendars.ReadBasic.All", "Calendars.Read", "Calendars.ReadWrite"],
        why: "calendarView delta: organizer, attendees, start, end, status of meetings",
    },
    PermissionNeed {
        name: "User.Read.All",
        satisfied_by: &[
            "User.Read.All",
            "User.ReadBasic.All",
            "User.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        why: "org users by address or user principal name: object id, mail, userPrincipalName",
    },
    PermissionNeed {
        name: "GroupMember.Read.All",
        satisfied_by: &[
            "GroupMember.Read.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        why: "groups by mail or name and their transitive user members",
    },
];

/// Application roles that expose message or event bodies: granted, they give the app more than
/// it needs (a warning, not an error).
pub const BODY_EXPOSING_ROLES: [&str; 4] =
    ["Mail.Read", "Mail.ReadWrite", "Calendars.Read", "Calendars.ReadWrite"];

/// What the granted roles allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionReport {
    /// The roles of the token, as granted.
    pub granted: Vec<String>,
    /// The needed permissions no granted role satisfies, in [`NEEDED_PERMISSIONS`] order.
    pub missing: Vec<&'static str>,
    /// Granted roles that expose bodies (more than needed), in [`BODY_EXPOSING_ROLES`] order.
    pub body_exposing: Vec<&'static str>,
}

impl PermissionReport {
    /// True when nothing needed is missing.
    pub fn passed(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Compares granted roles with [`NEEDED_PERMISSIONS`] (role names compare exactly, as Entra ID
/// writes them).
pub fn check_roles(granted: &[String]) -> PermissionReport {
    let has = |role: &str| granted.iter().any(|granted_role| granted_role == role);
    let missing = NEEDED_PERMISSIONS
        .iter()
        .filter(|need| !need.satisfied_by.iter().any(|role| has(role)))
        .map(|need| need.name)
        .collect();
    let body_exposing = BODY_EXPOSING_ROLES.iter().copied().filter(|role| has(role)).collect();
    PermissionReport { granted: granted.to_vec(), missing, body_exposing }
}

/// The application roles (`roles` claim) of an access token.
///
/// The signature is not checked, on purpose: the token was just received from the token endpoint
/// over TLS, so it is as trustworthy as that connection; the client is not its audience (Graph
/// is, and Graph verifies it on every call), and Microsoft treats access tokens as opaque to
/// clients, with signing keys a client cannot rely on. Reading the claim only tells the
/// administrator what was granted; it grants nothing.
pub fn granted_roles(access_token: &str) -> Result<Vec<String>, GraphError> {
    let bad = |why: &str| GraphError::Token {
        status: 0,
        code: "unreadable_token".into(),
        description: format!("the access token is not a readable JWT: {why}"),
    };
    let mut parts = access_token.trim().split('.');
    let payload = match (parts.next(), parts.next()) {
        (Some(_header), Some(payload)) => payload,
        _ => return Err(bad("it has no payload part")),
    };
    let bytes = URL_SAFE_NO_PAD_INDIFFERENT
        .decode(payload)
        .map_err(|_| bad("its payload is not base64url"))?;
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Claims<'a> {
        #[serde(borrow)]
        roles: LenientList<LenientStr<'a>>,
    }
    let claims: Claims<'_> =
        serde_json::from_slice(&bytes).map_err(|_| bad("its payload is not JSON"))?;
    Ok(claims.roles.0.into_iter().filter_map(LenientStr::into_owned).collect())
}

/// A client assertion (RFC 7523 JWT, RS256) for the token request of a certificate credential.
///
/// Header: `alg`, `typ`, `x5t#S256` (base64url SHA-256 of the certificate) and `x5t` (base64url
/// SHA-1, for tenants that still read it). Claims: `aud` = the token endpoint, `iss` = `sub` =
/// the client id, `jti`, `nbf` = `iat` = `now`, `exp` = `now` + ten minutes.
pub fn client_assertion(
    certificate: &Certificate,
    client_id: &str,
    audience: &str,
    now: i64,
    jti: &str,
) -> Result<String, GraphError> {
    let sha256 = ring::digest::digest(&ring::digest::SHA256, certificate.certificate_der());
    let sha1 = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        certificate.certificate_der(),
    );
    let header = serde_json::json!({
        "alg": "RS256",
        "typ": "JWT",
        "x5t#S256": URL_SAFE_NO_PAD.encode(sha256.as_ref()),
        "x5t": URL_SAFE_NO_PAD.encode(sha1.as_ref()),
    });
    let claims = serde_json::json!({
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": jti,
        "nbf": now,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECONDS,
    });
    let mut signed = URL_SAFE_NO_PAD.encode(header.to_string());
    signed.push('.');
    signed.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let key_pair = certificate.key_pair();
    let mut signature = vec![0u8; key_pair.public().modulus_len()];
    key_pair
        .sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .map_err(|_| GraphError::Signing("RS256 signing failed".into()))?;
    signed.push('.');
    signed.push_str(&URL_SAFE_NO_PAD.encode(&signature));
    Ok(signed)
}

/// A fresh `jti`: a random UUID (version 4 layout).
fn new_jti(client: &GraphClient) -> String {
    let mut bytes = [0u8; 16];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).is_err() {
        // Uniqueness, not secrecy, is what a jti needs.
        let high = client.inner.jitter.next_u64().to_be_bytes();
        let low = client.inner.jitter.next_u64().to_be_bytes();
        bytes[..8].copy_from_slice(&high);
        bytes[8..].copy_from_slice(&low);
    }
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..).unwrap_or_default()
    )
}

/// How long after it is received a token of lifetime `expires_in` is renewed.
pub(crate) fn renew_after(expires_in: Duration) -> Duration {
    expires_in.saturating_sub(RENEW_MARGIN.min(expires_in / 2))
}

/// The cached token and the generation counter that tells a stale 401 from a fresh one.
#[derive(Default)]
pub(crate) struct TokenCache {
    state: tokio::sync::Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    current: Option<CachedToken>,
    generation: u64,
}

struct CachedToken {
    access_token: Arc<str>,
    renew_at: Instant,
    generation: u64,
}

impl TokenCache {
    /// The cached token, or a new one when there is none or it is due for renewal. Returns the
    /// token and its generation (to pass to [`TokenCache::invalidate`] on a 401).
    pub(crate) async fn get(&self, client: &GraphClient) -> Result<(Arc<str>, u64), GraphError> {
        // The lock is held across the token request so that concurrent callers wait for one
        // request instead of each sending their own.
        let mut state = self.state.lock().await;
        if let Some(token) = &state.current
            && Instant::now() < token.renew_at
        {
            return Ok((Arc::clone(&token.access_token), token.generation));
        }
        let (access_token, expires_in) = request_token(client).await?;
        state.generation += 1;
        let generation = state.generation;
        let access_token: Arc<str> = Arc::from(access_token);
        state.current = Some(CachedToken {
            access_token: Arc::clone(&access_token),
            renew_at: Instant::now() + renew_after(expires_in),
            generation,
        });
        Ok((access_token, generation))
    }

    /// Drops the token of `generation` after Graph refused it, unless it was renewed already.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state.current.as_ref().is_some_and(|token| token.generation == generation) {
            state.current = None;
        }
    }
}

/// Sends the client-credentials request; retries broken connections, timeouts, 429 and 5xx.
async fn request_token(client: &GraphClient) -> Result<(String, Duration), GraphError> {
    let inner = &client.inner;
    let config = &inner.config;
    let options = &inner.options;
    let token_url = config.token_url();
    let scope = config.scope();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let assertion;
        let body = match &config.credential {
            Credential::Secret(secret) => encode_form(&[
                ("client_id", &config.client_id),
                ("scope", &scope),
                ("client_secret", secret.expose()),
                ("grant_type", "client_credentials"),
            ]),
            Credential::Certificate(certificate) => {
                assertion = client_assertion(
                    certificate,
                    &config.client_id,
                    &token_url,
                    (options.wall_clock)(),
                    &new_jti(client),
                )?;
                encode_form(&[
                    ("client_id", &config.client_id),
                    ("scope", &scope),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", &assertion),
                    ("grant_type", "client_credentials"),
                ])
            }
        };
        inner.counters.token_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request = inner
            .http
            .post(&token_url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        let outcome = tokio::time::timeout(options.request_timeout, async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        })
        .await;
        let retryable = |message: String| GraphError::Token {
            status: 0,
            code: "unreachable".into(),
            description: message,
        };
        let (status, body) = match outcome {
            Err(_) if attempts < options.max_attempts => {
                client.back_off(attempts).await?;
                continue;
            }
            Err(_) => return Err(retryable("the token endpoint did not answer in time".into())),
            Ok(Err(_)) if attempts < options.max_attempts => {
                client.back_off(attempts).await?;
                continue;
            }
            Ok(Err(error)) => {
                return Err(retryable(format!("cannot reach the token endpoint: {error}")));
            }
            Ok(Ok(answer)) => answer,
        };
        if (status == 429 || status >= 500) && attempts < options.max_attempts {
            client.back_off(attempts).await?;
            continue;
        }
        return read_token_answer(status, &body);
    }
}

/// Reads the token endpoint's answer: the access token and its lifetime, or its OAuth error.
pub(crate) fn read_token_answer(
    status: u16,
    body: &[u8],
) -> Result<(String, Duration), GraphError> {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct TokenAnswer<'a> {
        #[serde(borrow)]
        access_token: LenientStr<'a>,
        expires_in: LenientInt,
        #[serde(borrow)]
        error: LenientStr<'a>,
        #[serde(borrow)]
        error_description: LenientStr<'a>,
    }
    let answer: TokenAnswer<'_> = serde_json::from_slice(body).unwrap_or_default();
    if (200..300).contains(&status)
        && let Some(access_token) =
            answer.access_token.into_owned().filter(|token| !token.is_empty())
    {
        // A missing lifetime is read as Entra ID's usual hour; a negative one as expired.
        let seconds = answer.expires_in.0.unwrap_or(3599).max(0);
        return Ok((access_token, Duration::from_secs(u64::try_from(seconds).unwrap_or(0))));
    }
    Err(GraphError::Token {
        status,
        code: answer.error.into_owned().unwrap_or_else(|| "no_access_token".into()),
        description: answer
            .error_description
            .into_owned()
            .unwrap_or_else(|| "the answer holds no access token".into()),
    })
}

impl GraphClient {
    /// Gets a token (client credentials) and reports which needed permissions its roles lack.
    pub async fn check_permissions(&self) -> Result<PermissionReport, GraphError> {
        let (token, _generation) = self.inner.tokens.get(self).await?;
        Ok(check_roles(&granted_roles(&token)?))
    }
}

/// [`GraphClient::check_permissions`] for blocking callers (`rapport graph check`).
pub fn check_permissions(
    config: GraphConfig,
    options: ClientOptions,
) -> Result<PermissionReport, GraphError> {
    let client = GraphClient::new(config, options)?;
    crate::sync::block_on(client.check_permissions())?
}
