//! Running a stored enrichment: the stages of a run with progress, cancellation and atomic
//! publication of the results.
//!
//! A run reads its sources through the enrichment's ledger: only new and changed mail and calendar
//! files are read, the others come from the ledger (calendars as their parsed components, expanded
//! again at every run's `T`). Addresses, message ids and calendar UIDs are pseudonymised with the installation key before anything is kept, and the org users and
//! contacts with the same key before the engine sees them, so the ledger never holds a real
//! address; `<Output>_UserEntity` maps the users back to their real addresses. The ledger changes
//! and the results are written in the one transaction that publishes them, and a failed or
//! cancelled run leaves the last successful results (and the ledger) as they were.
//!
//! The engine's mail state is kept beside the database after a successful run (`kept/`) and
//! restored by the next, so mail files it holds are neither decoded nor pushed again. A Microsoft
//! Graph source is synced first, from its kept delta checkpoints (`crate::graph`), each page kept
//! with its checkpoint as it arrives; its kept items then go to the engine ahead of the files.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use rapport_core::engine::{Engine, Enrichment, MailState, Options};
use rapport_core::model::OrgUser;
use rapport_core::output;
use rapport_core::score::Weights;
use rapport_ingest::customers;
use rapport_store::ledger::LedgerUpdate;
use rapport_store::pseudonym::{Key, Pseudonymizer};
use rapport_store::{Enrichment as Stored, RunId, RunOutcome, Stage, Store, Table};

use crate::config;
use crate::graph;
use crate::pipeline;

mod kept;
pub(crate) use kept::forget_kept_mail;
use kept::{keep_mail, load_kept_mail};

/// The engine segment of a Graph source's mail (pushed again at every run).
const GRAPH_SEGMENT: &str = "\u{1}graph";

/// How often a run looks at the store for a cancel request, and writes its progress.
const POLL: Duration = Duration::from_millis(500);

/// Executes the queued run `run` of `enrichment` as of `as_of` (`T`, normally the clock's time) to
/// its end: Successful, Failed or Cancelled. Errors of the store itself are returned; errors of the
/// run are recorded on the run.
pub(crate) fn execute(
    store: &Store,
    database: &Path,
    enrichment: &Stored,
    run: RunId,
    threads: usize,
    as_of: i64,
) -> Result<RunStatusLine> {
    execute_with(store, database, enrichment, run, threads, as_of, pipeline::LEDGER_LIMITS)
}

/// [`execute`] with the enrichment's `T` and the ledger's limits given (tests fix them; a real
/// run takes the clock's time and [`pipeline::LEDGER_LIMITS`]).
fn execute_with(
    store: &Store,
    database: &Path,
    enrichment: &Stored,
    run: RunId,
    threads: usize,
    as_of: i64,
    limits: pipeline::LedgerLimits,
) -> Result<RunStatusLine> {
    let data_dir = data_dir(database);
    let setup = RunSetup { data_dir, threads, as_of, limits };
    store.start_run(run, config::now())?;
    let cancel = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        // The watcher has its own connection: a cancel request from another process (or the CLI)
        // reaches the run through the database within one poll. Dropping `finished` wakes it at
        // once when the run ends, so a short run does not wait out a poll.
        let (finished, finished_receiver) = mpsc::channel::<()>();
        scope.spawn(|| watch_for_cancel(database, run, &cancel, finished_receiver));
        let outcome = run_stages(store, enrichment, run, &setup, &cancel);
        drop(finished);
        outcome
    });
    let now = config::now();
    let line = match outcome {
        Ok(published) => {
            let status = RunStatusLine { status: "Successful", detail: published.detail.clone() };
            store.finish_run_with_ledger(
                run,
                RunOutcome::Successful { summary: published.summary, tables: published.tables },
                Some(&published.ledger),
                now,
            )?;
            // Only after the ledger it belongs with is committed; a crash before leaves the
            // previous state, whose segments still name their files exactly.
            if let Some(mail) = &published.mail
                && let Err(error) = keep_mail(data_dir, enrichment.id, mail)
            {
                store.add_warning(run, &format!("{error:#}; the next run reads the ledger"))?;
            }
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
    /// The engine's mail state, to keep for the next run; `None` when it did not change.
    mail: Option<MailState>,
    summary: serde_json::Value,
    tables: Vec<Table>,
    detail: String,
    /// The ledger changes, written with the results.
    ledger: LedgerUpdate,
}

/// The folder of the database: the installation key and the kept mail states live there.
pub(crate) fn data_dir(database: &Path) -> &Path {
    match database.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

/// What a run needs besides the enrichment.
struct RunSetup<'a> {
    /// The folder of the database and of the installation key.
    data_dir: &'a Path,
    threads: usize,
    /// `T`, UTC seconds.
    as_of: i64,
    limits: pipeline::LedgerLimits,
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

fn watch_for_cancel(database: &Path, run: RunId, cancel: &AtomicBool, finished: Receiver<()>) {
    let Ok(store) = Store::open(database) else { return };
    loop {
        if store.cancel_requested(run).unwrap_or(false) {
            cancel.store(true, Ordering::Relaxed);
            return;
        }
        match finished.recv_timeout(POLL) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Records a stage as started (0 of `total`) and returns a guard-free timer for it.
fn stage(store: &Store, run: RunId, stage: Stage, done: u64, total: u64) -> Result<()> {
    store.set_stage(run, stage, done, total, config::now())?;
    Ok(())
}

/// Records the start of a stage; under the crash-test hook (`config::stall_stage`) a run stops
/// there and waits, still answering cancel requests, until it is killed or cancelled.
fn start_stage(
    store: &Store,
    run: RunId,
    at: Stage,
    total: u64,
    cancel: &AtomicBool,
) -> Result<()> {
    stage(store, run, at, 0, total)?;
    if config::stall_stage().is_some_and(|name| name == at.as_str()) {
        loop {
            check_cancel(cancel)?;
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

fn run_stages(
    store: &Store,
    enrichment: &Stored,
    run: RunId,
    setup: &RunSetup<'_>,
    cancel: &AtomicBool,
) -> Result<Published> {
    let settings = &enrichment.config;
    start_stage(store, run, Stage::ResolveUsers, 1, cancel)?;
    let pseudonymizer = Pseudonymizer::new(&Key::load_or_create(setup.data_dir)?);
    let graph_config = match &settings.graph_config {
        Some(path) => Some(graph::load_config(path)?),
        None => None,
    };
    let mut users: Vec<OrgUser> = match &graph_config {
        // With a Graph source the lines (groups too) are resolved through the directory.
        Some(graph_config) => {
            let mut lines = settings.user_lines();
            if let Some(path) = &settings.users_file {
                lines.extend(graph::user_lines(path)?);
            }
            graph::resolve_users(graph_config.clone(), &lines)?
        }
        None => settings
            .resolved_users()
            .into_iter()
            .map(|email| OrgUser { email, directory_id: None })
            .collect(),
    };
    if let (Some(path), None) = (&settings.users_file, &graph_config) {
        let loaded = customers::load_users(path)?;
        for warning in &loaded.warnings {
            store.add_warning(run, &warning.to_string())?;
        }
        users.extend(loaded.items);
    }
    // The directory's view of the users, before their addresses become pseudonyms.
    let graph_users = users.clone();
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
        as_of: setup.as_of,
        match_domains: settings.match_domains,
        extra_public_domains: Vec::new(),
        weights,
        zone,
    };
    // The engine sees pseudonyms only, as the ledger holds them; the real addresses of the
    // users are kept here for the UserEntity table.
    let mut real_user_address: HashMap<String, String> = HashMap::new();
    for user in &mut users {
        let pseudonym = pseudonymizer.address(&user.email);
        real_user_address.insert(pseudonym.clone(), std::mem::replace(&mut user.email, pseudonym));
    }
    let mut contacts = customers.contacts;
    for contact in &mut contacts {
        contact.email = pseudonymizer.address(&contact.email);
    }
    let mut engine = Engine::new(users, customers.accounts, contacts, options)?;
    match load_kept_mail(setup.data_dir, enrichment.id) {
        Ok(Some(mail)) => engine.restore_mail(mail),
        Ok(None) => {}
        Err(error) => store.add_warning(run, &format!("{error:#}; the ledger is read instead"))?,
    }
    stage(store, run, Stage::ResolveUsers, 1, 1)?;
    check_cancel(cancel)?;
    start_stage(store, run, Stage::ReadSources, 0, cancel)?;

    let total_bytes = std::cell::Cell::new(0);
    let done_bytes = std::cell::Cell::new(0);
    let last_write = std::cell::Cell::new(Instant::now());
    let ledger = pipeline::Ledger {
        store,
        enrichment: enrichment.id,
        pseudonymizer: &pseudonymizer,
        limits: setup.limits,
    };
    // A Graph source is synced first (each page kept with its checkpoint), then its kept items
    // go to the engine ahead of the files.
    let mut graph_summary = None;
    let mut leading_segments: Vec<&str> = Vec::new();
    if let Some(graph_config) = graph_config {
        let erased = store.erased_addresses(pseudonymizer.key_id())?;
        let synced = graph::sync_into_store(
            store,
            enrichment.id,
            graph_config,
            &graph_users,
            engine.window(),
            &pseudonymizer,
            &erased,
            cancel,
            &mut |pages| {
                if last_write.get().elapsed() >= POLL {
                    last_write.set(Instant::now());
                    let _ = store.set_stage(run, Stage::ReadSources, pages, 0, config::now());
                }
            },
        )?;
        for failure in &synced.report.failures {
            store.add_warning(
                run,
                &format!(
                    "mailbox {} could not be read ({}): {}",
                    failure.mailbox,
                    failure.kind.as_str(),
                    failure.message
                ),
            )?;
        }
        let (mail, meetings, damaged) = graph::stored_activity(store, enrichment.id, &graph_users)?;
        if damaged > 0 {
            store.add_warning(run, &format!("{damaged} kept Graph items could not be read"))?;
        }
        engine.begin_mail_segment(GRAPH_SEGMENT);
        engine.reserve_emails(mail.len());
        mail.into_iter().for_each(|record| engine.push_mail(record));
        (0..synced.mail_skips.get(rapport_core::model::SkipReason::Unparseable))
            .for_each(|_| engine.push_mail(rapport_core::model::MailRecord::Unparseable));
        engine.push_meetings(meetings, synced.meeting_skips);
        leading_segments.push(GRAPH_SEGMENT);
        engine.mark_mailboxes_read(
            graph::users_read(&graph_users, &synced.report)
                .iter()
                .map(|address| pseudonymizer.address(address)),
        );
        graph_summary = Some(graph::report_json(&synced.report));
        check_cancel(cancel)?;
    }
    let read = pipeline::read_sources_with_ledger(
        &mut engine,
        &leading_segments,
        &settings.sources,
        &ledger,
        setup.threads,
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
        start_stage(store, run, step, 1, cancel)?;
    }
    let (mut enrichment_result, mut mail) = engine.finish_keeping_mail();
    // The segments go by the stamps the next run will find in the ledger.
    let renamed = mail.rename_segments(&read.renamed_segments);
    enrichment_result.summary.files_ignored = read.stats.files_ignored;
    for user in &mut enrichment_result.users {
        if let Some(real) = real_user_address.get(&user.email) {
            user.email.clone_from(real);
        }
    }
    enrichment_result.users.sort_unstable_by(|left, right| left.email.cmp(&right.email));
    for step in [Stage::Deduplicate, Stage::ResolveAccounts, Stage::Aggregate, Stage::Score] {
        stage(store, run, step, 1, 1)?;
    }
    check_cancel(cancel)?;

    start_stage(store, run, Stage::Publish, 1, cancel)?;
    let mut published = publish(&settings.output_table, &enrichment_result, read.update)?;
    // The kept image is rewritten only when it is missing, a twentieth of it changed, or a
    // segment took a new key: until then the few files that changed come from the ledger, which
    // is cheaper than rewriting it.
    let rewrite =
        !mail.was_loaded() || renamed || mail.churn().saturating_mul(20) > mail.n_copies();
    published.mail = rewrite.then_some(mail);
    // How much the ledger saved: run history shows whether refreshes are incremental.
    if let Some(summary) = published.summary.as_object_mut() {
        summary.insert("ledger_files_read".into(), read.files_read.into());
        summary.insert("ledger_files_reused".into(), read.files_reused.into());
        summary.insert("ledger_files_kept".into(), read.files_kept.into());
        if let Some(graph_summary) = graph_summary {
            summary.insert("graph".into(), graph_summary);
        }
    }
    Ok(published)
}

/// The tables as one image (`rapport_core::output::image`): files are written from it on
/// request, so a run does not spend its time formatting text.
fn publish(table: &str, enrichment: &Enrichment, ledger: LedgerUpdate) -> Result<Published> {
    let image = output::image::encode(
        &enrichment.rows,
        &enrichment.scores,
        &enrichment.weights,
        &enrichment.users,
    );
    let summary = output::summary_json(&enrichment.summary);
    let tables = vec![Table {
        name: table.to_owned(),
        format: crate::write::TABLES_IMAGE.into(),
        bytes: image,
    }];
    let detail = format!(
        "{} of {} accounts enriched from {} emails and {} meetings; {} days of data",
        enrichment.summary.accounts_enriched,
        enrichment.summary.accounts_total,
        enrichment.summary.emails_processed,
        enrichment.summary.meetings_processed,
        enrichment.summary.days_covered
    );
    Ok(Published { mail: None, summary, tables, detail, ledger })
}

#[cfg(test)]
pub(crate) mod tests;
