//! Tests of the source walker (order, kinds, Maildir, links, ignored files), of the parallel
//! reader (input order whatever the threads and unit sizes, progress, errors), and a run over the
//! shared mail corpus when it is present.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rapport_core::model::MailRecord;

use super::{Limits, SourceItem, SourceKind, Walk, read_mail, read_mail_with, walk};
use crate::error::Error;
use crate::{mail, mbox};

fn write(path: &Path, contents: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create test folder");
    }
    fs::write(path, contents).expect("write test file");
}

/// The walk's items as (path relative to `root`, kind).
fn relative_items(walk: &Walk, root: &Path) -> Vec<(String, SourceKind)> {
    walk.items
        .iter()
        .map(|item| {
            let relative = item.path.strip_prefix(root).unwrap_or(&item.path);
            (relative.to_string_lossy().into_owned(), item.kind)
        })
        .collect()
}

#[test]
fn walk_order_kinds_maildir_and_links() {
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path();
    write(&root.join("b.eml"), b"From: a@x.org\n");
    write(&root.join("A.EML"), b"From: a@x.org\n");
    write(&root.join("c.ics"), b"BEGIN:VCALENDAR\n");
    write(&root.join("f.ICS"), b"BEGIN:VCALENDAR\n");
    write(&root.join("d.txt"), b"hello\n");
    write(&root.join("e"), b"From x Mon\nA: 1\n");
    write(&root.join("empty"), b"");
    write(&root.join("short"), b"From");
    write(&root.join("sub/x.eml"), b"A: 1\n");
    write(&root.join("sub/deeper/y"), b"From y\n");
    write(&root.join("maildir/cur/2"), b"A: 2\n");
    write(&root.join("maildir/cur/1"), b"A: 1\n");
    write(&root.join("maildir/new/3"), b"A: 3\n");
    write(&root.join("maildir/tmp/4"), b"A: 4\n");
    write(&root.join("maildir/.Sent/cur/5"), b"A: 5\n");
    fs::create_dir_all(root.join("maildir/.Sent/new")).expect("create new");
    write(&root.join("maildir/dovecot-uidlist"), b"3 V1 N1\n");
    write(&root.join("maildir/z.eml"), b"A: 6\n");
    write(&root.join("not-maildir/cur/7"), b"A: 7\n");
    std::os::unix::fs::symlink(root.join("sub"), root.join("link-to-sub")).expect("symlink");
    std::os::unix::fs::symlink(root.join("e"), root.join("link-to-e")).expect("symlink");
    std::os::unix::fs::symlink(root.join("nowhere"), root.join("broken")).expect("symlink");

    let walked = walk(&[root.to_path_buf()]).expect("walk");
    assert_eq!(
        relative_items(&walked, root),
        [
            ("A.EML".to_string(), SourceKind::Message),
            ("b.eml".to_string(), SourceKind::Message),
            ("c.ics".to_string(), SourceKind::Calendar),
            ("e".to_string(), SourceKind::Mbox),
            ("f.ICS".to_string(), SourceKind::Calendar),
            ("link-to-e".to_string(), SourceKind::Mbox),
            ("maildir/.Sent/cur/5".to_string(), SourceKind::Message),
            ("maildir/cur/1".to_string(), SourceKind::Message),
            ("maildir/cur/2".to_string(), SourceKind::Message),
            ("maildir/new/3".to_string(), SourceKind::Message),
            ("maildir/z.eml".to_string(), SourceKind::Message),
            ("sub/deeper/y".to_string(), SourceKind::Mbox),
            ("sub/x.eml".to_string(), SourceKind::Message),
        ]
    );
    // broken, d.txt, empty, maildir/dovecot-uidlist, not-maildir/cur/7, short.
    assert_eq!(walked.files_ignored, 6);
    assert_eq!(walked.items.first().map(|item| item.len), Some(14));
}

#[test]
fn walk_takes_sources_in_the_given_order() {
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path();
    write(&root.join("one/m.eml"), b"A: 1\n");
    write(&root.join("two.txt"), b"not mail\n");
    write(&root.join("three.mbox"), b"From x\n");
    let sources = [root.join("two.txt"), root.join("one"), root.join("three.mbox")];
    let walked = walk(&sources).expect("walk");
    assert_eq!(
        relative_items(&walked, root),
        [
            ("two.txt".to_string(), SourceKind::Message),
            ("one/m.eml".to_string(), SourceKind::Message),
            ("three.mbox".to_string(), SourceKind::Mbox),
        ]
    );
    assert_eq!(walked.files_ignored, 0);
}

#[test]
fn walk_of_a_missing_source_names_it() {
    let temp = tempfile::tempdir().expect("temp dir");
    let missing = temp.path().join("no-such-thing");
    let error = walk(std::slice::from_ref(&missing)).expect_err("missing source");
    assert_eq!(error.to_string(), format!("cannot read source {}", missing.display()));
    let Error::Io { path, source } = error else { panic!("not an I/O error: {error}") };
    assert_eq!(path, missing);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
}

/// Small limits so that a few kilobytes exercise every path: split mbox files and groups.
const TINY: Limits =
    Limits { unit_bytes: 700, split_above_bytes: 1_000, group_bytes: 300, group_files: 2 };

/// A folder with mbox files (small and big), messages, a calendar and a Maildir, and the
/// records a plain sequential read gives.
fn mail_fixture(root: &Path) -> (Vec<SourceItem>, Vec<MailRecord>) {
    let mut big = Vec::new();
    for index in 0..60 {
        big.extend_from_slice(
            format!("From s Mon\r\nMessage-ID: <big{index}@x>\r\nTo: r{index}@y.org\r\n\r\nbody {index}\r\n\r\n")
                .as_bytes(),
        );
    }
    big.extend_from_slice(b"From s Mon\nno header here\n\n");
    write(&root.join("a-big.mbox"), &big);
    write(&root.join("b.eml"), b"From envelope line\nMessage-ID: <b@x>\n");
    write(&root.join("c.ics"), b"BEGIN:VCALENDAR\n");
    write(&root.join("d-small"), b"From s\nMessage-ID: <d1@x>\n\nFrom s\nMessage-ID: <d2@x>\n");
    for index in 0..7 {
        write(
            &root.join(format!("e/cur/{index}")),
            format!("Message-ID: <e{index}@x>\n").as_bytes(),
        );
    }
    fs::create_dir_all(root.join("e/new")).expect("create new");
    write(&root.join("f.eml"), b"");
    let items = walk(&[root.to_path_buf()]).expect("walk").items;
    let mut expected = Vec::new();
    for item in &items {
        let bytes = fs::read(&item.path).expect("read fixture");
        match item.kind {
            SourceKind::Mbox => expected.extend(mbox::messages(&bytes).map(mail::parse_message)),
            SourceKind::Message => expected.push(mail::parse_message(&bytes)),
            SourceKind::Calendar => {}
        }
    }
    (items, expected)
}

#[test]
fn read_mail_keeps_input_order_for_any_threads_and_units() {
    let temp = tempfile::tempdir().expect("temp dir");
    let (items, expected) = mail_fixture(temp.path());
    assert_eq!(expected.len(), 61 + 1 + 2 + 7 + 1);
    let mail_bytes: u64 =
        items.iter().filter(|item| item.kind != SourceKind::Calendar).map(|item| item.len).sum();
    for limits in [TINY, super::LIMITS] {
        for threads in [0, 1, 2, 3, 8] {
            let mut records = Vec::new();
            let reported = Cell::new(0);
            let on_bytes = |n_bytes: u64| reported.set(reported.get() + n_bytes);
            read_mail_with(
                &items,
                threads,
                limits,
                &AtomicBool::new(false),
                &mut |record| records.push(record),
                &on_bytes,
            )
            .expect("read mail");
            assert_eq!(records, expected, "threads {threads}, {limits:?}");
            assert_eq!(reported.get(), mail_bytes, "threads {threads}, {limits:?}");
        }
    }
}

#[test]
fn read_mail_of_no_items() {
    let mut n_records = 0;
    read_mail(&[], 2, &mut |_| n_records += 1, &|_| {}).expect("read nothing");
    assert_eq!(n_records, 0);
}

#[test]
fn read_mail_stops_at_an_unreadable_item_after_the_items_before_it() {
    let temp = tempfile::tempdir().expect("temp dir");
    let (mut items, expected) = mail_fixture(temp.path());
    let missing = temp.path().join("gone.eml");
    let n_before = 61 + 1 + 2;
    // Placed after a-big.mbox, b.eml, c.ics and d-small.
    items.insert(4, SourceItem { path: missing.clone(), kind: SourceKind::Message, len: 10 });
    for limits in [TINY, super::LIMITS] {
        for threads in [1, 2, 4] {
            let mut records = Vec::new();
            let error = read_mail_with(
                &items,
                threads,
                limits,
                &AtomicBool::new(false),
                &mut |record| records.push(record),
                &|_| {},
            )
            .expect_err("missing item");
            let Error::Io { path, .. } = error else { panic!("not an I/O error: {error}") };
            assert_eq!(path, missing);
            assert_eq!(records, expected[..n_before], "threads {threads}");
        }
    }
}

#[test]
fn read_mail_of_a_missing_big_mbox_names_it() {
    let temp = tempfile::tempdir().expect("temp dir");
    let missing = temp.path().join("big.mbox");
    let items = [SourceItem { path: missing.clone(), kind: SourceKind::Mbox, len: 10_000 }];
    let error = read_mail_with(&items, 2, TINY, &AtomicBool::new(false), &mut |_| {}, &|_| {})
        .expect_err("missing big mbox");
    let Error::Io { path, .. } = error else { panic!("not an I/O error: {error}") };
    assert_eq!(path, missing);
}

/// Counts of what reading some mail gave.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    n_records: usize,
    n_unparseable: usize,
    n_without_date: usize,
    n_without_message_id: usize,
}

fn tally(items: &[SourceItem]) -> Tally {
    let mut tally = Tally::default();
    read_mail(
        items,
        2,
        &mut |record| {
            tally.n_records += 1;
            match record {
                MailRecord::Unparseable => tally.n_unparseable += 1,
                MailRecord::Email(copy) => {
                    tally.n_without_date += usize::from(copy.sent.is_none());
                    tally.n_without_message_id += usize::from(copy.message_id.is_none());
                }
            }
        },
        &|_| {},
    )
    .expect("read corpus");
    tally
}

/// The shared data folder beside the repository, when this machine has it.
fn shared_data() -> Option<PathBuf> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    data.is_dir().then_some(data)
}

#[test]
fn shared_corpus_matches_its_manifests() {
    let Some(data) = shared_data() else {
        eprintln!("skipped: no shared data folder beside the repository");
        return;
    };
    let edge_cases = data.join("mail-edgecases");
    let walked = walk(std::slice::from_ref(&edge_cases)).expect("walk edge cases");
    // SOURCE.md lists 54 + 20 + 23 + 10 messages; it and three COPYING files are ignored.
    assert_eq!(walked.items.len(), 107);
    assert_eq!(walked.files_ignored, 4);
    let edge_tally = tally(&walked.items);
    eprintln!("mail-edgecases: {edge_tally:?}");
    assert_eq!(edge_tally.n_records, 107);

    // SOURCE.md: malformed/ has 23 messages, 22 without Message-ID and 20 without Date.
    let malformed = walk(&[edge_cases.join("malformed")]).expect("walk malformed");
    let malformed_tally = tally(&malformed.items);
    eprintln!("mail-edgecases/malformed: {malformed_tally:?}");
    assert_eq!(malformed_tally.n_records, 23);
    assert_eq!(malformed_tally.n_unparseable + malformed_tally.n_without_message_id, 22);
    assert_eq!(malformed_tally.n_unparseable + malformed_tally.n_without_date, 20);
    for subset in ["legacy", "thirdparty", "rfc"] {
        let walked = walk(&[edge_cases.join(subset)]).expect("walk subset");
        eprintln!("mail-edgecases/{subset}: {:?}", tally(&walked.items));
    }

    // SOURCE.md and MANIFEST.tsv: the message counts of the three sample mbox files.
    let sample = data.join("enron/sample");
    for (name, n_messages) in [
        ("enron.allen-p._sent_mail", 602),
        ("enron.arnold-j.compaq", 13),
        ("enron.lay-k.inbox", 1_373),
    ] {
        let walked = walk(&[sample.join(name)]).expect("walk sample");
        assert_eq!(
            walked.items.iter().map(|item| item.kind).collect::<Vec<_>>(),
            [SourceKind::Mbox]
        );
        let sample_tally = tally(&walked.items);
        eprintln!("enron/sample/{name}: {sample_tally:?}");
        assert_eq!(
            sample_tally,
            Tally {
                n_records: n_messages,
                n_unparseable: 0,
                n_without_date: 0,
                n_without_message_id: 0
            }
        );
    }
}

#[test]
fn read_mail_until_stops_when_cancelled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mbox: String = (0..200)
        .map(|i| format!("From x\nMessage-ID: <{i}@x>\nFrom: a@x.example\n\nbody\n\n"))
        .collect();
    let path = dir.path().join("big.mbox");
    fs::write(&path, mbox).expect("write mbox");
    let items = walk(&[path]).expect("walk").items;
    let cancel = AtomicBool::new(false);
    let mut n_records = 0;
    let error = read_mail_with(
        &items,
        2,
        TINY,
        &cancel,
        &mut |_| {
            n_records += 1;
            cancel.store(true, Ordering::Relaxed);
        },
        &|_| {},
    )
    .expect_err("cancelled");
    assert!(matches!(error, Error::Cancelled), "{error}");
    assert!(n_records > 0 && n_records < 200, "{n_records} records handed out");
}
