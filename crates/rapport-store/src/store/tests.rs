use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::json;

use crate::config::{EnrichmentConfig, Frequency};
use crate::enrichment::EnrichmentId;
use crate::error::Error;
use crate::ledger::{self, LedgerChange, LedgerFile, LedgerUpdate};
use crate::results::Table;
use crate::run::{QueueOutcome, RunId, RunOutcome, RunStatus, Stage, StageProgress, Trigger};
use crate::store::{Store, schema};
use crate::{FIRST_RUN_DELAY_SECONDS, MAX_KEPT_WARNINGS};

/// 2024-01-01T00:00:00Z, a Monday.
const T0: i64 = 1_704_067_200;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// A valid configuration named `name` (weekly on Monday at 02:00 UTC).
fn config(name: &str) -> EnrichmentConfig {
    let mut config = EnrichmentConfig::new(
        name,
        PathBuf::from("/data/contacts.csv"),
        vec![PathBuf::from("/data/mail")],
    );
    config.users = vec!["alice@contoso.com".into(), "bob@contoso.com".into()];
    config
}

/// The three output tables, each holding its name and `marker`.
fn tables(marker: &str) -> Vec<Table> {
    ["Office", "Office_UserEntity", "Office_ScoreExplanation"]
        .into_iter()
        .map(|name| Table {
            name: name.to_owned(),
            format: "csv".to_owned(),
            bytes: format!("{name} {marker}\n").into_bytes(),
        })
        .collect()
}

/// A run summary.
fn summary(accounts_enriched: i64, days_covered: i64) -> serde_json::Value {
    json!({"accounts_enriched": accounts_enriched, "accounts_total": 100, "days_covered": days_covered})
}

/// Creates `name` and consents with the first run due at once.
fn consented(store: &Store, name: &str) -> EnrichmentId {
    let id = store.create_enrichment(&config(name), T0).expect("create");
    store.consent(id, "admin@contoso.com", T0, 0).expect("consent");
    id
}

/// Queues, starts and finishes a manual run at `now`, publishing `tables(marker)`.
fn successful_run(store: &Store, id: EnrichmentId, marker: &str, now: i64) -> RunId {
    let run = running(store, id, now);
    store.set_stage(run, Stage::Publish, 0, 1, now).expect("stage");
    store
        .finish_run(
            run,
            RunOutcome::Successful { summary: summary(7, 30), tables: tables(marker) },
            now,
        )
        .expect("finish");
    run
}

/// Queues and starts a manual run at `now`.
fn running(store: &Store, id: EnrichmentId, now: i64) -> RunId {
    let QueueOutcome::Queued(run) = store.queue_run(id, Trigger::Manual, now).expect("queue")
    else {
        panic!("the run was skipped");
    };
    store.start_run(run, now).expect("start");
    run
}

/// The markers of the latest results' tables (`None` without results).
fn published(store: &Store, id: EnrichmentId) -> Option<(i64, Vec<String>)> {
    store.latest_results(id).expect("results").map(|results| {
        let texts = results
            .tables
            .iter()
            .map(|table| String::from_utf8_lossy(&table.bytes).trim_end().to_owned())
            .collect();
        (results.version, texts)
    })
}

/// Every table of the database with its number of rows.
fn row_counts(store: &Store) -> Vec<(String, i64)> {
    let connection = store.writer.lock().expect("writer");
    let names: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("names");
    names
        .into_iter()
        .map(|name| {
            let count = connection
                .query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |row| row.get(0))
                .expect("count");
            (name, count)
        })
        .collect()
}

fn utc_text(instant: i64) -> String {
    chrono::DateTime::from_timestamp(instant, 0)
        .expect("instant")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

// --- Enrichments and validation ---

#[test]
fn an_invalid_configuration_lists_every_problem() {
    let store = Store::open_in_memory().expect("store");
    let mut invalid = config("Sales");
    invalid.users = vec!["alice@contoso.com".into(), "nobody".into()];
    invalid.sources = Vec::new();
    invalid.weights.insert("recency".into(), "-1".into());
    invalid.schedule.times = Vec::new();
    let Err(Error::Invalid(problems)) = store.create_enrichment(&invalid, T0) else {
        panic!("an invalid configuration was saved");
    };
    assert_eq!(
        problems,
        [
            "users[1]: \"nobody\" is not an email address",
            "users: 1 org user after resolving groups and removing duplicates; 2 to 2500 are needed",
            "sources: no activity sources: give at least one file or folder, or a Graph configuration",
            "weights.recency: the weight is negative (-1)",
            "schedule.times: 0 times of day; 1 to 4 are needed",
        ]
    );
    assert_eq!(store.enrichments().expect("list"), []);
}

#[test]
fn names_are_unique_without_regard_to_case() {
    let store = Store::open_in_memory().expect("store");
    store.create_enrichment(&config("Sales"), T0).expect("create");
    let error = store.create_enrichment(&config("SALES"), T0).expect_err("duplicate");
    assert_eq!(
        error.to_string(),
        "invalid enrichment: name: an enrichment named \"SALES\" already exists"
    );
    let mut unnamed = config("");
    unnamed.sources = Vec::new();
    let Err(Error::Invalid(problems)) = store.create_enrichment(&unnamed, T0) else {
        panic!("saved");
    };
    assert_eq!(
        problems,
        [
            "name: the enrichment needs a name",
            "sources: no activity sources: give at least one file or folder, or a Graph configuration",
        ]
    );
    assert_eq!(store.enrichment_by_name("sales").expect("by name").config.name, "Sales");
    let missing = store.enrichment_by_name("Support").expect_err("missing");
    assert_eq!(missing.to_string(), "enrichment \"Support\" not found");
    let missing = store.enrichment(EnrichmentId(42)).expect_err("missing");
    assert_eq!(missing.to_string(), "enrichment 42 not found");
}

#[test]
fn a_new_enrichment_awaits_consent_and_does_not_run() {
    let store = Store::open_in_memory().expect("store");
    let id = store.create_enrichment(&config("Sales"), T0).expect("create");
    let enrichment = store.enrichment(id).expect("read");
    assert_eq!(enrichment.config, config("Sales"));
    assert_eq!(enrichment.consent, None);
    assert!(enrichment.active);
    assert_eq!(enrichment.next_run_at, None);
    assert_eq!(enrichment.created_at, T0);
    assert_eq!(enrichment.updated_at, T0);
    assert_eq!(enrichment.results_version, None);
    assert_eq!(enrichment.last_run_status, RunStatus::NotStarted);
    assert_eq!(store.due(T0 + 365 * DAY).expect("due"), []);
    let error = store.queue_run(id, Trigger::Manual, T0).expect_err("no consent");
    assert_eq!(
        error.to_string(),
        "enrichment \"Sales\" has no administrator consent: no run starts without it"
    );
    assert_eq!(store.runs(id).expect("runs"), []);
    assert_eq!(store.latest_results(id).expect("results"), None);
}

#[test]
fn enrichments_are_listed_by_name() {
    let store = Store::open_in_memory().expect("store");
    for name in ["Support", "Marketing", "Sales"] {
        store.create_enrichment(&config(name), T0).expect("create");
    }
    let names: Vec<String> = store
        .enrichments()
        .expect("list")
        .into_iter()
        .map(|enrichment| enrichment.config.name)
        .collect();
    assert_eq!(names, ["Marketing", "Sales", "Support"]);
}

#[test]
fn updating_keeps_consent_and_results() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    successful_run(&store, id, "v1", T0 + HOUR);
    let other = store.create_enrichment(&config("Support"), T0).expect("create");

    let mut changed = config("Sales Europe");
    changed.output_table = "Europe".into();
    store.update_enrichment(id, &changed, T0 + 2 * HOUR).expect("update");
    let enrichment = store.enrichment(id).expect("read");
    assert_eq!(enrichment.config, changed);
    assert_eq!(enrichment.updated_at, T0 + 2 * HOUR);
    assert_eq!(enrichment.created_at, T0);
    assert!(enrichment.consent.is_some());
    assert_eq!(enrichment.results_version, Some(1));
    assert_eq!(published(&store, id).map(|(version, _)| version), Some(1));

    let error = store.update_enrichment(other, &changed, T0).expect_err("name taken");
    assert_eq!(
        error.to_string(),
        "invalid enrichment: name: an enrichment named \"Sales Europe\" already exists"
    );
    let error = store.update_enrichment(EnrichmentId(99), &config("X"), T0).expect_err("missing");
    assert_eq!(error.to_string(), "enrichment 99 not found");
}

#[test]
fn a_schedule_change_moves_the_next_run_unless_the_first_run_is_pending() {
    let store = Store::open_in_memory().expect("store");
    let id = store.create_enrichment(&config("Sales"), T0).expect("create");
    store.consent(id, "admin", T0, FIRST_RUN_DELAY_SECONDS).expect("consent");
    let mut daily = config("Sales");
    daily.schedule.frequency = Frequency::Daily;
    store.update_enrichment(id, &daily, T0 + HOUR).expect("update");
    // The first run after consent stays where consent put it.
    assert_eq!(store.enrichment(id).expect("read").next_run_at, Some(T0 + 6 * HOUR));

    store.queue_run(id, Trigger::Scheduled, T0 + 6 * HOUR).expect("queue");
    assert_eq!(
        utc_text(store.enrichment(id).expect("read").next_run_at.unwrap_or(0)),
        "2024-01-02T02:00:00Z"
    );
    let mut weekly_friday = config("Sales");
    weekly_friday.schedule.weekday = chrono::Weekday::Fri;
    store.update_enrichment(id, &weekly_friday, T0 + 7 * HOUR).expect("update");
    assert_eq!(
        utc_text(store.enrichment(id).expect("read").next_run_at.unwrap_or(0)),
        "2024-01-05T02:00:00Z"
    );
}

// --- Consent and scheduling ---

#[test]
fn consent_schedules_the_first_run_six_hours_later() {
    let store = Store::open_in_memory().expect("store");
    let id = store.create_enrichment(&config("Sales"), T0).expect("create");
    let consent_at = T0 + 10 * 60;
    store.consent(id, "admin@contoso.com", consent_at, FIRST_RUN_DELAY_SECONDS).expect("consent");
    let enrichment = store.enrichment(id).expect("read");
    let consent = enrichment.consent.expect("consent recorded");
    assert_eq!((consent.by.as_str(), consent.at), ("admin@contoso.com", consent_at));
    assert_eq!(enrichment.next_run_at, Some(consent_at + 6 * HOUR));
    assert_eq!(store.due(consent_at + 6 * HOUR - 1).expect("due"), []);
    assert_eq!(store.due(consent_at + 6 * HOUR).expect("due"), [id]);
    let error = store.consent(id, "  ", consent_at, 0).expect_err("nobody");
    assert_eq!(error.to_string(), "invalid enrichment: by: name who consents");
}

#[test]
fn run_now_is_due_at_once_and_the_scheduled_run_takes_its_slot() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    assert_eq!(store.due(T0).expect("due"), [id]);
    let QueueOutcome::Queued(run) = store.queue_run(id, Trigger::Scheduled, T0).expect("queue")
    else {
        panic!("skipped");
    };
    // The next slot of "weekly, Monday 02:00 UTC" after Monday 00:00 is the same day.
    assert_eq!(store.enrichment(id).expect("read").next_run_at, Some(T0 + 2 * HOUR));
    assert_eq!(store.due(T0 + HOUR).expect("due"), []);
    store.start_run(run, T0).expect("start");
    store
        .finish_run(
            run,
            RunOutcome::Successful { summary: summary(1, 2), tables: tables("v1") },
            T0 + 60,
        )
        .expect("finish");
    // The next run, still ahead, is kept.
    assert_eq!(store.enrichment(id).expect("read").next_run_at, Some(T0 + 2 * HOUR));
    let run = store.run(run).expect("run");
    assert_eq!(run.trigger, Trigger::Scheduled);
    assert_eq!(run.status, RunStatus::Successful);
}

#[test]
fn off_runs_only_the_first_run_after_consent() {
    let store = Store::open_in_memory().expect("store");
    let mut off = config("Sales");
    off.schedule.frequency = Frequency::Off;
    let id = store.create_enrichment(&off, T0).expect("create");
    store.consent(id, "admin", T0, FIRST_RUN_DELAY_SECONDS).expect("consent");
    assert_eq!(store.due(T0 + 6 * HOUR).expect("due"), [id]);
    store.queue_run(id, Trigger::Scheduled, T0 + 6 * HOUR).expect("queue");
    assert_eq!(store.enrichment(id).expect("read").next_run_at, None);
    assert_eq!(store.due(T0 + 365 * DAY).expect("due"), []);
}

#[test]
fn a_manual_run_does_not_push_back_a_pending_scheduled_run() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    store.set_next_run(id, Some(T0 + 2 * HOUR)).expect("set");
    successful_run(&store, id, "v1", T0 + HOUR);
    assert_eq!(store.enrichment(id).expect("read").next_run_at, Some(T0 + 2 * HOUR));
    // When the next run is overdue, a finished run moves it to the next slot after now.
    successful_run(&store, id, "v2", T0 + 3 * HOUR);
    assert_eq!(
        utc_text(store.enrichment(id).expect("read").next_run_at.unwrap_or(0)),
        "2024-01-08T02:00:00Z"
    );
}

#[test]
fn a_scheduled_run_while_one_runs_is_skipped_and_recorded() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let first = running(&store, id, T0);
    let outcome = store.queue_run(id, Trigger::Scheduled, T0 + 60).expect("queue");
    let QueueOutcome::Skipped(skipped) = outcome else { panic!("stacked: {outcome:?}") };
    let skipped = store.run(skipped).expect("run");
    assert_eq!(skipped.status, RunStatus::Skipped);
    assert_eq!(skipped.trigger, Trigger::Scheduled);
    assert_eq!(skipped.queued_at, T0 + 60);
    assert_eq!(skipped.finished_at, Some(T0 + 60));
    assert_eq!(
        skipped.error.as_deref(),
        Some(format!("skipped: run {first} was still queued or running").as_str())
    );
    // The slot is taken: the scheduler does not skip again at its next look.
    assert_eq!(store.due(T0 + 120).expect("due"), []);
    let runs: Vec<(RunId, RunStatus)> =
        store.runs(id).expect("runs").into_iter().map(|run| (run.id, run.status)).collect();
    assert_eq!(runs, [(skipped.id, RunStatus::Skipped), (first, RunStatus::Running)]);
    assert_eq!(store.enrichment(id).expect("read").last_run_status, RunStatus::Skipped);
    // A queued run also makes the next one skip.
    store.finish_run(first, RunOutcome::Failed { error: "boom".into() }, T0 + 180).expect("finish");
    store.queue_run(id, Trigger::Manual, T0 + 200).expect("queue");
    assert!(matches!(store.queue_run(id, Trigger::Manual, T0 + 201), Ok(QueueOutcome::Skipped(_))));
}

// --- Runs: stages, warnings, cancel ---

#[test]
fn stages_record_progress_and_timing() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let run = running(&store, id, T0);
    store.set_stage(run, Stage::ResolveUsers, 0, 1, T0 + 1).expect("stage");
    store.set_stage(run, Stage::ResolveUsers, 1, 1, T0 + 2).expect("stage");
    store.set_stage(run, Stage::ReadSources, 0, 1000, T0 + 3).expect("stage");
    store.set_stage(run, Stage::ReadSources, 400, 1000, T0 + 9).expect("stage");
    store.add_warning(run, "contacts.csv line 7: no email").expect("warn");
    store.add_warning(run, "mail/x.mbox: not an mbox file").expect("warn");
    let read = store.run(run).expect("run");
    assert_eq!(read.status, RunStatus::Running);
    assert_eq!(read.started_at, Some(T0));
    assert_eq!(read.stage, Some(Stage::ReadSources));
    assert_eq!(
        read.stages,
        [
            StageProgress {
                stage: Stage::ResolveUsers,
                done: 1,
                total: 1,
                started_at: T0 + 1,
                updated_at: T0 + 2,
                finished_at: Some(T0 + 3)
            },
            StageProgress {
                stage: Stage::ReadSources,
                done: 400,
                total: 1000,
                started_at: T0 + 3,
                updated_at: T0 + 9,
                finished_at: None
            },
        ]
    );
    assert_eq!(read.warnings, ["contacts.csv line 7: no email", "mail/x.mbox: not an mbox file"]);
    assert_eq!(read.n_warnings, 2);

    store
        .finish_run(
            run,
            RunOutcome::Successful { summary: summary(3, 4), tables: tables("v1") },
            T0 + 20,
        )
        .expect("finish");
    let read = store.run(run).expect("run");
    assert_eq!(read.status, RunStatus::Successful);
    assert_eq!(read.finished_at, Some(T0 + 20));
    assert_eq!(read.stages[1].finished_at, Some(T0 + 20));
    assert_eq!(read.summary, Some(summary(3, 4)));
    assert_eq!(read.results_version, Some(1));
    assert_eq!(read.error, None);
    // A finished run takes no more progress and cannot finish twice.
    let error = store.set_stage(run, Stage::Score, 0, 1, T0 + 21).expect_err("finished");
    assert_eq!(error.to_string(), format!("run {run} is Successful: cannot record its progress"));
    let error = store.finish_run(run, RunOutcome::Cancelled, T0 + 21).expect_err("finished");
    assert_eq!(error.to_string(), format!("run {run} is Successful: cannot finish it"));
    assert_eq!(store.run(RunId(999)).expect_err("missing").to_string(), "run 999 not found");
}

#[test]
fn warnings_beyond_the_limit_are_counted_not_kept() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let run = running(&store, id, T0);
    for index in 0..MAX_KEPT_WARNINGS + 2 {
        store.add_warning(run, &format!("warning {index}")).expect("warn");
    }
    let read = store.run(run).expect("run");
    assert_eq!(read.n_warnings, MAX_KEPT_WARNINGS + 2);
    assert_eq!(read.warnings.len() as u64, MAX_KEPT_WARNINGS);
    assert_eq!(read.warnings.last().map(String::as_str), Some("warning 999"));
}

#[test]
fn cancelling_a_queued_run_ends_it_at_once() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let QueueOutcome::Queued(run) = store.queue_run(id, Trigger::Manual, T0).expect("queue") else {
        panic!("skipped");
    };
    store.request_cancel(run, T0 + 5).expect("cancel");
    let read = store.run(run).expect("run");
    assert_eq!(read.status, RunStatus::Cancelled);
    assert_eq!(read.finished_at, Some(T0 + 5));
    assert_eq!(read.error.as_deref(), Some("cancelled before it started"));
    assert!(store.cancel_requested(run).expect("flag"));
    let error = store.start_run(run, T0 + 6).expect_err("cancelled");
    assert_eq!(error.to_string(), format!("run {run} is Cancelled: cannot start it"));
    // Nothing is left queued: the next run is not skipped.
    assert!(matches!(store.queue_run(id, Trigger::Manual, T0 + 7), Ok(QueueOutcome::Queued(_))));
}

#[test]
fn cancelling_a_running_run_keeps_the_last_results() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    successful_run(&store, id, "v1", T0);
    let run = running(&store, id, T0 + HOUR);
    store.set_stage(run, Stage::Aggregate, 5, 10, T0 + HOUR).expect("stage");
    assert!(!store.cancel_requested(run).expect("flag"));
    store.request_cancel(run, T0 + HOUR + 1).expect("cancel");
    assert!(store.cancel_requested(run).expect("flag"));
    assert_eq!(store.run(run).expect("run").status, RunStatus::Running);
    store.finish_run(run, RunOutcome::Cancelled, T0 + HOUR + 2).expect("finish");
    let read = store.run(run).expect("run");
    assert_eq!(read.status, RunStatus::Cancelled);
    assert!(read.cancel_requested);
    assert_eq!(
        published(&store, id),
        Some((
            1,
            vec![
                "Office v1".into(),
                "Office_UserEntity v1".into(),
                "Office_ScoreExplanation v1".into()
            ]
        ))
    );

    // A run that completes after its cancel was requested is Cancelled, and publishes nothing.
    let run = running(&store, id, T0 + 2 * HOUR);
    store.request_cancel(run, T0 + 2 * HOUR).expect("cancel");
    store
        .finish_run(
            run,
            RunOutcome::Successful { summary: summary(9, 9), tables: tables("v2") },
            T0 + 2 * HOUR,
        )
        .expect("finish");
    assert_eq!(store.run(run).expect("run").status, RunStatus::Cancelled);
    assert_eq!(published(&store, id).map(|(version, _)| version), Some(1));
}

#[test]
fn a_failed_run_keeps_the_last_results() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    successful_run(&store, id, "v1", T0);
    let run = running(&store, id, T0 + HOUR);
    store
        .finish_run(
            run,
            RunOutcome::Failed { error: "contacts.csv: no such file".into() },
            T0 + HOUR,
        )
        .expect("finish");
    let read = store.run(run).expect("run");
    assert_eq!(read.status, RunStatus::Failed);
    assert_eq!(read.error.as_deref(), Some("contacts.csv: no such file"));
    assert_eq!(published(&store, id).map(|(version, _)| version), Some(1));
    assert_eq!(store.enrichment(id).expect("read").last_run_status, RunStatus::Failed);
}

#[test]
fn revoking_consent_stops_runs_and_prevents_new_ones() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let other = consented(&store, "Support");
    let run = running(&store, id, T0);
    let QueueOutcome::Queued(queued) = store.queue_run(other, Trigger::Manual, T0).expect("queue")
    else {
        panic!("skipped");
    };
    store.revoke_consent(id, "dpo@contoso.com", T0 + 60).expect("revoke");
    store.revoke_consent(other, "dpo@contoso.com", T0 + 60).expect("revoke");

    assert!(store.cancel_requested(run).expect("flag"));
    let queued = store.run(queued).expect("run");
    assert_eq!(queued.status, RunStatus::Cancelled);
    assert_eq!(queued.error.as_deref(), Some("cancelled: consent was revoked"));
    let enrichment = store.enrichment(id).expect("read");
    assert_eq!(enrichment.consent, None);
    let revoked = enrichment.consent_revoked.expect("revocation recorded");
    assert_eq!((revoked.by.as_str(), revoked.at), ("dpo@contoso.com", T0 + 60));
    assert_eq!(enrichment.next_run_at, None);
    assert_eq!(store.due(T0 + 365 * DAY).expect("due"), []);
    assert!(matches!(store.queue_run(id, Trigger::Manual, T0 + 61), Err(Error::NoConsent { .. })));
    assert!(matches!(
        store.queue_run(id, Trigger::Scheduled, T0 + 61),
        Err(Error::NoConsent { .. })
    ));

    // Consent given again clears the revocation.
    store.consent(id, "admin", T0 + 120, 0).expect("consent");
    assert_eq!(store.enrichment(id).expect("read").consent_revoked, None);
}

#[test]
fn deactivating_keeps_results_and_stops_refreshes() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    successful_run(&store, id, "v1", T0);
    store.set_active(id, false, T0 + HOUR).expect("deactivate");
    let enrichment = store.enrichment(id).expect("read");
    assert!(!enrichment.active);
    assert_eq!(enrichment.results_version, Some(1));
    assert_eq!(published(&store, id).map(|(version, _)| version), Some(1));
    assert_eq!(store.due(T0 + 365 * DAY).expect("due"), []);
    let error = store.queue_run(id, Trigger::Scheduled, T0 + 3 * HOUR).expect_err("inactive");
    assert_eq!(
        error.to_string(),
        "enrichment \"Sales\" is inactive: it is not refreshed on its schedule"
    );
    // A person may still run it.
    successful_run(&store, id, "v2", T0 + 3 * HOUR);
    // Activated again, the slot missed meanwhile (Monday 02:00) is due at once.
    store.set_active(id, true, T0 + 4 * HOUR).expect("activate");
    assert_eq!(store.due(T0 + 4 * HOUR).expect("due"), [id]);
}

#[test]
fn deleting_an_enrichment_deletes_its_runs_and_results() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let other = consented(&store, "Support");
    for enrichment in [id, other] {
        successful_run(&store, enrichment, "v1", T0);
        successful_run(&store, enrichment, "v2", T0 + HOUR);
        let run = running(&store, enrichment, T0 + 2 * HOUR);
        store.add_warning(run, "a warning").expect("warn");
        store.set_stage(run, Stage::ReadSources, 1, 2, T0 + 2 * HOUR).expect("stage");
        store.queue_run(enrichment, Trigger::Manual, T0 + 2 * HOUR).expect("skip");
    }
    store.apply_graph_page(id, &graph_page("m1", &["g1", "g2"])).expect("graph page");
    store.delete_enrichment(id).expect("delete");
    assert!(matches!(store.enrichment(id), Err(Error::NotFound { .. })));
    assert!(matches!(store.runs(id), Err(Error::NotFound { .. })));
    assert!(matches!(store.latest_results(id), Err(Error::NotFound { .. })));
    assert!(matches!(store.delete_enrichment(id), Err(Error::NotFound { .. })));
    // The other enrichment is whole.
    assert_eq!(store.runs(other).expect("runs").len(), 4);
    assert_eq!(published(&store, other).map(|(version, _)| version), Some(2));
    let counts = row_counts(&store);
    let expected: Vec<(String, i64)> = [
        ("enrichments", 1),
        ("erased_addresses", 0),
        ("graph_items", 0),
        ("graph_state", 0),
        ("ledger_files", 0),
        ("result_tables", 6),
        ("result_versions", 2),
        ("run_stages", 3),
        ("run_warnings", 1),
        ("runs", 4),
    ]
    .into_iter()
    .map(|(name, count)| (name.to_owned(), count))
    .collect();
    assert_eq!(counts, expected);

    store.delete_enrichment(other).expect("delete");
    assert!(row_counts(&store).iter().all(|(_, count)| *count == 0), "{:?}", row_counts(&store));
}

// --- Results ---

#[test]
fn results_are_versioned_and_the_history_kept() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let first = successful_run(&store, id, "v1", T0);
    let failed = running(&store, id, T0 + DAY);
    store.finish_run(failed, RunOutcome::Failed { error: "x".into() }, T0 + DAY).expect("fail");
    let QueueOutcome::Queued(second) =
        store.queue_run(id, Trigger::Manual, T0 + 7 * DAY).expect("queue")
    else {
        panic!("skipped");
    };
    store.start_run(second, T0 + 7 * DAY).expect("start");
    store
        .finish_run(
            second,
            RunOutcome::Successful { summary: summary(9, 37), tables: tables("v2") },
            T0 + 7 * DAY + 60,
        )
        .expect("finish");

    let results = store.latest_results(id).expect("results").expect("published");
    assert_eq!(results.version, 2);
    assert_eq!(results.run, second);
    assert_eq!(results.published_at, T0 + 7 * DAY + 60);
    assert_eq!(results.summary, summary(9, 37));
    assert_eq!(results.tables, tables("v2"));
    assert_eq!(store.enrichment(id).expect("read").results_version, Some(2));

    let history: Vec<(RunId, i64, serde_json::Value)> = store
        .history(id)
        .expect("history")
        .into_iter()
        .map(|entry| (entry.run, entry.finished_at, entry.summary))
        .collect();
    assert_eq!(history, [(first, T0, summary(7, 30)), (second, T0 + 7 * DAY + 60, summary(9, 37))]);
    assert!(matches!(store.history(EnrichmentId(99)), Err(Error::NotFound { .. })));
}

#[test]
fn only_the_latest_two_versions_keep_their_tables() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    for (index, marker) in ["v1", "v2", "v3", "v4"].into_iter().enumerate() {
        successful_run(&store, id, marker, T0 + index as i64 * DAY);
    }
    let connection = store.writer.lock().expect("writer");
    let versions: Vec<i64> = connection
        .prepare("SELECT version FROM result_versions ORDER BY version")
        .expect("prepare")
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("versions");
    assert_eq!(versions, [3, 4]);
    drop(connection);
    assert_eq!(store.history(id).expect("history").len(), 4);
}

// --- Recovery ---

#[test]
fn interrupted_runs_are_failed_with_their_stage_and_retried() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    successful_run(&store, id, "v1", T0);
    let other = consented(&store, "Support");
    let interrupted = running(&store, id, T0 + HOUR);
    store.set_stage(interrupted, Stage::ReadSources, 10, 20, T0 + HOUR).expect("stage");
    let QueueOutcome::Queued(queued) =
        store.queue_run(other, Trigger::Manual, T0 + HOUR).expect("queue")
    else {
        panic!("skipped");
    };
    let unstaged = consented(&store, "Marketing");
    let unstaged_run = running(&store, unstaged, T0 + HOUR);
    store.set_next_run(id, Some(T0 + 7 * DAY)).expect("set");

    let recovered = store.recover_interrupted(T0 + 2 * HOUR).expect("recover");
    assert_eq!(recovered, [interrupted, queued, unstaged_run]);
    let read = store.run(interrupted).expect("run");
    assert_eq!(read.status, RunStatus::Failed);
    assert_eq!(read.finished_at, Some(T0 + 2 * HOUR));
    assert_eq!(
        read.error.as_deref(),
        Some("interrupted: the process stopped during stage read sources")
    );
    assert_eq!(read.stages[0].finished_at, Some(T0 + 2 * HOUR));
    assert_eq!(
        store.run(queued).expect("run").error.as_deref(),
        Some("interrupted: the process stopped before the run started")
    );
    assert_eq!(
        store.run(unstaged_run).expect("run").error.as_deref(),
        Some("interrupted: the process stopped before the first stage")
    );
    assert_eq!(published(&store, id).map(|(version, _)| version), Some(1));
    // The interrupted refresh is due again at once, and a second recovery finds nothing.
    assert_eq!(store.enrichment(id).expect("read").next_run_at, Some(T0 + 2 * HOUR));
    assert_eq!(store.due(T0 + 2 * HOUR).expect("due").len(), 3);
    assert_eq!(store.recover_interrupted(T0 + 3 * HOUR).expect("recover"), []);
    successful_run(&store, id, "v2", T0 + 3 * HOUR);
    assert_eq!(published(&store, id).map(|(version, _)| version), Some(2));
}

// --- Database files: snapshots, migrations, read-only, full disk ---

/// A store file in a fresh temporary folder, with one enrichment that published "v1".
fn file_store(folder: &Path) -> (Store, EnrichmentId, PathBuf) {
    let path = folder.join("data").join("rapport.db");
    let store = Store::open(&path).expect("open");
    let id = consented(&store, "Sales");
    successful_run(&store, id, "v1", T0);
    (store, id, path)
}

#[test]
fn closing_the_store_leaves_no_write_ahead_log_behind() {
    let folder = tempfile::tempdir().expect("temp dir");
    let (store, id, path) = file_store(folder.path());
    // Reads go through the pooled read-only connections, which stay open until the store drops.
    assert!(store.latest_results(id).expect("results").is_some());
    let wal = path.with_extension("db-wal");
    assert!(wal.exists(), "a store in use writes through its WAL");
    drop(store);
    assert!(!wal.exists(), "the last connection to close checkpoints and removes the WAL");
    let reopened = Store::open(&path).expect("reopen");
    assert!(reopened.latest_results(id).expect("results").is_some());
}

#[test]
fn a_reader_in_a_transaction_sees_one_version_while_another_publishes() {
    let folder = tempfile::tempdir().expect("temp dir");
    let (store, id, path) = file_store(folder.path());
    let mut reader = Connection::open(&path).expect("reader");
    let read_tables = |connection: &Connection| -> Vec<String> {
        connection
            .prepare(
                "SELECT CAST(t.bytes AS TEXT) FROM enrichments e
                 JOIN result_versions v ON v.enrichment_id = e.id AND v.version = e.results_version
                 JOIN result_tables t ON t.version_id = v.id ORDER BY t.position",
            )
            .expect("prepare")
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    let v1 = vec!["Office v1\n", "Office_UserEntity v1\n", "Office_ScoreExplanation v1\n"];
    let transaction = reader.transaction().expect("begin");
    assert_eq!(read_tables(&transaction), v1);
    successful_run(&store, id, "v2", T0 + HOUR);
    assert_eq!(read_tables(&transaction), v1);
    transaction.commit().expect("end");
    assert_eq!(
        read_tables(&reader),
        ["Office v2\n", "Office_UserEntity v2\n", "Office_ScoreExplanation v2\n"]
    );
    assert_eq!(published(&store, id).map(|(version, _)| version), Some(2));
}

#[test]
fn an_empty_version_0_file_is_upgraded() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("old.db");
    {
        let connection = Connection::open(&path).expect("create by hand");
        connection
            .execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('kept');")
            .expect("write");
        assert_eq!(schema::user_version(&connection).expect("version"), 0);
    }
    let store = Store::open(&path).expect("open");
    let id = consented(&store, "Sales");
    successful_run(&store, id, "v1", T0);
    drop(store);
    let connection = Connection::open(&path).expect("reopen by hand");
    assert_eq!(schema::user_version(&connection).expect("version"), crate::SCHEMA_VERSION);
    let note: String =
        connection.query_row("SELECT text FROM notes", [], |row| row.get(0)).expect("note");
    assert_eq!(note, "kept");
}

#[test]
fn migrations_upgrade_step_by_step_and_keep_data() {
    let mut connection = Connection::open_in_memory().expect("connection");
    let version_1: &[&str] = &["CREATE TABLE items (name TEXT NOT NULL);"];
    schema::migrate(&mut connection, version_1).expect("to 1");
    connection.execute("INSERT INTO items (name) VALUES ('first')", []).expect("insert");
    let version_3: &[&str] = &[
        "CREATE TABLE items (name TEXT NOT NULL);",
        "ALTER TABLE items ADD COLUMN size INTEGER NOT NULL DEFAULT 7;",
        "CREATE INDEX items_by_size ON items(size);",
    ];
    schema::migrate(&mut connection, version_3).expect("to 3");
    assert_eq!(schema::user_version(&connection).expect("version"), 3);
    let row: (String, i64) = connection
        .query_row("SELECT name, size FROM items", [], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("row");
    assert_eq!(row, ("first".to_owned(), 7));
    // Opening again at the same version changes nothing; an older build refuses it.
    schema::migrate(&mut connection, version_3).expect("again");
    let error = schema::migrate(&mut connection, version_1).expect_err("newer");
    assert!(matches!(error, Error::NewerSchema { found: 3, supported: 1 }));
}

#[test]
fn a_failed_migration_changes_nothing() {
    let mut connection = Connection::open_in_memory().expect("connection");
    let broken: &[&str] = &["CREATE TABLE a (x);", "CREATE TABLE b (y); NOT SQL;"];
    assert!(schema::migrate(&mut connection, broken).is_err());
    assert_eq!(schema::user_version(&connection).expect("version"), 0);
    let n_tables: i64 = connection
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |row| row.get(0))
        .expect("count");
    assert_eq!(n_tables, 0);
}

#[test]
fn a_newer_database_is_refused() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("newer.db");
    Connection::open(&path)
        .expect("create")
        .execute_batch("PRAGMA user_version = 999")
        .expect("set");
    let error = Store::open(&path).err().expect("refused");
    assert!(matches!(error, Error::NewerSchema { found: 999, supported: crate::SCHEMA_VERSION }));
    assert_eq!(
        error.to_string(),
        "the database schema is version 999, newer than version 7 that this rapport supports: use a newer rapport"
    );
    assert!(matches!(Store::open_read_only(&path), Err(Error::NewerSchema { found: 999, .. })));
    // Nothing was written to it.
    let connection = Connection::open(&path).expect("reopen");
    assert_eq!(schema::user_version(&connection).expect("version"), 999);
}

#[test]
fn a_read_only_database_gives_a_clear_error_and_keeps_the_results() {
    let folder = tempfile::tempdir().expect("temp dir");
    let (store, id, path) = file_store(folder.path());
    drop(store);
    let read_only = Store::open_read_only(&path).expect("open read-only");
    assert_eq!(published(&read_only, id).map(|(version, _)| version), Some(1));
    let error = read_only.create_enrichment(&config("Support"), T0).expect_err("read-only");
    assert!(matches!(error, Error::ReadOnly { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the database {} is read-only: check the permissions of the file and its folder (nothing was changed)",
            path.display()
        )
    );
    assert!(matches!(
        read_only.queue_run(id, Trigger::Manual, T0 + HOUR),
        Err(Error::ReadOnly { .. })
    ));
    drop(read_only);
    let store = Store::open(&path).expect("reopen");
    assert_eq!(published(&store, id).map(|(version, _)| version), Some(1));
    assert_eq!(store.runs(id).expect("runs").len(), 1);

    // An older file cannot be upgraded read-only.
    let old = folder.path().join("old.db");
    Connection::open(&old).expect("create").execute_batch("CREATE TABLE t (x)").expect("write");
    let error = Store::open_read_only(&old).err().expect("refused");
    assert_eq!(
        error.to_string(),
        "the database schema is version 0, older than version 7: open it once with write access to upgrade it"
    );
}

#[test]
fn a_full_disk_gives_a_clear_error_and_keeps_the_results() {
    let folder = tempfile::tempdir().expect("temp dir");
    let (store, id, path) = file_store(folder.path());
    let run = running(&store, id, T0 + HOUR);
    {
        // Let the file grow by no page: the big publish below cannot fit.
        let connection = store.writer.lock().expect("writer");
        let pages: i64 =
            connection.query_row("PRAGMA page_count", [], |row| row.get(0)).expect("pages");
        connection
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .expect("limit");
    }
    let big =
        vec![Table { name: "Office".into(), format: "csv".into(), bytes: vec![b'x'; 4 << 20] }];
    let error = store
        .finish_run(run, RunOutcome::Successful { summary: summary(1, 1), tables: big }, T0 + HOUR)
        .expect_err("full");
    assert!(matches!(error, Error::DiskFull { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the disk holding the database {} is full: free some space (nothing was changed)",
            path.display()
        )
    );
    assert_eq!(store.run(run).expect("run").status, RunStatus::Running);
    assert_eq!(published(&store, id).map(|(version, _)| version), Some(1));
    assert_eq!(
        store.latest_results(id).expect("results").map(|results| results.tables),
        Some(tables("v1"))
    );
    // The executor can still record the failure.
    store
        .finish_run(run, RunOutcome::Failed { error: error.to_string() }, T0 + HOUR)
        .expect("fail");
    assert_eq!(store.run(run).expect("run").status, RunStatus::Failed);
}

#[test]
fn a_lock_held_too_long_by_another_process_is_named() {
    let folder = tempfile::tempdir().expect("temp dir");
    let (store, id, path) = file_store(folder.path());
    store
        .writer
        .lock()
        .expect("writer")
        .busy_timeout(std::time::Duration::from_millis(50))
        .expect("timeout");
    let mut other = Connection::open(&path).expect("other process");
    let holding =
        other.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).expect("lock");
    let error = store.set_active(id, false, T0).expect_err("busy");
    assert_eq!(
        error.to_string(),
        format!("the database {} is locked by another process: try again", path.display())
    );
    // Readers are not blocked by the writer of another process.
    assert_eq!(published(&store, id).map(|(version, _)| version), Some(1));
    drop(holding);
    store.set_active(id, false, T0).expect("after the lock");
    assert!(!store.enrichment(id).expect("read").active);
}

#[test]
fn a_file_that_is_not_a_database_is_named() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("notes.db");
    std::fs::write(&path, vec![b'n'; 8192]).expect("write");
    let error = Store::open(&path).err().expect("refused");
    assert_eq!(
        error.to_string(),
        format!("{} is not a rapport database or it is damaged", path.display())
    );
}

// --- Names of statuses and stages ---

#[test]
fn statuses_stages_and_triggers_have_stable_names() {
    let statuses: Vec<&str> = RunStatus::ALL.iter().map(|status| status.as_str()).collect();
    assert_eq!(
        statuses,
        ["Not started", "Queued", "Running", "Successful", "Failed", "Cancelled", "Skipped"]
    );
    let stages: Vec<&str> = Stage::ALL.iter().map(|stage| stage.as_str()).collect();
    assert_eq!(
        stages,
        [
            "resolve users",
            "read sources",
            "de-duplicate",
            "resolve accounts",
            "aggregate",
            "score",
            "publish"
        ]
    );
    for status in RunStatus::ALL {
        assert_eq!(RunStatus::from_text(status.as_str()), Some(status));
    }
    for stage in Stage::ALL {
        assert_eq!(Stage::from_text(stage.as_str()), Some(stage));
    }
    for trigger in [Trigger::Scheduled, Trigger::Manual] {
        assert_eq!(Trigger::from_text(trigger.as_str()), Some(trigger));
    }
    assert_eq!(RunStatus::from_text("queued"), None);
    let active: Vec<RunStatus> =
        RunStatus::ALL.into_iter().filter(|status| status.is_active()).collect();
    assert_eq!(active, [RunStatus::Queued, RunStatus::Running]);
}

// --- Ledger ---

/// A new ledger row for `path` whose records are `records`.
fn upsert(path: &str, mtime_ns: i64, records: &[u8]) -> LedgerChange {
    LedgerChange::Upsert {
        path: PathBuf::from(path),
        size: 10,
        mtime_ns,
        content_hash: u64::MAX - 1,
        n_records: 2,
        records: records.to_vec(),
        oldest_sent: Some(1_000),
    }
}

/// Runs a manual run to its end with `outcome`, writing `changes` when it publishes.
fn run_with_ledger(
    store: &Store,
    id: EnrichmentId,
    changes: Vec<LedgerChange>,
    outcome: RunOutcome,
    now: i64,
) -> RunId {
    let run = running(store, id, now);
    let ledger = LedgerUpdate { key_id: 42, changes };
    store.finish_run_with_ledger(run, outcome, Some(&ledger), now).expect("finish");
    run
}

fn published_outcome(marker: &str) -> RunOutcome {
    RunOutcome::Successful { summary: summary(1, 1), tables: tables(marker) }
}

/// The ledger of `id` as (path, mtime, records).
fn ledger_of(store: &Store, id: EnrichmentId) -> Vec<(String, i64, Vec<u8>)> {
    store
        .ledger_files(id)
        .expect("ledger")
        .into_iter()
        .map(|file| {
            let records = store.ledger_records(file.id).expect("records");
            (file.path.display().to_string(), file.mtime_ns, records)
        })
        .collect()
}

#[test]
fn the_ledger_is_written_with_the_results_and_only_then() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let changes = vec![upsert("/mail/a.mbox", 1, b"a1"), upsert("/mail/b.eml", 2, b"b1")];
    // A failed and a cancelled run write nothing.
    run_with_ledger(&store, id, changes.clone(), RunOutcome::Failed { error: "x".into() }, T0);
    run_with_ledger(&store, id, changes.clone(), RunOutcome::Cancelled, T0);
    let run = running(&store, id, T0);
    store.request_cancel(run, T0).expect("cancel");
    let ledger = LedgerUpdate { key_id: 42, changes: changes.clone() };
    store.finish_run_with_ledger(run, published_outcome("v0"), Some(&ledger), T0).expect("finish");
    assert_eq!(store.run(run).expect("run").status, RunStatus::Cancelled);
    assert_eq!(ledger_of(&store, id), Vec::new());
    assert_eq!(published(&store, id), None);

    run_with_ledger(&store, id, changes, published_outcome("v1"), T0 + HOUR);
    let files = store.ledger_files(id).expect("ledger");
    assert_eq!(
        files.first(),
        Some(&LedgerFile {
            id: files.first().map_or(0, |file| file.id),
            path: PathBuf::from("/mail/a.mbox"),
            size: 10,
            mtime_ns: 1,
            content_hash: u64::MAX - 1,
            key_id: 42,
            n_records: 2,
            trimmed_before: i64::MIN,
            n_trimmed: 0,
            oldest_sent: Some(1_000),
        })
    );
    assert_eq!(
        ledger_of(&store, id),
        vec![("/mail/a.mbox".into(), 1, b"a1".to_vec()), ("/mail/b.eml".into(), 2, b"b1".to_vec())]
    );
    assert_eq!(published(&store, id).map(|(version, _)| version), Some(1));
}

#[test]
fn ledger_rows_are_replaced_touched_and_deleted() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let other = consented(&store, "Support");
    let changes = vec![upsert("/mail/a.mbox", 1, b"a1"), upsert("/mail/b.eml", 2, b"b1")];
    run_with_ledger(&store, id, changes.clone(), published_outcome("v1"), T0);
    run_with_ledger(&store, other, changes, published_outcome("v1"), T0);
    let files = store.ledger_files(id).expect("ledger");
    let ids: Vec<i64> = files.iter().map(|file| file.id).collect();
    let other_ids: Vec<i64> =
        store.ledger_files(other).expect("ledger").iter().map(|file| file.id).collect();
    let changes = vec![
        upsert("/mail/a.mbox", 3, b"a2"),
        LedgerChange::Touch { id: ids[1], size: 10, mtime_ns: 4 },
        upsert("/mail/c.eml", 5, b"c1"),
        // Ids of another enrichment's rows are ignored.
        LedgerChange::Delete { id: other_ids[0] },
    ];
    run_with_ledger(&store, id, changes, published_outcome("v2"), T0 + HOUR);
    assert_eq!(
        ledger_of(&store, id),
        vec![
            ("/mail/a.mbox".into(), 3, b"a2".to_vec()),
            ("/mail/b.eml".into(), 4, b"b1".to_vec()),
            ("/mail/c.eml".into(), 5, b"c1".to_vec()),
        ]
    );
    // The replaced row keeps its id; the other enrichment's ledger is whole.
    assert_eq!(store.ledger_files(id).expect("ledger")[0].id, ids[0]);
    assert_eq!(ledger_of(&store, other).len(), 2);

    run_with_ledger(
        &store,
        id,
        vec![LedgerChange::Delete { id: ids[0] }],
        published_outcome("v3"),
        T0 + 2 * HOUR,
    );
    let paths: Vec<String> = ledger_of(&store, id).into_iter().map(|(path, _, _)| path).collect();
    assert_eq!(paths, vec!["/mail/b.eml".to_owned(), "/mail/c.eml".to_owned()]);
    assert!(matches!(store.ledger_records(ids[0]), Err(Error::NotFound { .. })));
}

#[test]
fn deleting_an_enrichment_deletes_its_ledger() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let other = consented(&store, "Support");
    let changes = vec![upsert("/mail/a.mbox", 1, b"a1"), upsert("/mail/b.eml", 2, b"b1")];
    run_with_ledger(&store, id, changes.clone(), published_outcome("v1"), T0);
    run_with_ledger(&store, other, changes, published_outcome("v1"), T0);
    store.delete_enrichment(id).expect("delete");
    assert!(matches!(store.ledger_files(id), Err(Error::NotFound { .. })));
    let counts = row_counts(&store);
    assert!(counts.contains(&("ledger_files".to_owned(), 2)), "{counts:?}");
    store.delete_enrichment(other).expect("delete");
    assert!(row_counts(&store).iter().all(|(_, count)| *count == 0), "{:?}", row_counts(&store));
}

#[test]
fn paths_that_are_not_utf8_are_kept_exactly() {
    use std::os::unix::ffi::OsStrExt as _;
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(b"/mail/caf\xe9.mbox"));
    let change = LedgerChange::Upsert {
        path: path.clone(),
        size: 1,
        mtime_ns: -5,
        content_hash: 0,
        n_records: 0,
        records: Vec::new(),
        oldest_sent: None,
    };
    run_with_ledger(&store, id, vec![change], published_outcome("v1"), T0);
    let files = store.ledger_files(id).expect("ledger");
    assert_eq!(files.iter().map(|file| file.path.clone()).collect::<Vec<_>>(), vec![path]);
    assert_eq!(files[0].mtime_ns, -5);
}

#[test]
fn a_version_1_database_gets_the_ledger_and_keeps_its_data() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("v1.db");
    {
        let mut connection = Connection::open(&path).expect("create");
        schema::migrate(&mut connection, &schema::MIGRATIONS[..1]).expect("version 1");
        connection
            .execute(
                "INSERT INTO enrichments (name, config, created_at, updated_at)
                 VALUES ('Old', ?1, 0, 0)",
                [serde_json::to_string(&config("Old")).expect("json")],
            )
            .expect("insert");
    }
    let store = Store::open(&path).expect("upgrade");
    let old = store.enrichment_by_name("Old").expect("kept");
    assert_eq!(store.ledger_files(old.id).expect("ledger"), Vec::new());
    store.consent(old.id, "admin@contoso.com", T0, 0).expect("consent");
    let changes = vec![upsert("/mail/a.mbox", 1, b"a1")];
    run_with_ledger(&store, old.id, changes, published_outcome("v1"), T0);
    assert_eq!(ledger_of(&store, old.id).len(), 1);
}

/// A ledger BLOB of one segment: an email from `sender` to `recipients`, and a marker.
fn mail_blob(sender: &str, recipients: &[&str]) -> Vec<u8> {
    use rapport_core::model::{EmailCopy, MailRecord};
    let records = vec![
        MailRecord::Email(EmailCopy {
            message_id: Some("00112233445566778899aabbccddeeff".into()),
            sent: Some(T0 - DAY),
            sender: Some(sender.into()),
            recipients: recipients.iter().map(|recipient| (*recipient).to_owned()).collect(),
            parent_id: None,
            automated: false,
        }),
        MailRecord::Unparseable,
    ];
    let mut blob = crate::ledger::new_blob();
    crate::ledger::encode_segment(&records, &mut blob);
    blob
}

/// The (sender, recipients) of every email of `id`'s ledger, in order.
fn ledger_people(store: &Store, id: EnrichmentId) -> Vec<(Option<String>, Vec<String>)> {
    use rapport_core::model::MailRecord;
    ledger_of(store, id)
        .into_iter()
        .flat_map(|(_, _, blob)| crate::ledger::decode(&blob).expect("decodes"))
        .filter_map(|record| match record {
            MailRecord::Email(copy) => Some((copy.sender, copy.recipients)),
            MailRecord::Unparseable => None,
        })
        .collect()
}

const GONE: &str = "pgonegonegonegonegonegonego@fabrikam.example";
const ALICE: &str = "paliceplaceholderaliceplace@contoso.com";
const CAROL: &str = "pcarolplaceholdercarolplace@fabrikam.example";

#[test]
fn erasing_an_address_rewrites_every_ledger_holding_it_and_zeroes_the_old_pages() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("rapport.db");
    let store = Store::open(&path).expect("store");
    let sales = consented(&store, "Sales");
    let support = consented(&store, "Support");
    let other = consented(&store, "Other");
    let from_gone = upsert("/mail/a.mbox", 1, &mail_blob(GONE, &[ALICE]));
    let to_gone = upsert("/mail/b.eml", 2, &mail_blob(ALICE, &[GONE, CAROL]));
    let without = upsert("/mail/c.eml", 3, &mail_blob(ALICE, &[CAROL]));
    run_with_ledger(
        &store,
        sales,
        vec![from_gone.clone(), to_gone, without.clone()],
        published_outcome("v1"),
        T0,
    );
    run_with_ledger(&store, support, vec![from_gone], published_outcome("v1"), T0);
    run_with_ledger(&store, other, vec![without], published_outcome("v1"), T0);
    // Rows made with another key cannot hold this key's pseudonym and are not looked at.
    let other_key = LedgerUpdate {
        key_id: 7,
        changes: vec![upsert("/mail/old.eml", 4, &mail_blob(GONE, &[ALICE]))],
    };
    let run = running(&store, other, T0 + HOUR);
    store
        .finish_run_with_ledger(run, published_outcome("v2"), Some(&other_key), T0 + HOUR)
        .expect("finish");

    let erasure = store.erase_address(GONE, 42, T0 + 2 * HOUR).expect("erase");
    assert_eq!(
        erasure,
        crate::erasure::Erasure {
            enrichments: vec![sales, support],
            n_files: 3,
            n_graph_items: 0,
            checkpointed: true
        }
    );
    assert_eq!(
        ledger_people(&store, sales),
        vec![
            (None, vec![ALICE.to_owned()]),
            (Some(ALICE.to_owned()), vec![CAROL.to_owned()]),
            (Some(ALICE.to_owned()), vec![CAROL.to_owned()]),
        ]
    );
    assert_eq!(ledger_people(&store, support), vec![(None, vec![ALICE.to_owned()])]);
    assert_eq!(
        ledger_people(&store, other),
        vec![
            (Some(ALICE.to_owned()), vec![CAROL.to_owned()]),
            (Some(GONE.to_owned()), vec![ALICE.to_owned()])
        ]
    );
    // The row counts and file details are unchanged: only the records lost the address.
    assert!(store.ledger_files(sales).expect("ledger").iter().all(|file| file.n_records == 2));
    let erased = store.erased_addresses(42).expect("erased");
    assert_eq!(erased.iter().collect::<Vec<_>>(), vec![GONE]);
    assert!(store.erased_addresses(7).expect("erased").is_empty());
    let erased_at: i64 = store
        .writer
        .lock()
        .expect("writer")
        .query_row("SELECT erased_at FROM erased_addresses", [], |row| row.get(0))
        .expect("row");
    assert_eq!(erased_at, T0 + 2 * HOUR);
    // The connection is back to its usual setting.
    let secure_delete: i64 = store
        .writer
        .lock()
        .expect("writer")
        .query_row("PRAGMA secure_delete", [], |row| row.get(0))
        .expect("pragma");
    assert_eq!(secure_delete, 0);
    // Erasing again finds nothing more and keeps one entry.
    let again = store.erase_address(GONE, 42, T0 + 3 * HOUR).expect("erase again");
    assert_eq!((again.enrichments.len(), again.n_files), (0, 0));
    assert_eq!(store.erased_addresses(42).expect("erased").len(), 1);

    // The only bytes of the pseudonym left in the files are the erased list's entry and the
    // other key's row: the freed pages were zeroed and the log emptied.
    drop(store);
    let mut bytes = std::fs::read(&path).expect("database");
    if let Ok(log) = std::fs::read(folder.path().join("rapport.db-wal")) {
        bytes.extend(log);
    }
    let n_found = bytes.windows(GONE.len()).filter(|window| *window == GONE.as_bytes()).count();
    assert_eq!(n_found, 2);
}

#[test]
fn a_run_publishing_after_an_erasure_does_not_write_the_address_back() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    // The run read its files before the address was erased.
    let run = running(&store, id, T0);
    store.erase_address(GONE, 42, T0).expect("erase");
    let ledger = LedgerUpdate {
        key_id: 42,
        changes: vec![upsert("/mail/b.eml", 2, &mail_blob(ALICE, &[GONE, CAROL]))],
    };
    store.finish_run_with_ledger(run, published_outcome("v1"), Some(&ledger), T0).expect("finish");
    assert_eq!(ledger_people(&store, id), vec![(Some(ALICE.to_owned()), vec![CAROL.to_owned()])]);
}

#[test]
fn a_version_6_ledger_is_rebuilt_with_its_records_last_and_kept_whole() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("v6.db");
    let blob = mail_blob(GONE, &[ALICE]);
    {
        let mut connection = Connection::open(&path).expect("create");
        schema::migrate(&mut connection, &schema::MIGRATIONS[..6]).expect("version 6");
        connection
            .execute(
                "INSERT INTO enrichments (name, config, created_at, updated_at)
                 VALUES ('Old', ?1, 0, 0)",
                [serde_json::to_string(&config("Old")).expect("json")],
            )
            .expect("enrichment");
        connection
            .execute(
                "INSERT INTO ledger_files (enrichment_id, path, size, mtime_ns, content_hash,
                     key_id, n_records, records, trimmed_before, n_trimmed, oldest_sent)
                 VALUES (1, x'2f6d61696c2f612e656d6c', 10, 1, 5, 42, 2, ?1, 100, 3, 200)",
                [&blob],
            )
            .expect("ledger row");
    }
    let store = Store::open(&path).expect("upgrade");
    let old = store.enrichment_by_name("Old").expect("kept");
    let files = store.ledger_files(old.id).expect("ledger");
    assert_eq!(files.len(), 1);
    assert_eq!((files[0].size, files[0].n_records, files[0].content_hash), (10, 2, 5));
    assert_eq!(store.ledger_records(files[0].id).expect("records"), blob);
    let connection = Connection::open(&path).expect("open");
    let columns: Vec<String> = connection
        .prepare("SELECT name FROM pragma_table_info('ledger_files') ORDER BY cid")
        .expect("columns")
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("names");
    assert_eq!(columns.last().map(String::as_str), Some("records"));
    assert_eq!(columns.len(), 12);
    let (trimmed_before, n_trimmed, oldest_sent): (i64, i64, i64) = connection
        .query_row("SELECT trimmed_before, n_trimmed, oldest_sent FROM ledger_files", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .expect("trim columns");
    assert_eq!((trimmed_before, n_trimmed, oldest_sent), (100, 3, 200));
}

#[test]
fn a_version_2_database_gets_the_erased_addresses_and_keeps_its_ledger() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("v2.db");
    {
        let mut connection = Connection::open(&path).expect("create");
        schema::migrate(&mut connection, &schema::MIGRATIONS[..2]).expect("version 2");
        connection
            .execute_batch(&format!(
                "INSERT INTO enrichments (name, config, created_at, updated_at)
                 VALUES ('Old', '{}', 0, 0);
                 INSERT INTO ledger_files
                     (enrichment_id, path, size, mtime_ns, content_hash, key_id, n_records, records)
                 VALUES (1, x'2f6d61696c2f612e656d6c', 10, 1, 0, 42, 2, x'{}');",
                serde_json::to_string(&config("Old")).expect("json").replace('\'', "''"),
                mail_blob(GONE, &[ALICE])
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect::<String>()
            ))
            .expect("insert");
    }
    let store = Store::open(&path).expect("upgrade");
    let old = store.enrichment_by_name("Old").expect("kept");
    assert!(store.erased_addresses(42).expect("erased").is_empty());
    let erasure = store.erase_address(GONE, 42, T0).expect("erase");
    assert_eq!((erasure.enrichments, erasure.n_files), (vec![old.id], 1));
    assert_eq!(ledger_people(&store, old.id), vec![(None, vec![ALICE.to_owned()])]);
}

#[test]
fn big_tables_are_stored_compressed_and_read_back_as_written() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("rapport.db");
    let store = Store::open(&path).expect("store");
    let id = consented(&store, "Sales");
    let run = running(&store, id, T0);
    let mut big = String::from("AccountId,Feature,Value\n");
    for row in 0..5_000 {
        big.push_str(&format!("ACC{row:05},email_volume,{}\n", row % 97));
    }
    let written = vec![
        Table { name: "Office".into(), format: "csv".into(), bytes: big.clone().into_bytes() },
        Table {
            name: "Office_UserEntity".into(),
            format: "csv".into(),
            bytes: b"Email\n".to_vec(),
        },
        // A big binary table (a tables image) is stored as it is.
        Table { name: "Image".into(), format: "tables".into(), bytes: big.clone().into_bytes() },
    ];
    store
        .finish_run(
            run,
            RunOutcome::Successful { summary: summary(7, 30), tables: written.clone() },
            T0,
        )
        .expect("finish");
    let results = store.latest_results(id).expect("results").expect("published");
    assert_eq!(results.tables, written);
    let connection = Connection::open(&path).expect("open by hand");
    let mut statement = connection
        .prepare("SELECT name, encoding, length(bytes) FROM result_tables ORDER BY position")
        .expect("query");
    let stored: Vec<(String, String, i64)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect("rows")
        .collect::<Result<Vec<_>, _>>()
        .expect("stored rows");
    assert_eq!(stored[0].0, "Office");
    assert_eq!(stored[0].1, "snappy");
    assert!((stored[0].2 as usize) * 3 < big.len(), "{} of {}", stored[0].2, big.len());
    assert_eq!(stored[1], ("Office_UserEntity".to_string(), "identity".to_string(), 6));
    assert_eq!(stored[2], ("Image".to_string(), "identity".to_string(), big.len() as i64));
}

#[test]
fn tables_written_before_version_4_are_read_as_they_are() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("v3.db");
    {
        let mut connection = Connection::open(&path).expect("create by hand");
        schema::migrate(&mut connection, &schema::MIGRATIONS[..3]).expect("to 3");
    }
    let store = Store::open(&path).expect("upgrades");
    let id = consented(&store, "Sales");
    successful_run(&store, id, "v1", T0);
    let connection = Connection::open(&path).expect("reopen by hand");
    // A row as version 3 wrote it: no encoding column was there, so it reads as `identity`.
    connection
        .execute(
            "UPDATE result_tables SET bytes = CAST('AccountId\nold\n' AS BLOB), encoding = 'identity'
             WHERE position = 0",
            [],
        )
        .expect("rewrite as version 3 would have");
    let results = store.latest_results(id).expect("results").expect("published");
    assert_eq!(results.tables[0].bytes, b"AccountId\nold\n");
    connection
        .execute("UPDATE result_tables SET encoding = 'zstd' WHERE position = 0", [])
        .expect("unknown encoding");
    let error = store.latest_results(id).expect_err("an encoding it does not know");
    assert!(error.to_string().contains("stored as \"zstd\""), "{error}");
}

#[test]
fn a_trimmed_row_keeps_what_is_left_and_counts_what_was_dropped() {
    use rapport_core::model::{EmailCopy, MailRecord};
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let copy = |sent: Option<i64>| {
        MailRecord::Email(EmailCopy {
            sent,
            sender: Some("pa@x.example".into()),
            ..EmailCopy::default()
        })
    };
    let records =
        vec![copy(Some(100)), MailRecord::Unparseable, copy(Some(300)), copy(None), copy(Some(50))];
    let mut blob = ledger::new_blob();
    ledger::encode_segment(&records, &mut blob);
    assert_eq!(ledger::oldest_sent(&records), 50);
    let mut change = upsert("/mail/a.mbox", 1, &blob);
    if let LedgerChange::Upsert { oldest_sent, n_records, .. } = &mut change {
        *oldest_sent = Some(50);
        *n_records = 5;
    }
    let trimmed = ledger::trim(&blob, 200).expect("trim");
    assert_eq!(trimmed.n_trimmed, 2);
    assert_eq!(trimmed.n_records, 3);
    assert_eq!(trimmed.oldest_sent, 300);
    assert_eq!(
        ledger::decode(&trimmed.records).expect("decode"),
        vec![MailRecord::Unparseable, copy(Some(300)), copy(None)]
    );
    let trim =
        LedgerChange::Trim { path: PathBuf::from("/mail/a.mbox"), trimmed_before: 200, trimmed };
    run_with_ledger(&store, id, vec![change.clone(), trim], published_outcome("v1"), T0);
    let file = store.ledger_files(id).expect("ledger").remove(0);
    assert_eq!(
        (file.trimmed_before, file.n_trimmed, file.n_records, file.oldest_sent),
        (200, 2, 3, Some(300))
    );

    // Read again (an Upsert): nothing is trimmed any more.
    run_with_ledger(&store, id, vec![change], published_outcome("v2"), T0 + HOUR);
    let file = store.ledger_files(id).expect("ledger").remove(0);
    assert_eq!(
        (file.trimmed_before, file.n_trimmed, file.n_records, file.oldest_sent),
        (i64::MIN, 0, 5, Some(50))
    );
    assert_eq!(ledger::trim(&[9], 0), Err(ledger::DecodeError::Format { found: Some(9) }));
}

// --- Graph items ---

/// A page of mailbox `mailbox`'s Inbox with one message per id.
fn graph_page(mailbox: &str, ids: &[&str]) -> crate::ledger::graph::GraphPage {
    use crate::ledger::graph::{GraphPage, GraphRecord};
    use rapport_core::model::{EmailCopy, MailRecord};
    GraphPage {
        mailbox: mailbox.into(),
        container: "inbox-id".into(),
        reset: false,
        upserted: ids
            .iter()
            .map(|id| {
                let record = MailRecord::Email(EmailCopy {
                    message_id: Some(format!("{id:0>32}")),
                    sent: Some(T0),
                    sender: Some("pa@org.example".into()),
                    recipients: vec![format!("p{id}@client.example")],
                    ..EmailCopy::default()
                });
                (
                    (*id).to_owned(),
                    GraphRecord::Mail {
                        record,
                        link_key: Some(format!("k{id}")),
                        parent_link_key: None,
                    },
                )
            })
            .collect(),
        removed: Vec::new(),
        state: format!("{{\"page\":\"{}\"}}", ids.join(",")),
    }
}

#[test]
fn graph_pages_keep_items_in_order_with_their_checkpoint() {
    use crate::ledger::graph::GraphRecord;
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    assert_eq!(store.graph_state(id).expect("state"), None);
    store.apply_graph_page(id, &graph_page("m1", &["g1", "g2", "g3"])).expect("page 1");
    let mut second = graph_page("m1", &["g2", "g4"]);
    second.removed = vec!["g1".into()];
    store.apply_graph_page(id, &second).expect("page 2");
    store.apply_graph_page(id, &graph_page("m0", &["g9"])).expect("other mailbox");
    let (items, damaged) = store.graph_items(id).expect("items");
    assert_eq!(damaged, 0);
    let ids: Vec<(&str, &str)> =
        items.iter().map(|item| (item.mailbox.as_str(), item.graph_id.as_str())).collect();
    // By mailbox, then in the order first kept (g2 was changed in place, g1 removed).
    assert_eq!(ids, [("m0", "g9"), ("m1", "g2"), ("m1", "g3"), ("m1", "g4")]);
    assert!(
        matches!(&items[1].record, GraphRecord::Mail { link_key: Some(key), .. } if key == "kg2")
    );
    assert_eq!(store.graph_state(id).expect("state").as_deref(), Some("{\"page\":\"g9\"}"));

    // A reset starts the container again.
    let mut reset = graph_page("m1", &["g5"]);
    reset.reset = true;
    store.apply_graph_page(id, &reset).expect("reset");
    let (items, _) = store.graph_items(id).expect("items");
    assert_eq!(items.iter().map(|item| item.graph_id.as_str()).collect::<Vec<_>>(), ["g9", "g5"]);

    // An erase drops the address from the items that hold it.
    let erasure = store.erase_address("pg5@client.example", 42, T0).expect("erase");
    assert_eq!((erasure.enrichments, erasure.n_graph_items), (vec![id], 1));
    let (items, _) = store.graph_items(id).expect("items");
    let GraphRecord::Mail { record: rapport_core::model::MailRecord::Email(copy), .. } =
        &items[1].record
    else {
        panic!("a message");
    };
    assert!(copy.recipients.is_empty(), "{copy:?}");
}

#[test]
fn another_graph_configuration_forgets_what_was_kept_from_the_old_one() {
    let store = Store::open_in_memory().expect("store");
    let id = consented(&store, "Sales");
    let mut settings = store.enrichment(id).expect("enrichment").config;
    settings.graph_config = Some(PathBuf::from("/etc/rapport/tenant-a.toml"));
    store.update_enrichment(id, &settings, T0).expect("graph source");
    store.apply_graph_page(id, &graph_page("m1", &["g1"])).expect("page");
    store.record_graph_check(id, "passed").expect("check");

    // Other settings change: the kept items stay.
    settings.output_table = "Engagement".into();
    store.update_enrichment(id, &settings, T0).expect("edit");
    assert_eq!(store.graph_items(id).expect("items").0.len(), 1);
    assert_eq!(store.graph_check(id).expect("check").as_deref(), Some("passed"));

    settings.graph_config = Some(PathBuf::from("/etc/rapport/tenant-b.toml"));
    store.update_enrichment(id, &settings, T0).expect("other tenant");
    assert_eq!(store.graph_items(id).expect("items").0, Vec::new());
    assert_eq!(store.graph_state(id).expect("state"), None);
    assert_eq!(store.graph_check(id).expect("check"), None);
}
