//! `rapport erase --address A`: removes one person's activity from every enrichment's ledger and
//! recomputes the affected results from the ledger, without reading the unchanged sources again
//! (issue 3, "Privacy in the store"; metrics.md §7).
//!
//! The address is pseudonymised with the installation key, erased from every ledger row in one
//! transaction (see `Store::erase_address`), and kept as erased so that files read again later
//! drop it before they are encoded. Every enrichment whose ledger held it and that has published
//! results gets a Manual run as of now, so its published results no longer count the person.
//! What is printed are counts only: the address is shown once, in a line without figures.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};
use rapport_core::address;
use rapport_store::pseudonym::{Key, Pseudonymizer};
use rapport_store::{EnrichmentId, Error as StoreError, QueueOutcome, Store, Trigger};

use crate::cli::EraseArgs;
use crate::{config, runner};

/// The database file inside the data folder (as `rapport enrichment` names it).
const DATABASE_FILE: &str = "rapport.db";
/// How long erase waits for a run that was already going to stop after its cancel request.
const CANCEL_WAIT: Duration = Duration::from_secs(120);
/// How often it looks whether that run has stopped.
const CANCEL_POLL: Duration = Duration::from_millis(200);

/// What one erase did, in counts (and enrichment names, never people).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct EraseReport {
    /// Ledger rows (source files) that held the address.
    pub(crate) n_files: u64,
    /// Enrichments whose ledger held it.
    pub(crate) n_enrichments: usize,
    /// Enrichments whose results were recomputed by a successful run.
    pub(crate) n_recomputed: usize,
    /// Enrichments whose results could not be recomputed, with why (names and reasons only).
    pub(crate) not_recomputed: Vec<String>,
}

impl EraseReport {
    /// The summary line: counts only.
    pub(crate) fn line(&self) -> String {
        format!(
            "erased 1 address from {} of {}; recomputed {}",
            counted(self.n_files, "ledger file", "ledger files"),
            counted(self.n_enrichments as u64, "enrichment", "enrichments"),
            counted(self.n_recomputed as u64, "result", "results"),
        )
    }
}

/// `n` and the noun in the right number.
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Runs `rapport erase`.
pub(crate) fn run(args: &EraseArgs) -> Result<()> {
    // The address is not echoed in the error: it may be anything a user typed.
    let address = address::normalize(&args.address)
        .ok_or_else(|| anyhow!("--address is not a valid email address"))?;
    let data_dir = &args.store.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data folder {}", data_dir.display()))?;
    let database = data_dir.join(DATABASE_FILE);
    let store = Store::open(&database)?;
    print(&format!("erasing {address} from every enrichment's ledger\n"))?;
    let report = erase(&store, &database, &address, config::threads(args.threads), config::now())?;
    for problem in &report.not_recomputed {
        eprintln!("rapport: warning: {problem}");
    }
    print(&format!("{}\n", report.line()))?;
    if !report.not_recomputed.is_empty() {
        anyhow::bail!(
            "the address was erased from the ledgers, but {} not be recomputed",
            counted(report.not_recomputed.len() as u64, "result could", "results could")
        );
    }
    Ok(())
}

/// Writes `text` to stdout (a closed pipe is reported, and `main` treats it as success).
fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Erases the normalized `address` from every ledger of the store at `database` (the installation
/// key lives beside it) and recomputes the affected results as of `now`, reading mail on
/// `threads` workers.
pub(crate) fn erase(
    store: &Store,
    database: &Path,
    address: &str,
    threads: usize,
    now: i64,
) -> Result<EraseReport> {
    let data_dir = crate::runner::data_dir(database);
    let pseudonymizer = Pseudonymizer::new(&Key::load_or_create(data_dir)?);
    let pseudonym = pseudonymizer.address(address);
    let erasure = store.erase_address(&pseudonym, pseudonymizer.key_id(), now)?;
    let mut report = EraseReport {
        n_files: erasure.n_files,
        n_enrichments: erasure.enrichments.len(),
        ..EraseReport::default()
    };
    for id in erasure.enrichments {
        // The kept mail state holds the pseudonym too; the recompute reads the erased ledger.
        crate::runner::forget_kept_mail(data_dir, id)?;
        // Without published results nothing counts the person yet; the next run reads the
        // ledger as it is now.
        if store.latest_results(id)?.is_none() {
            continue;
        }
        match recompute(store, database, id, threads, now) {
            Ok(()) => report.n_recomputed += 1,
            Err(problem) => report.not_recomputed.push(problem),
        }
    }
    Ok(report)
}

/// Queues a Manual run of `id` and executes it as of `now`. A run already going read the ledger
/// before the erase: it is cancelled (its results would still count the person) and waited for.
/// `Err` says, by the enrichment's name, why the results were not recomputed.
fn recompute(
    store: &Store,
    database: &Path,
    id: EnrichmentId,
    threads: usize,
    now: i64,
) -> Result<(), String> {
    let enrichment = store.enrichment(id).map_err(|error| format!("{error:#}"))?;
    let name = &enrichment.config.name;
    let not_recomputed =
        |why: String| format!("the results of {name:?} were not recomputed: {why}");
    let mut waited_for_other = false;
    loop {
        let queued = store.queue_run(id, Trigger::Manual, config::now());
        let run = match queued {
            Ok(QueueOutcome::Queued(run)) => run,
            Ok(QueueOutcome::Skipped(_)) if !waited_for_other => {
                waited_for_other = true;
                stop_active_runs(store, id).map_err(not_recomputed)?;
                continue;
            }
            Ok(QueueOutcome::Skipped(_)) => {
                return Err(not_recomputed("another run is still going; run it again".into()));
            }
            Err(StoreError::NoConsent { .. }) => {
                return Err(not_recomputed(
                    "it has no consent; its results change at its next run".into(),
                ));
            }
            Err(error) => return Err(not_recomputed(format!("{error:#}"))),
        };
        let line = runner::execute(store, database, &enrichment, run, threads, now)
            .map_err(|error| not_recomputed(format!("{error:#}")))?;
        return if line.status == "Successful" {
            // The versions before this one still counted the person (without naming them).
            store
                .drop_earlier_results(id)
                .map(|_| ())
                .map_err(|error| not_recomputed(format!("{error:#}")))
        } else {
            Err(not_recomputed(format!("run {run} ended {}: {}", line.status, line.detail)))
        };
    }
}

/// Asks the enrichment's queued or running runs to cancel and waits until none is left.
fn stop_active_runs(store: &Store, id: EnrichmentId) -> Result<(), String> {
    let describe = |error: StoreError| format!("{error:#}");
    let started = Instant::now();
    loop {
        let active: Vec<_> = store
            .runs(id)
            .map_err(describe)?
            .into_iter()
            .filter(|run| run.status.is_active())
            .map(|run| run.id)
            .collect();
        if active.is_empty() {
            return Ok(());
        }
        if started.elapsed() > CANCEL_WAIT {
            return Err("a run that was going did not stop after a cancel request".into());
        }
        for run in active {
            // A run that ended meanwhile refuses the request: that is what was wanted.
            match store.request_cancel(run, config::now()) {
                Ok(()) | Err(StoreError::RunState { .. }) => {}
                Err(error) => return Err(describe(error)),
            }
        }
        std::thread::sleep(CANCEL_POLL);
    }
}

#[cfg(test)]
mod tests;
