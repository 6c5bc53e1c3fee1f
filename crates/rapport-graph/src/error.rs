//! The errors of the Graph client: one enum whose variants carry their own context.
//!
//! Texts name the resource (a URL path, which may hold a mailbox id) but never a secret, a token or
//! a query string.

use crate::config::ConfigError;

/// What went wrong talking to Microsoft Graph or its token endpoint.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The token endpoint refused the credentials or answered something unreadable.
    #[error("token request failed (http {status}): {code}: {description}")]
    Token {
        /// HTTP status of the answer (0 when none came).
        status: u16,
        /// The OAuth `error` code, e.g. `invalid_client`.
        code: String,
        /// The `error_description`, e.g. `AADSTS7000215: Invalid client secret provided...`.
        description: String,
    },
    /// Graph answered an error status (after the retries the status allows).
    #[error("graph answered http {status} {code} for {resource}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The `error.code` of the answer, e.g. `ErrorAccessDenied`.
        code: String,
        /// The `error.message` of the answer.
        message: String,
        /// The path of the request.
        resource: String,
    },
    /// The request could not be sent or its answer not received (after retries).
    #[error("request for {resource} failed: {message}")]
    Transport {
        /// The path of the request.
        resource: String,
        /// What the HTTP stack said.
        message: String,
    },
    /// Every attempt of the request timed out.
    #[error("request for {resource} timed out")]
    Timeout {
        /// The path of the request.
        resource: String,
    },
    /// Graph's answer was not the JSON expected, even after retries.
    #[error("graph answered malformed json for {resource}")]
    MalformedJson {
        /// The path of the request.
        resource: String,
    },
    /// Graph was still throttling after the longest wait the client accepts.
    #[error("graph asked to wait {seconds} s before retrying {resource}, longer than allowed")]
    RetryAfterTooLong {
        /// The requested wait.
        seconds: u64,
        /// The path of the request.
        resource: String,
    },
    /// A `@odata.nextLink` or `@odata.deltaLink` points outside the Graph endpoint: following it
    /// would hand the access token to another host.
    #[error("a link from graph points outside the graph endpoint: {origin}")]
    ForeignLink {
        /// Scheme, host and port of the link.
        origin: String,
    },
    /// The certificate or its private key cannot be used to sign a client assertion.
    #[error("cannot sign the client assertion: {0}")]
    Signing(String),
    /// The run was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The async runtime or the HTTP client could not be built.
    #[error("cannot start the graph client: {0}")]
    Startup(String),
}

impl GraphError {
    /// The HTTP status of a Graph error answer, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The Graph `error.code` of an error answer, if this is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphError::Status { code, .. } => Some(code),
            _ => None,
        }
    }
}
