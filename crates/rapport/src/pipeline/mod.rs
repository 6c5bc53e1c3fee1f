//! The enrichment pipeline shared by `rapport enrich` and by stored enrichments: load the
//! customer data, read every source into the engine (mail on worker threads, calendars on a thread
//! of their own), and leave the rest to `Engine::finish`.
//!
//! Stored enrichments read their sources through their ledger (`read_sources_with_ledger`): a
//! mail or calendar file whose path, size and modification time are those the ledger holds is not
//! read again; its pseudonymised records (for a calendar: its parsed components, see
//! `rapport_store::ledger::calendar`) come from the ledger. Calendars are kept as components, not
//! as occurrences, and expanded over all files at every run, so versions and overrides across
//! files and series reaching into later windows stay exact (metrics.md §7). Mail files whose
//! segment the engine already holds (its kept mail state) are not even decoded, and every mail
//! row is trimmed to the run's window (`trim_mail_rows`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, PoisonError};

use anyhow::{Context as _, Result, anyhow, bail};
use rapport_core::calendar::{self, CalendarFile};
use rapport_core::engine::Engine;
use rapport_core::model::{Account, Contact, MailRecord, MeetingCopy, SkipCounts};
use rapport_core::period::Window;
use rapport_ingest::customers::{self, Loaded, Warning};
use rapport_ingest::mbox;
use rapport_ingest::source::{self, SourceItem, SourceKind};
use rapport_store::erasure::ErasedAddresses;
use rapport_store::ledger::{self, LedgerChange, LedgerFile, LedgerUpdate};
use rapport_store::pseudonym::{PseudonymCache, Pseudonymizer};
use rapport_store::{EnrichmentId, Store};

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

/// A low guess of a message's size in an export (headers alone are about a kilobyte), for sizing
/// the engine's tables before reading; real mail is larger, so the guess rarely over-reserves.
const BYTES_PER_MESSAGE_GUESS: u64 = 1_024;

/// A file's size and modification time in nanoseconds: what decides whether its ledger row is
/// still good.
fn file_stamp(path: &Path) -> Result<(u64, i64)> {
    let metadata = fs::metadata(path)
        .map_err(|source| rapport_ingest::error::Error::Io { path: path.to_path_buf(), source })?;
    let mtime_ns =
        metadata.mtime().saturating_mul(1_000_000_000).saturating_add(metadata.mtime_nsec());
    Ok((metadata.len(), mtime_ns))
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
    engine.reserve_emails(
        usize::try_from(mail_bytes / BYTES_PER_MESSAGE_GUESS).unwrap_or(usize::MAX),
    );
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

/// The ledger a stored enrichment's run reads mail through.
pub(crate) struct Ledger<'a> {
    /// The store holding the ledger.
    pub(crate) store: &'a Store,
    /// The enrichment whose ledger it is.
    pub(crate) enrichment: EnrichmentId,
    /// The installation key's pseudonymizer: every record goes through it before it is kept.
    pub(crate) pseudonymizer: &'a Pseudonymizer,
    /// How files to read are cut into work units.
    pub(crate) limits: LedgerLimits,
}

/// What a run through the ledger did besides pushing activity into the engine.
pub(crate) struct LedgerRead {
    /// Files that are neither mail nor calendars.
    pub(crate) stats: SourceStats,
    /// The ledger changes, to be written when the run publishes its results.
    pub(crate) update: LedgerUpdate,
    /// Mail and calendar files read from the sources (new, changed, or whose ledger row could not
    /// be used).
    pub(crate) files_read: u64,
    /// Mail and calendar files whose records came from the ledger without reading them.
    pub(crate) files_reused: u64,
    /// Of those, mail files whose records the engine held already (its kept mail state).
    pub(crate) files_kept: u64,
    /// Engine segments to keep under another key (this run's, the next run's): see
    /// `next_keys`.
    pub(crate) renamed_segments: Vec<(String, String)>,
}

/// How mail files are cut into work units when they are read for the ledger.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LedgerLimits {
    /// Mbox files above this size are read in blocks (one ledger segment per block); smaller
    /// files are read whole.
    pub(crate) split_above_bytes: u64,
    /// The size of a block of a big mbox (cut at a message start).
    pub(crate) block_bytes: usize,
}

/// The limits of a real run: the same as `rapport_ingest::source`'s.
pub(crate) const LEDGER_LIMITS: LedgerLimits =
    LedgerLimits { split_above_bytes: 48 << 20, block_bytes: 32 << 20 };

/// Walks `sources` and reads them into `engine` in input order, mail through the ledger: files
/// the ledger knows unchanged (same path, size and modification time, same key) are decoded from
/// it; the others are read, parsed, pseudonymised and encoded on `threads` workers, and become
/// ledger changes, as do the rows of files that are gone. The records pushed are exactly those a
/// full read of the same files would give, pseudonymised. Calendars go through the ledger in the
/// same way at the same time on a thread of their own (see [`read_calendars_with_ledger`]). Stops
/// with `rapport_ingest::error::Error::Cancelled` once `cancel` is set.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_sources_with_ledger(
    engine: &mut Engine,
    leading_segments: &[&str],
    sources: &[PathBuf],
    ledger: &Ledger<'_>,
    threads: usize,
    cancel: &AtomicBool,
    on_start: &mut dyn FnMut(u64),
    on_bytes: &dyn Fn(u64),
) -> Result<LedgerRead> {
    let limits = ledger.limits;
    let window = engine.window();
    let walk = source::walk(sources)?;
    let key_id = ledger.pseudonymizer.key_id();
    // Addresses erased with `rapport erase`: every record read now drops them before it is
    // encoded, as the erase did to the rows already kept.
    let erased = ledger.store.erased_addresses(key_id)?;
    let known: HashMap<PathBuf, LedgerFile> = ledger
        .store
        .ledger_files(ledger.enrichment)?
        .into_iter()
        .map(|file| (file.path.clone(), file))
        .collect();
    let mail_items: Vec<&SourceItem> =
        walk.items.iter().filter(|item| item.kind != SourceKind::Calendar).collect();
    on_start(mail_items.iter().map(|item| item.len).sum());

    // Decide per distinct path: reuse its row, or read it. A path named twice (overlapping
    // sources) is decided once and pushed twice, as a full read would push it.
    let mut plans: Vec<FilePlan> = Vec::with_capacity(mail_items.len());
    let mut jobs: Vec<ReadJob<'_>> = Vec::new();
    let mut plan_by_path: HashMap<&Path, FilePlan> = HashMap::new();
    for item in &mail_items {
        if let Some(plan) = plan_by_path.get(item.path.as_path()) {
            plans.push(*plan);
            continue;
        }
        // Taken before the file is read: a change while it is read shows at the next run.
        let (size, mtime_ns) = file_stamp(&item.path)?;
        let previous = known.get(&item.path);
        let plan = match previous {
            // A row trimmed at a later window start than this run's lacks copies it counts.
            Some(row)
                if row.key_id == key_id
                    && row.size == size
                    && row.mtime_ns == mtime_ns
                    && row.trimmed_before <= window.start =>
            {
                FilePlan::Reuse { row: row.id, mtime_ns }
            }
            _ => {
                jobs.push(ReadJob { item, size, mtime_ns, previous });
                FilePlan::Read { job: jobs.len() - 1 }
            }
        };
        plan_by_path.insert(&item.path, plan);
        plans.push(plan);
    }
    let files_reused =
        plan_by_path.values().filter(|plan| matches!(plan, FilePlan::Reuse { .. })).count() as u64;
    // The engine may hold the mail of files from an earlier run (its kept mail state): a file
    // reused from the ledger whose segment it holds is neither decoded nor pushed again. A path
    // named twice is pushed once and counted twice (see `Engine::set_mail_order`).
    let erased_generation = erased.len();
    let mut first_of_path: HashSet<&Path> = HashSet::new();
    let mut files_kept = 0;
    let pushes: Vec<bool> = mail_items
        .iter()
        .zip(&plans)
        .map(|(item, plan)| {
            let first = first_of_path.insert(item.path.as_path());
            let held = match (plan, known.get(&item.path)) {
                (FilePlan::Reuse { .. }, Some(row)) => {
                    engine.has_mail_segment(&segment_key(row_stamp(row), key_id, erased_generation))
                }
                _ => false,
            };
            files_kept += u64::from(first && held);
            first && !held
        })
        .collect();
    // Room for what will be pushed (not for what the engine holds already).
    let expected_emails: u64 = mail_items
        .iter()
        .zip(&pushes)
        .filter(|(_, pushed)| **pushed)
        .map(|(item, _)| {
            known.get(&item.path).map_or(item.len / BYTES_PER_MESSAGE_GUESS, |row| row.n_records)
        })
        .sum();
    engine.reserve_emails(usize::try_from(expected_emails).unwrap_or(usize::MAX));

    std::thread::scope(|scope| -> Result<LedgerRead> {
        let calendars = scope.spawn(|| {
            read_calendars_with_ledger(&walk.items, &known, ledger, &erased, window, cancel)
        });
        let pushed = (|| -> Result<Pushed<'_>> {
            let reads = read_files(
                &jobs,
                ledger.pseudonymizer,
                &erased,
                threads,
                limits,
                cancel,
                on_bytes,
            )?;
            let keys = KeyParts { known: &known, jobs: &jobs, key_id, erased_generation };
            let healed = push_in_order(
                engine,
                ledger,
                &erased,
                &mail_items,
                &plans,
                &pushes,
                &reads,
                &keys,
                threads,
                cancel,
                on_bytes,
            )?;
            // The run counts the segments pushed before the sources (a Graph source's), then
            // every mail item's segment, in input order.
            let item_keys: Vec<String> = mail_items
                .iter()
                .zip(&plans)
                .map(|(item, plan)| {
                    match healed.iter().find(|(job, _)| job.item.path == item.path) {
                        Some((job, read)) => {
                            segment_key(job_stamp(job, read), key_id, erased_generation)
                        }
                        None => keys.of(item, *plan, &reads),
                    }
                })
                .collect();
            let order: Vec<&str> = leading_segments
                .iter()
                .copied()
                .chain(item_keys.iter().map(String::as_str))
                .collect();
            engine
                .set_mail_order(&order)
                .map_err(|key| anyhow!("the mail of {key} was not read (an internal error)"))?;
            Ok(Pushed { reads, healed, keys: item_keys })
        })();
        let calendars = match calendars.join() {
            Ok(calendars) => calendars,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let Pushed { reads, healed, keys: item_keys } = pushed?;
        let n_healed = healed.len() as u64;
        let calendars = calendars?;
        engine.push_meetings(calendars.meeting_copies, calendars.skips);

        let mut update = LedgerUpdate { key_id, changes: Vec::new() };
        let trims = trim_mail_rows(
            ledger.store,
            &mail_items,
            &plans,
            &known,
            &reads,
            &healed,
            window.start,
        )?;
        for (job, read) in jobs.iter().copied().zip(reads).chain(healed) {
            update.changes.push(match job.previous {
                Some(row)
                    if row.key_id == key_id
                        && row.content_hash == read.content_hash
                        && row.n_records == read.n_records =>
                {
                    LedgerChange::Touch { id: row.id, size: job.size, mtime_ns: job.mtime_ns }
                }
                _ => LedgerChange::Upsert {
                    path: job.item.path.clone(),
                    size: job.size,
                    mtime_ns: job.mtime_ns,
                    content_hash: read.content_hash,
                    n_records: read.n_records,
                    records: read.blob,
                    oldest_sent: Some(read.oldest_sent),
                },
            });
        }
        // After the upserts: a trim names its row by path.
        update.changes.extend(trims);
        let renamed_segments =
            next_keys(&mail_items, &item_keys, &update.changes, &known, key_id, erased_generation);
        update.changes.extend(calendars.changes);
        // Mail and calendar rows live side by side: a row is gone when no source item names it.
        let walked: HashSet<&Path> = walk.items.iter().map(|item| item.path.as_path()).collect();
        let mut gone: Vec<i64> = known
            .values()
            .filter(|row| !walked.contains(row.path.as_path()))
            .map(|row| row.id)
            .collect();
        gone.sort_unstable();
        update.changes.extend(gone.into_iter().map(|id| LedgerChange::Delete { id }));
        Ok(LedgerRead {
            stats: SourceStats { files_ignored: walk.files_ignored },
            update,
            files_read: jobs.len() as u64 + n_healed + calendars.files_read,
            files_reused: files_reused - n_healed.min(files_reused) + calendars.files_reused,
            files_kept,
            renamed_segments,
        })
    })
}

/// The keys the next run will look this run's mail segments up by, where they differ from this
/// run's: a file read again, touched or trimmed gets a row with another stamp. A segment stays
/// valid under its row's new stamp: it holds every copy the row does, and the copies a trim
/// dropped are outside every window the row serves (an earlier one reads the file again), so
/// they count as they would from the row.
fn next_keys(
    mail_items: &[&SourceItem],
    item_keys: &[String],
    changes: &[LedgerChange],
    known: &HashMap<PathBuf, LedgerFile>,
    key_id: i64,
    erased_generation: usize,
) -> Vec<(String, String)> {
    // The changes by path (and touches by row), so each file looks its own up.
    let mut upserts: HashMap<&Path, (u64, i64, u64)> = HashMap::new();
    let mut touches: HashMap<i64, (u64, i64)> = HashMap::new();
    let mut trims: HashMap<&Path, i64> = HashMap::new();
    for change in changes {
        match change {
            LedgerChange::Upsert { path, size, mtime_ns, content_hash, .. } => {
                upserts.insert(path, (*size, *mtime_ns, *content_hash));
            }
            LedgerChange::Touch { id, size, mtime_ns } => {
                touches.insert(*id, (*size, *mtime_ns));
            }
            LedgerChange::Trim { path, trimmed_before, .. } => {
                trims.insert(path, *trimmed_before);
            }
            _ => {}
        }
    }
    let mut renamed = Vec::new();
    let mut done: HashSet<&Path> = HashSet::new();
    for (item, key) in mail_items.iter().zip(item_keys) {
        let path = item.path.as_path();
        if !done.insert(path) {
            continue;
        }
        let row = known.get(path);
        let mut stamp = row.map(row_stamp);
        if let Some((size, mtime_ns, content_hash)) = upserts.get(path) {
            stamp = Some((&item.path, *size, *mtime_ns, *content_hash, i64::MIN));
        } else if let (Some(row), Some(stamp)) = (row, &mut stamp)
            && let Some((size, mtime_ns)) = touches.get(&row.id)
        {
            *stamp = (&item.path, *size, *mtime_ns, row.content_hash, row.trimmed_before);
        }
        if let (Some(trimmed_before), Some(stamp)) = (trims.get(path), &mut stamp) {
            stamp.4 = *trimmed_before;
        }
        if let Some(stamp) = stamp {
            let next = segment_key(stamp, key_id, erased_generation);
            if next != *key {
                renamed.push((key.clone(), next));
            }
        }
    }
    renamed
}

/// The ledger's trim to the window (metrics §7: kept activity is trimmed to the window): every
/// mail file whose kept copies include some sent well before `window_start` (see below) gets a
/// `Trim` change that drops every copy sent before it. Those copies are `outside_window` at this
/// run and at every later one (a window only moves forward; a run whose window starts earlier
/// reads the file again), so the counts stay those of a full read. Rows written before the
/// ledger knew its oldest copy are decoded once to find out.
///
/// A row is trimmed once it holds copies more than [`TRIM_SLACK_SECONDS`] older than the
/// window, and then to the window: a weekly schedule moves the window every run, and rewriting
/// a big file's row (and the kept mail state with it) every week would cost each run several
/// times its own work. The ledger so holds at most the window and that slack.
#[allow(clippy::too_many_arguments)]
fn trim_mail_rows(
    store: &Store,
    mail_items: &[&SourceItem],
    plans: &[FilePlan],
    known: &HashMap<PathBuf, LedgerFile>,
    reads: &[FileRead],
    healed: &[(ReadJob<'_>, FileRead)],
    window_start: i64,
) -> Result<Vec<LedgerChange>> {
    let mut changes = Vec::new();
    let mut done: HashSet<&Path> = HashSet::new();
    for (item, plan) in mail_items.iter().zip(plans) {
        if !done.insert(item.path.as_path()) {
            continue;
        }
        let healed_read = healed.iter().find(|(job, _)| job.item.path == item.path);
        let read = match (plan, healed_read) {
            (_, Some((_, read))) => Some(read),
            (FilePlan::Read { job }, None) => reads.get(*job),
            (FilePlan::Reuse { .. }, None) => None,
        };
        let trimmed = match (read, plan, known.get(&item.path)) {
            // Read now: the copies are all there.
            (Some(read), _, _) => {
                if read.oldest_sent >= window_start.saturating_sub(TRIM_SLACK_SECONDS) {
                    continue;
                }
                ledger::trim(&read.blob, window_start).ok()
            }
            // Kept: copies dropped before stay counted.
            (None, FilePlan::Reuse { row, .. }, Some(file)) => {
                if file
                    .oldest_sent
                    .is_some_and(|oldest| oldest >= window_start.saturating_sub(TRIM_SLACK_SECONDS))
                {
                    continue;
                }
                let blob = store.ledger_records(*row)?;
                ledger::trim(&blob, window_start).ok().map(|mut trimmed| {
                    trimmed.n_trimmed += file.n_trimmed;
                    trimmed
                })
            }
            _ => None,
        };
        let Some(trimmed) = trimmed else { continue };
        changes.push(LedgerChange::Trim {
            path: item.path.clone(),
            trimmed_before: window_start,
            trimmed,
        });
    }
    Ok(changes)
}

/// How far before the window a row's oldest copy may be before the row is trimmed: 90 days.
const TRIM_SLACK_SECONDS: i64 = 90 * 86_400;

/// What to do with one distinct mail file.
#[derive(Clone, Copy, Debug)]
enum FilePlan {
    /// Decode the ledger row with this id; the file's modification time is `mtime_ns`.
    Reuse { row: i64, mtime_ns: i64 },
    /// Read the file: the job with this index.
    Read { job: usize },
}

/// What names a mail file's records: its path, size, modification time, content hash, and the
/// window start its ledger row was trimmed at.
type Stamp<'a> = (&'a Path, u64, i64, u64, i64);

fn row_stamp(row: &LedgerFile) -> Stamp<'_> {
    (&row.path, row.size, row.mtime_ns, row.content_hash, row.trimmed_before)
}

fn job_stamp<'a>(job: &ReadJob<'a>, read: &FileRead) -> Stamp<'a> {
    (&job.item.path, job.size, job.mtime_ns, read.content_hash, i64::MIN)
}

/// The engine's segment key of a mail file's records: its stamp, the installation key and the
/// number of erased addresses (an erase rewrites records without changing the file).
pub(crate) fn segment_key(stamp: Stamp<'_>, key_id: i64, erased_generation: usize) -> String {
    let (path, size, mtime_ns, content_hash, trimmed_before) = stamp;
    format!(
        "{}\u{1f}{size}\u{1f}{mtime_ns}\u{1f}{content_hash:016x}\u{1f}{trimmed_before}\u{1f}{key_id}\u{1f}{erased_generation}",
        path.display()
    )
}

/// What the segment keys of one run are made from.
struct KeyParts<'a> {
    known: &'a HashMap<PathBuf, LedgerFile>,
    jobs: &'a [ReadJob<'a>],
    key_id: i64,
    erased_generation: usize,
}

impl KeyParts<'_> {
    /// The segment key of a mail item: from its ledger row when reused, from its read else.
    fn of(&self, item: &SourceItem, plan: FilePlan, reads: &[FileRead]) -> String {
        let stamp = match plan {
            FilePlan::Reuse { .. } => self.known.get(&item.path).map(row_stamp),
            FilePlan::Read { job } => {
                self.jobs.get(job).zip(reads.get(job)).map(|(job, read)| job_stamp(job, read))
            }
        };
        let stamp = stamp.unwrap_or((&item.path, item.len, 0, 0, i64::MIN));
        segment_key(stamp, self.key_id, self.erased_generation)
    }
}

/// A mail file to read.
#[derive(Clone, Copy, Debug)]
struct ReadJob<'a> {
    item: &'a SourceItem,
    /// Its size and modification time before it was read.
    size: u64,
    mtime_ns: i64,
    /// Its ledger row, when it has one that could not be reused as it was.
    previous: Option<&'a LedgerFile>,
}

/// The mail files read by a run: those planned, in the jobs' order, and those read because
/// their ledger row could not be decoded.
struct Pushed<'a> {
    reads: Vec<FileRead>,
    healed: Vec<(ReadJob<'a>, FileRead)>,
    /// The engine's segment key of each mail item, in input order.
    keys: Vec<String>,
}

/// A mail file read, parsed, pseudonymised and encoded.
#[derive(Debug)]
struct FileRead {
    /// Its ledger BLOB.
    blob: Vec<u8>,
    content_hash: u64,
    n_records: u64,
    /// The earliest sent time of its records (`ledger::NO_DATED_RECORD` when none has one).
    oldest_sent: i64,
}

/// What the decoder thread of [`push_in_order`] hands over, in input order.
enum Decoded {
    /// The records of mail item `item` follow.
    Begin { item: usize },
    /// The records of one segment.
    Records(Vec<MailRecord>),
    /// A file reused from the ledger is done: its bytes count as read.
    Reused { n_bytes: u64 },
    /// The ledger BLOB of mail item `item` could not be decoded after `n_segments` segments.
    Damaged { item: usize, n_segments: usize, error: ledger::DecodeError },
    /// The store could not be read.
    Failed(anyhow::Error),
}

/// Pushes every mail item's records into the engine in input order: the ledger BLOBs (read now,
/// or fetched from the store) are decoded on a thread of their own while this thread pushes.
/// A stored row that cannot be decoded before any of its records was pushed (another format,
/// damage) is replaced by reading its file; those files are returned.
#[allow(clippy::too_many_arguments)]
fn push_in_order<'a>(
    engine: &mut Engine,
    ledger: &Ledger<'_>,
    erased: &ErasedAddresses,
    mail_items: &[&'a SourceItem],
    plans: &[FilePlan],
    pushes: &[bool],
    reads: &[FileRead],
    keys: &KeyParts<'_>,
    threads: usize,
    cancel: &AtomicBool,
    on_bytes: &dyn Fn(u64),
) -> Result<Vec<(ReadJob<'a>, FileRead)>> {
    let mut healed = Vec::new();
    std::thread::scope(|scope| -> Result<()> {
        // A few segments ahead are enough to keep both threads busy.
        let (sender, receiver) = mpsc::sync_channel::<Decoded>(4);
        scope.spawn(move || {
            decode_in_order(ledger.store, mail_items, plans, pushes, reads, cancel, &sender)
        });
        for decoded in receiver {
            if cancel.load(Ordering::Relaxed) {
                return Err(rapport_ingest::error::Error::Cancelled.into());
            }
            match decoded {
                Decoded::Begin { item } => {
                    let (Some(source), Some(plan)) = (mail_items.get(item), plans.get(item)) else {
                        bail!("a mail file was lost");
                    };
                    engine.begin_mail_segment(&keys.of(source, *plan, reads));
                    if let (FilePlan::Reuse { .. }, Some(row)) =
                        (plan, keys.known.get(&source.path))
                    {
                        engine.count_trimmed_mail(row.n_trimmed);
                    }
                }
                Decoded::Records(records) => {
                    records.into_iter().for_each(|record| engine.push_mail(record));
                }
                Decoded::Reused { n_bytes } => on_bytes(n_bytes),
                Decoded::Failed(error) => return Err(error),
                Decoded::Damaged { item: index, n_segments, error } => {
                    let item =
                        *mail_items.get(index).ok_or_else(|| anyhow!("a mail file was lost"))?;
                    let stored_mtime_ns = match plans.get(index) {
                        Some(FilePlan::Reuse { mtime_ns, .. }) if n_segments == 0 => *mtime_ns,
                        _ => bail!(
                            "the ledger of {} is damaged ({error}); delete and recreate the \
                             enrichment to rebuild it",
                            item.path.display()
                        ),
                    };
                    let job =
                        ReadJob { item, size: item.len, mtime_ns: stored_mtime_ns, previous: None };
                    let mut read = read_files(
                        std::slice::from_ref(&job),
                        ledger.pseudonymizer,
                        erased,
                        threads,
                        ledger.limits,
                        cancel,
                        on_bytes,
                    )?;
                    let read = read.pop().ok_or_else(|| anyhow!("a file read was lost"))?;
                    let records = ledger::decode(&read.blob).map_err(|error| {
                        anyhow!(
                            "the records just read from {} do not decode: {error}",
                            item.path.display()
                        )
                    })?;
                    engine.begin_mail_segment(&segment_key(
                        job_stamp(&job, &read),
                        keys.key_id,
                        keys.erased_generation,
                    ));
                    records.into_iter().for_each(|record| engine.push_mail(record));
                    healed.push((job, read));
                }
            }
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(rapport_ingest::error::Error::Cancelled.into());
        }
        Ok(())
    })?;
    Ok(healed)
}

/// The decoder thread of [`push_in_order`]: decodes each mail item's BLOB, segment by segment,
/// and sends the records in order. Stops when the receiver is gone or `cancel` is set.
fn decode_in_order(
    store: &Store,
    mail_items: &[&SourceItem],
    plans: &[FilePlan],
    pushes: &[bool],
    reads: &[FileRead],
    cancel: &AtomicBool,
    sender: &mpsc::SyncSender<Decoded>,
) {
    for (index, (item, plan)) in mail_items.iter().zip(plans).enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        if !pushes.get(index).copied().unwrap_or(true) {
            // Held by the engine already (or a repeat of an earlier item).
            let n_bytes = if matches!(plan, FilePlan::Reuse { .. }) { item.len } else { 0 };
            if sender.send(Decoded::Reused { n_bytes }).is_err() {
                return;
            }
            continue;
        }
        if sender.send(Decoded::Begin { item: index }).is_err() {
            return;
        }
        let stored;
        let blob: &[u8] = match *plan {
            FilePlan::Read { job } => match reads.get(job) {
                Some(read) => &read.blob,
                None => {
                    let _ = sender.send(Decoded::Failed(anyhow!("a file read was lost")));
                    return;
                }
            },
            FilePlan::Reuse { row, .. } => match store.ledger_records(row) {
                Ok(blob) => {
                    stored = blob;
                    &stored
                }
                Err(error) => {
                    let _ = sender.send(Decoded::Failed(error.into()));
                    return;
                }
            },
        };
        let segments = match ledger::segments(blob) {
            Ok(segments) => segments,
            Err(error) => {
                if sender.send(Decoded::Damaged { item: index, n_segments: 0, error }).is_err() {
                    return;
                }
                continue;
            }
        };
        let mut damage = None;
        for (n_segments, segment) in segments.enumerate() {
            let message = match segment {
                Ok(records) => Decoded::Records(records),
                Err(error) => {
                    damage = Some(Decoded::Damaged { item: index, n_segments, error });
                    break;
                }
            };
            if sender.send(message).is_err() {
                return;
            }
        }
        let message = match (damage, plan) {
            (Some(damage), _) => damage,
            (None, FilePlan::Reuse { .. }) => Decoded::Reused { n_bytes: item.len },
            (None, FilePlan::Read { .. }) => continue,
        };
        if sender.send(message).is_err() {
            return;
        }
    }
}

/// A piece of a mail file for a worker: a whole file, or a block of a big mbox.
struct Unit {
    /// The unit's place in input order.
    sequence: usize,
    /// The index of its file in the jobs.
    job: usize,
    kind: SourceKind,
    bytes: Vec<u8>,
}

/// What a worker made of a unit.
struct UnitDone {
    job: usize,
    /// One ledger segment.
    segment: Vec<u8>,
    content_hash: u64,
    n_records: u64,
    n_bytes: u64,
    /// `ledger::oldest_sent` of its records.
    oldest_sent: i64,
}

/// Reads `jobs` into ledger BLOBs, in the jobs' order: files are read on the calling thread
/// (big mbox files in blocks cut at message starts) and parsed, pseudonymised and encoded on
/// `threads` workers. At most two units per worker wait, so memory stays bounded.
fn read_files(
    jobs: &[ReadJob<'_>],
    pseudonymizer: &Pseudonymizer,
    erased: &ErasedAddresses,
    threads: usize,
    limits: LedgerLimits,
    cancel: &AtomicBool,
    on_bytes: &dyn Fn(u64),
) -> Result<Vec<FileRead>> {
    let threads = threads.max(1);
    let (unit_sender, unit_receiver) = mpsc::sync_channel::<Unit>(threads * 2);
    let unit_receiver = Mutex::new(unit_receiver);
    let (done_sender, done_receiver) = mpsc::channel::<(usize, std::thread::Result<UnitDone>)>();
    let mut done_units: BTreeMap<usize, UnitDone> = BTreeMap::new();
    let mut receive = |(sequence, outcome): (usize, std::thread::Result<UnitDone>)| match outcome {
        Ok(done) => {
            on_bytes(done.n_bytes);
            done_units.insert(sequence, done);
        }
        // A panic is a bug: carried to this thread rather than lost.
        Err(panic) => std::panic::resume_unwind(panic),
    };
    let failure = std::thread::scope(|scope| {
        for _ in 0..threads {
            let done_sender = done_sender.clone();
            let unit_receiver = &unit_receiver;
            scope.spawn(move || work(unit_receiver, &done_sender, pseudonymizer, erased));
        }
        drop(done_sender);
        let mut sequence = 0;
        let mut send = |job: usize, kind: SourceKind, bytes: Vec<u8>| {
            let unit = Unit { sequence, job, kind, bytes };
            sequence += 1;
            unit_sender.send(unit).map_err(|_| anyhow!("the mail workers stopped"))
        };
        let mut failure: Option<anyhow::Error> = None;
        for (index, job) in jobs.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                failure = Some(rapport_ingest::error::Error::Cancelled.into());
                break;
            }
            let path = &job.item.path;
            let io_error = |source| {
                anyhow::Error::from(rapport_ingest::error::Error::Io { path: path.clone(), source })
            };
            let outcome = if job.item.kind == SourceKind::Mbox
                && job.size > limits.split_above_bytes
            {
                File::open(path).map_err(io_error).and_then(|file| {
                    let mut blocks = mbox::Blocks::new(file);
                    while let Some(block) =
                        blocks.next_block(limits.block_bytes, Vec::new()).map_err(io_error)?
                    {
                        send(index, SourceKind::Mbox, block)?;
                        if cancel.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    Ok(())
                })
            } else {
                fs::read(path).map_err(io_error).and_then(|bytes| send(index, job.item.kind, bytes))
            };
            if let Err(error) = outcome {
                failure = Some(error);
                break;
            }
            while let Ok(result) = done_receiver.try_recv() {
                receive(result);
            }
        }
        // Closing the channel lets the workers stop once the units sent are done.
        drop(unit_sender);
        for result in done_receiver.iter() {
            receive(result);
        }
        failure
    });
    if let Some(error) = failure {
        return Err(error);
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(rapport_ingest::error::Error::Cancelled.into());
    }
    let mut reads: Vec<FileRead> = jobs
        .iter()
        .map(|_| FileRead {
            blob: ledger::new_blob(),
            content_hash: 0,
            n_records: 0,
            oldest_sent: ledger::NO_DATED_RECORD,
        })
        .collect();
    let mut block_hashes: Vec<Vec<u64>> = vec![Vec::new(); jobs.len()];
    for done in done_units.into_values() {
        if let (Some(read), Some(hashes)) =
            (reads.get_mut(done.job), block_hashes.get_mut(done.job))
        {
            read.blob.extend_from_slice(&done.segment);
            read.n_records += done.n_records;
            read.oldest_sent = read.oldest_sent.min(done.oldest_sent);
            hashes.push(done.content_hash);
        }
    }
    for (read, hashes) in reads.iter_mut().zip(&block_hashes) {
        read.content_hash = ledger::combine_hashes(hashes);
    }
    Ok(reads)
}

/// A worker: takes units until the channel closes and sends back what it made of each.
fn work(
    units: &Mutex<Receiver<Unit>>,
    done: &Sender<(usize, std::thread::Result<UnitDone>)>,
    pseudonymizer: &Pseudonymizer,
    erased: &ErasedAddresses,
) {
    let mut cache = PseudonymCache::default();
    let mut records = Vec::new();
    loop {
        // The lock is released at the end of this statement, before the unit is parsed.
        let unit = units.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(unit) = unit else { return };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            encode_unit(&unit, pseudonymizer, erased, &mut cache, &mut records)
        }));
        if done.send((unit.sequence, outcome)).is_err() {
            return;
        }
    }
}

/// Parses a unit exactly as `rapport_ingest::source::read_mail` does, pseudonymises its records,
/// drops the erased addresses from them and encodes them as one ledger segment.
fn encode_unit(
    unit: &Unit,
    pseudonymizer: &Pseudonymizer,
    erased: &ErasedAddresses,
    cache: &mut PseudonymCache,
    records: &mut Vec<MailRecord>,
) -> UnitDone {
    records.clear();
    // Exactly as `rapport_ingest::source::read_mail` parses a unit.
    source::parse_mail(unit.kind, &unit.bytes, records);
    for record in records.iter_mut() {
        pseudonymizer.mail_record(record, cache);
        erased.mail_record(record);
    }
    let mut segment = Vec::with_capacity(records.len() * 48 + 16);
    ledger::encode_segment(records, &mut segment);
    UnitDone {
        job: unit.job,
        segment,
        content_hash: ledger::content_hash(&unit.bytes),
        n_records: records.len() as u64,
        n_bytes: unit.bytes.len() as u64,
        oldest_sent: ledger::oldest_sent(records),
    }
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

/// The calendars of a run through the ledger, expanded, and what the ledger must learn of them.
struct CalendarRead {
    /// The occurrence copies of the window, pseudonymised.
    meeting_copies: Vec<MeetingCopy>,
    /// The calendar skip counts.
    skips: SkipCounts,
    /// The calendar files' ledger changes.
    changes: Vec<LedgerChange>,
    /// Calendar files read from the sources.
    files_read: u64,
    /// Calendar files decoded from the ledger without reading them.
    files_reused: u64,
}

/// Reads every calendar item through the ledger, in input order, and expands them all inside the
/// window. A file the ledger knows unchanged (same path, size, modification time and key) is
/// decoded from its row; the others (and a row that cannot be decoded) are read, parsed,
/// pseudonymised (UIDs and addresses), cleared of erased addresses and encoded into an upsert, or
/// a touch when the content hash and the number of components are those of the row. Decoded
/// files lose erased addresses once more (an erase while a run was writing may have missed them).
/// A path named twice is decided once and expanded twice, as a full read would.
fn read_calendars_with_ledger(
    items: &[SourceItem],
    known: &HashMap<PathBuf, LedgerFile>,
    ledger: &Ledger<'_>,
    erased: &ErasedAddresses,
    window: Window,
    cancel: &AtomicBool,
) -> Result<CalendarRead> {
    let key_id = ledger.pseudonymizer.key_id();
    let mut cache = PseudonymCache::default();
    let mut distinct: Vec<CalendarFile> = Vec::new();
    let mut order: Vec<usize> = Vec::new();
    let mut index_by_path: HashMap<&Path, usize> = HashMap::new();
    let mut changes = Vec::new();
    let (mut files_read, mut files_reused) = (0, 0);
    for item in items.iter().filter(|item| item.kind == SourceKind::Calendar) {
        if cancel.load(Ordering::Relaxed) {
            return Err(rapport_ingest::error::Error::Cancelled.into());
        }
        if let Some(index) = index_by_path.get(item.path.as_path()) {
            order.push(*index);
            continue;
        }
        // Taken before the file is read: a change while it is read shows at the next run.
        let (size, mtime_ns) = file_stamp(&item.path)?;
        let mut previous = known.get(&item.path);
        let mut file = None;
        if let Some(row) = previous
            && row.key_id == key_id
            && row.size == size
            && row.mtime_ns == mtime_ns
        {
            // A row that does not decode (another format, damage) is replaced by reading the file.
            if let Ok(mut decoded) = ledger::calendar::decode(&ledger.store.ledger_records(row.id)?)
            {
                erased.calendar_file(&mut decoded);
                file = Some(decoded);
                files_reused += 1;
            } else {
                previous = None;
            }
        }
        let file = match file {
            Some(file) => file,
            None => {
                let bytes = fs::read(&item.path)
                    .with_context(|| format!("cannot read {}", item.path.display()))?;
                let mut file = rapport_ingest::ics::parse_ics(&bytes);
                ledger.pseudonymizer.calendar_file(&mut file, &mut cache);
                erased.calendar_file(&mut file);
                let content_hash = ledger::content_hash(&bytes);
                let n_records = ledger::calendar::n_components(&file);
                changes.push(match previous {
                    Some(row)
                        if row.key_id == key_id
                            && row.content_hash == content_hash
                            && row.n_records == n_records =>
                    {
                        LedgerChange::Touch { id: row.id, size, mtime_ns }
                    }
                    _ => LedgerChange::Upsert {
                        path: item.path.clone(),
                        size,
                        mtime_ns,
                        content_hash,
                        n_records,
                        records: ledger::calendar::encode(&file),
                        oldest_sent: None,
                    },
                });
                files_read += 1;
                file
            }
        };
        index_by_path.insert(&item.path, distinct.len());
        order.push(distinct.len());
        distinct.push(file);
    }
    let (meeting_copies, skips) = if order.len() == distinct.len() {
        calendar::expand(&distinct, window.start, window.end)
    } else {
        let files: Vec<CalendarFile> =
            order.iter().filter_map(|index| distinct.get(*index).cloned()).collect();
        calendar::expand(&files, window.start, window.end)
    };
    Ok(CalendarRead { meeting_copies, skips, changes, files_read, files_reused })
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
