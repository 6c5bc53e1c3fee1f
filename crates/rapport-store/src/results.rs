//! Published results: versions of an enrichment's output tables, and the run history for charts.

use crate::run::RunId;

/// One output table, stored as the bytes of its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Its name, e.g. `Office`, `Office_UserEntity`, `Office_ScoreExplanation`.
    pub name: String,
    /// The format of `bytes`, e.g. `csv`.
    pub format: String,
    /// The file's content.
    pub bytes: Vec<u8>,
}

/// One published version of an enrichment's results, read whole.
#[derive(Clone, Debug, PartialEq)]
pub struct Results {
    /// The version: 1 for the first published results of the enrichment, then 2, ...
    pub version: i64,
    /// The run that produced it.
    pub run: RunId,
    /// When it was published (UTC seconds).
    pub published_at: i64,
    /// The run summary (metrics.md §6) as JSON.
    pub summary: serde_json::Value,
    /// The tables, in the order the run gave them.
    pub tables: Vec<Table>,
}

/// The summary of one successful run, for "enriched customers over time" and "days of data".
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    /// The run.
    pub run: RunId,
    /// When it finished (UTC seconds).
    pub finished_at: i64,
    /// Its summary JSON (`accounts_enriched`, `days_covered`, ...).
    pub summary: serde_json::Value,
}
