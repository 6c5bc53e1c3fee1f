//! A stored enrichment: its configuration with the state the store keeps around it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::EnrichmentConfig;
use crate::run::RunStatus;

/// The id of a stored enrichment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EnrichmentId(pub i64);

/// An enrichment as stored: configuration, consent, activation, schedule and results pointer.
#[derive(Clone, Debug, PartialEq)]
pub struct Enrichment {
    /// Its id.
    pub id: EnrichmentId,
    /// What the user configured.
    pub config: EnrichmentConfig,
    /// Who consented and when; `None` while awaiting consent (or after it was revoked).
    pub consent: Option<Consent>,
    /// Who revoked the last consent and when, if it was revoked and not given again since.
    pub consent_revoked: Option<Consent>,
    /// Whether it refreshes on its schedule; an inactive enrichment keeps its last results.
    pub active: bool,
    /// When the next scheduled run is due (UTC seconds), if any.
    pub next_run_at: Option<i64>,
    /// When it was created (UTC seconds).
    pub created_at: i64,
    /// When its configuration or state last changed (UTC seconds).
    pub updated_at: i64,
    /// The version of its published results, if any were published.
    pub results_version: Option<i64>,
    /// The status of its newest run, `NotStarted` when it never had one.
    pub last_run_status: RunStatus,
}

/// An administrator's consent (or its revocation): who and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// Who, as given by the caller (a name or an address).
    pub by: String,
    /// When (UTC seconds).
    pub at: i64,
}

impl fmt::Display for EnrichmentId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}
