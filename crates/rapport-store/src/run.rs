//! Runs: their statuses, triggers, stages with progress, and how they end.
//!
//! A run moves Queued → Running → Successful | Failed | Cancelled. A Queued run can also be
//! Cancelled (or marked Failed when the process stopped) without starting, and a run asked for
//! while another one of the same enrichment is Queued or Running is recorded as Skipped at once.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::results::Table;

/// The id of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunId(pub i64);

/// What asked for a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// The schedule (or the first run after consent).
    Scheduled,
    /// A person, e.g. `rapport enrichment run`.
    Manual,
}

/// The stages of a run, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Resolve the org users (addresses, groups, users file) and load the customer data.
    ResolveUsers,
    /// Read the activity sources.
    ReadSources,
    /// Merge copies of the same email or meeting.
    Deduplicate,
    /// Match participants to accounts.
    ResolveAccounts,
    /// Count per account, level and period.
    Aggregate,
    /// Compute the engagement scores.
    Score,
    /// Write the tables and publish them.
    Publish,
}

/// The status of a run (and, as `NotStarted`, of an enrichment that never ran).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// No run yet (only used for an enrichment's last run status).
    NotStarted,
    /// Waiting to start.
    Queued,
    /// Started and not finished.
    Running,
    /// Finished and published its results.
    Successful,
    /// Stopped by an error, or interrupted when the process stopped.
    Failed,
    /// Stopped on request; the last results are untouched.
    Cancelled,
    /// Not run because another run of the same enrichment was queued or running.
    Skipped,
}

/// The progress and timing of one stage of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageProgress {
    /// The stage.
    pub stage: Stage,
    /// Units done (items or bytes, as the stage counts them).
    pub done: u64,
    /// Units in all.
    pub total: u64,
    /// When the stage started (UTC seconds).
    pub started_at: i64,
    /// When its progress was last recorded (UTC seconds).
    pub updated_at: i64,
    /// When it ended (the next stage started, or the run finished), if it did.
    pub finished_at: Option<i64>,
}

/// A run with everything recorded about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Its id.
    pub id: RunId,
    /// The enrichment it belongs to.
    pub enrichment: crate::enrichment::EnrichmentId,
    /// What asked for it.
    pub trigger: Trigger,
    /// Its status.
    pub status: RunStatus,
    /// When it was asked for (UTC seconds).
    pub queued_at: i64,
    /// When it started, if it did.
    pub started_at: Option<i64>,
    /// When it ended (for Skipped: when it was recorded), if it did.
    pub finished_at: Option<i64>,
    /// The stage it is in or stopped in, if it reached one.
    pub stage: Option<Stage>,
    /// Every stage it reached, in the order reached.
    pub stages: Vec<StageProgress>,
    /// Its warnings, in order (at most [`crate::MAX_KEPT_WARNINGS`]).
    pub warnings: Vec<String>,
    /// How many warnings were added, including those not kept.
    pub n_warnings: u64,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// The run summary (metrics.md §6) of a successful run.
    pub summary: Option<serde_json::Value>,
    /// Whether a cancel was requested while it was running.
    pub cancel_requested: bool,
    /// The results version it published, if it was successful.
    pub results_version: Option<i64>,
}

/// How a run ended, as the executor reports it to [`crate::Store::finish_run`].
#[derive(Clone, Debug, PartialEq)]
pub enum RunOutcome {
    /// It finished: publish `tables` as the new results version, with `summary`.
    Successful {
        /// The run summary (metrics.md §6).
        summary: serde_json::Value,
        /// The output tables.
        tables: Vec<Table>,
    },
    /// It stopped with an error; the last results are untouched.
    Failed {
        /// The error, as shown to the user.
        error: String,
    },
    /// It stopped on request; the last results are untouched.
    Cancelled,
}

/// What [`crate::Store::queue_run`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOutcome {
    /// A run was queued.
    Queued(RunId),
    /// Another run was queued or running: this one was recorded as Skipped.
    Skipped(RunId),
}

impl Trigger {
    /// `"Scheduled"` or `"Manual"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Scheduled => "Scheduled",
            Trigger::Manual => "Manual",
        }
    }

    /// The trigger whose [`Trigger::as_str`] is `text`.
    pub fn from_text(text: &str) -> Option<Trigger> {
        [Trigger::Scheduled, Trigger::Manual].into_iter().find(|trigger| trigger.as_str() == text)
    }
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 7] = [
        Stage::ResolveUsers,
        Stage::ReadSources,
        Stage::Deduplicate,
        Stage::ResolveAccounts,
        Stage::Aggregate,
        Stage::Score,
        Stage::Publish,
    ];

    /// `"resolve users"`, `"read sources"`, `"de-duplicate"`, `"resolve accounts"`,
    /// `"aggregate"`, `"score"` or `"publish"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::ResolveUsers => "resolve users",
            Stage::ReadSources => "read sources",
            Stage::Deduplicate => "de-duplicate",
            Stage::ResolveAccounts => "resolve accounts",
            Stage::Aggregate => "aggregate",
            Stage::Score => "score",
            Stage::Publish => "publish",
        }
    }

    /// The stage whose [`Stage::as_str`] is `text`.
    pub fn from_text(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.as_str() == text)
    }
}

impl RunStatus {
    /// Every status.
    pub const ALL: [RunStatus; 7] = [
        RunStatus::NotStarted,
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Successful,
        RunStatus::Failed,
        RunStatus::Cancelled,
        RunStatus::Skipped,
    ];

    /// `"Not started"`, `"Queued"`, `"Running"`, `"Successful"`, `"Failed"`, `"Cancelled"` or
    /// `"Skipped"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::NotStarted => "Not started",
            RunStatus::Queued => "Queued",
            RunStatus::Running => "Running",
            RunStatus::Successful => "Successful",
            RunStatus::Failed => "Failed",
            RunStatus::Cancelled => "Cancelled",
            RunStatus::Skipped => "Skipped",
        }
    }

    /// The status whose [`RunStatus::as_str`] is `text`.
    pub fn from_text(text: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Queued or Running: the run has not ended.
    pub fn is_active(self) -> bool {
        matches!(self, RunStatus::Queued | RunStatus::Running)
    }

    /// Successful, Failed, Cancelled or Skipped: the run has ended.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            RunStatus::Successful | RunStatus::Failed | RunStatus::Cancelled | RunStatus::Skipped
        )
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}
