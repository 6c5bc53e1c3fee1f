//! Reading published results and the run history.

use std::borrow::Cow;

use rusqlite::{OptionalExtension as _, params};

use crate::enrichment::EnrichmentId;
use crate::error::Error;
use crate::results::{Results, RunSummary, Table};
use crate::run::RunId;
use crate::store::enrichments::not_found;
use crate::store::{Store, sql};

impl Store {
    /// The enrichment's published results, `None` before its first successful run. The version
    /// and all its tables are read in one read transaction, so they belong together even while a
    /// run publishes a new version.
    pub fn latest_results(&self, id: EnrichmentId) -> Result<Option<Results>, Error> {
        let context = "could not read the results";
        self.read(context, |transaction| {
            let version: Option<Option<i64>> = transaction
                .query_row("SELECT results_version FROM enrichments WHERE id = ?1", [id.0], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(sql(context))?;
            let Some(version) = version else {
                return Err(not_found(id));
            };
            let Some(version) = version else {
                return Ok(None);
            };
            let (version_id, run, published_at, summary): (i64, i64, i64, String) = transaction
                .query_row(
                    "SELECT id, run_id, published_at, summary FROM result_versions
                     WHERE enrichment_id = ?1 AND version = ?2",
                    params![id.0, version],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .map_err(sql(context))?;
            let summary = parse_summary(&summary, run)?;
            let mut statement = transaction
                .prepare_cached(
                    "SELECT name, format, bytes, encoding FROM result_tables WHERE version_id = ?1
                     ORDER BY position",
                )
                .map_err(sql(context))?;
            let stored = statement
                .query_map([version_id], |row| {
                    let table =
                        Table { name: row.get(0)?, format: row.get(1)?, bytes: row.get(2)? };
                    Ok((table, row.get::<_, String>(3)?))
                })
                .map_err(sql(context))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql(context))?;
            let tables = stored
                .into_iter()
                .map(|(table, encoding)| decode_table(table, &encoding))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(Results { version, run: RunId(run), published_at, summary, tables }))
        })
    }

    /// The results versions of the enrichment whose tables are kept, oldest first.
    pub fn kept_versions(&self, id: EnrichmentId) -> Result<Vec<i64>, Error> {
        let context = "could not read the results versions";
        self.read(context, |transaction| {
            let mut statement = transaction
                .prepare_cached(
                    "SELECT version FROM result_versions WHERE enrichment_id = ?1 ORDER BY version",
                )
                .map_err(sql(context))?;
            let versions = statement
                .query_map([id.0], |row| row.get(0))
                .map_err(sql(context))?
                .collect::<Result<Vec<i64>, _>>()
                .map_err(sql(context))?;
            Ok(versions)
        })
    }

    /// The summaries of the enrichment's successful runs, oldest first: what "enriched customers
    /// over time" and "days of data" are charted from. Kept for every run, also when its tables
    /// are no longer.
    pub fn history(&self, id: EnrichmentId) -> Result<Vec<RunSummary>, Error> {
        let context = "could not read the run history";
        self.read(context, |transaction| {
            let exists: Option<i64> = transaction
                .query_row("SELECT id FROM enrichments WHERE id = ?1", [id.0], |row| row.get(0))
                .optional()
                .map_err(sql(context))?;
            if exists.is_none() {
                return Err(not_found(id));
            }
            let mut statement = transaction
                .prepare(
                    "SELECT id, finished_at, summary FROM runs
                     WHERE enrichment_id = ?1 AND status = 'Successful'
                     ORDER BY finished_at, id",
                )
                .map_err(sql(context))?;
            let rows = statement
                .query_map([id.0], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Option<i64>>(1)?,
                        row.get::<_, Option<String>>(2)?,
                    ))
                })
                .map_err(sql(context))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql(context))?;
            rows.into_iter()
                .map(|(run, finished_at, summary)| {
                    Ok(RunSummary {
                        run: RunId(run),
                        finished_at: finished_at.unwrap_or(0),
                        summary: parse_summary(summary.as_deref().unwrap_or("null"), run)?,
                    })
                })
                .collect()
        })
    }
}

/// Parses a stored summary.
pub(crate) fn parse_summary(text: &str, run: i64) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|error| Error::Corrupt {
        what: "summary",
        id: format!("run {run}"),
        detail: error.to_string(),
    })
}

/// Text tables at least this big are stored compressed.
const COMPRESS_FROM_BYTES: usize = 16 << 10;

/// The formats worth compressing: text. A binary table (rapport's tables image) is packed
/// already; Snappy would halve it again but cost more time than writing the difference.
const TEXT_FORMATS: [&str; 2] = ["csv", "json"];

/// How each table is stored: (`encoding`, bytes). Big text tables are compressed with Snappy,
/// each on a thread of its own (CSV shrinks about fourfold: a publish writes and syncs a quarter
/// of it).
pub(crate) fn encode_tables(tables: &[Table]) -> Vec<(&'static str, Cow<'_, [u8]>)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            tables.iter().map(|table| scope.spawn(move || encode(table))).collect();
        handles
            .into_iter()
            .zip(tables)
            .map(|(handle, table)| handle.join().unwrap_or_else(|_| encode(table)))
            .collect()
    })
}

fn encode(table: &Table) -> (&'static str, Cow<'_, [u8]>) {
    if table.bytes.len() < COMPRESS_FROM_BYTES || !TEXT_FORMATS.contains(&table.format.as_str()) {
        return ("identity", Cow::Borrowed(&table.bytes));
    }
    match snap::raw::Encoder::new().compress_vec(&table.bytes) {
        Ok(compressed) => ("snappy", Cow::Owned(compressed)),
        Err(_) => ("identity", Cow::Borrowed(&table.bytes)),
    }
}

/// A stored table as its file's bytes.
fn decode_table(mut table: Table, encoding: &str) -> Result<Table, Error> {
    match encoding {
        "identity" => Ok(table),
        "snappy" => {
            table.bytes =
                snap::raw::Decoder::new().decompress_vec(&table.bytes).map_err(|error| {
                    Error::Damaged(format!(
                        "result table {} does not decompress: {error}",
                        table.name
                    ))
                })?;
            Ok(table)
        }
        other => Err(Error::Damaged(format!(
            "result table {} is stored as {other:?}, which this rapport does not read",
            table.name
        ))),
    }
}
