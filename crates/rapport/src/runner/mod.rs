//! Running a stored enrichment: the stages of a run with progress, cancellation and atomic
//! publication of the results.
//!
//! A run reads every source again (the incremental ledger comes later); the results it publishes
//! replace the previous version in one transaction, and a failed or cancelled run leaves the last
//! successful results as they were.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use rapport_core::engine::{Engine, Enrichment, Options};
use rapport_core::model::OrgUser;
use rapport_core::output;
use rapport_core::score::Weights;
use rapport_ingest::customers;
use rapport_store::{Enrichment as Stored, RunId, RunOutcome, Stage, Store, Table};

use crate::config;
use crate::pipeline;

/// How often a run looks at the store for a cancel request, and writes its progress.
const POLL: Duration = Duration::from_millis(500);

/// Executes the queued run `run` of `enrichment` to its end: Successful, Failed or Cancelled.
/// Errors of the store itself are returned; errors of the run are recorded on the run.
pub(crate) fn execute(
    store: &Store,
    database: &Path,
    enrichment: &Stored,
    run: RunId,
    threads: usize,
) -> Result<RunStatusLine> {
    store.start_run(run, config::now())?;
    let cancel = AtomicBool::new(false);
    let finished = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        // The watcher has its own connection: a cancel request from another process (or the CLI)
        // reaches the run through the database within one poll.
        scope.spawn(|| watch_for_cancel(database, run, &cancel, &finished));
        let outcome = run_stages(store, enrichment, run, threads, &cancel);
        finished.store(true, Ordering::Relaxed);
        outcome
    });
    let now = config::now();
    let line = match outcome {
        Ok(published) => {
            let status = RunStatusLine { status: "Successful", detail: published.detail.clone() };
            store.finish_run(
                run,
                RunOutcome::Successful { summary: published.summary, tables: published.tables },
                now,
            )?;
            status
        }
        Err(error) if is_cancelled(&error) => {
            store.finish_run(run, RunOutcome::Cancelled, now)?;
            RunStatusLine {
                status: "Cancelled",
                detail: "the last successful results are kept".into(),
            }
        }
        Err(error) => {
            let message = format!("{error:#}");
            store.finish_run(run, RunOutcome::Failed { error: message.clone() }, now)?;
            RunStatusLine { status: "Failed", detail: message }
        }
    };
    Ok(line)
}

/// A one-line account of how a run ended, for the CLI.
pub(crate) struct RunStatusLine {
    pub(crate) status: &'static str,
    pub(crate) detail: String,
}

struct Published {
    summary: serde_json::Value,
    tables: Vec<Table>,
    detail: String,
}

fn is_cancelled(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<rapport_ingest::error::Error>(),
            Some(rapport_ingest::error::Error::Cancelled)
        ) || cause.downcast_ref::<Cancelled>().is_some()
    })
}

/// The run was cancelled between stages.
#[derive(Debug)]
struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("the run was cancelled")
    }
}

impl std::error::Error for Cancelled {}

fn check_cancel(cancel: &AtomicBool) -> Result<()> {
    if cancel.load(Ordering::Relaxed) { Err(Cancelled.into()) } else { Ok(()) }
}

fn watch_for_cancel(database: &Path, run: RunId, cancel: &AtomicBool, finished: &AtomicBool) {
    let Ok(store) = Store::open(database) else { return };
    while !finished.load(Ordering::Relaxed) {
        if store.cancel_requested(run).unwrap_or(false) {
            cancel.store(true, Ordering::Relaxed);
            return;
        }
        std::thread::sleep(POLL);
    }
}

/// Records a stage as started (0 of `total`) and returns a guard-free timer for it.
fn stage(store: &Store, run: RunId, stage: Stage, done: u64, total: u64) -> Result<()> {
    store.set_stage(run, stage, done, total, config::now())?;
    Ok(())
}

fn run_stages(
    store: &Store,
    enrichment: &Stored,
    run: RunId,
    threads: usize,
    cancel: &AtomicBool,
) -> Result<Published> {
    let settings = &enrichment.config;
    stage(store, run, Stage::ResolveUsers, 0, 1)?;
    let mut users: Vec<OrgUser> = settings
        .resolved_users()
        .into_iter()
        .map(|email| OrgUser { email, directory_id: None })
        .collect();
    if let Some(path) = &settings.users_file {
        let loaded = customers::load_users(path)?;
        for warning in &loaded.warnings {
            store.add_warning(run, &warning.to_string())?;
        }
        users.extend(loaded.items);
    }
    let customers = pipeline::load_customers(&pipeline::CustomerFiles {
        contacts: &settings.customers.contacts,
        contact_email_column: &settings.customers.contact_email_column,
        contact_account_column: &settings.customers.contact_account_column,
        accounts: settings.customers.accounts.as_deref(),
        account_id_column: &settings.customers.account_id_column,
        account_domains_columns: &settings.customers.account_domains_columns,
    })?;
    for warning in &customers.warnings {
        store.add_warning(run, &warning.to_string())?;
    }
    let mut weights = Weights::default();
    for (feature, value) in &settings.weights {
        weights.set(feature, value).map_err(|error| anyhow!("weights.{feature}: {error}"))?;
    }
    weights.validate().map_err(|error| anyhow!("weights: {error}"))?;
    let zone = match &settings.time_zone {
        Some(name) => Some(config::parse_zone(name).map_err(|error| anyhow!(error))?),
        None => None,
    };
    let options = Options {
        as_of: config::now(),
        match_domains: settings.match_domains,
        extra_public_domains: Vec::new(),
        weights,
        zone,
    };
    let mut engine = Engine::new(users, customers.accounts, customers.contacts, options)?;
    stage(store, run, Stage::ResolveUsers, 1, 1)?;
    check_cancel(cancel)?;

    let total_bytes = std::cell::Cell::new(0);
    let done_bytes = std::cell::Cell::new(0);
    let last_write = std::cell::Cell::new(Instant::now());
    let stats = pipeline::read_sources(
        &mut engine,
        &settings.sources,
        threads,
        cancel,
        &mut |mail_bytes| {
            total_bytes.set(mail_bytes);
            let _ = store.set_stage(run, Stage::ReadSources, 0, mail_bytes, config::now());
        },
        &|bytes| {
            done_bytes.set(done_bytes.get() + bytes);
            if last_write.get().elapsed() >= POLL {
                last_write.set(Instant::now());
                let _ = store.set_stage(
                    run,
                    Stage::ReadSources,
                    done_bytes.get(),
                    total_bytes.get(),
                    config::now(),
                );
            }
        },
    )?;
    stage(store, run, Stage::ReadSources, total_bytes.get(), total_bytes.get())?;
    check_cancel(cancel)?;

    // Engine::finish merges copies, resolves accounts, aggregates and scores in one pass over
    // integer ids; the stages are recorded around it so the run shows where it is.
    for step in [Stage::Deduplicate, Stage::ResolveAccounts, Stage::Aggregate, Stage::Score] {
        stage(store, run, step, 0, 1)?;
    }
    let mut enrichment_result = engine.finish();
    enrichment_result.summary.files_ignored = stats.files_ignored;
    for step in [Stage::Deduplicate, Stage::ResolveAccounts, Stage::Aggregate, Stage::Score] {
        stage(store, run, step, 1, 1)?;
    }
    check_cancel(cancel)?;

    stage(store, run, Stage::Publish, 0, 1)?;
    let published = publish(&settings.output_table, &enrichment_result)?;
    Ok(published)
}

fn publish(table: &str, enrichment: &Enrichment) -> Result<Published> {
    let mut rows = Vec::new();
    output::write_rows_csv(&enrichment.rows, &mut rows)?;
    let mut users = Vec::new();
    output::write_users_csv(&enrichment.users, &mut users)?;
    let mut explanations = Vec::new();
    output::write_explanations_csv(&enrichment.explanations, &mut explanations)?;
    let summary = output::summary_json(&enrichment.summary);
    let csv = |name: String, bytes: Vec<u8>| Table { name, format: "csv".into(), bytes };
    let tables = vec![
        csv(table.to_owned(), rows),
        csv(format!("{table}_UserEntity"), users),
        csv(format!("{table}_ScoreExplanation"), explanations),
    ];
    let detail = format!(
        "{} of {} accounts enriched from {} emails and {} meetings; {} days of data",
        enrichment.summary.accounts_enriched,
        enrichment.summary.accounts_total,
        enrichment.summary.emails_processed,
        enrichment.summary.meetings_processed,
        enrichment.summary.days_covered
    );
    Ok(Published { summary, tables, detail })
}
