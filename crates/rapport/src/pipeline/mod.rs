//! The enrichment pipeline shared by `rapport enrich` and by stored enrichments: load the
//! customer data, read every source into the engine (mail on worker threads, calendars on a thread
//! of their own), and leave the rest to `Engine::finish`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context as _, Result, bail};
use rapport_core::calendar;
use rapport_core::engine::Engine;
use rapport_core::model::{Account, Contact, MeetingCopy, SkipCounts};
use rapport_core::period::Window;
use rapport_ingest::customers::{self, Loaded, Warning};
use rapport_ingest::source::{self, SourceItem, SourceKind};

/// Where the customer data is and how its columns are named.
pub(crate) struct CustomerFiles<'a> {
    pub(crate) contacts: &'a Path,
    pub(crate) contact_email_column: &'a str,
    pub(crate) contact_account_column: &'a str,
    pub(crate) accounts: Option<&'a Path>,
    pub(crate) account_id_column: &'a str,
    pub(crate) account_domains_columns: &'a [String],
}

/// The customer data, and the rows that were dropped from it.
pub(crate) struct Customers {
    pub(crate) contacts: Vec<Contact>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) warnings: Vec<Warning>,
}

/// Loads contacts and accounts.
pub(crate) fn load_customers(files: &CustomerFiles<'_>) -> Result<Customers> {
    let contacts = customers::load_contacts(
        files.contacts,
        files.contact_email_column,
        files.contact_account_column,
    )?;
    let accounts = match files.accounts {
        Some(path) => {
            customers::load_accounts(path, files.account_id_column, files.account_domains_columns)?
        }
        None => {
            if !files.account_domains_columns.is_empty() {
                bail!("account domain columns need an accounts file");
            }
            Loaded { items: Vec::new(), warnings: Vec::new() }
        }
    };
    let mut warnings = contacts.warnings;
    warnings.extend(accounts.warnings);
    Ok(Customers { contacts: contacts.items, accounts: accounts.items, warnings })
}

/// What reading the sources found besides the activity pushed into the engine.
pub(crate) struct SourceStats {
    /// Files that are neither mail nor calendars.
    pub(crate) files_ignored: u64,
}

/// Walks `sources` and reads all of them into `engine`: mail on `threads` workers in input order,
/// calendars at the same time on a thread of their own. `on_start(mail_bytes)` is called once the
/// sources are walked; `on_bytes(n)` as mail is read. Stops with `rapport_ingest::error::Error::
/// Cancelled` within one work unit once `cancel` is set.
pub(crate) fn read_sources(
    engine: &mut Engine,
    sources: &[PathBuf],
    threads: usize,
    cancel: &AtomicBool,
    on_start: &mut dyn FnMut(u64),
    on_bytes: &dyn Fn(u64),
) -> Result<SourceStats> {
    let window = engine.window();
    let walk = source::walk(sources)?;
    let mail_bytes: u64 = walk
        .items
        .iter()
        .filter(|item| item.kind != SourceKind::Calendar)
        .map(|item| item.len)
        .sum();
    on_start(mail_bytes);
    let (meeting_copies, calendar_skips) = std::thread::scope(|scope| -> Result<_> {
        let calendars = scope.spawn(|| read_calendars(&walk.items, window));
        let mail = source::read_mail_until(
            &walk.items,
            threads,
            cancel,
            &mut |record| engine.push_mail(record),
            on_bytes,
        );
        let calendars = match calendars.join() {
            Ok(calendars) => calendars,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        mail?;
        calendars
    })?;
    engine.push_meetings(meeting_copies, calendar_skips);
    Ok(SourceStats { files_ignored: walk.files_ignored })
}

/// Reads every calendar item and expands its events inside the window.
fn read_calendars(items: &[SourceItem], window: Window) -> Result<(Vec<MeetingCopy>, SkipCounts)> {
    let mut calendar_files = Vec::new();
    for item in items.iter().filter(|item| item.kind == SourceKind::Calendar) {
        let bytes = std::fs::read(&item.path)
            .with_context(|| format!("cannot read {}", item.path.display()))?;
        calendar_files.push(rapport_ingest::ics::parse_ics(&bytes));
    }
    Ok(calendar::expand(&calendar_files, window.start, window.end))
}

/// Prints the first few dropped rows to stderr (file and line only: never an address).
pub(crate) fn report_warnings(warnings: &[Warning]) {
    const SHOWN: usize = 5;
    for warning in warnings.iter().take(SHOWN) {
        eprintln!("rapport: warning: {warning}");
    }
    if warnings.len() > SHOWN {
        eprintln!("rapport: warning: {} more rows ignored in the same way", warnings.len() - SHOWN);
    }
}
