//! Golden cases: hand-worked expectations for `rapport enrich`, one folder per rule of metrics.md.
//!
//! Each case lives in `crates/rapport-core/test_data/<case>/` with `input/`, a users file
//! (`users.txt` or `users.csv`), `contacts.csv`, an optional `accounts.csv`, `case.toml` (the extra
//! command-line arguments) and `expected/` (`Office.csv`, `Office_UserEntity.csv`, `summary.json`).
//! The expected files were worked out by hand from the spec, not captured from the engine, so a
//! difference is a finding to re-derive, not something to bless blindly. `UPDATE_EXPECT=1` rewrites
//! the expected files (and a reviewer reads the diff).
//!
//! Every case is run even when an earlier one fails, so one run lists every difference.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use expect_test::expect_file;
use serde::Deserialize;

/// The part of `case.toml` the runner reads.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// Extra arguments for `rapport enrich` (always `--as-of`, plus options of the case).
    args: Vec<String>,
    /// What the case covers, in one sentence for a reader of the folder.
    covers: String,
}

/// The expected tables compared as text (exact bytes).
const TEXT_OUTPUTS: [&str; 2] = ["Office.csv", "Office_UserEntity.csv"];

#[test]
fn golden_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rapport-core/test_data");
    let case_dirs = case_dirs(&root);
    assert!(!case_dirs.is_empty(), "no golden case found under {}", root.display());

    let mut failures = Vec::new();
    let mut n_failed_cases = 0;
    for case_dir in &case_dirs {
        let case_name = case_dir.file_name().map(|name| name.to_string_lossy().into_owned());
        let case_name = case_name.unwrap_or_default();
        let problems = run_case(case_dir);
        if !problems.is_empty() {
            n_failed_cases += 1;
        }
        for problem in problems {
            failures.push(format!("{case_name}: {problem}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{n_failed_cases} of {} golden cases differ:\n{}",
        case_dirs.len(),
        failures.join("\n")
    );
}

/// The case folders (those holding a `case.toml`), in sorted order.
fn case_dirs(root: &Path) -> Vec<PathBuf> {
    let entries = fs::read_dir(root).unwrap_or_else(|error| panic!("{}: {error}", root.display()));
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("case.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Runs one case and returns its problems (empty when everything matches).
fn run_case(case_dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let case_text = fs::read_to_string(case_dir.join("case.toml")).unwrap_or_default();
    let case_file: CaseFile = match toml::from_str(&case_text) {
        Ok(case_file) => case_file,
        Err(error) => return vec![format!("case.toml: {error}")],
    };
    if case_file.covers.trim().is_empty() {
        problems.push("case.toml: `covers` must say what the case covers".to_owned());
    }
    let users_file = ["users.txt", "users.csv"]
        .iter()
        .map(|name| case_dir.join(name))
        .find(|path| path.is_file());
    let Some(users_file) = users_file else {
        return vec!["no users.txt or users.csv".to_owned()];
    };
    let contacts_file = case_dir.join("contacts.csv");
    let accounts_file = case_dir.join("accounts.csv");

    let work_dir = tempfile::tempdir().expect("temporary folder");
    let out_dir = work_dir.path().join("out");
    let mut command = Command::new(env!("CARGO_BIN_EXE_rapport"));
    command.current_dir(work_dir.path()).arg("enrich");
    command.arg("--users").arg(&users_file);
    command.arg("--contacts").arg(&contacts_file);
    if accounts_file.is_file() {
        command.arg("--accounts").arg(&accounts_file);
    }
    command.arg("--source").arg(case_dir.join("input"));
    command.arg("--out").arg(&out_dir).arg("--quiet");
    // A weights file is named relative to the case folder; the process runs elsewhere.
    let mut after_weights = false;
    for arg in &case_file.args {
        if after_weights {
            command.arg(case_dir.join(arg));
        } else {
            command.arg(arg);
        }
        after_weights = arg == "--weights";
    }

    let output = match command.output() {
        Ok(output) => output,
        Err(error) => return vec![format!("could not start rapport: {error}")],
    };
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    let stdout = String::from_utf8_lossy(&output.stdout).to_lowercase();
    if !output.status.success() {
        problems.push(format!("exit status {} (stderr: {})", output.status, stderr.trim()));
        return problems;
    }

    // Privacy (metrics.md §7): the run's messages never name a person of the fixture.
    let mut fixture_addresses = addresses_in(&users_file);
    fixture_addresses.extend(addresses_in(&contacts_file));
    for address in &fixture_addresses {
        if stderr.contains(address.as_str()) || stdout.contains(address.as_str()) {
            problems.push(format!("the output on screen names {address}"));
        }
    }

    let expected_dir = case_dir.join("expected");
    for name in TEXT_OUTPUTS {
        // A missing output is a failure of its own: blessing it would erase a hand-worked file.
        let Ok(actual) = fs::read_to_string(out_dir.join(name)) else {
            problems.push(format!("rapport wrote no {name}"));
            continue;
        };
        let expected = expect_file![expected_dir.join(name)];
        if compare(|| expected.assert_eq(&actual)).is_err() {
            problems.push(format!("{name} differs (see the diff printed above)"));
        }
    }
    problems
        .extend(compare_summary(&expected_dir.join("summary.json"), &out_dir.join("summary.json")));
    problems
}

/// Compares `summary.json` as parsed JSON (key order and layout are free).
fn compare_summary(expected_path: &Path, actual_path: &Path) -> Option<String> {
    let Ok(actual_text) = fs::read_to_string(actual_path) else {
        return Some("rapport wrote no summary.json".to_owned());
    };
    let expected_text = fs::read_to_string(expected_path).unwrap_or_default();
    let actual: Option<serde_json::Value> = serde_json::from_str(&actual_text).ok();
    let expected: Option<serde_json::Value> = serde_json::from_str(&expected_text).ok();
    if actual.is_some() && actual == expected {
        return None;
    }
    // Pretty-printed, so that a difference shows key by key and a blessed file reads well.
    let actual_pretty = match &actual {
        Some(value) => serde_json::to_string_pretty(value).unwrap_or_default() + "\n",
        None => actual_text,
    };
    let expected_file = expect_file![expected_path.to_path_buf()];
    match compare(|| expected_file.assert_eq(&actual_pretty)) {
        Ok(()) => None, // UPDATE_EXPECT=1 rewrote the file.
        Err(()) => Some("summary.json differs (see the diff printed above)".to_owned()),
    }
}

/// Runs an `expect_file!` assertion, turning its failure into `Err` so that the other cases still run.
fn compare(assertion: impl FnOnce()) -> Result<(), ()> {
    panic::catch_unwind(AssertUnwindSafe(assertion)).map_err(|_| ())
}

/// Every address-like token of a fixture file, lowercased: what must never appear on screen.
fn addresses_in(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_default().to_lowercase();
    let is_separator = |character: char| {
        character.is_whitespace()
            || matches!(character, ',' | ';' | '<' | '>' | '"' | '\'' | '(' | ')')
    };
    let mut addresses: Vec<String> = text
        .split(is_separator)
        .filter(|token| {
            let mut parts = token.split('@');
            let local = parts.next().unwrap_or_default();
            let domain = parts.next().unwrap_or_default();
            !local.is_empty() && !domain.is_empty() && parts.next().is_none()
        })
        .map(str::to_owned)
        .collect();
    addresses.sort();
    addresses.dedup();
    addresses
}
