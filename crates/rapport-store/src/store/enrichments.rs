//! Enrichments: create, read, update and delete; consent, activation and the schedule pointer.

use rusqlite::{Connection, OptionalExtension as _, Row, params};

use crate::config::EnrichmentConfig;
use crate::enrichment::{Consent, Enrichment, EnrichmentId};
use crate::error::Error;
use crate::run::RunStatus;
use crate::schedule::next_run_after;
use crate::store::{Store, sql};

/// The columns [`enrichment_row`] reads, from `enrichments e`.
const SELECT_ENRICHMENT: &str = "
    SELECT e.id, e.config, e.consent_by, e.consent_at, e.revoked_by, e.revoked_at, e.active,
           e.next_run_at, e.created_at, e.updated_at, e.results_version,
           (SELECT r.status FROM runs r WHERE r.enrichment_id = e.id ORDER BY r.id DESC LIMIT 1)
    FROM enrichments e";

/// Why a queued run ends when consent is revoked.
const REVOKED_REASON: &str = "cancelled: consent was revoked";

impl Store {
    /// Saves a new enrichment after validating it ([`Error::Invalid`] lists every problem,
    /// including a name already in use). It awaits consent: it does not run yet.
    pub fn create_enrichment(
        &self,
        config: &EnrichmentConfig,
        now: i64,
    ) -> Result<EnrichmentId, Error> {
        let mut problems = config.validate().err().unwrap_or_default();
        self.write("could not save the enrichment", |transaction| {
            if name_taken(transaction, &config.name, None)? {
                problems.push(name_taken_problem(&config.name));
            }
            if !problems.is_empty() {
                return Err(Error::Invalid(std::mem::take(&mut problems)));
            }
            let json = config_json(config)?;
            transaction
                .execute(
                    "INSERT INTO enrichments (name, config, active, created_at, updated_at)
                     VALUES (?1, ?2, 1, ?3, ?3)",
                    params![config.name, json, now],
                )
                .map_err(sql("could not save the enrichment"))?;
            Ok(EnrichmentId(transaction.last_insert_rowid()))
        })
    }

    /// Replaces an enrichment's configuration after validating it. Consent, activation, runs and
    /// results are kept. When the schedule changes, the next run moves to the new schedule's next
    /// slot, unless the first run after consent is still pending.
    pub fn update_enrichment(
        &self,
        id: EnrichmentId,
        config: &EnrichmentConfig,
        now: i64,
    ) -> Result<(), Error> {
        let mut problems = config.validate().err().unwrap_or_default();
        self.write("could not update the enrichment", |transaction| {
            let current = load_enrichment(transaction, id)?;
            if name_taken(transaction, &config.name, Some(id))? {
                problems.push(name_taken_problem(&config.name));
            }
            if !problems.is_empty() {
                return Err(Error::Invalid(std::mem::take(&mut problems)));
            }
            let first_run_pending: bool = transaction
                .query_row(
                    "SELECT first_run_pending FROM enrichments WHERE id = ?1",
                    [id.0],
                    |row| row.get(0),
                )
                .map_err(sql("could not update the enrichment"))?;
            let next_run_at = if current.consent.is_some()
                && current.config.schedule != config.schedule
                && !first_run_pending
            {
                next_run_after(&config.schedule, now)
            } else {
                current.next_run_at
            };
            transaction
                .execute(
                    "UPDATE enrichments SET name = ?2, config = ?3, next_run_at = ?4, updated_at = ?5
                     WHERE id = ?1",
                    params![id.0, config.name, config_json(config)?, next_run_at, now],
                )
                .map_err(sql("could not update the enrichment"))?;
            // Another Graph configuration may name another tenant: what was kept from the old
            // one (items, delta links and the permission check) is neither counted nor followed.
            if current.config.graph_config != config.graph_config {
                crate::store::graph::forget_graph(transaction, id)?;
            }
            Ok(())
        })
    }

    /// The enrichment `id` ([`Error::NotFound`] when there is none).
    pub fn enrichment(&self, id: EnrichmentId) -> Result<Enrichment, Error> {
        self.read("could not read the enrichment", |transaction| load_enrichment(transaction, id))
    }

    /// The enrichment named `name`, compared without regard to ASCII case.
    pub fn enrichment_by_name(&self, name: &str) -> Result<Enrichment, Error> {
        self.read("could not read the enrichment", |transaction| {
            let row = transaction
                .query_row(
                    &format!("{SELECT_ENRICHMENT} WHERE e.name = ?1"),
                    [name],
                    enrichment_row,
                )
                .optional()
                .map_err(sql("could not read the enrichment"))?;
            match row {
                Some(row) => into_enrichment(row),
                None => Err(Error::NotFound { what: "enrichment", id: format!("{name:?}") }),
            }
        })
    }

    /// Every enrichment, by name.
    pub fn enrichments(&self) -> Result<Vec<Enrichment>, Error> {
        self.read("could not list the enrichments", |transaction| {
            let mut statement = transaction
                .prepare(&format!("{SELECT_ENRICHMENT} ORDER BY e.name, e.id"))
                .map_err(sql("could not list the enrichments"))?;
            let rows = statement
                .query_map([], enrichment_row)
                .map_err(sql("could not list the enrichments"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql("could not list the enrichments"))?;
            rows.into_iter().map(into_enrichment).collect()
        })
    }

    /// Deletes an enrichment with its runs and results.
    pub fn delete_enrichment(&self, id: EnrichmentId) -> Result<(), Error> {
        self.write("could not delete the enrichment", |transaction| {
            let n_deleted = transaction
                .execute("DELETE FROM enrichments WHERE id = ?1", [id.0])
                .map_err(sql("could not delete the enrichment"))?;
            if n_deleted == 0 {
                return Err(not_found(id));
            }
            Ok(())
        })
    }

    /// Records an administrator's consent (`by`, at `now`) and schedules the first run
    /// `first_run_delay_seconds` later ([`crate::FIRST_RUN_DELAY_SECONDS`] by default; 0 runs it
    /// at the scheduler's next look; a negative delay counts as 0).
    pub fn consent(
        &self,
        id: EnrichmentId,
        by: &str,
        now: i64,
        first_run_delay_seconds: i64,
    ) -> Result<(), Error> {
        let by = by.trim();
        if by.is_empty() {
            return Err(Error::Invalid(vec!["by: name who consents".into()]));
        }
        let first_run_at = now.saturating_add(first_run_delay_seconds.max(0));
        self.write("could not record the consent", |transaction| {
            let n_updated = transaction
                .execute(
                    "UPDATE enrichments
                     SET consent_by = ?2, consent_at = ?3, revoked_by = NULL, revoked_at = NULL,
                         next_run_at = ?4, first_run_pending = 1, updated_at = ?3
                     WHERE id = ?1",
                    params![id.0, by, now, first_run_at],
                )
                .map_err(sql("could not record the consent"))?;
            if n_updated == 0 {
                return Err(not_found(id));
            }
            Ok(())
        })
    }

    /// Revokes consent: no run starts until it is given again. A queued run is cancelled at once
    /// and a running one is asked to cancel; the last results are kept.
    pub fn revoke_consent(&self, id: EnrichmentId, by: &str, now: i64) -> Result<(), Error> {
        self.write("could not revoke the consent", |transaction| {
            let context = "could not revoke the consent";
            let n_updated = transaction
                .execute(
                    "UPDATE enrichments
                     SET consent_by = NULL, consent_at = NULL, revoked_by = ?2, revoked_at = ?3,
                         next_run_at = NULL, first_run_pending = 0, updated_at = ?3
                     WHERE id = ?1",
                    params![id.0, by.trim(), now],
                )
                .map_err(sql(context))?;
            if n_updated == 0 {
                return Err(not_found(id));
            }
            transaction
                .execute(
                    "UPDATE runs SET status = 'Cancelled', finished_at = ?2, error = ?3
                     WHERE enrichment_id = ?1 AND status = 'Queued'",
                    params![id.0, now, REVOKED_REASON],
                )
                .map_err(sql(context))?;
            transaction
                .execute(
                    "UPDATE runs SET cancel_requested = 1
                     WHERE enrichment_id = ?1 AND status = 'Running'",
                    [id.0],
                )
                .map_err(sql(context))?;
            Ok(())
        })
    }

    /// Activates or deactivates an enrichment. An inactive one is not refreshed on its schedule
    /// and keeps its last results; on activation, a scheduled run missed meanwhile is due at once.
    pub fn set_active(&self, id: EnrichmentId, active: bool, now: i64) -> Result<(), Error> {
        self.write("could not change the enrichment", |transaction| {
            let n_updated = transaction
                .execute(
                    "UPDATE enrichments SET active = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id.0, active, now],
                )
                .map_err(sql("could not change the enrichment"))?;
            if n_updated == 0 {
                return Err(not_found(id));
            }
            Ok(())
        })
    }

    /// The enrichments whose scheduled run is due at `now`: consented, active, and with a next
    /// run at or before `now` (there is none when the schedule is Off, except the first run after
    /// consent). Earliest due first.
    pub fn due(&self, now: i64) -> Result<Vec<EnrichmentId>, Error> {
        self.read("could not read the schedule", |transaction| {
            let mut statement = transaction
                .prepare(
                    "SELECT id FROM enrichments
                     WHERE consent_at IS NOT NULL AND active = 1 AND next_run_at <= ?1
                     ORDER BY next_run_at, id",
                )
                .map_err(sql("could not read the schedule"))?;
            statement
                .query_map([now], |row| row.get(0).map(EnrichmentId))
                .map_err(sql("could not read the schedule"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql("could not read the schedule"))
        })
    }

    /// Sets (or clears) when the next scheduled run is due.
    pub fn set_next_run(&self, id: EnrichmentId, at: Option<i64>) -> Result<(), Error> {
        self.write("could not change the schedule", |transaction| {
            let n_updated = transaction
                .execute("UPDATE enrichments SET next_run_at = ?2 WHERE id = ?1", params![id.0, at])
                .map_err(sql("could not change the schedule"))?;
            if n_updated == 0 {
                return Err(not_found(id));
            }
            Ok(())
        })
    }
}

/// An enrichment row as read, before its JSON is parsed.
struct EnrichmentRow {
    id: i64,
    config: String,
    consent_by: Option<String>,
    consent_at: Option<i64>,
    revoked_by: Option<String>,
    revoked_at: Option<i64>,
    active: bool,
    next_run_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    results_version: Option<i64>,
    last_run_status: Option<String>,
}

/// Reads the columns of [`SELECT_ENRICHMENT`].
fn enrichment_row(row: &Row<'_>) -> rusqlite::Result<EnrichmentRow> {
    Ok(EnrichmentRow {
        id: row.get(0)?,
        config: row.get(1)?,
        consent_by: row.get(2)?,
        consent_at: row.get(3)?,
        revoked_by: row.get(4)?,
        revoked_at: row.get(5)?,
        active: row.get(6)?,
        next_run_at: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
        results_version: row.get(10)?,
        last_run_status: row.get(11)?,
    })
}

/// Parses a row's configuration and statuses.
fn into_enrichment(row: EnrichmentRow) -> Result<Enrichment, Error> {
    let config: EnrichmentConfig =
        serde_json::from_str(&row.config).map_err(|error| Error::Corrupt {
            what: "configuration",
            id: format!("enrichment {}", row.id),
            detail: error.to_string(),
        })?;
    let last_run_status = match row.last_run_status.as_deref() {
        None => RunStatus::NotStarted,
        Some(text) => RunStatus::from_text(text).ok_or_else(|| Error::Corrupt {
            what: "run status",
            id: format!("enrichment {}", row.id),
            detail: format!("{text:?} is not a run status"),
        })?,
    };
    let consent = |by: Option<String>, at: Option<i64>| match (by, at) {
        (Some(by), Some(at)) => Some(Consent { by, at }),
        _ => None,
    };
    Ok(Enrichment {
        id: EnrichmentId(row.id),
        config,
        consent: consent(row.consent_by, row.consent_at),
        consent_revoked: consent(row.revoked_by, row.revoked_at),
        active: row.active,
        next_run_at: row.next_run_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
        results_version: row.results_version,
        last_run_status,
    })
}

/// Reads the enrichment `id` inside a transaction.
pub(crate) fn load_enrichment(
    connection: &Connection,
    id: EnrichmentId,
) -> Result<Enrichment, Error> {
    let row = connection
        .query_row(&format!("{SELECT_ENRICHMENT} WHERE e.id = ?1"), [id.0], enrichment_row)
        .optional()
        .map_err(sql("could not read the enrichment"))?;
    match row {
        Some(row) => into_enrichment(row),
        None => Err(not_found(id)),
    }
}

/// The error for a missing enrichment.
pub(crate) fn not_found(id: EnrichmentId) -> Error {
    Error::NotFound { what: "enrichment", id: id.to_string() }
}

/// Whether another enrichment than `except` has the name `name` (ASCII case ignored).
fn name_taken(
    connection: &Connection,
    name: &str,
    except: Option<EnrichmentId>,
) -> Result<bool, Error> {
    let other: Option<i64> = connection
        .query_row("SELECT id FROM enrichments WHERE name = ?1", [name], |row| row.get(0))
        .optional()
        .map_err(sql("could not check the enrichment name"))?;
    Ok(other.is_some_and(|other| Some(EnrichmentId(other)) != except))
}

/// The validation problem for a name already in use.
fn name_taken_problem(name: &str) -> String {
    format!("name: an enrichment named {name:?} already exists")
}

/// The configuration as stored.
fn config_json(config: &EnrichmentConfig) -> Result<String, Error> {
    // Validation refuses the only thing that fails here (paths that are not UTF-8).
    serde_json::to_string(config).map_err(|error| Error::Invalid(vec![format!("config: {error}")]))
}
