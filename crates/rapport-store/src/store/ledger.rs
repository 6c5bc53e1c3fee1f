//! The mail ledger's rows: what a run reads before it decides which source files to read again,
//! and the changes it writes in the transaction that publishes its results.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension as _, Transaction, params};

use crate::enrichment::EnrichmentId;
use crate::error::Error;
use crate::ledger::{LedgerChange, LedgerFile, LedgerUpdate};
use crate::store::enrichments::load_enrichment;
use crate::store::erasure::erased_addresses;
use crate::store::{Store, from_sql_integer, sql, to_sql_integer};

impl Store {
    /// The ledger rows of an enrichment, without their records, in the order they were added.
    pub fn ledger_files(&self, id: EnrichmentId) -> Result<Vec<LedgerFile>, Error> {
        let context = "could not read the ledger";
        self.read(context, |transaction| {
            load_enrichment(transaction, id)?;
            let mut statement = transaction
                .prepare_cached(
                    "SELECT id, path, size, mtime_ns, content_hash, key_id, n_records,
                            trimmed_before, n_trimmed, oldest_sent
                     FROM ledger_files WHERE enrichment_id = ?1 ORDER BY id",
                )
                .map_err(sql(context))?;
            statement
                .query_map([id.0], |row| {
                    Ok(LedgerFile {
                        id: row.get(0)?,
                        path: PathBuf::from(OsString::from_vec(row.get::<_, Vec<u8>>(1)?)),
                        size: from_sql_integer(row.get(2)?),
                        mtime_ns: row.get(3)?,
                        // The hash is stored as the signed integer with the same bits.
                        content_hash: row.get::<_, i64>(4)? as u64,
                        key_id: row.get(5)?,
                        n_records: from_sql_integer(row.get(6)?),
                        trimmed_before: row.get(7)?,
                        n_trimmed: from_sql_integer(row.get(8)?),
                        oldest_sent: row.get(9)?,
                    })
                })
                .map_err(sql(context))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql(context))
        })
    }

    /// The records BLOB of the ledger row `file` (see `crate::ledger` for its format).
    pub fn ledger_records(&self, file: i64) -> Result<Vec<u8>, Error> {
        let context = "could not read the ledger";
        self.read(context, |transaction| {
            transaction
                .query_row("SELECT records FROM ledger_files WHERE id = ?1", [file], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(sql(context))?
                .ok_or_else(|| Error::NotFound { what: "ledger file", id: file.to_string() })
        })
    }
}

/// Applies a run's ledger changes to the enrichment's rows. Rows of other enrichments are never
/// touched, whatever ids the changes name.
///
/// New records lose the erased addresses here once more: the run dropped those it knew of when
/// it read its files, and this catches an address erased while the run was reading.
pub(crate) fn apply_ledger(
    transaction: &Transaction<'_>,
    enrichment: EnrichmentId,
    ledger: &LedgerUpdate,
) -> Result<(), Error> {
    let context = "could not write the ledger";
    let mut erased = None;
    for change in &ledger.changes {
        match change {
            LedgerChange::Upsert {
                path,
                size,
                mtime_ns,
                content_hash,
                n_records,
                records,
                oldest_sent,
            } => {
                let erased = match &mut erased {
                    Some(erased) => erased,
                    None => erased.insert(erased_addresses(transaction, ledger.key_id)?),
                };
                // Records that cannot be decoded are kept as they are: the next run reads their
                // file again (and drops the erased addresses then).
                let rewritten = erased.blob(records).ok().flatten();
                let records = rewritten.as_deref().unwrap_or(records);
                transaction
                    .prepare_cached(
                        "INSERT INTO ledger_files
                             (enrichment_id, path, size, mtime_ns, content_hash, key_id, n_records,
                              records, oldest_sent)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                         ON CONFLICT (enrichment_id, path) DO UPDATE SET
                             size = excluded.size, mtime_ns = excluded.mtime_ns,
                             content_hash = excluded.content_hash, key_id = excluded.key_id,
                             n_records = excluded.n_records, records = excluded.records,
                             oldest_sent = excluded.oldest_sent,
                             trimmed_before = -9223372036854775808, n_trimmed = 0",
                    )
                    .and_then(|mut statement| {
                        statement.execute(params![
                            enrichment.0,
                            path_bytes(path),
                            to_sql_integer(*size),
                            mtime_ns,
                            *content_hash as i64,
                            ledger.key_id,
                            to_sql_integer(*n_records),
                            records,
                            oldest_sent,
                        ])
                    })
                    .map_err(sql(context))?;
            }
            LedgerChange::Touch { id, size, mtime_ns } => {
                transaction
                    .prepare_cached(
                        "UPDATE ledger_files SET size = ?3, mtime_ns = ?4
                         WHERE id = ?1 AND enrichment_id = ?2",
                    )
                    .and_then(|mut statement| {
                        statement.execute(params![
                            id,
                            enrichment.0,
                            to_sql_integer(*size),
                            mtime_ns
                        ])
                    })
                    .map_err(sql(context))?;
            }
            LedgerChange::Trim { path, trimmed_before, trimmed } => {
                let erased = match &mut erased {
                    Some(erased) => erased,
                    None => erased.insert(erased_addresses(transaction, ledger.key_id)?),
                };
                let rewritten = erased.blob(&trimmed.records).ok().flatten();
                let records = rewritten.as_deref().unwrap_or(&trimmed.records);
                transaction
                    .prepare_cached(
                        "UPDATE ledger_files SET records = ?3, n_records = ?4, oldest_sent = ?5,
                             trimmed_before = ?6, n_trimmed = ?7
                         WHERE enrichment_id = ?1 AND path = ?2",
                    )
                    .and_then(|mut statement| {
                        statement.execute(params![
                            enrichment.0,
                            path_bytes(path),
                            records,
                            to_sql_integer(trimmed.n_records),
                            trimmed.oldest_sent,
                            trimmed_before,
                            to_sql_integer(trimmed.n_trimmed),
                        ])
                    })
                    .map_err(sql(context))?;
            }
            LedgerChange::Delete { id } => {
                transaction
                    .prepare_cached("DELETE FROM ledger_files WHERE id = ?1 AND enrichment_id = ?2")
                    .and_then(|mut statement| statement.execute(params![id, enrichment.0]))
                    .map_err(sql(context))?;
            }
        }
    }
    Ok(())
}

/// The bytes of a path as the operating system gives them (paths need not be UTF-8).
fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}
