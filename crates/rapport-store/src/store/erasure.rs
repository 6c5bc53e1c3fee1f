//! Erasing one person's activity from every enrichment's ledger (`rapport erase`), and the
//! installation-wide list of erased addresses that later reads apply.

use std::collections::BTreeSet;
use std::sync::PoisonError;

use rusqlite::{Connection, OptionalExtension as _, Transaction, TransactionBehavior, params};

use crate::enrichment::EnrichmentId;
use crate::erasure::{ErasedAddresses, Erasure};
use crate::error::Error;
use crate::store::{Store, classify, sql};

impl Store {
    /// The erased address pseudonyms made with the key whose fingerprint is `key_id`.
    pub fn erased_addresses(&self, key_id: i64) -> Result<ErasedAddresses, Error> {
        self.read("could not read the erased addresses", |transaction| {
            erased_addresses(transaction, key_id)
        })
    }

    /// Erases the address whose pseudonym (under the key `key_id`) is `pseudonym` from every
    /// enrichment's ledger, and records it as erased so that files read again later drop it too.
    ///
    /// In one transaction: the pseudonym is added to the erased addresses, and every ledger row
    /// made with that key whose records hold it is rewritten without it (dropped from the
    /// recipients, the sender cleared; see `crate::erasure`). A row whose records hold the
    /// pseudonym's bytes but cannot be decoded is deleted instead, so its file is read again
    /// (and filtered) at the next run. The connection uses `PRAGMA secure_delete` for the
    /// transaction, so the freed pages are zeroed, and the write-ahead log is then checkpointed
    /// and truncated so the old pages do not survive there either.
    pub fn erase_address(&self, pseudonym: &str, key_id: i64, now: i64) -> Result<Erasure, Error> {
        let (erasure, checkpointed) = self
            .securely("could not erase the address", |connection| {
                erase_in(connection, pseudonym, key_id, now)
            })?;
        Ok(Erasure { checkpointed, ..erasure })
    }

    /// Deletes every results version of `id` but the latest, with `secure_delete` on and the
    /// write-ahead log checkpointed: after an erase, the earlier versions still counted the
    /// erased person. Returns how many versions were deleted. Run history (the summaries) stays.
    pub fn drop_earlier_results(&self, id: EnrichmentId) -> Result<u64, Error> {
        let context = "could not delete the earlier results";
        let (deleted, _) = self.securely(context, |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(context))?;
            let deleted = transaction
                .execute(
                    "DELETE FROM result_versions WHERE enrichment_id = ?1
                     AND version < (SELECT max(version) FROM result_versions
                                    WHERE enrichment_id = ?1)",
                    [id.0],
                )
                .map_err(sql(context))?;
            transaction.commit().map_err(sql(context))?;
            Ok(deleted as u64)
        })?;
        Ok(deleted)
    }

    /// Runs `work` on the writer with `PRAGMA secure_delete` on (freed pages are zeroed), then
    /// checkpoints and truncates the write-ahead log so the old pages do not survive there
    /// either. The second value says whether the checkpoint completed (a reader holding an old
    /// snapshot stops it early). The connection goes back to its usual setting whatever happened.
    fn securely<T>(
        &self,
        context: &'static str,
        work: impl FnOnce(&mut Connection) -> Result<T, Error>,
    ) -> Result<(T, bool), Error> {
        let mut connection = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let outcome = (|| {
            let previous: i64 = connection
                .query_row("PRAGMA secure_delete", [], |row| row.get(0))
                .map_err(sql(context))?;
            connection.pragma_update(None, "secure_delete", 1).map_err(sql(context))?;
            let done = work(&mut connection);
            let checkpointed = done.is_ok() && checkpoint(&connection);
            let restored = connection.pragma_update(None, "secure_delete", previous);
            let done = done?;
            restored.map_err(sql(context))?;
            Ok((done, checkpointed))
        })();
        outcome.map_err(|error| classify(&self.database, error))
    }
}

/// The transaction of [`Store::erase_address`].
fn erase_in(
    connection: &mut Connection,
    pseudonym: &str,
    key_id: i64,
    now: i64,
) -> Result<Erasure, Error> {
    let context = "could not erase the address";
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql(context))?;
    transaction
        .execute(
            "INSERT INTO erased_addresses (key_id, pseudonym, erased_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key_id, pseudonym) DO NOTHING",
            params![key_id, pseudonym, now],
        )
        .map_err(sql(context))?;
    let rows: Vec<(i64, i64)> = transaction
        .prepare("SELECT id, enrichment_id FROM ledger_files WHERE key_id = ?1 ORDER BY id")
        .and_then(|mut statement| {
            statement
                .query_map([key_id], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(sql(context))?;
    let erased = ErasedAddresses::new([pseudonym.to_owned()]);
    let mut enrichments = BTreeSet::new();
    let mut n_files = 0;
    // One BLOB at a time: a ledger may be far bigger than the memory one erase should take.
    for (id, enrichment) in rows {
        let blob: Option<Vec<u8>> = transaction
            .query_row("SELECT records FROM ledger_files WHERE id = ?1", [id], |row| row.get(0))
            .optional()
            .map_err(sql(context))?;
        let Some(blob) = blob else { continue };
        match erased.blob(&blob) {
            Ok(None) => continue,
            Ok(Some(rewritten)) => {
                transaction
                    .execute(
                        "UPDATE ledger_files SET records = ?2 WHERE id = ?1",
                        params![id, rewritten],
                    )
                    .map_err(sql(context))?;
            }
            Err(_) => {
                transaction
                    .execute("DELETE FROM ledger_files WHERE id = ?1", [id])
                    .map_err(sql(context))?;
            }
        }
        n_files += 1;
        enrichments.insert(EnrichmentId(enrichment));
    }
    let n_graph_items = erase_graph_items(&transaction, pseudonym, &erased, &mut enrichments)?;
    transaction.commit().map_err(sql(context))?;
    Ok(Erasure {
        enrichments: enrichments.into_iter().collect(),
        n_files,
        n_graph_items,
        checkpointed: false,
    })
}

/// Drops the pseudonym from every kept Graph item that holds its bytes. An item that cannot be
/// decoded is deleted, and its enrichment's checkpoints with it, so the next sync reads its
/// mailboxes again (and drops the address as it keeps them).
fn erase_graph_items(
    transaction: &Transaction<'_>,
    pseudonym: &str,
    erased: &ErasedAddresses,
    enrichments: &mut BTreeSet<EnrichmentId>,
) -> Result<u64, Error> {
    use crate::ledger::graph::{GraphRecord, decode_record, encode};
    let context = "could not erase the address from the Graph items";
    let rows: Vec<(i64, i64, String, Vec<u8>)> = transaction
        .prepare(
            "SELECT rowid, enrichment_id, kind, record FROM graph_items
             WHERE instr(record, CAST(?1 AS BLOB)) > 0",
        )
        .and_then(|mut statement| {
            statement
                .query_map([pseudonym], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(sql(context))?;
    let mut n_items = 0;
    for (rowid, enrichment, kind, bytes) in rows {
        enrichments.insert(EnrichmentId(enrichment));
        n_items += 1;
        let rewritten = match decode_record(&kind, &bytes, None, None) {
            Ok(GraphRecord::Mail { mut record, .. }) => {
                erased.mail_record(&mut record);
                Some(encode(&GraphRecord::Mail { record, link_key: None, parent_link_key: None }).1)
            }
            Ok(GraphRecord::Meeting(mut copy)) => {
                erased.meeting_copy(&mut copy);
                Some(encode(&GraphRecord::Meeting(copy)).1)
            }
            Err(_) => None,
        };
        match rewritten {
            Some(rewritten) => transaction.execute(
                "UPDATE graph_items SET record = ?2 WHERE rowid = ?1",
                params![rowid, rewritten],
            ),
            None => transaction
                .execute("DELETE FROM graph_items WHERE rowid = ?1", [rowid])
                .and_then(|_| {
                    transaction
                        .execute("DELETE FROM graph_state WHERE enrichment_id = ?1", [enrichment])
                }),
        }
        .map_err(sql(context))?;
    }
    Ok(n_items)
}

/// Copies the write-ahead log into the database and empties it. True when it completed; a
/// reader holding an old snapshot makes it stop early (the pages then go at a later checkpoint).
fn checkpoint(connection: &Connection) -> bool {
    connection
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get::<_, i64>(0))
        .is_ok_and(|busy| busy == 0)
}

/// The erased pseudonyms of the key `key_id`, read in `transaction`.
pub(crate) fn erased_addresses(
    transaction: &Transaction<'_>,
    key_id: i64,
) -> Result<ErasedAddresses, Error> {
    let context = "could not read the erased addresses";
    let pseudonyms = transaction
        .prepare_cached("SELECT pseudonym FROM erased_addresses WHERE key_id = ?1")
        .and_then(|mut statement| {
            statement.query_map([key_id], |row| row.get(0))?.collect::<Result<Vec<String>, _>>()
        })
        .map_err(sql(context))?;
    Ok(ErasedAddresses::new(pseudonyms))
}
