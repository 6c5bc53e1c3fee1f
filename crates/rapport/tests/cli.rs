//! CLI tests: the `rapport` binary run in a fresh temporary folder, as other tools drive it.

mod golden;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch folder with a minimal valid input set.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let scratch = Scratch { dir: tempfile::tempdir().expect("temp dir") };
        scratch.write("users.txt", "alice@org.example\nbob@org.example\n");
        scratch.write("contacts.csv", "Email,AccountId\njane@client.example,A1\n");
        scratch.write(
            "mail/one.eml",
            "Message-ID: <m1@org.example>\r\nDate: Mon, 3 Sep 2001 10:00:00 +0000\r\nFrom: Alice <alice@org.example>\r\nTo: jane@client.example\r\n\r\nbody\r\n",
        );
        scratch
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, contents: &str) {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(path, contents).expect("write file");
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_rapport"))
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .expect("run rapport")
    }

    /// Runs `rapport enrich` on the scratch inputs; `extra` may override `--as-of` and `--out`.
    fn enrich(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "enrich",
            "--users",
            "users.txt",
            "--contacts",
            "contacts.csv",
            "--source",
            "mail",
            "--quiet",
        ];
        if !extra.contains(&"--as-of") {
            args.extend_from_slice(&["--as-of", "2001-12-31"]);
        }
        if !extra.contains(&"--out") {
            args.extend_from_slice(&["--out", "out"]);
        }
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_usage_error(output: &Output, expected: &[&str], out_dir: &Path) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {text}");
    for needle in expected {
        assert!(text.contains(needle), "{needle:?} not in stderr: {text}");
    }
    assert!(!out_dir.join("Office.csv").exists(), "nothing may be written on an error");
}

#[test]
fn enrich_writes_the_three_tables() {
    let scratch = Scratch::new();
    let output = scratch.enrich(&[]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let office = std::fs::read_to_string(scratch.path("out/Office.csv")).expect("Office.csv");
    let mut lines = office.lines();
    assert_eq!(
        lines.next(),
        Some(
            "AccountId,EngagementScore,NoOfEmails_ToAccount,NoOfEmails_FromAccount,NoOfMeetings_FromAccount,NoOfMeetings_ToAccount,NoOfContactsInvolved_Meetings,NoOfContactsInvolved_Emails,NoOfAccountContactsInvolved_Meetings,NoOfAccountContactsInvolved_Emails,EngagementStartDate,DaysSinceLastEmail,DaysSinceLastMeeting,AverageDuration_Of_Meetings,AverageDuration_Of_AccountEmailReplies,AggregationStartDate,AggregationLevel"
        )
    );
    assert_eq!(lines.next(), Some("A1,100,1,0,0,0,0,1,0,1,2001-09-03,118,,,,2000-12-31,Year"));
    assert_eq!(lines.next(), Some("A1,100,1,0,0,0,0,1,0,1,2001-09-03,27,,,,2001-09-01,Month"));
    assert_eq!(lines.next(), Some("A1,100,1,0,0,0,0,1,0,1,2001-09-03,6,,,,2001-09-03,Week"));
    assert_eq!(lines.next(), None);
    let users = std::fs::read_to_string(scratch.path("out/Office_UserEntity.csv")).expect("users");
    assert_eq!(users, "Email,DirectoryId\nalice@org.example,\nbob@org.example,\n");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(scratch.path("out/summary.json")).expect("summary"),
    )
    .expect("summary is JSON");
    assert_eq!(summary["accounts_enriched"], 1);
    assert_eq!(summary["accounts_total"], 1);
    assert_eq!(summary["emails_processed"], 1);
    assert_eq!(summary["days_covered"], 118);
    assert_eq!(summary["window_start"], "2000-12-31");
    assert_eq!(summary["window_end"], "2001-12-31");
}

#[test]
fn json_and_parquet_formats_write_their_files() {
    let scratch = Scratch::new();
    let output = scratch.enrich(&["--format", "json", "--explain"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let rows: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(scratch.path("out/Office.json")).expect("json"),
    )
    .expect("JSON");
    assert_eq!(rows[0]["AccountId"], "A1");
    assert_eq!(rows[0]["DaysSinceLastMeeting"], serde_json::Value::Null);
    assert!(scratch.path("out/Office_ScoreExplanation.json").exists());
    let output = scratch.enrich(&["--format", "parquet", "--out", "pq"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let bytes = std::fs::read(scratch.path("pq/Office.parquet")).expect("parquet");
    assert_eq!(&bytes[..4], b"PAR1");
}

#[test]
fn missing_contact_column_is_a_usage_error() {
    let scratch = Scratch::new();
    let output = scratch.enrich(&["--contact-account-column", "Company"]);
    assert_usage_error(
        &output,
        &["contacts.csv", "no column named \"Company\"", "Email,AccountId"],
        &scratch.path("out"),
    );
}

#[test]
fn unreadable_source_is_a_usage_error() {
    let scratch = Scratch::new();
    let output = scratch.enrich(&["--source", "no-such-folder"]);
    assert_usage_error(&output, &["no-such-folder"], &scratch.path("out"));
}

#[test]
fn unreadable_users_file_is_a_usage_error() {
    let scratch = Scratch::new();
    let output = scratch.run(&[
        "enrich",
        "--users",
        "missing.txt",
        "--contacts",
        "contacts.csv",
        "--source",
        "mail",
        "--out",
        "out",
    ]);
    assert_usage_error(&output, &["cannot read missing.txt"], &scratch.path("out"));
}

#[test]
fn one_org_user_is_too_few() {
    let scratch = Scratch::new();
    scratch.write("users.txt", "alice@org.example\nALICE@org.example\n");
    let output = scratch.enrich(&[]);
    assert_usage_error(&output, &["users.txt", "1 org user"], &scratch.path("out"));
}

#[test]
fn too_many_org_users_names_the_count() {
    let scratch = Scratch::new();
    let users: String = (0..2501).map(|i| format!("user{i}@org.example\n")).collect();
    scratch.write("users.txt", &users);
    let output = scratch.enrich(&[]);
    assert_usage_error(&output, &["users.txt", "2501 org users"], &scratch.path("out"));
}

#[test]
fn bad_as_of_date_is_a_usage_error() {
    let scratch = Scratch::new();
    let output = scratch.enrich(&["--as-of", "2001-02-30"]);
    assert_usage_error(&output, &["--as-of \"2001-02-30\""], &scratch.path("out"));
}

#[test]
fn every_configuration_problem_is_reported_at_once() {
    let scratch = Scratch::new();
    scratch.write("weights.toml", "[weights]\nrecency = -1\n");
    let output = scratch.enrich(&[
        "--as-of",
        "yesterday",
        "--weights",
        "weights.toml",
        "--output-table",
        "a/b",
    ]);
    assert_usage_error(
        &output,
        &["--as-of \"yesterday\"", "weights.toml", "--output-table \"a/b\""],
        &scratch.path("out"),
    );
}

#[test]
fn a_failed_run_keeps_the_previous_outputs() {
    let scratch = Scratch::new();
    assert_eq!(scratch.enrich(&[]).status.code(), Some(0));
    let before = std::fs::read(scratch.path("out/Office.csv")).expect("first output");
    let output = scratch.enrich(&["--source", "no-such-folder"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(std::fs::read(scratch.path("out/Office.csv")).expect("kept output"), before);
    let leftovers: Vec<_> = std::fs::read_dir(scratch.path("out"))
        .expect("out")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn demo_runs_and_prints_both_tables() {
    let scratch = Scratch::new();
    let output = scratch.run(&["demo", "--dir", "demo", "--quiet", "--top", "3"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert!(stdout.contains("Most engaged accounts"), "{stdout}");
    assert!(stdout.contains("Stalest accounts"), "{stdout}");
    assert!(stdout.contains("Stored enrichment \"Demo\""), "{stdout}");
    // The stored run (pseudonymised ledger, store) publishes exactly what the one-shot run wrote.
    let write_results = |out: &str, format: &str| {
        let args = ["enrichment", "--data-dir", "demo/data", "results", "Demo", "--out", out];
        scratch.run(&[&args[..], &["--format", format]].concat())
    };
    let results = write_results("published", "csv");
    assert_eq!(results.status.code(), Some(0), "stderr: {}", stderr(&results));
    for table in ["Office.csv", "Office_UserEntity.csv", "Office_ScoreExplanation.csv"] {
        let one_shot =
            std::fs::read(scratch.path(&format!("demo/out/{table}"))).expect("one-shot table");
        let stored =
            std::fs::read(scratch.path(&format!("published/{table}"))).expect("stored table");
        assert!(one_shot == stored, "{table} differs between enrich and the stored run");
    }
    // The published tables in another format: the same rows.
    let json = write_results("as-json", "json");
    assert_eq!(json.status.code(), Some(0), "stderr: {}", stderr(&json));
    let csv_rows =
        std::fs::read_to_string(scratch.path("published/Office.csv")).expect("csv").lines().count()
            - 1;
    let json_rows: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(scratch.path("as-json/Office.json")).expect("json"),
    )
    .expect("valid json");
    assert_eq!(json_rows.as_array().map(Vec::len), Some(csv_rows));
    assert!(csv_rows > 100, "{csv_rows} rows");
    // And as Parquet (the default weights, held to 18 places, fit its decimals).
    if cfg!(feature = "parquet") {
        let parquet = write_results("as-parquet", "parquet");
        assert_eq!(parquet.status.code(), Some(0), "stderr: {}", stderr(&parquet));
        for table in ["Office", "Office_UserEntity", "Office_ScoreExplanation"] {
            let path = scratch.path(&format!("as-parquet/{table}.parquet"));
            assert!(std::fs::metadata(&path).is_ok_and(|file| file.len() > 100), "{table}");
        }
    }
}

/// Runs `rapport enrichment ...` against the scratch folder's store.
fn enrichment(scratch: &Scratch, args: &[&str]) -> Output {
    let mut all = vec!["enrichment", "--data-dir", "data"];
    all.extend_from_slice(args);
    scratch.run(&all)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn create_enrichment(scratch: &Scratch) {
    let output = enrichment(
        scratch,
        &[
            "create",
            "Key accounts",
            "--users",
            "users.txt",
            "--contacts",
            "contacts.csv",
            "--source",
            "mail",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert!(
        stdout(&output).contains("it runs once an administrator consents"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn an_enrichment_waits_for_consent_then_runs_and_publishes() {
    let scratch = Scratch::new();
    create_enrichment(&scratch);
    let refused = enrichment(&scratch, &["run", "Key accounts"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("no administrator consent"), "{}", stderr(&refused));

    let consent = enrichment(&scratch, &["consent", "Key accounts", "--by", "it-admin"]);
    assert_eq!(consent.status.code(), Some(0), "stderr: {}", stderr(&consent));
    let show = stdout(&enrichment(&scratch, &["show", "Key accounts"]));
    assert!(show.contains("given by it-admin"), "{show}");
    assert!(show.contains("Schedule:       Weekly on Mon at 02:00 (UTC)"), "{show}");

    let run = enrichment(&scratch, &["run", "Key accounts"]);
    assert_eq!(run.status.code(), Some(0), "stderr: {}", stderr(&run));
    assert!(
        stdout(&run).contains("run 1: Successful: 0 of 1 accounts enriched"),
        "{}",
        stdout(&run)
    );
    let runs = stdout(&enrichment(&scratch, &["runs", "Key accounts"]));
    assert!(
        runs.lines().nth(1).is_some_and(|line| line.starts_with("1      Successful  Manual")),
        "{runs}"
    );

    let results = enrichment(&scratch, &["results", "Key accounts", "--out", "published"]);
    assert_eq!(results.status.code(), Some(0), "stderr: {}", stderr(&results));
    let users = std::fs::read_to_string(scratch.path("published/Office_UserEntity.csv"))
        .expect("users table");
    assert_eq!(users, "Email,DirectoryId\nalice@org.example,\nbob@org.example,\n");
    assert!(scratch.path("published/Office.csv").exists());
    assert!(scratch.path("published/summary.json").exists());
}

#[test]
fn an_invalid_enrichment_lists_every_problem() {
    let scratch = Scratch::new();
    let invalid = [
        "create",
        "",
        "--user",
        "not-an-address",
        "--contacts",
        "contacts.csv",
        "--output-table",
        "a b",
        "--weight",
        "speed=1",
    ];
    // A flag that cannot be read is reported before the settings are validated.
    let output = enrichment(&scratch, &[&invalid[..], &["--at", "25:00"]].concat());
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("--at \"25:00\": expected HH:MM"), "{text}");
    let output = enrichment(&scratch, &invalid);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    for field in ["name", "output_table", "users[0]", "weights.speed", "sources"] {
        assert!(text.contains(field), "{field:?} not in {text}");
    }
}

#[test]
fn deleting_an_enrichment_removes_it() {
    let scratch = Scratch::new();
    create_enrichment(&scratch);
    assert_eq!(enrichment(&scratch, &["delete", "Key accounts"]).status.code(), Some(0));
    let show = enrichment(&scratch, &["show", "Key accounts"]);
    assert_eq!(show.status.code(), Some(2));
    let list = stdout(&enrichment(&scratch, &["list"]));
    assert_eq!(list.lines().count(), 1, "{list}");
}

/// A scratch folder whose one email was sent two days ago, so that a stored run (as of now)
/// enriches its account.
fn recent_scratch() -> Scratch {
    let scratch = Scratch::new();
    #[allow(clippy::disallowed_methods)] // A stored run is as of now; the input must be recent.
    let sent = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        - chrono::Duration::days(2);
    scratch.write(
        "mail/one.eml",
        &format!(
            "Message-ID: <m1@org.example>\r\nDate: {}\r\nFrom: Alice <alice@org.example>\r\nTo: jane@client.example\r\n\r\nbody\r\n",
            sent.to_rfc2822()
        ),
    );
    create_enrichment(&scratch);
    let consent =
        enrichment(&scratch, &["consent", "Key accounts", "--by", "it-admin", "--run-now"]);
    assert_eq!(consent.status.code(), Some(0), "stderr: {}", stderr(&consent));
    scratch
}

/// Starts `rapport enrichment run` with the crash-test hook stopping it at `stage`, and waits until
/// the run is there.
fn start_stalled_run(scratch: &Scratch, stage: &str) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .current_dir(scratch.dir.path())
        .args(["enrichment", "--data-dir", "data", "run", "Key accounts"])
        .env("RAPPORT_TEST_STALL_AT_STAGE", stage)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start run");
    for _ in 0..400 {
        let runs = stdout(&enrichment(scratch, &["runs", "Key accounts"]));
        if runs.lines().nth(1).is_some_and(|line| {
            line.contains("Running") && line.contains(&format!("{stage}: 0 of"))
        }) {
            return child;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the run never reached stage {stage}");
}

fn published(scratch: &Scratch, folder: &str) -> Vec<(String, Vec<u8>)> {
    let output = enrichment(scratch, &["results", "Key accounts", "--out", folder]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    ["Office.csv", "Office_UserEntity.csv", "Office_ScoreExplanation.csv"]
        .iter()
        .map(|name| {
            (
                name.to_string(),
                std::fs::read(scratch.path(&format!("{folder}/{name}"))).expect("table"),
            )
        })
        .collect()
}

#[test]
fn a_run_killed_in_any_stage_keeps_the_last_results_and_the_next_run_succeeds() {
    let scratch = recent_scratch();
    let first = enrichment(&scratch, &["run", "Key accounts"]);
    assert!(stdout(&first).contains("Successful: 1 of 1 accounts enriched"), "{}", stdout(&first));
    let before = published(&scratch, "before");
    let stages = [
        "resolve users",
        "read sources",
        "de-duplicate",
        "resolve accounts",
        "aggregate",
        "score",
        "publish",
    ];
    for (index, stage) in stages.iter().enumerate() {
        let mut child = start_stalled_run(&scratch, stage);
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        assert_eq!(
            published(&scratch, &format!("killed-{index}")),
            before,
            "results changed by a run killed in {stage}"
        );

        let serve = scratch.run(&["serve", "--data-dir", "data", "--once"]);
        assert_eq!(serve.status.code(), Some(0), "stderr: {}", stderr(&serve));
        let runs = stdout(&enrichment(&scratch, &["runs", "Key accounts"]));
        let mut lines = runs.lines().skip(1);
        let rerun = lines.next().unwrap_or_default();
        let killed = lines.next().unwrap_or_default();
        assert!(rerun.contains("Successful") && rerun.contains("Scheduled"), "{runs}");
        assert!(
            killed.contains("Failed") && killed.contains("interrupted") && killed.contains(stage),
            "{runs}"
        );
        assert_eq!(
            published(&scratch, &format!("rerun-{index}")),
            before,
            "the run after the crash in {stage}"
        );
    }
}

#[test]
fn cancel_stops_a_running_run_and_keeps_the_results() {
    let scratch = recent_scratch();
    assert_eq!(enrichment(&scratch, &["run", "Key accounts"]).status.code(), Some(0));
    let before = published(&scratch, "before");
    let child = start_stalled_run(&scratch, "read sources");
    let cancel = enrichment(&scratch, &["cancel", "Key accounts"]);
    assert!(stdout(&cancel).contains("cancel requested for run 2"), "{}", stdout(&cancel));
    let started = std::time::Instant::now();
    let output = child.wait_with_output().expect("run ends");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "cancel took {:?}",
        started.elapsed()
    );
    assert_eq!(output.status.code(), Some(2));
    let runs = stdout(&enrichment(&scratch, &["runs", "Key accounts"]));
    assert!(runs.lines().nth(1).is_some_and(|line| line.contains("Cancelled")), "{runs}");
    assert_eq!(published(&scratch, "after"), before);
}

#[test]
fn time_zone_moves_periods_to_local_calendar_dates() {
    let scratch = Scratch::new();
    // 23:30 UTC on 30 September is 01:30 on Monday 1 October in Berlin (summer time).
    scratch.write(
        "mail/one.eml",
        "Message-ID: <m1@org.example>\nDate: Sun, 30 Sep 2001 23:30:00 +0000\nFrom: alice@org.example\nTo: jane@client.example\n\n",
    );
    let output = scratch.enrich(&["--time-zone", "Europe/Berlin"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let office = std::fs::read_to_string(scratch.path("out/Office.csv")).expect("Office.csv");
    let rows: Vec<&str> = office.lines().skip(1).collect();
    assert_eq!(
        rows,
        [
            "A1,100,1,0,0,0,0,1,0,1,2001-10-01,91,,,,2000-12-31,Year",
            // Rf is the end of October in Berlin, 2001-10-31T23:00Z: 30 days and 23.5 hours later.
            "A1,100,1,0,0,0,0,1,0,1,2001-10-01,30,,,,2001-10-01,Month",
            "A1,100,1,0,0,0,0,1,0,1,2001-10-01,6,,,,2001-10-01,Week",
        ]
    );
    let bad = scratch.enrich(&["--time-zone", "Mars/Olympus", "--out", "bad"]);
    assert_usage_error(&bad, &["--time-zone \"Mars/Olympus\""], &scratch.path("bad"));
}
