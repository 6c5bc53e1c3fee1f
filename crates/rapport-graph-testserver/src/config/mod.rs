//! The server's configuration: credentials it accepts, roles it grants, latency, dataset and
//! faults.

use std::time::Duration;

use crate::dataset::Dataset;

/// The tenant id `ServerConfig::new` accepts.
pub const DEFAULT_TENANT_ID: &str = "8f1c0d2e-4b5a-4c3d-9e8f-7a6b5c4d3e2f";
/// The application (client) id `ServerConfig::new` accepts.
pub const DEFAULT_CLIENT_ID: &str = "2a7b9c1d-3e4f-4a5b-8c6d-0e1f2a3b4c5d";
/// The client secret `ServerConfig::new` accepts.
pub const DEFAULT_CLIENT_SECRET: &str = "test-secret~0123456789abcdef";

/// The application roles `ServerConfig::new` grants: the least ones rapport needs.
pub const DEFAULT_ROLES: [&str; 4] =
    ["Mail.ReadBasic.All", "Calendars.ReadBasic.All", "User.Read.All", "GroupMember.Read.All"];

/// How the server behaves. Build one with [`ServerConfig::new`] and change fields as needed.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The only tenant the token endpoint knows (`/{tenant_id}/oauth2/v2.0/token`).
    pub tenant_id: String,
    /// The only application (client) id the token endpoint knows.
    pub client_id: String,
    /// The secret accepted as `client_secret`.
    pub client_secret: String,
    /// The public key accepted for client assertions (RS256), DER-encoded, either as a
    /// SubjectPublicKeyInfo (`openssl pkey -pubout -outform DER`) or as a PKCS#1 RSAPublicKey;
    /// the server tells them apart. `None`: every client assertion is rejected.
    pub assertion_public_key: Option<Vec<u8>>,
    /// The application roles put in issued tokens; the Graph endpoints check them.
    pub roles: Vec<String>,
    /// The lifetime of issued tokens (`expires_in`, and enforced: an expired token gets 401
    /// `InvalidAuthenticationToken`). Zero issues tokens that are already expired.
    pub token_lifetime: Duration,
    /// Added to every Graph (non-token) response.
    pub latency: Duration,
    /// How long a [`Fault::Timeout`] response is held back: longer than any client timeout.
    pub timeout_delay: Duration,
    /// Whether to keep the request log ([`crate::TestServer::requests`]); the counters are kept
    /// either way. A benchmark of millions of requests turns it off.
    pub record_requests: bool,
    /// What the server serves.
    pub dataset: Dataset,
    /// Faults to inject, each firing as its variant says.
    pub faults: Vec<Fault>,
}

impl ServerConfig {
    /// The default tenant, client id and secret, the four least roles rapport needs, one-hour
    /// tokens (`expires_in` 3599), no latency, a five-minute timeout delay, the request log on,
    /// and no faults.
    pub fn new(dataset: Dataset) -> ServerConfig {
        ServerConfig {
            tenant_id: DEFAULT_TENANT_ID.to_owned(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            assertion_public_key: None,
            roles: DEFAULT_ROLES.iter().map(|role| (*role).to_owned()).collect(),
            token_lifetime: Duration::from_secs(3599),
            latency: Duration::ZERO,
            timeout_delay: Duration::from_secs(300),
            record_requests: true,
            dataset,
            faults: Vec::new(),
        }
    }
}

/// A fault injected on demand. `path_contains` is matched against the request's decoded path and
/// query; `nth` counts (from 1) the requests with a valid token that match it, and the fault fires
/// once, on that request. Mailbox faults (`NoMailbox`, `AccessDenied`) hold for every mail and
/// calendar request of that user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 429 `TooManyRequests` with `Retry-After: retry_after_secs`.
    Throttle {
        /// Matched against the decoded path and query.
        path_contains: String,
        /// Which matching request (from 1).
        nth: usize,
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// 503 `ServiceNotAvailable`, with `Retry-After` when given.
    Unavailable {
        /// Matched against the decoded path and query.
        path_contains: String,
        /// Which matching request (from 1).
        nth: usize,
        /// The `Retry-After` value, if any.
        retry_after_secs: Option<u64>,
    },
    /// The token of the `nth_request`-th Graph request (counted over all Graph requests with a
    /// valid token) is revoked: that request and every later one with the same token get 401
    /// `InvalidAuthenticationToken`; a new token works.
    RevokeTokenOnce {
        /// Which Graph request (from 1).
        nth_request: usize,
    },
    /// The response is held back for `ServerConfig::timeout_delay`, then answered 504.
    Timeout {
        /// Matched against the decoded path and query.
        path_contains: String,
        /// Which matching request (from 1).
        nth: usize,
    },
    /// 200 with a body cut in the middle (not valid JSON).
    MalformedJson {
        /// Matched against the decoded path and query.
        path_contains: String,
        /// Which matching request (from 1).
        nth: usize,
    },
    /// The user's mail and calendar endpoints answer 404 `MailboxNotEnabledForRESTAPI`. `user`
    /// is an id, user principal name or address (case-insensitive).
    NoMailbox {
        /// The user.
        user: String,
    },
    /// The user's mail and calendar endpoints answer 403 `ErrorAccessDenied` (an application
    /// access policy that leaves the mailbox out).
    AccessDenied {
        /// The user.
        user: String,
    },
}
