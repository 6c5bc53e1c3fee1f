//! The database schema and its migrations.
//!
//! The schema version is SQLite's `user_version`: 0 for a new (empty) file, then the number of
//! migrations applied. Opening applies the missing migrations in one transaction; a version
//! higher than this build knows is refused, so an older rapport never writes to a newer database.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::Error;
use crate::store::sql;

/// The schema version this build creates and reads: the number of [`MIGRATIONS`].
pub const SCHEMA_VERSION: i64 = 7;

/// The migrations, in order: entry `i` upgrades version `i` to `i + 1`. Never edit a published
/// entry; append a new one.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7];

const _: () = assert!(SCHEMA_VERSION as usize == MIGRATIONS.len());

/// Version 1: enrichments, runs with stages and warnings, and versioned results.
///
/// Times are UTC seconds. Deleting an enrichment deletes its runs and results through the
/// foreign keys (`ON DELETE CASCADE`, with `PRAGMA foreign_keys = ON` on every connection).
const V1: &str = "
CREATE TABLE enrichments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE,
    config TEXT NOT NULL,
    consent_by TEXT,
    consent_at INTEGER,
    revoked_by TEXT,
    revoked_at INTEGER,
    active INTEGER NOT NULL DEFAULT 1,
    next_run_at INTEGER,
    first_run_pending INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    results_version INTEGER
) STRICT;

CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    enrichment_id INTEGER NOT NULL REFERENCES enrichments(id) ON DELETE CASCADE,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    queued_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    stage TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    summary TEXT,
    n_warnings INTEGER NOT NULL DEFAULT 0,
    results_version INTEGER
) STRICT;
CREATE INDEX runs_by_enrichment ON runs(enrichment_id, id);
CREATE INDEX runs_not_finished ON runs(status) WHERE status IN ('Queued', 'Running');

CREATE TABLE run_stages (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    position INTEGER NOT NULL,
    done INTEGER NOT NULL,
    total INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (run_id, stage)
) STRICT, WITHOUT ROWID;

CREATE TABLE run_warnings (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE result_versions (
    id INTEGER PRIMARY KEY,
    enrichment_id INTEGER NOT NULL REFERENCES enrichments(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    published_at INTEGER NOT NULL,
    summary TEXT NOT NULL,
    UNIQUE (enrichment_id, version)
) STRICT;
CREATE INDEX result_versions_by_run ON result_versions(run_id);

CREATE TABLE result_tables (
    version_id INTEGER NOT NULL REFERENCES result_versions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    format TEXT NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (version_id, position)
) STRICT;
";

/// Version 2: the ledger, one row per mail or calendar file of an enrichment (see `crate::ledger`).
///
/// `path` holds the path's bytes as the operating system gives them; `mtime_ns` is the file's
/// modification time in nanoseconds since 1970; `content_hash` the XXH64 of what was read, as a
/// signed integer; `key_id` the fingerprint of the installation key the pseudonyms were made
/// with. `records` comes last so that reading the other columns does not read its pages.
const V2: &str = "
CREATE TABLE ledger_files (
    id INTEGER PRIMARY KEY,
    enrichment_id INTEGER NOT NULL REFERENCES enrichments(id) ON DELETE CASCADE,
    path BLOB NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    n_records INTEGER NOT NULL,
    records BLOB NOT NULL,
    UNIQUE (enrichment_id, path)
) STRICT;
";

/// Version 3: the addresses erased with `rapport erase` (see `crate::erasure`), for the whole
/// installation: a file read again later drops them before its records are encoded.
///
/// `pseudonym` is the address's pseudonym under the key whose fingerprint is `key_id` (only that
/// key's rows can hold it); `erased_at` is when, in UTC seconds. The address itself is never kept.
const V3: &str = "
CREATE TABLE erased_addresses (
    key_id INTEGER NOT NULL,
    pseudonym TEXT NOT NULL,
    erased_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, pseudonym)
) STRICT, WITHOUT ROWID;
";

/// Version 4: result tables may be stored compressed. `encoding` says how `bytes` holds the
/// table: `identity` (as written, every table before version 4) or `snappy` (Snappy's raw format;
/// CSV shrinks about fourfold, which is what a publish writes and a reader reads).
const V4: &str = "
ALTER TABLE result_tables ADD COLUMN encoding TEXT NOT NULL DEFAULT 'identity';
";

/// Version 5: the ledger is trimmed to the window. `trimmed_before` is the window start the
/// row's copies sent earlier were dropped at (the smallest integer when none was), `n_trimmed`
/// how many were, `oldest_sent` the earliest sent time left (NULL when unknown: rows of earlier
/// versions, and calendar rows).
const V5: &str = "
ALTER TABLE ledger_files ADD COLUMN trimmed_before INTEGER NOT NULL DEFAULT -9223372036854775808;
ALTER TABLE ledger_files ADD COLUMN n_trimmed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_files ADD COLUMN oldest_sent INTEGER;
";

/// Version 6: the Microsoft Graph source. `graph_items` holds what the delta rounds gave, per
/// mailbox and container (a mail folder's id, or `calendar`), pseudonymised like the ledger:
/// `record` is one mail record in the ledger's codec or one meeting occurrence
/// (`crate::ledger::graph`); `link_key`/`parent_link_key` are pseudonyms of the message's
/// `conversationIndex` and of its parent's (reply linkage across mailboxes). `graph_state` keeps
/// the delta checkpoints (links, no activity), written with the pages they follow, so an
/// interrupted sync resumes. `graph_check` on the enrichment records the permission check made
/// at consent.
const V6: &str = "
CREATE TABLE graph_items (
    enrichment_id INTEGER NOT NULL REFERENCES enrichments(id) ON DELETE CASCADE,
    mailbox TEXT NOT NULL,
    container TEXT NOT NULL,
    graph_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('mail', 'meeting')),
    link_key TEXT,
    parent_link_key TEXT,
    record BLOB NOT NULL,
    PRIMARY KEY (enrichment_id, mailbox, container, graph_id)
) STRICT;
CREATE TABLE graph_state (
    enrichment_id INTEGER PRIMARY KEY REFERENCES enrichments(id) ON DELETE CASCADE,
    state TEXT NOT NULL
) STRICT;
ALTER TABLE enrichments ADD COLUMN graph_check TEXT;
";

/// Version 7: `ledger_files` rebuilt with `records` as its last column again. Version 5 added
/// its columns after `records`, and SQLite reads a row's columns in order: listing the ledger
/// (`trimmed_before`, `oldest_sent`) walked every records blob's overflow pages, tens of
/// megabytes at every run.
const V7: &str = "
CREATE TABLE ledger_files_v7 (
    id INTEGER PRIMARY KEY,
    enrichment_id INTEGER NOT NULL REFERENCES enrichments(id) ON DELETE CASCADE,
    path BLOB NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    n_records INTEGER NOT NULL,
    trimmed_before INTEGER NOT NULL DEFAULT -9223372036854775808,
    n_trimmed INTEGER NOT NULL DEFAULT 0,
    oldest_sent INTEGER,
    records BLOB NOT NULL,
    UNIQUE (enrichment_id, path)
) STRICT;
INSERT INTO ledger_files_v7 (id, enrichment_id, path, size, mtime_ns, content_hash, key_id,
    n_records, trimmed_before, n_trimmed, oldest_sent, records)
SELECT id, enrichment_id, path, size, mtime_ns, content_hash, key_id, n_records, trimmed_before,
    n_trimmed, oldest_sent, records FROM ledger_files;
DROP TABLE ledger_files;
ALTER TABLE ledger_files_v7 RENAME TO ledger_files;
";

/// Brings the database to the version `migrations.len()`, applying the missing migrations in one
/// transaction; refuses a newer database.
pub(crate) fn migrate(connection: &mut Connection, migrations: &[&str]) -> Result<(), Error> {
    let supported = migrations.len() as i64;
    let found = user_version(connection)?;
    if found == supported {
        return Ok(());
    }
    if found > supported {
        return Err(Error::NewerSchema { found, supported });
    }
    let context = "could not upgrade the database schema";
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql(context))?;
    // Another process may have upgraded the file between the first look and the lock.
    let found = user_version(&transaction)?;
    if found > supported {
        return Err(Error::NewerSchema { found, supported });
    }
    let first = usize::try_from(found).unwrap_or(0);
    for migration in migrations.iter().skip(first) {
        transaction.execute_batch(migration).map_err(sql(context))?;
    }
    // PRAGMA takes no parameters; `supported` is an integer, so formatting it in is safe.
    transaction
        .execute_batch(&format!("PRAGMA user_version = {supported}"))
        .map_err(sql(context))?;
    transaction.commit().map_err(sql(context))
}

/// Checks that the database has exactly the current schema (for a read-only database, which
/// cannot be upgraded).
pub(crate) fn check_version(connection: &Connection) -> Result<(), Error> {
    let found = user_version(connection)?;
    if found > SCHEMA_VERSION {
        return Err(Error::NewerSchema { found, supported: SCHEMA_VERSION });
    }
    if found < SCHEMA_VERSION {
        return Err(Error::NeedsUpgrade { found, supported: SCHEMA_VERSION });
    }
    Ok(())
}

/// The database's `user_version`.
pub(crate) fn user_version(connection: &Connection) -> Result<i64, Error> {
    connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sql("could not read the database schema version"))
}
