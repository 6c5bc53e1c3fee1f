//! Measures header-scanning throughput: reads each mbox file given, splits it into messages and
//! parses every header block, first on one thread, then through `source::read_mail` on all cores.
//!
//! `cargo run --release -p rapport-ingest --example scan -- FILE...`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use rapport_core::model::MailRecord;
use rapport_ingest::source::{self, SourceItem, SourceKind};
use rapport_ingest::{mail, mbox};

/// Counts of one pass over the input.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    n_messages: u64,
    n_unparseable: u64,
    n_without_date: u64,
    n_recipients: u64,
}

impl Counts {
    /// Counts one record.
    fn add(&mut self, record: &MailRecord) {
        self.n_messages += 1;
        match record {
            MailRecord::Unparseable => self.n_unparseable += 1,
            MailRecord::Email(copy) => {
                self.n_without_date += u64::from(copy.sent.is_none());
                self.n_recipients += copy.recipients.len() as u64;
            }
        }
    }
}

fn main() -> ExitCode {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: scan MBOX...");
        return ExitCode::from(2);
    }
    let mut items = Vec::new();
    let mut single = Counts::default();
    let mut n_bytes = 0;
    let mut parse_seconds = 0.0;
    for path in &paths {
        // The file is read whole here so that the single-thread figure is the parser's alone.
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                eprintln!("cannot read {}: {error}", path.display());
                return ExitCode::from(2);
            }
        };
        n_bytes += bytes.len() as u64;
        items.push(SourceItem {
            path: path.clone(),
            kind: SourceKind::Mbox,
            len: bytes.len() as u64,
        });
        let parse_started = Instant::now();
        for message in mbox::messages(&bytes) {
            single.add(&mail::parse_message(message));
        }
        parse_seconds += parse_started.elapsed().as_secs_f64();
    }
    report("1 thread (split + parse, files in memory)", &single, n_bytes, parse_seconds);
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let mut parallel = Counts::default();
    let parallel_started = Instant::now();
    if let Err(error) =
        source::read_mail(&items, threads, &mut |record| parallel.add(&record), &|_| {})
    {
        eprintln!("{error}");
        return ExitCode::from(2);
    }
    report(
        &format!("read_mail, {threads} threads (read + split + parse)"),
        &parallel,
        n_bytes,
        parallel_started.elapsed().as_secs_f64(),
    );
    if parallel != single {
        eprintln!("parallel counts differ: {parallel:?} vs {single:?}");
        return ExitCode::from(1);
    }
    eprintln!("{single:?}");
    ExitCode::SUCCESS
}

/// Prints one throughput line.
fn report(label: &str, counts: &Counts, n_bytes: u64, seconds: f64) {
    eprintln!(
        "{label}: {} messages, {:.1} MB in {:.3} s: {:.0} messages/s, {:.0} MB/s",
        counts.n_messages,
        n_bytes as f64 / 1e6,
        seconds,
        counts.n_messages as f64 / seconds,
        n_bytes as f64 / 1e6 / seconds,
    );
}
