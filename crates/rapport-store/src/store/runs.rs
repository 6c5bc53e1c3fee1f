//! Runs: queueing (or skipping), starting, stage progress, warnings, cancel, finishing with
//! atomic publication of results, and recovery of runs a stopped process left behind.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension as _, Row, Transaction, params};

use crate::enrichment::{Enrichment, EnrichmentId};
use crate::error::Error;
use crate::ledger::LedgerUpdate;
use crate::results::Table;
use crate::run::{QueueOutcome, Run, RunId, RunOutcome, RunStatus, Stage, StageProgress, Trigger};
use crate::schedule::next_run_after;
use crate::store::enrichments::load_enrichment;
use crate::store::ledger::apply_ledger;
use crate::store::results::parse_summary;
use crate::store::{Store, from_sql_integer, sql, to_sql_integer};
use crate::{KEPT_RESULTS_VERSIONS, MAX_KEPT_WARNINGS};

/// The columns [`run_row`] reads, from `runs`.
const SELECT_RUN: &str = "
    SELECT id, enrichment_id, trigger, status, queued_at, started_at, finished_at, stage,
           cancel_requested, error, summary, n_warnings, results_version
    FROM runs";

impl Store {
    /// Asks for a run of the enrichment. It is queued, or — when a run of the same enrichment is
    /// already Queued or Running — recorded as Skipped at once. A scheduled run also moves the
    /// enrichment's next run to the following slot of its schedule, so a slot is taken once.
    ///
    /// Fails with [`Error::NoConsent`] without consent, and with [`Error::Inactive`] for a
    /// scheduled run of an inactive enrichment (a manual run of one is allowed).
    pub fn queue_run(
        &self,
        id: EnrichmentId,
        trigger: Trigger,
        now: i64,
    ) -> Result<QueueOutcome, Error> {
        let context = "could not queue the run";
        self.write(context, |transaction| {
            let enrichment = load_enrichment(transaction, id)?;
            if enrichment.consent.is_none() {
                return Err(Error::NoConsent { name: enrichment.config.name });
            }
            if trigger == Trigger::Scheduled && !enrichment.active {
                return Err(Error::Inactive { name: enrichment.config.name });
            }
            let unfinished: Option<i64> = transaction
                .query_row(
                    "SELECT id FROM runs WHERE enrichment_id = ?1 AND status IN ('Queued', 'Running')
                     ORDER BY id LIMIT 1",
                    [id.0],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sql(context))?;
            let outcome = match unfinished {
                Some(other) => {
                    transaction
                        .execute(
                            "INSERT INTO runs (enrichment_id, trigger, status, queued_at, finished_at, error)
                             VALUES (?1, ?2, 'Skipped', ?3, ?3, ?4)",
                            params![
                                id.0,
                                trigger.as_str(),
                                now,
                                format!("skipped: run {other} was still queued or running")
                            ],
                        )
                        .map_err(sql(context))?;
                    QueueOutcome::Skipped(RunId(transaction.last_insert_rowid()))
                }
                None => {
                    transaction
                        .execute(
                            "INSERT INTO runs (enrichment_id, trigger, status, queued_at)
                             VALUES (?1, ?2, 'Queued', ?3)",
                            params![id.0, trigger.as_str(), now],
                        )
                        .map_err(sql(context))?;
                    QueueOutcome::Queued(RunId(transaction.last_insert_rowid()))
                }
            };
            if trigger == Trigger::Scheduled {
                let from = enrichment.next_run_at.map_or(now, |next| next.max(now));
                let next = next_run_after(&enrichment.config.schedule, from);
                transaction
                    .execute(
                        "UPDATE enrichments SET next_run_at = ?2, first_run_pending = 0 WHERE id = ?1",
                        params![id.0, next],
                    )
                    .map_err(sql(context))?;
            }
            Ok(outcome)
        })
    }

    /// Starts a queued run. Fails with [`Error::RunState`] when it is not Queued (e.g. it was
    /// cancelled meanwhile: the executor then does nothing) and with [`Error::NoConsent`] when
    /// the enrichment has no consent.
    pub fn start_run(&self, run: RunId, now: i64) -> Result<(), Error> {
        let context = "could not start the run";
        self.write(context, |transaction| {
            let state = run_state(transaction, run)?;
            if state.status != RunStatus::Queued {
                return Err(Error::RunState { run, status: state.status, action: "start it" });
            }
            let enrichment = load_enrichment(transaction, state.enrichment)?;
            if enrichment.consent.is_none() {
                return Err(Error::NoConsent { name: enrichment.config.name });
            }
            transaction
                .execute(
                    "UPDATE runs SET status = 'Running', started_at = ?2 WHERE id = ?1",
                    params![run.0, now],
                )
                .map_err(sql(context))?;
            Ok(())
        })
    }

    /// Records the progress of a stage of a running run: `done` of `total` units. The first call
    /// for a stage starts it (and ends the stage before it); later calls update its progress.
    pub fn set_stage(
        &self,
        run: RunId,
        stage: Stage,
        done: u64,
        total: u64,
        now: i64,
    ) -> Result<(), Error> {
        let context = "could not record the run's progress";
        self.write(context, |transaction| {
            let state = run_state(transaction, run)?;
            if state.status != RunStatus::Running {
                return Err(Error::RunState {
                    run,
                    status: state.status,
                    action: "record its progress",
                });
            }
            let (done, total) = (to_sql_integer(done), to_sql_integer(total));
            let n_updated = transaction
                .execute(
                    "UPDATE run_stages SET done = ?3, total = ?4, updated_at = ?5
                     WHERE run_id = ?1 AND stage = ?2",
                    params![run.0, stage.as_str(), done, total, now],
                )
                .map_err(sql(context))?;
            if n_updated == 0 {
                end_open_stages(transaction, run, now, context)?;
                transaction
                    .execute(
                        "INSERT INTO run_stages (run_id, stage, position, done, total, started_at, updated_at)
                         VALUES (?1, ?2, (SELECT COUNT(*) FROM run_stages WHERE run_id = ?1), ?3, ?4, ?5, ?5)",
                        params![run.0, stage.as_str(), done, total, now],
                    )
                    .map_err(sql(context))?;
                transaction
                    .execute("UPDATE runs SET stage = ?2 WHERE id = ?1", params![run.0, stage.as_str()])
                    .map_err(sql(context))?;
            }
            Ok(())
        })
    }

    /// Adds a warning to a run. The first [`MAX_KEPT_WARNINGS`] are kept; all are counted.
    pub fn add_warning(&self, run: RunId, message: &str) -> Result<(), Error> {
        let context = "could not record the warning";
        self.write(context, |transaction| {
            let n_warnings: Option<i64> = transaction
                .query_row(
                    "UPDATE runs SET n_warnings = n_warnings + 1 WHERE id = ?1 RETURNING n_warnings",
                    [run.0],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sql(context))?;
            let Some(n_warnings) = n_warnings else {
                return Err(run_not_found(run));
            };
            if from_sql_integer(n_warnings) <= MAX_KEPT_WARNINGS {
                transaction
                    .execute(
                        "INSERT INTO run_warnings (run_id, position, message) VALUES (?1, ?2, ?3)",
                        params![run.0, n_warnings - 1, message],
                    )
                    .map_err(sql(context))?;
            }
            Ok(())
        })
    }

    /// Asks a run to stop: a Queued run is Cancelled at once, a Running one is flagged and its
    /// executor stops at its next look ([`Store::cancel_requested`]). A finished run is left as
    /// it is.
    pub fn request_cancel(&self, run: RunId, now: i64) -> Result<(), Error> {
        let context = "could not cancel the run";
        self.write(context, |transaction| {
            let state = run_state(transaction, run)?;
            match state.status {
                RunStatus::Queued => transaction.execute(
                    "UPDATE runs SET status = 'Cancelled', finished_at = ?2,
                            error = 'cancelled before it started'
                     WHERE id = ?1",
                    params![run.0, now],
                ),
                RunStatus::Running => transaction
                    .execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?1", [run.0]),
                _ => Ok(0),
            }
            .map_err(sql(context))?;
            Ok(())
        })
    }

    /// Whether the run should stop: a cancel was requested, it already ended (e.g. it was
    /// cancelled while queued), or it no longer exists (its enrichment was deleted).
    pub fn cancel_requested(&self, run: RunId) -> Result<bool, Error> {
        let context = "could not read the run";
        self.read(context, |transaction| {
            let state = transaction
                .query_row(
                    "SELECT cancel_requested, status FROM runs WHERE id = ?1",
                    [run.0],
                    |row| Ok((row.get::<_, bool>(0)?, row.get::<_, String>(1)?)),
                )
                .optional()
                .map_err(sql(context))?;
            Ok(match state {
                None => true,
                Some((flagged, status)) => {
                    flagged || RunStatus::from_text(&status).is_none_or(RunStatus::is_finished)
                }
            })
        })
    }

    /// Ends a run. `Successful` publishes its tables as the enrichment's new results version in
    /// the same transaction that ends the run, so readers see the old version or the new one,
    /// never a mix; versions older than [`KEPT_RESULTS_VERSIONS`] are deleted with it. A run whose
    /// cancel was requested ends Cancelled instead, without publishing. `Failed` and `Cancelled`
    /// leave the results untouched.
    ///
    /// The next scheduled run, when it is not still ahead, moves to the schedule's next slot.
    pub fn finish_run(&self, run: RunId, outcome: RunOutcome, now: i64) -> Result<(), Error> {
        self.finish_run_with_ledger(run, outcome, None, now)
    }

    /// [`Store::finish_run`] that also applies the run's ledger changes when it publishes: in the
    /// same transaction, so the ledger and the results always belong to the same run. A run that
    /// fails, is cancelled or is stopped leaves the ledger as the last successful run left it.
    pub fn finish_run_with_ledger(
        &self,
        run: RunId,
        outcome: RunOutcome,
        ledger: Option<&LedgerUpdate>,
        now: i64,
    ) -> Result<(), Error> {
        let context = "could not finish the run";
        self.write(context, |transaction| {
            let state = run_state(transaction, run)?;
            let allowed = match &outcome {
                RunOutcome::Successful { .. } => state.status == RunStatus::Running,
                RunOutcome::Failed { .. } | RunOutcome::Cancelled => state.status.is_active(),
            };
            if !allowed {
                return Err(Error::RunState { run, status: state.status, action: "finish it" });
            }
            end_open_stages(transaction, run, now, context)?;
            match outcome {
                RunOutcome::Successful { .. } if state.cancel_requested => {
                    end_run(transaction, run, RunStatus::Cancelled, None, now)?;
                }
                RunOutcome::Successful { summary, tables } => {
                    if let Some(ledger) = ledger {
                        apply_ledger(transaction, state.enrichment, ledger)?;
                    }
                    publish(transaction, &state, &summary, &tables, now)?;
                }
                RunOutcome::Failed { error } => {
                    end_run(transaction, run, RunStatus::Failed, Some(&error), now)?;
                }
                RunOutcome::Cancelled => {
                    end_run(transaction, run, RunStatus::Cancelled, None, now)?;
                }
            }
            let enrichment = load_enrichment(transaction, state.enrichment)?;
            advance_schedule(transaction, &enrichment, now)
        })
    }

    /// The run `run` with its stages and warnings.
    pub fn run(&self, run: RunId) -> Result<Run, Error> {
        let context = "could not read the run";
        self.read(context, |transaction| {
            let row = transaction
                .query_row(&format!("{SELECT_RUN} WHERE id = ?1"), [run.0], run_row)
                .optional()
                .map_err(sql(context))?
                .ok_or_else(|| run_not_found(run))?;
            let mut stages = load_stages(transaction, "WHERE run_id = ?1", run.0)?;
            let mut warnings = load_warnings(transaction, "WHERE run_id = ?1", run.0)?;
            into_run(row, &mut stages, &mut warnings)
        })
    }

    /// The runs of an enrichment, newest first, each with its stages, warnings, error and
    /// summary.
    pub fn runs(&self, id: EnrichmentId) -> Result<Vec<Run>, Error> {
        let context = "could not read the runs";
        self.read(context, |transaction| {
            load_enrichment(transaction, id)?;
            let mut statement = transaction
                .prepare(&format!("{SELECT_RUN} WHERE enrichment_id = ?1 ORDER BY id DESC"))
                .map_err(sql(context))?;
            let rows = statement
                .query_map([id.0], run_row)
                .map_err(sql(context))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql(context))?;
            let of_enrichment = "WHERE run_id IN (SELECT id FROM runs WHERE enrichment_id = ?1)";
            let mut stages = load_stages(transaction, of_enrichment, id.0)?;
            let mut warnings = load_warnings(transaction, of_enrichment, id.0)?;
            rows.into_iter().map(|row| into_run(row, &mut stages, &mut warnings)).collect()
        })
    }

    /// Marks every Queued or Running run as Failed with the reason ("interrupted: the process
    /// stopped during stage read sources"), and makes their enrichments (when consented and
    /// active) due at once, so the interrupted refresh is retried. Call it when the process that
    /// executes runs starts, before it executes any: it assumes no other process is running one.
    pub fn recover_interrupted(&self, now: i64) -> Result<Vec<RunId>, Error> {
        let context = "could not recover interrupted runs";
        self.write(context, |transaction| {
            let interrupted = {
                let mut statement = transaction
                    .prepare(&format!(
                        "{SELECT_RUN} WHERE status IN ('Queued', 'Running') ORDER BY id"
                    ))
                    .map_err(sql(context))?;
                statement
                    .query_map([], run_row)
                    .map_err(sql(context))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(sql(context))?
            };
            let mut recovered = Vec::with_capacity(interrupted.len());
            for row in interrupted {
                let reason = match (row.status.as_str(), row.stage.as_deref()) {
                    ("Queued", _) => {
                        "interrupted: the process stopped before the run started".to_owned()
                    }
                    (_, Some(stage)) => {
                        format!("interrupted: the process stopped during stage {stage}")
                    }
                    (_, None) => {
                        "interrupted: the process stopped before the first stage".to_owned()
                    }
                };
                end_open_stages(transaction, RunId(row.id), now, context)?;
                end_run(transaction, RunId(row.id), RunStatus::Failed, Some(&reason), now)?;
                transaction
                    .execute(
                        "UPDATE enrichments SET next_run_at = min(coalesce(next_run_at, ?2), ?2)
                         WHERE id = ?1 AND consent_at IS NOT NULL AND active = 1",
                        params![row.enrichment_id, now],
                    )
                    .map_err(sql(context))?;
                recovered.push(RunId(row.id));
            }
            Ok(recovered)
        })
    }
}

/// What the run-changing operations need to know about a run.
struct RunState {
    enrichment: EnrichmentId,
    status: RunStatus,
    cancel_requested: bool,
    id: RunId,
}

/// Reads the state of `run` inside a transaction.
fn run_state(connection: &Connection, run: RunId) -> Result<RunState, Error> {
    let row = connection
        .query_row(
            "SELECT enrichment_id, status, cancel_requested FROM runs WHERE id = ?1",
            [run.0],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, bool>(2)?)),
        )
        .optional()
        .map_err(sql("could not read the run"))?;
    let Some((enrichment, status, cancel_requested)) = row else {
        return Err(run_not_found(run));
    };
    Ok(RunState {
        enrichment: EnrichmentId(enrichment),
        status: parse_status(&status, run.0)?,
        cancel_requested,
        id: run,
    })
}

/// Ends the run's stage that has not ended (the one it is in), if any.
fn end_open_stages(
    connection: &Connection,
    run: RunId,
    now: i64,
    context: &'static str,
) -> Result<(), Error> {
    connection
        .execute(
            "UPDATE run_stages SET finished_at = ?2 WHERE run_id = ?1 AND finished_at IS NULL",
            params![run.0, now],
        )
        .map_err(sql(context))?;
    Ok(())
}

/// Sets a run's final status (and its error, if any).
fn end_run(
    transaction: &Transaction<'_>,
    run: RunId,
    status: RunStatus,
    error: Option<&str>,
    now: i64,
) -> Result<(), Error> {
    transaction
        .execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, error = coalesce(?4, error) WHERE id = ?1",
            params![run.0, status.as_str(), now, error],
        )
        .map_err(sql("could not finish the run"))?;
    Ok(())
}

/// Publishes the tables of a successful run as the enrichment's next results version and ends
/// the run; deletes the versions no longer kept.
fn publish(
    transaction: &Transaction<'_>,
    state: &RunState,
    summary: &serde_json::Value,
    tables: &[Table],
    now: i64,
) -> Result<(), Error> {
    let context = "could not publish the results";
    let enrichment = state.enrichment.0;
    let version: i64 = transaction
        .query_row(
            "SELECT coalesce(max(version), 0) + 1 FROM result_versions WHERE enrichment_id = ?1",
            [enrichment],
            |row| row.get(0),
        )
        .map_err(sql(context))?;
    let summary_json = summary.to_string();
    transaction
        .execute(
            "INSERT INTO result_versions (enrichment_id, version, run_id, published_at, summary)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![enrichment, version, state.id.0, now, summary_json],
        )
        .map_err(sql(context))?;
    let version_id = transaction.last_insert_rowid();
    let encoded = crate::store::results::encode_tables(tables);
    {
        let mut insert = transaction
            .prepare_cached(
                "INSERT INTO result_tables (version_id, position, name, format, bytes, encoding)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(sql(context))?;
        for (position, (table, (encoding, bytes))) in tables.iter().zip(&encoded).enumerate() {
            insert
                .execute(params![
                    version_id,
                    position as i64,
                    table.name,
                    table.format,
                    bytes.as_ref(),
                    encoding
                ])
                .map_err(sql(context))?;
        }
    }
    transaction
        .execute(
            "UPDATE runs SET status = 'Successful', finished_at = ?2, summary = ?3,
                    results_version = ?4
             WHERE id = ?1",
            params![state.id.0, now, summary_json, version],
        )
        .map_err(sql(context))?;
    transaction
        .execute(
            "UPDATE enrichments SET results_version = ?2 WHERE id = ?1",
            params![enrichment, version],
        )
        .map_err(sql(context))?;
    transaction
        .execute(
            "DELETE FROM result_versions WHERE enrichment_id = ?1 AND version <= ?2",
            params![enrichment, version - KEPT_RESULTS_VERSIONS],
        )
        .map_err(sql(context))?;
    Ok(())
}

/// After a run ends: when the enrichment is consented and active and its next run is not still
/// ahead, moves the next run to the schedule's first slot after `now` (none when Off).
///
/// A next run still ahead is kept, so a manual run does not push back a pending scheduled one.
fn advance_schedule(
    transaction: &Transaction<'_>,
    enrichment: &Enrichment,
    now: i64,
) -> Result<(), Error> {
    if enrichment.consent.is_none() || !enrichment.active {
        return Ok(());
    }
    if enrichment.next_run_at.is_some_and(|next| next > now) {
        return Ok(());
    }
    transaction
        .execute(
            "UPDATE enrichments SET next_run_at = ?2, first_run_pending = 0 WHERE id = ?1",
            params![enrichment.id.0, next_run_after(&enrichment.config.schedule, now)],
        )
        .map_err(sql("could not schedule the next run"))?;
    Ok(())
}

/// A run row as read, before its texts are parsed.
struct RunRow {
    id: i64,
    enrichment_id: i64,
    trigger: String,
    status: String,
    queued_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    stage: Option<String>,
    cancel_requested: bool,
    error: Option<String>,
    summary: Option<String>,
    n_warnings: i64,
    results_version: Option<i64>,
}

/// Reads the columns of [`SELECT_RUN`].
fn run_row(row: &Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: row.get(0)?,
        enrichment_id: row.get(1)?,
        trigger: row.get(2)?,
        status: row.get(3)?,
        queued_at: row.get(4)?,
        started_at: row.get(5)?,
        finished_at: row.get(6)?,
        stage: row.get(7)?,
        cancel_requested: row.get(8)?,
        error: row.get(9)?,
        summary: row.get(10)?,
        n_warnings: row.get(11)?,
        results_version: row.get(12)?,
    })
}

/// Builds a [`Run`] from its row, taking its stages and warnings out of the maps.
fn into_run(
    row: RunRow,
    stages: &mut HashMap<i64, Vec<StageProgress>>,
    warnings: &mut HashMap<i64, Vec<String>>,
) -> Result<Run, Error> {
    let trigger = Trigger::from_text(&row.trigger)
        .ok_or_else(|| unknown_text("trigger", row.id, &row.trigger))?;
    let stage = match row.stage.as_deref() {
        Some(text) => {
            Some(Stage::from_text(text).ok_or_else(|| unknown_text("stage", row.id, text))?)
        }
        None => None,
    };
    let summary = match row.summary.as_deref() {
        Some(text) => Some(parse_summary(text, row.id)?),
        None => None,
    };
    Ok(Run {
        id: RunId(row.id),
        enrichment: EnrichmentId(row.enrichment_id),
        trigger,
        status: parse_status(&row.status, row.id)?,
        queued_at: row.queued_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        stage,
        stages: stages.remove(&row.id).unwrap_or_default(),
        warnings: warnings.remove(&row.id).unwrap_or_default(),
        n_warnings: from_sql_integer(row.n_warnings),
        error: row.error,
        summary,
        cancel_requested: row.cancel_requested,
        results_version: row.results_version,
    })
}

/// The stages of the runs selected by `filter` (with `?1` = `value`), by run, in order reached.
fn load_stages(
    connection: &Connection,
    filter: &str,
    value: i64,
) -> Result<HashMap<i64, Vec<StageProgress>>, Error> {
    let context = "could not read the run's stages";
    let mut statement = connection
        .prepare(&format!(
            "SELECT run_id, stage, done, total, started_at, updated_at, finished_at FROM run_stages
             {filter} ORDER BY run_id, position"
        ))
        .map_err(sql(context))?;
    let mut rows = statement.query([value]).map_err(sql(context))?;
    let mut stages: HashMap<i64, Vec<StageProgress>> = HashMap::new();
    while let Some(row) = rows.next().map_err(sql(context))? {
        let run: i64 = row.get(0).map_err(sql(context))?;
        let text: String = row.get(1).map_err(sql(context))?;
        let stage = Stage::from_text(&text).ok_or_else(|| unknown_text("stage", run, &text))?;
        let progress = StageProgress {
            stage,
            done: from_sql_integer(row.get(2).map_err(sql(context))?),
            total: from_sql_integer(row.get(3).map_err(sql(context))?),
            started_at: row.get(4).map_err(sql(context))?,
            updated_at: row.get(5).map_err(sql(context))?,
            finished_at: row.get(6).map_err(sql(context))?,
        };
        stages.entry(run).or_default().push(progress);
    }
    Ok(stages)
}

/// The warnings of the runs selected by `filter` (with `?1` = `value`), by run, in order.
fn load_warnings(
    connection: &Connection,
    filter: &str,
    value: i64,
) -> Result<HashMap<i64, Vec<String>>, Error> {
    let context = "could not read the run's warnings";
    let mut statement = connection
        .prepare(&format!(
            "SELECT run_id, message FROM run_warnings {filter} ORDER BY run_id, position"
        ))
        .map_err(sql(context))?;
    let mut rows = statement.query([value]).map_err(sql(context))?;
    let mut warnings: HashMap<i64, Vec<String>> = HashMap::new();
    while let Some(row) = rows.next().map_err(sql(context))? {
        let run: i64 = row.get(0).map_err(sql(context))?;
        warnings.entry(run).or_default().push(row.get(1).map_err(sql(context))?);
    }
    Ok(warnings)
}

/// Parses a stored run status.
fn parse_status(text: &str, run: i64) -> Result<RunStatus, Error> {
    RunStatus::from_text(text).ok_or_else(|| unknown_text("run status", run, text))
}

/// The error for a stored `what` of `run` that is none of the known names.
fn unknown_text(what: &'static str, run: i64, text: &str) -> Error {
    Error::Corrupt { what, id: format!("run {run}"), detail: format!("{text:?} is not a {what}") }
}

/// The error for a missing run.
pub(crate) fn run_not_found(run: RunId) -> Error {
    Error::NotFound { what: "run", id: run.to_string() }
}
