use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rapport_store::ledger::{LedgerChange, LedgerFile, LedgerUpdate};
use rapport_store::{
    CustomerSource, EnrichmentConfig, EnrichmentId, QueueOutcome, Results, RunStatus, Store,
    Trigger,
};
use serde::Deserialize;

use super::execute_with;
use crate::config;
use crate::pipeline::{LEDGER_LIMITS, LedgerLimits};

/// 2024-06-01T00:00:00Z.
pub(crate) const T: i64 = 1_717_200_000;
const DAY: i64 = 86_400;

/// One message as an .eml file or an mbox entry, sent `days_before` T.
pub(crate) fn message(
    id: &str,
    from: &str,
    to: &str,
    days_before: i64,
    reply_to: Option<&str>,
) -> String {
    let sent = chrono::DateTime::from_timestamp(T - days_before * DAY, 0).expect("date");
    let mut text = format!(
        "Message-ID: <{id}>\nDate: {}\nFrom: {from}\nTo: {to}\n",
        sent.format("%a, %d %b %Y %H:%M:%S +0000")
    );
    if let Some(parent) = reply_to {
        text.push_str(&format!("In-Reply-To: <{parent}>\n"));
    }
    text.push_str("Subject: private subject\n\nPrivate body.\n");
    text
}

/// An mbox of `messages`.
fn mbox(messages: &[String]) -> String {
    messages
        .iter()
        .map(|message| format!("From sender Mon Jan  1 00:00:00 2024\n{message}\n"))
        .collect()
}

/// A scratch installation: sources under `mail/`, customer files, and a store in `data/`.
pub(crate) struct Fixture {
    pub(crate) folder: tempfile::TempDir,
    pub(crate) database: PathBuf,
    pub(crate) store: Store,
    pub(crate) id: EnrichmentId,
}

impl Fixture {
    /// A fixture whose enrichment reads `mail/` (to be filled by the test).
    pub(crate) fn new() -> Fixture {
        let folder = tempfile::tempdir().expect("temp dir");
        let root = folder.path();
        fs::create_dir_all(root.join("mail/inbox")).expect("mail folder");
        fs::write(
            root.join("contacts.csv"),
            "Email,AccountId\ncarol@fabrikam.example,ACC-F\ndan@tailspin.example,ACC-T\n",
        )
        .expect("contacts");
        let mut enrichment = EnrichmentConfig::new(
            "Key accounts",
            root.join("contacts.csv"),
            vec![root.join("mail")],
        );
        enrichment.users = vec!["alice@contoso.com".into(), "bob@contoso.com".into()];
        Fixture::with_config(folder, enrichment)
    }

    fn with_config(folder: tempfile::TempDir, enrichment: EnrichmentConfig) -> Fixture {
        let database = folder.path().join("data/rapport.db");
        let store = Store::open(&database).expect("store");
        let id = store.create_enrichment(&enrichment, T).expect("create");
        store.consent(id, "it-admin", T, 0).expect("consent");
        Fixture { folder, database, store, id }
    }

    /// Publishes `first` again with the records of the ledger row whose path ends with `suffix`
    /// replaced by `records` (its size, time and hash kept), and forgets the kept mail state,
    /// which would spare the next run that row. Returns the rows as they were before.
    fn replace_records(&self, suffix: &str, records: Vec<u8>, first: &Results) -> Vec<LedgerFile> {
        let rows = self.store.ledger_files(self.id).expect("ledger");
        let row = rows.iter().find(|row| row.path.ends_with(suffix)).expect("the row");
        let QueueOutcome::Queued(run) =
            self.store.queue_run(self.id, Trigger::Manual, T).expect("queue")
        else {
            panic!("skipped");
        };
        self.store.start_run(run, T).expect("start");
        let damage = LedgerUpdate {
            key_id: row.key_id,
            changes: vec![LedgerChange::Upsert {
                path: row.path.clone(),
                size: row.size,
                mtime_ns: row.mtime_ns,
                content_hash: row.content_hash,
                n_records: row.n_records,
                records,
                oldest_sent: row.oldest_sent,
            }],
        };
        let outcome = rapport_store::RunOutcome::Successful {
            summary: first.summary.clone(),
            tables: first.tables.clone(),
        };
        self.store.finish_run_with_ledger(run, outcome, Some(&damage), T).expect("finish");
        crate::runner::forget_kept_mail(&self.path("data"), self.id).expect("forget");
        rows
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.folder.path().join(relative)
    }

    pub(crate) fn write(&self, relative: &str, text: &str) {
        fs::write(self.path(relative), text).expect("write source");
    }

    /// Runs the enrichment at `as_of` and returns the published results.
    fn run_with(&self, as_of: i64, limits: LedgerLimits) -> Results {
        let QueueOutcome::Queued(run) =
            self.store.queue_run(self.id, Trigger::Manual, config::now()).expect("queue")
        else {
            panic!("the run was skipped");
        };
        let enrichment = self.store.enrichment(self.id).expect("enrichment");
        let line = execute_with(&self.store, &self.database, &enrichment, run, 2, as_of, limits)
            .expect("execute");
        assert_eq!(line.status, "Successful", "{}", line.detail);
        assert_eq!(self.store.run(run).expect("run").status, RunStatus::Successful);
        self.store.latest_results(self.id).expect("results").expect("published")
    }

    pub(crate) fn run(&self) -> Results {
        self.run_with(T, LEDGER_LIMITS)
    }

    fn ledger_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .store
            .ledger_files(self.id)
            .expect("ledger")
            .into_iter()
            .map(|file| {
                file.path.strip_prefix(self.folder.path()).expect("inside").display().to_string()
            })
            .collect();
        paths.sort();
        paths
    }
}

/// The three tables as CSV text, by file name, as `rapport enrichment results` writes them.
pub(crate) fn tables(results: &Results) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = crate::write::write_published(
        dir.path(),
        &results.tables,
        &results.summary,
        crate::cli::Format::Csv,
    )
    .expect("tables written");
    files
        .iter()
        .filter(|path| path.extension().is_some_and(|extension| extension == "csv"))
        .map(|path| {
            let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(path).expect("utf-8 table"))
        })
        .collect()
}

/// The ledger counters of a run's summary: (files read, files reused).
pub(crate) fn counters(results: &Results) -> (u64, u64) {
    let read = results.summary["ledger_files_read"].as_u64().expect("files read");
    let reused = results.summary["ledger_files_reused"].as_u64().expect("files reused");
    (read, reused)
}

/// Fills the fixture's `mail/` with an mbox, two .eml files and a file that is not mail.
fn fill(fixture: &Fixture) {
    fixture.write(
        "mail/archive.mbox",
        &mbox(&[
            message(
                "m1@contoso.com",
                "Alice <alice@contoso.com>",
                "carol@fabrikam.example",
                40,
                None,
            ),
            message(
                "m2@fabrikam.example",
                "carol@fabrikam.example",
                "alice@contoso.com",
                39,
                Some("m1@contoso.com"),
            ),
            message(
                "m3@tailspin.example",
                "dan@tailspin.example",
                "bob@contoso.com, carol@fabrikam.example",
                20,
                None,
            ),
            "no header at all\n".to_owned(),
            message("m4@contoso.com", "bob@contoso.com", "dan@tailspin.example", 400, None),
        ]),
    );
    fixture.write(
        "mail/inbox/1.eml",
        &message("m5@fabrikam.example", "noreply@fabrikam.example", "alice@contoso.com", 3, None),
    );
    fixture.write(
        "mail/inbox/2.eml",
        &message("m6@contoso.com", "bob@contoso.com", "Dan <dan@tailspin.example>", 2, None),
    );
    fixture.write("mail/notes.txt", "not mail");
}

#[test]
fn a_second_run_reads_no_mail_file_and_publishes_the_same_tables() {
    let fixture = Fixture::new();
    fill(&fixture);
    let first = fixture.run();
    assert_eq!(counters(&first), (3, 0));
    let office = &tables(&first)[0].1;
    assert!(office.starts_with("AccountId,"), "{office}");
    assert!(office.contains("ACC-F") && office.contains("ACC-T"), "{office}");
    assert_eq!(first.summary["emails_seen"], 7);
    assert_eq!(first.summary["skipped"]["unparseable"], 1);
    assert_eq!(first.summary["skipped"]["outside_window"], 1);
    // The automated sender rule still holds on pseudonymised mail.
    assert_eq!(first.summary["skipped"]["automated"], 1);
    assert_eq!(first.summary["files_ignored"], 1);
    assert_eq!(
        tables(&first)[1].1,
        "Email,DirectoryId\nalice@contoso.com,\nbob@contoso.com,\n",
        "the user table lists the real addresses"
    );
    assert_eq!(
        fixture.ledger_paths(),
        vec!["mail/archive.mbox", "mail/inbox/1.eml", "mail/inbox/2.eml"]
    );

    let second = fixture.run();
    assert_eq!(counters(&second), (0, 3));
    // The engine kept their records: the ledger was not even decoded.
    assert_eq!(first.summary["ledger_files_kept"], 0);
    assert_eq!(second.summary["ledger_files_kept"], 3);
    assert_eq!(tables(&second), tables(&first));
    let mut first_summary = first.summary.clone();
    let mut second_summary = second.summary.clone();
    for summary in [&mut first_summary, &mut second_summary] {
        let object = summary.as_object_mut().expect("object");
        object.remove("ledger_files_read");
        object.remove("ledger_files_reused");
        object.remove("ledger_files_kept");
    }
    assert_eq!(first_summary, second_summary);
}

#[test]
fn one_new_file_is_read_alone_and_gives_the_tables_of_a_full_run() {
    let fixture = Fixture::new();
    fill(&fixture);
    fixture.run();
    fixture.write(
        "mail/inbox/3.eml",
        &message(
            "m7@tailspin.example",
            "dan@tailspin.example",
            "bob@contoso.com",
            1,
            Some("m6@contoso.com"),
        ),
    );
    let incremental = fixture.run();
    assert_eq!(counters(&incremental), (1, 3));
    // The three files read before come from the kept mail state.
    assert_eq!(incremental.summary["ledger_files_kept"], 3);

    // The same sources in a fresh installation (new database, new key): a full run.
    let fresh = Fixture::new();
    fill(&fresh);
    fresh.write(
        "mail/inbox/3.eml",
        &message(
            "m7@tailspin.example",
            "dan@tailspin.example",
            "bob@contoso.com",
            1,
            Some("m6@contoso.com"),
        ),
    );
    let full = fresh.run();
    assert_eq!(counters(&full), (4, 0));
    assert_eq!(tables(&incremental), tables(&full));
    assert_eq!(incremental.summary["emails_seen"], 8);
}

#[test]
fn a_deleted_file_drops_its_ledger_row_and_its_records() {
    let fixture = Fixture::new();
    fill(&fixture);
    fixture.run();
    fs::remove_file(fixture.path("mail/inbox/2.eml")).expect("delete");
    let after = fixture.run();
    assert_eq!(counters(&after), (0, 2));
    assert_eq!(fixture.ledger_paths(), vec!["mail/archive.mbox", "mail/inbox/1.eml"]);
    assert_eq!(after.summary["emails_seen"], 6);

    let fresh = Fixture::new();
    fill(&fresh);
    fs::remove_file(fresh.path("mail/inbox/2.eml")).expect("delete");
    assert_eq!(tables(&after), tables(&fresh.run()));
}

#[test]
fn a_changed_file_is_read_again_and_a_touched_one_only_once() {
    let fixture = Fixture::new();
    fill(&fixture);
    fixture.run();
    // Same size, other content: the modification time tells.
    let changed =
        message("m6@contoso.com", "bob@contoso.com", "Dan <dan@tailspin.example>", 5, None);
    fixture.write("mail/inbox/2.eml", &changed);
    let after_change = fixture.run();
    assert_eq!(counters(&after_change), (1, 2));
    let fresh = Fixture::new();
    fill(&fresh);
    fresh.write("mail/inbox/2.eml", &changed);
    assert_eq!(tables(&after_change), tables(&fresh.run()));

    // Touched, not changed: read once (the content hash matches, only the time is updated).
    let file =
        fs::File::options().write(true).open(fixture.path("mail/archive.mbox")).expect("open");
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000)).expect("touch");
    drop(file);
    let rows_before = fixture.store.ledger_files(fixture.id).expect("ledger");
    let touched = fixture.run();
    assert_eq!(counters(&touched), (1, 2));
    let rows_after = fixture.store.ledger_files(fixture.id).expect("ledger");
    let archive = |rows: &[LedgerFile]| {
        rows.iter().find(|row| row.path.ends_with("archive.mbox")).cloned().expect("archive row")
    };
    assert_eq!(archive(&rows_after).mtime_ns, 1_000_000_000 * 1_000_000_000);
    assert_eq!(archive(&rows_after).id, archive(&rows_before).id);
    assert_eq!(archive(&rows_after).content_hash, archive(&rows_before).content_hash);
    assert_eq!(tables(&touched), tables(&after_change));
    let next = fixture.run();
    assert_eq!(counters(&next), (0, 3));
    // The touched file's segment was kept under its row's new stamp.
    assert_eq!(next.summary["ledger_files_kept"], 3);
}

#[test]
fn big_mbox_files_read_in_blocks_give_the_same_tables() {
    let messages: Vec<String> = (0..40)
        .map(|index| {
            let from = if index % 3 == 0 { "carol@fabrikam.example" } else { "alice@contoso.com" };
            let to = if index % 3 == 0 { "alice@contoso.com" } else { "dan@tailspin.example" };
            message(&format!("b{index}@example.com"), from, to, 1 + index, None)
        })
        .collect();
    let small = LedgerLimits { split_above_bytes: 1_000, block_bytes: 700 };
    let blocks = Fixture::new();
    blocks.write("mail/big.mbox", &mbox(&messages));
    let in_blocks = blocks.run_with(T, small);
    let whole = Fixture::new();
    whole.write("mail/big.mbox", &mbox(&messages));
    let read_whole = whole.run();
    assert_eq!(tables(&in_blocks), tables(&read_whole));
    assert_eq!(in_blocks.summary["emails_seen"], 40);
    let rows = blocks.store.ledger_files(blocks.id).expect("ledger");
    assert_eq!(rows.iter().map(|row| row.n_records).collect::<Vec<_>>(), vec![40]);
    // Several segments, all decoded on the next run.
    let blob = blocks.store.ledger_records(rows[0].id).expect("records");
    assert!(rapport_store::ledger::segments(&blob).expect("format").count() > 5);
    let again = blocks.run_with(T, small);
    assert_eq!(counters(&again), (0, 1));
    assert_eq!(tables(&again), tables(&read_whole));
}

#[test]
fn no_real_address_or_message_id_reaches_the_database() {
    let fixture = Fixture::new();
    fill(&fixture);
    fixture.run();
    fixture.run();
    assert!(!fixture.store.ledger_files(fixture.id).expect("ledger").is_empty());
    let mut bytes = fs::read(&fixture.database).expect("database");
    if let Ok(wal) = fs::read(fixture.path("data/rapport.db-wal")) {
        bytes.extend(wal);
    }
    let contains =
        |needle: &str| bytes.windows(needle.len()).any(|window| window == needle.as_bytes());
    // Contacts and outside senders appear only in mail; the org users appear in the
    // configuration and the UserEntity table, never in the ledger (checked on the BLOBs below).
    for needle in [
        "carol@fabrikam",
        "dan@tailspin",
        "noreply@",
        "m1@contoso.com",
        "m2@fabrikam",
        "Private body",
        "private subject",
    ] {
        assert!(!contains(needle), "{needle} is in the database");
    }
    assert!(contains("@fabrikam.example"), "domains are kept in clear");
    for row in fixture.store.ledger_files(fixture.id).expect("ledger") {
        let blob = fixture.store.ledger_records(row.id).expect("records");
        let text = String::from_utf8_lossy(&blob);
        assert!(!text.contains("alice@") && !text.contains("bob@"), "{text}");
        assert!(text.contains("@contoso.com"), "{text}");
    }
}

#[test]
fn another_key_makes_the_ledger_read_again() {
    let fixture = Fixture::new();
    fill(&fixture);
    let first = fixture.run();
    let key = fixture.path("data/key");
    fs::remove_file(&key).expect("remove key");
    let second = fixture.run();
    assert_eq!(counters(&second), (3, 0));
    assert_eq!(tables(&second), tables(&first));
    assert_eq!(counters(&fixture.run()), (0, 3));
    // A key others may read stops the run with a clear error.
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).expect("chmod");
    let QueueOutcome::Queued(run) =
        fixture.store.queue_run(fixture.id, Trigger::Manual, T).expect("queue")
    else {
        panic!("skipped");
    };
    let enrichment = fixture.store.enrichment(fixture.id).expect("enrichment");
    let line =
        execute_with(&fixture.store, &fixture.database, &enrichment, run, 2, T, LEDGER_LIMITS)
            .expect("execute");
    assert_eq!(line.status, "Failed");
    assert!(line.detail.contains("chmod 600"), "{}", line.detail);
}

#[test]
fn a_deleted_enrichment_leaves_no_ledger_behind() {
    let fixture = Fixture::new();
    fill(&fixture);
    fixture.run();
    let config = fixture.store.enrichment(fixture.id).expect("enrichment").config;
    fixture.store.delete_enrichment(fixture.id).expect("delete");
    assert!(fixture.store.ledger_files(fixture.id).is_err());
    // The same enrichment created again starts from an empty ledger.
    let id = fixture.store.create_enrichment(&config, T).expect("create");
    fixture.store.consent(id, "it-admin", T, 0).expect("consent");
    assert!(fixture.store.ledger_files(id).expect("ledger").is_empty());
    let again = Fixture { id, ..fixture };
    assert_eq!(counters(&again.run()), (3, 0));
}

#[test]
fn a_damaged_kept_mail_state_is_set_aside_with_a_warning_and_the_ledger_is_read() {
    let fixture = Fixture::new();
    fill(&fixture);
    let first = fixture.run();
    let kept = fixture.path("data/kept/enrichment-1.mail");
    let mut image = fs::read(&kept).expect("the first run keeps its mail state");
    let middle = image.len() / 2;
    image[middle] ^= 1;
    fs::write(&kept, &image).expect("damage");

    let second = fixture.run();
    assert_eq!(counters(&second), (0, 3));
    assert_eq!(second.summary["ledger_files_kept"], 0);
    assert_eq!(tables(&second), tables(&first));
    assert_latest_warning(&fixture, &["checksum mismatch", "the ledger is read instead"]);
    // The run kept a good state again.
    assert_eq!(fixture.run().summary["ledger_files_kept"], 3);
    // An empty file (a crash while the file system wrote it) is set aside the same way.
    fs::write(&kept, b"").expect("empty");
    let after_empty = fixture.run();
    assert_eq!(counters(&after_empty), (0, 3));
    assert_eq!(tables(&after_empty), tables(&first));
    assert_latest_warning(&fixture, &["enrichment-1.mail", "the ledger is read instead"]);
}

/// Asserts that the latest run has a warning containing every one of `parts`.
fn assert_latest_warning(fixture: &Fixture, parts: &[&str]) {
    let runs = fixture.store.runs(fixture.id).expect("runs");
    let warnings = &runs.first().expect("a run").warnings;
    assert!(
        warnings.iter().any(|warning| parts.iter().all(|part| warning.contains(part))),
        "{warnings:?}"
    );
}

#[test]
fn deleting_an_enrichment_removes_its_kept_mail_state() {
    let fixture = Fixture::new();
    fill(&fixture);
    fixture.run();
    let kept = fixture.path("data/kept/enrichment-1.mail");
    assert!(kept.exists());
    crate::runner::forget_kept_mail(&fixture.path("data"), fixture.id).expect("forget");
    assert!(!kept.exists());
    // Forgetting twice is fine.
    crate::runner::forget_kept_mail(&fixture.path("data"), fixture.id).expect("forget again");
}

#[test]
fn the_ledger_is_trimmed_to_the_window_and_counts_stay_those_of_a_full_read() {
    let fixture = Fixture::new();
    fill(&fixture);
    let archive = |fixture: &Fixture| {
        let rows = fixture.store.ledger_files(fixture.id).expect("ledger");
        rows.into_iter().find(|row| row.path.ends_with("archive.mbox")).expect("archive row")
    };
    let full_run_at = |as_of: i64| {
        let fresh = Fixture::new();
        fill(&fresh);
        fresh.run_with(as_of, LEDGER_LIMITS)
    };
    let start_at = |as_of: i64| rapport_core::period::window(as_of).start;

    // m4, sent 400 days before T, is outside the window at T, but by less than the slack a row
    // is trimmed after (35 of 90 days): the row keeps it, and the run counts it outside.
    let first = fixture.run();
    let row = archive(&fixture);
    assert_eq!((row.trimmed_before, row.n_trimmed, row.n_records), (i64::MIN, 0, 5));
    assert_eq!(row.oldest_sent, Some(T - 400 * DAY));
    assert_eq!(first.summary["skipped"]["outside_window"], 1);

    // 340 days on, m4 is 375 days outside: the row is trimmed to the window, which m1 and m2
    // have left too (m3, 360 days old, stays); the counts are a full read's.
    let later_t = T + 340 * DAY;
    let later = fixture.run_with(later_t, LEDGER_LIMITS);
    let row = archive(&fixture);
    assert_eq!((row.trimmed_before, row.n_trimmed, row.n_records), (start_at(later_t), 3, 2));
    let kept = fixture.store.ledger_records(row.id).expect("records");
    let records = rapport_store::ledger::decode(&kept).expect("decode");
    assert_eq!(records.len(), 2, "m3 and the unparseable marker");
    assert_eq!(row.oldest_sent, Some(T - 20 * DAY));
    let full = full_run_at(later_t);
    assert_eq!(tables(&later), tables(&full));
    assert_eq!(summary_without_counters(&later), summary_without_counters(&full));
    assert_eq!(later.summary["skipped"]["outside_window"], 3);
    assert_eq!(later.summary["emails_seen"], 7);
    // Every mail file of this run came from the kept mail state (no earlier run trimmed).
    assert_eq!(later.summary["ledger_files_kept"], 3);
    // Again, from the trimmed row (and the kept mail state), nothing changes.
    let again = fixture.run_with(later_t, LEDGER_LIMITS);
    assert_eq!(counters(&again), (0, 3));
    assert_eq!(again.summary["ledger_files_kept"], 3, "the kept state outlives the trim");
    assert_eq!(tables(&again), tables(&full));
    assert_eq!(summary_without_counters(&again), summary_without_counters(&full));

    // A run as of an earlier T needs copies the row no longer holds: the file is read again.
    let earlier_t = T - 10 * DAY;
    let earlier = fixture.run_with(earlier_t, LEDGER_LIMITS);
    assert_eq!(counters(&earlier), (1, 2));
    let full = full_run_at(earlier_t);
    assert_eq!(tables(&earlier), tables(&full));
    assert_eq!(summary_without_counters(&earlier), summary_without_counters(&full));
}

/// The part of a golden case's `case.toml` these tests read.
#[derive(Deserialize)]
struct CaseFile {
    args: Vec<String>,
    #[allow(dead_code)]
    covers: String,
}

/// Every golden case of rapport-core whose options a stored enrichment can express, run through
/// the ledger twice: both runs must give the hand-worked expected tables and summary counts.
#[test]
fn golden_cases_through_the_ledger() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rapport-core/test_data");
    let mut case_dirs: Vec<PathBuf> =
        fs::read_dir(&root).expect("test data").map(|entry| entry.expect("entry").path()).collect();
    case_dirs.sort();
    let mut n_cases = 0;
    for case_dir in case_dirs.iter().filter(|path| path.join("case.toml").exists()) {
        let case: CaseFile =
            toml::from_str(&fs::read_to_string(case_dir.join("case.toml")).expect("case"))
                .expect("toml");
        let Some((enrichment, as_of)) = case_config(case_dir, &case.args) else { continue };
        n_cases += 1;
        let name = case_dir.file_name().expect("name").to_string_lossy().into_owned();
        let fixture = Fixture::with_config(tempfile::tempdir().expect("temp dir"), enrichment);
        for round in 0..2 {
            let results = fixture.run_with(as_of, LEDGER_LIMITS);
            let published = tables(&results);
            for (position, file) in ["Office.csv", "Office_UserEntity.csv"].iter().enumerate() {
                let expected =
                    fs::read_to_string(case_dir.join("expected").join(file)).expect("expected");
                assert_eq!(published[position].1, expected, "{name}, run {round}: {file}");
            }
            let expected: serde_json::Value = serde_json::from_str(
                &fs::read_to_string(case_dir.join("expected/summary.json")).expect("summary"),
            )
            .expect("json");
            for (key, value) in expected.as_object().expect("object") {
                assert_eq!(&results.summary[key], value, "{name}, run {round}: summary {key}");
            }
            if round == 1 {
                assert_eq!(counters(&results).0, 0, "{name}: the second run read mail files");
            }
        }
    }
    assert!(n_cases >= 10, "only {n_cases} golden cases ran");
}

/// The enrichment and `T` of a golden case, or `None` when it uses an option a stored
/// enrichment does not have (custom weights files).
fn case_config(case_dir: &Path, args: &[String]) -> Option<(EnrichmentConfig, i64)> {
    let mut customers = CustomerSource::new(case_dir.join("contacts.csv"));
    if case_dir.join("accounts.csv").exists() {
        customers.accounts = Some(case_dir.join("accounts.csv"));
    }
    let mut enrichment =
        EnrichmentConfig::new("Golden", PathBuf::new(), vec![case_dir.join("input")]);
    let mut as_of = None;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--as-of" => as_of = Some(config::parse_as_of(args.next()?).ok()?),
            "--match-domains" => enrichment.match_domains = true,
            "--account-domains-column" => {
                customers.account_domains_columns.push(args.next()?.clone())
            }
            "--contact-email-column" => customers.contact_email_column = args.next()?.clone(),
            "--contact-account-column" => customers.contact_account_column = args.next()?.clone(),
            _ => return None,
        }
    }
    enrichment.customers = customers;
    let users = ["users.txt", "users.csv"]
        .iter()
        .map(|name| case_dir.join(name))
        .find(|path| path.exists());
    enrichment.users_file = users;
    Some((enrichment, as_of?))
}

#[test]
fn a_ledger_row_that_cannot_be_decoded_is_replaced_by_reading_its_file() {
    let fixture = Fixture::new();
    fill(&fixture);
    let first = fixture.run();
    // Another format (as a newer rapport might write), with the file's own size and time.
    let rows = fixture.replace_records("archive.mbox", vec![0xff, 1, 2, 3], &first);

    let healed = fixture.run();
    assert_eq!(counters(&healed), (1, 2));
    assert_eq!(tables(&healed), tables(&first));
    // The row was rewritten whole: the next run reads nothing.
    assert_eq!(counters(&fixture.run()), (0, 3));
    // Same id, size, time, hash and key as before the damage.
    assert_eq!(fixture.store.ledger_files(fixture.id).expect("ledger"), rows);
}

/// A weekly series of 20 meetings from 2024-05-06 10:00 in a `VTIMEZONE` of its own (Central
/// European rules), by Alice with Carol, one of them taken out.
const SERIES: &str = "BEGIN:VCALENDAR\r
METHOD:REQUEST\r
BEGIN:VTIMEZONE\r
TZID:Customized Time Zone\r
BEGIN:STANDARD\r
DTSTART:16010101T030000\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:16010101T020000\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r
END:DAYLIGHT\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:series-one@contoso.com\r
SEQUENCE:0\r
DTSTAMP:20240401T000000Z\r
DTSTART;TZID=Customized Time Zone:20240506T100000\r
DTEND;TZID=Customized Time Zone:20240506T110000\r
RRULE:FREQ=WEEKLY;COUNT=20\r
EXDATE;TZID=Customized Time Zone:20240513T100000\r
SUMMARY:Private summary\r
ORGANIZER;CN=Alice:mailto:alice@contoso.com\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@contoso.com\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:carol@fabrikam.example\r
END:VEVENT\r
END:VCALENDAR\r
";

/// An update of one occurrence of the series (2024-05-20), moved and with Dan invited too.
const UPDATE: &str = "BEGIN:VCALENDAR\r
METHOD:REQUEST\r
BEGIN:VEVENT\r
UID:series-one@contoso.com\r
SEQUENCE:1\r
DTSTAMP:20240415T000000Z\r
RECURRENCE-ID;TZID=Europe/Paris:20240520T100000\r
DTSTART:20240521T140000Z\r
DTEND:20240521T150000Z\r
ORGANIZER:mailto:alice@contoso.com\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:carol@fabrikam.example\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:dan@tailspin.example\r
END:VEVENT\r
END:VCALENDAR\r
";

/// One meeting of Bob with Dan on 2024-05-27.
const SINGLE: &str = "BEGIN:VCALENDAR\r
BEGIN:VEVENT\r
UID:single-two@tailspin.example\r
DTSTART;TZID=America/New_York:20240527T090000\r
DURATION:PT30M\r
ORGANIZER:mailto:dan@tailspin.example\r
ATTENDEE:mailto:bob@contoso.com\r
END:VEVENT\r
END:VCALENDAR\r
";

/// Fills the fixture's `mail/` with [`fill`]'s mail and three calendars.
fn fill_with_calendars(fixture: &Fixture) {
    fill(fixture);
    fs::create_dir_all(fixture.path("mail/calendar")).expect("calendar folder");
    fixture.write("mail/calendar/1-series.ics", SERIES);
    fixture.write("mail/calendar/2-update.ics", UPDATE);
    fixture.write("mail/calendar/3-single.ics", SINGLE);
}

/// The summary without the ledger's own counters, which differ between runs by design.
fn summary_without_counters(results: &Results) -> serde_json::Value {
    let mut summary = results.summary.clone();
    let object = summary.as_object_mut().expect("object");
    object.remove("ledger_files_read");
    object.remove("ledger_files_reused");
    object.remove("ledger_files_kept");
    summary
}

#[test]
fn calendars_are_kept_in_the_ledger_and_not_read_again() {
    let fixture = Fixture::new();
    fill_with_calendars(&fixture);
    let first = fixture.run();
    assert_eq!(counters(&first), (6, 0));
    // Before T: 05-06, 05-21 (the moved 05-20) and 05-27; 05-13 is taken out. Bob's meeting too.
    assert_eq!(first.summary["meetings_processed"], 4);
    assert_eq!(first.summary["meetings_counted"], 4);
    // The update replaces the master's occurrence of 05-20 rather than duplicating it.
    assert_eq!(first.summary["skipped"]["duplicate"], 0);
    assert_eq!(
        fixture.ledger_paths(),
        vec![
            "mail/archive.mbox",
            "mail/calendar/1-series.ics",
            "mail/calendar/2-update.ics",
            "mail/calendar/3-single.ics",
            "mail/inbox/1.eml",
            "mail/inbox/2.eml"
        ]
    );
    let rows = fixture.store.ledger_files(fixture.id).expect("ledger");
    let n_records = |name: &str| {
        rows.iter().find(|row| row.path.ends_with(name)).map(|row| row.n_records).expect("row")
    };
    assert_eq!(n_records("1-series.ics"), 1);

    let second = fixture.run();
    assert_eq!(counters(&second), (0, 6));
    assert_eq!(tables(&second), tables(&first));
    assert_eq!(summary_without_counters(&second), summary_without_counters(&first));

    // A fresh installation reading everything gives the same tables.
    let fresh = Fixture::new();
    fill_with_calendars(&fresh);
    assert_eq!(tables(&fresh.run()), tables(&first));
}

#[test]
fn one_changed_calendar_is_read_alone_and_the_versions_across_files_stay_exact() {
    let fixture = Fixture::new();
    fill_with_calendars(&fixture);
    fixture.run();
    // The update is cancelled now: its occurrence is gone, the series' other ones stay.
    let cancelled = UPDATE.replace("SEQUENCE:1", "SEQUENCE:2\r\nSTATUS:CANCELLED");
    fixture.write("mail/calendar/2-update.ics", &cancelled);
    let incremental = fixture.run();
    assert_eq!(counters(&incremental), (1, 5));
    assert_eq!(incremental.summary["meetings_processed"], 3);
    assert_eq!(incremental.summary["skipped"]["not_a_meeting"], 1);

    let fresh = Fixture::new();
    fill_with_calendars(&fresh);
    fresh.write("mail/calendar/2-update.ics", &cancelled);
    let full = fresh.run();
    assert_eq!(counters(&full), (6, 0));
    assert_eq!(tables(&incremental), tables(&full));
    assert_eq!(summary_without_counters(&incremental), summary_without_counters(&full));

    // Gone: its row goes, and the master's occurrence of 05-20 is back.
    fs::remove_file(fixture.path("mail/calendar/2-update.ics")).expect("delete");
    let without = fixture.run();
    assert_eq!(counters(&without), (0, 5));
    assert!(!fixture.ledger_paths().contains(&"mail/calendar/2-update.ics".to_owned()));
    assert_eq!(without.summary["meetings_processed"], 4);
    assert_eq!(without.summary["skipped"]["not_a_meeting"], 0);
    let fresh_without = Fixture::new();
    fill_with_calendars(&fresh_without);
    fs::remove_file(fresh_without.path("mail/calendar/2-update.ics")).expect("delete");
    assert_eq!(tables(&without), tables(&fresh_without.run()));
}

#[test]
fn a_later_run_from_the_ledger_expands_the_series_into_its_own_window() {
    // The components are kept, not the occurrences of the first run's window: two weeks later
    // the series has two more meetings, and the ledger alone gives them.
    let later = T + 14 * DAY;
    let fixture = Fixture::new();
    fill_with_calendars(&fixture);
    assert_eq!(fixture.run().summary["meetings_processed"], 4);
    let incremental = fixture.run_with(later, LEDGER_LIMITS);
    assert_eq!(counters(&incremental), (0, 6));
    assert_eq!(incremental.summary["meetings_processed"], 6);

    let fresh = Fixture::new();
    fill_with_calendars(&fresh);
    let full = fresh.run_with(later, LEDGER_LIMITS);
    assert_eq!(tables(&incremental), tables(&full));
    assert_eq!(summary_without_counters(&incremental), summary_without_counters(&full));
}

#[test]
fn no_attendee_address_or_uid_of_a_calendar_reaches_the_database() {
    let fixture = Fixture::new();
    fill_with_calendars(&fixture);
    fixture.run();
    fixture.run();
    let mut bytes = fs::read(&fixture.database).expect("database");
    if let Ok(wal) = fs::read(fixture.path("data/rapport.db-wal")) {
        bytes.extend(wal);
    }
    let contains =
        |needle: &str| bytes.windows(needle.len()).any(|window| window == needle.as_bytes());
    for needle in ["carol@fabrikam", "dan@tailspin", "series-one", "single-two", "Private summary"]
    {
        assert!(!contains(needle), "{needle} is in the database");
    }
    let calendar_rows: Vec<_> = fixture
        .store
        .ledger_files(fixture.id)
        .expect("ledger")
        .into_iter()
        .filter(|row| row.path.extension().is_some_and(|extension| extension == "ics"))
        .collect();
    assert_eq!(calendar_rows.len(), 3);
    for row in calendar_rows {
        let blob = fixture.store.ledger_records(row.id).expect("records");
        assert!(rapport_store::ledger::calendar::is_calendar_blob(&blob));
        let text = String::from_utf8_lossy(&blob);
        assert!(!text.contains("alice@") && !text.contains("bob@"), "{text}");
        // Domains stay in clear, for domain matching.
        assert!(text.contains("@contoso.com") || text.contains("@tailspin.example"), "{text}");
    }
}

#[test]
fn a_calendar_row_that_cannot_be_decoded_is_replaced_by_reading_its_file() {
    let fixture = Fixture::new();
    fill_with_calendars(&fixture);
    let first = fixture.run();
    let rows = fixture.replace_records(
        "1-series.ics",
        vec![rapport_store::ledger::calendar::FORMAT_VERSION, 9],
        &first,
    );

    let healed = fixture.run();
    assert_eq!(counters(&healed), (1, 5));
    assert_eq!(tables(&healed), tables(&first));
    assert_eq!(counters(&fixture.run()), (0, 6));
    assert_eq!(fixture.store.ledger_files(fixture.id).expect("ledger"), rows);
}

#[test]
fn an_erased_attendee_leaves_the_kept_calendars_without_a_new_read() {
    let fixture = Fixture::new();
    fill_with_calendars(&fixture);
    let before = fixture.run();
    assert_eq!(before.summary["meetings_processed"], 4);
    let key = rapport_store::pseudonym::Key::load_or_create(&fixture.path("data")).expect("key");
    let pseudonymizer = rapport_store::pseudonym::Pseudonymizer::new(&key);
    let dan = pseudonymizer.address("dan@tailspin.example");
    let erasure = fixture.store.erase_address(&dan, pseudonymizer.key_id(), T).expect("erase");
    // Dan is in the mbox, in 2.eml and in two calendars.
    assert_eq!(erasure.n_files, 4);
    for row in fixture.store.ledger_files(fixture.id).expect("ledger") {
        let blob = fixture.store.ledger_records(row.id).expect("records");
        assert!(!blob.windows(dan.len()).any(|window| window == dan.as_bytes()));
    }
    let after = fixture.run();
    assert_eq!(counters(&after), (0, 6));
    // The meetings stay (Bob's now has Bob alone, without organizer), Dan's part in them goes.
    assert_eq!(after.summary["meetings_processed"], 4);
    assert_ne!(tables(&after)[0], tables(&before)[0]);
    // Reading the files again drops Dan in the same way as erasing him from the kept calendars.
    for name in
        ["mail/calendar/1-series.ics", "mail/calendar/2-update.ics", "mail/calendar/3-single.ics"]
    {
        let file = fs::File::options().write(true).open(fixture.path(name)).expect("open");
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000))
            .expect("touch");
    }
    let read_again = fixture.run();
    assert_eq!(counters(&read_again), (3, 3));
    assert_eq!(tables(&read_again), tables(&after));
}

/// A Graph-compatible test server on its own runtime, alive as long as this value.
struct GraphServer {
    runtime: tokio::runtime::Runtime,
    server: Option<rapport_graph_testserver::TestServer>,
}

impl GraphServer {
    fn start(dataset: rapport_graph_testserver::Dataset) -> GraphServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let config = rapport_graph_testserver::ServerConfig::new(dataset);
        let server =
            runtime.block_on(rapport_graph_testserver::TestServer::start(config)).expect("server");
        GraphServer { runtime, server: Some(server) }
    }

    fn get(&self) -> &rapport_graph_testserver::TestServer {
        self.server.as_ref().expect("running")
    }
}

impl Drop for GraphServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
    }
}

/// A stored enrichment over the small tenant's exported customer data: reading Graph (with
/// `graph`) or the exported files (without).
fn tenant_fixture(
    files: &rapport_graph_testserver::ExportedFiles,
    graph_url: Option<&str>,
) -> Fixture {
    let folder = tempfile::tempdir().expect("temp dir");
    let sources = match graph_url {
        Some(_) => Vec::new(),
        None => vec![files.mail_dir.clone(), files.calendar_dir.clone()],
    };
    let mut enrichment = EnrichmentConfig::new("Tenant", files.contacts.clone(), sources);
    enrichment.customers.accounts = Some(files.accounts.clone());
    enrichment.customers.account_domains_columns = vec!["Domains".into()];
    enrichment.users =
        fs::read_to_string(&files.users).expect("users").lines().map(str::to_owned).collect();
    if let Some(url) = graph_url {
        let path = folder.path().join("graph.toml");
        fs::write(
            &path,
            format!(
                "tenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n\
                 login_endpoint = \"{url}\"\ngraph_endpoint = \"{url}\"\n",
                rapport_graph_testserver::DEFAULT_TENANT_ID,
                rapport_graph_testserver::DEFAULT_CLIENT_ID,
                rapport_graph_testserver::DEFAULT_CLIENT_SECRET,
            ),
        )
        .expect("graph config");
        enrichment.graph_config = Some(path);
    }
    Fixture::with_config(folder, enrichment)
}

/// The tables that do not name users (the user table carries Entra ids from Graph only).
fn activity_tables(results: &Results) -> Vec<(String, String)> {
    tables(results).into_iter().filter(|(name, _)| !name.ends_with("_UserEntity.csv")).collect()
}

#[test]
fn a_graph_source_gives_the_tables_of_its_files_and_later_runs_read_only_changes() {
    let export = tempfile::tempdir().expect("temp dir");
    let dataset = rapport_graph_testserver::Dataset::small();
    let window = rapport_graph_testserver::Dataset::SMALL_WINDOW;
    let files = dataset.export_files(export.path(), window).expect("export");
    let server = GraphServer::start(dataset);
    let url = server.get().base_url();
    let as_of = window.1;

    let from_files = tenant_fixture(&files, None).run_with(as_of, LEDGER_LIMITS);
    let graph = tenant_fixture(&files, Some(&url));
    let first = graph.run_with(as_of, LEDGER_LIMITS);
    assert_eq!(activity_tables(&first), activity_tables(&from_files));
    assert!(tables(&first)[0].1.lines().count() > 3, "some accounts are enriched");
    let users = &tables(&first)[1].1;
    assert!(users.lines().skip(1).all(|line| !line.ends_with(',')), "Entra ids: {users}");
    assert_eq!(first.summary["graph"]["mailboxes_failed_by_reason"]["no_mailbox"], 1);
    // Kept pseudonymised: no kept item holds a real address.
    let (items, damaged) = graph.store.graph_items(graph.id).expect("items");
    assert_eq!(damaged, 0);
    assert!(items.len() > 10);
    let users = fs::read_to_string(&files.users).expect("users");
    for item in &items {
        let text = format!("{:?}", item.record);
        assert!(users.lines().all(|user| !text.contains(user)), "{text}");
    }

    // The second run follows the delta links: no first-round request, the same tables.
    server.get().clear_requests();
    let second = graph.run_with(as_of, LEDGER_LIMITS);
    assert_eq!(activity_tables(&second), activity_tables(&first));
    let requests = server.get().requests();
    assert!(requests.iter().any(|request| request.path_and_query.contains("deltatoken")));
    assert!(
        !requests.iter().any(|request| request.path_and_query.contains("receivedDateTime")),
        "{:?}",
        requests.iter().map(|request| &request.path_and_query).collect::<Vec<_>>()
    );

    // A message goes away: the next run gets it as @removed and counts as a fresh store does.
    let (mailbox, folder, removed) = server.get().with_dataset(|dataset| {
        let user = dataset.users().iter().find(|user| user.has_mailbox).expect("a mailbox").clone();
        let folder = dataset.folder_id(&user.id, "Inbox").expect("an inbox");
        let message = dataset.messages(&user.id, &folder).expect("messages").remove(0);
        (user.id, folder, message.id)
    });
    server.get().remove_message(&mailbox, &folder, &removed).expect("remove");
    let third = graph.run_with(as_of, LEDGER_LIMITS);
    let fresh = tenant_fixture(&files, Some(&url)).run_with(as_of, LEDGER_LIMITS);
    assert_eq!(activity_tables(&third), activity_tables(&fresh));
    assert_eq!(
        third.summary["emails_seen"].as_u64().expect("seen") + 1,
        first.summary["emails_seen"].as_u64().expect("seen")
    );
}
