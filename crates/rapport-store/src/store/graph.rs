//! The Microsoft Graph source's kept items and delta checkpoints (see `crate::ledger::graph`).
//! Each page is one transaction with the checkpoint that follows it, so an interrupted sync
//! resumes where its last page was kept; the results are published separately, by the run.

use rusqlite::{OptionalExtension as _, Transaction, params};

use crate::enrichment::EnrichmentId;
use crate::error::Error;
use crate::ledger::graph::{GraphItem, GraphPage, GraphRecord, decode_record, encode};
use crate::store::enrichments::load_enrichment;
use crate::store::{Store, sql};

impl Store {
    /// The enrichment's Graph sync state (JSON), when a sync kept one.
    pub fn graph_state(&self, id: EnrichmentId) -> Result<Option<String>, Error> {
        let context = "could not read the Graph sync state";
        self.read(context, |transaction| {
            load_enrichment(transaction, id)?;
            transaction
                .query_row(
                    "SELECT state FROM graph_state WHERE enrichment_id = ?1",
                    [id.0],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sql(context))
        })
    }

    /// Keeps one page of a delta round and the checkpoint after it, in one transaction.
    pub fn apply_graph_page(&self, id: EnrichmentId, page: &GraphPage) -> Result<(), Error> {
        let context = "could not keep a Graph page";
        self.write(context, |transaction| {
            load_enrichment(transaction, id)?;
            if page.reset {
                transaction
                    .prepare_cached(
                        "DELETE FROM graph_items
                         WHERE enrichment_id = ?1 AND mailbox = ?2 AND container = ?3",
                    )
                    .and_then(|mut statement| {
                        statement.execute(params![id.0, page.mailbox, page.container])
                    })
                    .map_err(sql(context))?;
            }
            {
                let mut remove = transaction
                    .prepare_cached(
                        "DELETE FROM graph_items WHERE enrichment_id = ?1 AND mailbox = ?2
                         AND container = ?3 AND graph_id = ?4",
                    )
                    .map_err(sql(context))?;
                for graph_id in &page.removed {
                    remove
                        .execute(params![id.0, page.mailbox, page.container, graph_id])
                        .map_err(sql(context))?;
                }
                let mut upsert = transaction
                    .prepare_cached(
                        "INSERT INTO graph_items (enrichment_id, mailbox, container, graph_id, kind,
                             link_key, parent_link_key, record)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                         ON CONFLICT (enrichment_id, mailbox, container, graph_id) DO UPDATE SET
                             kind = excluded.kind, link_key = excluded.link_key,
                             parent_link_key = excluded.parent_link_key, record = excluded.record",
                    )
                    .map_err(sql(context))?;
                for (graph_id, record) in &page.upserted {
                    let (kind, bytes) = encode(record);
                    let (link_key, parent_link_key) = match record {
                        GraphRecord::Mail { link_key, parent_link_key, .. } => {
                            (link_key.as_deref(), parent_link_key.as_deref())
                        }
                        GraphRecord::Meeting(_) => (None, None),
                    };
                    upsert
                        .execute(params![
                            id.0,
                            page.mailbox,
                            page.container,
                            graph_id,
                            kind,
                            link_key,
                            parent_link_key,
                            bytes
                        ])
                        .map_err(sql(context))?;
                }
            }
            transaction
                .execute(
                    "INSERT INTO graph_state (enrichment_id, state) VALUES (?1, ?2)
                     ON CONFLICT (enrichment_id) DO UPDATE SET state = excluded.state",
                    params![id.0, page.state],
                )
                .map_err(sql(context))?;
            Ok(())
        })
    }

    /// Every kept Graph item of the enrichment, by mailbox and container, each container's items
    /// in the order they were first kept. An item that cannot be decoded is left out (counted in
    /// the second value).
    pub fn graph_items(&self, id: EnrichmentId) -> Result<(Vec<GraphItem>, u64), Error> {
        let context = "could not read the Graph items";
        self.read(context, |transaction| {
            load_enrichment(transaction, id)?;
            let mut statement = transaction
                .prepare_cached(
                    "SELECT mailbox, container, graph_id, kind, link_key, parent_link_key, record
                     FROM graph_items WHERE enrichment_id = ?1
                     ORDER BY mailbox, container, rowid",
                )
                .map_err(sql(context))?;
            let mut rows = statement.query([id.0]).map_err(sql(context))?;
            let mut items = Vec::new();
            let mut damaged = 0;
            while let Some(row) = rows.next().map_err(sql(context))? {
                let kind: String = row.get(3).map_err(sql(context))?;
                let bytes: Vec<u8> = row.get(6).map_err(sql(context))?;
                let record = decode_record(
                    &kind,
                    &bytes,
                    row.get(4).map_err(sql(context))?,
                    row.get(5).map_err(sql(context))?,
                );
                match record {
                    Ok(record) => items.push(GraphItem {
                        mailbox: row.get(0).map_err(sql(context))?,
                        container: row.get(1).map_err(sql(context))?,
                        graph_id: row.get(2).map_err(sql(context))?,
                        record,
                    }),
                    Err(_) => damaged += 1,
                }
            }
            Ok((items, damaged))
        })
    }

    /// Records the permission check made when consent was given (a one-line summary).
    pub fn record_graph_check(&self, id: EnrichmentId, summary: &str) -> Result<(), Error> {
        let context = "could not record the Graph check";
        self.write(context, |transaction| {
            transaction
                .execute(
                    "UPDATE enrichments SET graph_check = ?2 WHERE id = ?1",
                    params![id.0, summary],
                )
                .map_err(sql(context))?;
            Ok(())
        })
    }

    /// The permission check recorded at consent, if any.
    pub fn graph_check(&self, id: EnrichmentId) -> Result<Option<String>, Error> {
        let context = "could not read the Graph check";
        self.read(context, |transaction| {
            transaction
                .query_row("SELECT graph_check FROM enrichments WHERE id = ?1", [id.0], |row| {
                    row.get(0)
                })
                .optional()
                .map(Option::flatten)
                .map_err(sql(context))
        })
    }
}

/// Forgets an enrichment's Graph items, checkpoints and permission check, in `transaction`: the
/// next sync starts full rounds.
pub(crate) fn forget_graph(transaction: &Transaction<'_>, id: EnrichmentId) -> Result<(), Error> {
    for statement in [
        "DELETE FROM graph_items WHERE enrichment_id = ?1",
        "DELETE FROM graph_state WHERE enrichment_id = ?1",
        "UPDATE enrichments SET graph_check = NULL WHERE id = ?1",
    ] {
        transaction.execute(statement, [id.0]).map_err(sql("could not forget the Graph items"))?;
    }
    Ok(())
}
