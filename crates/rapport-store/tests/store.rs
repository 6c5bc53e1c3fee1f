//! The store through its public API on real database files: readers beside a publishing
//! writer, and recovery of a run that a stopped process left behind.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rapport_store::{
    EnrichmentConfig, EnrichmentId, QueueOutcome, RunOutcome, RunStatus, Stage, Store, Table,
    Trigger,
};

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200;
const READERS: usize = 100;
const VERSIONS: i64 = 20;

fn config(name: &str) -> EnrichmentConfig {
    let mut config = EnrichmentConfig::new(
        name,
        PathBuf::from("/data/contacts.csv"),
        vec![PathBuf::from("/data/mail")],
    );
    config.users = vec!["alice@contoso.com".into(), "bob@contoso.com".into()];
    config
}

/// The tables of run `number`: each names the number, and the main table is large enough that a
/// publish takes several pages.
fn tables(number: i64) -> Vec<Table> {
    let mut office = Vec::new();
    for row in 0..2000 {
        office.extend_from_slice(format!("account-{row},run-{number}\n").as_bytes());
    }
    vec![
        Table { name: "Office".into(), format: "csv".into(), bytes: office },
        Table {
            name: "Office_UserEntity".into(),
            format: "csv".into(),
            bytes: format!("run-{number}").into_bytes(),
        },
        Table {
            name: "Office_ScoreExplanation".into(),
            format: "csv".into(),
            bytes: format!("run-{number}").into_bytes(),
        },
    ]
}

/// Runs one manual run to success, publishing `tables(number)`.
fn publish(store: &Store, id: EnrichmentId, number: i64) {
    let now = T0 + number * 60;
    let QueueOutcome::Queued(run) = store.queue_run(id, Trigger::Manual, now).expect("queue")
    else {
        panic!("skipped");
    };
    store.start_run(run, now).expect("start");
    store.set_stage(run, Stage::Publish, 0, 1, now).expect("stage");
    let summary = serde_json::json!({"run": number, "accounts_enriched": number});
    store
        .finish_run(run, RunOutcome::Successful { summary, tables: tables(number) }, now)
        .expect("finish");
}

#[test]
fn a_hundred_readers_never_see_a_torn_version() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("rapport.db");
    let store = Arc::new(Store::open(&path).expect("open"));
    let id = store.create_enrichment(&config("Sales"), T0).expect("create");
    store.consent(id, "admin", T0, 0).expect("consent");
    publish(&store, id, 1);

    let done = Arc::new(AtomicBool::new(false));
    let n_reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|index| {
            let shared = Arc::clone(&store);
            let path = path.clone();
            let done = Arc::clone(&done);
            let n_reads = Arc::clone(&n_reads);
            std::thread::spawn(move || {
                // Half the readers share the writer's store; the others open their own, as
                // another process would.
                let own;
                let store: &Store = if index % 2 == 0 {
                    &shared
                } else {
                    own = Store::open(&path).expect("open");
                    &own
                };
                let mut last_version = 0;
                loop {
                    let finished = done.load(Ordering::Acquire);
                    let results = store.latest_results(id).expect("read").expect("published");
                    assert!(results.version >= last_version, "versions went back");
                    last_version = results.version;
                    let number = results.summary["run"].as_i64().expect("run number");
                    assert_eq!(results.tables, tables(number), "torn read");
                    assert_eq!(results.version, number);
                    n_reads.fetch_add(1, Ordering::Relaxed);
                    if finished {
                        return last_version;
                    }
                }
            })
        })
        .collect();

    for number in 2..=VERSIONS {
        publish(&store, id, number);
    }
    done.store(true, Ordering::Release);
    for reader in readers {
        // Each reader's last read started after the last publish.
        assert_eq!(reader.join().expect("reader"), VERSIONS);
    }
    assert!(n_reads.load(Ordering::Relaxed) >= READERS as u64);
    assert_eq!(store.history(id).expect("history").len(), VERSIONS as usize);
}

#[test]
fn a_run_interrupted_by_a_stopped_process_is_failed_after_reopening() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("rapport.db");
    let (id, run) = {
        let store = Store::open(&path).expect("open");
        let id = store.create_enrichment(&config("Sales"), T0).expect("create");
        store.consent(id, "admin", T0, 0).expect("consent");
        publish(&store, id, 1);
        let QueueOutcome::Queued(run) =
            store.queue_run(id, Trigger::Scheduled, T0 + 3600).expect("queue")
        else {
            panic!("skipped");
        };
        store.start_run(run, T0 + 3600).expect("start");
        store.set_stage(run, Stage::ResolveUsers, 1, 1, T0 + 3600).expect("stage");
        store.set_stage(run, Stage::ReadSources, 123, 456, T0 + 3601).expect("stage");
        // The process stops here: the store is dropped with the run still Running.
        (id, run)
    };
    let store = Store::open(&path).expect("reopen");
    let before = store.latest_results(id).expect("results");
    assert_eq!(store.recover_interrupted(T0 + 7200).expect("recover"), [run]);
    let interrupted = store.run(run).expect("run");
    assert_eq!(interrupted.status, RunStatus::Failed);
    assert_eq!(
        interrupted.error.as_deref(),
        Some("interrupted: the process stopped during stage read sources")
    );
    assert_eq!(interrupted.stages.len(), 2);
    assert_eq!(store.latest_results(id).expect("results"), before);
    assert_eq!(before.map(|results| results.tables), Some(tables(1)));
    // It is due again, and the next run succeeds.
    assert_eq!(store.due(T0 + 7200).expect("due"), [id]);
    publish(&store, id, 2);
    assert_eq!(store.latest_results(id).expect("results").map(|results| results.version), Some(2));
}
