//! rapport-store: enrichments that live — their configuration, administrator consent,
//! schedules, runs with stages and progress, and versioned results — in one SQLite file.
//!
//! The database is created on first use, runs in WAL mode (one writer, many readers), and every
//! state change is one durable transaction. Results are published atomically: a reader sees the
//! previous version or the new one, never a mix. The store never reads the clock: every `now` is
//! a parameter (UTC seconds). All SQL lives in this crate.

pub mod config;
pub mod enrichment;
pub mod erasure;
mod error;
pub mod ledger;
pub mod pseudonym;
pub mod results;
pub mod run;
pub mod schedule;
mod store;

pub use crate::config::{CustomerSource, EnrichmentConfig, Frequency, Schedule, UserGroup};
pub use crate::enrichment::{Consent, Enrichment, EnrichmentId};
pub use crate::error::Error;
pub use crate::results::{Results, RunSummary, Table};
pub use crate::run::{
    QueueOutcome, Run, RunId, RunOutcome, RunStatus, Stage, StageProgress, Trigger,
};
pub use crate::schedule::next_run_after;
pub use crate::store::{SCHEMA_VERSION, Store};

/// The default delay between consent and the first run: the data download needs time.
pub const FIRST_RUN_DELAY_SECONDS: i64 = 6 * 3600;
/// The most warnings kept per run; later ones are only counted (`Run::n_warnings`).
pub const MAX_KEPT_WARNINGS: u64 = 1000;
/// How many results versions are kept per enrichment: the published one and the one before it.
/// Older versions are deleted when a new one is published (run summaries are kept for history).
pub const KEPT_RESULTS_VERSIONS: i64 = 2;
