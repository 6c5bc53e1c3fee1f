//! Tests that the exported files read back through rapport-ingest as the activity a first Graph round reads.

use std::fs;

use rapport_core::calendar::{CalendarFile, expand};
use rapport_core::model::{EmailCopy, MailRecord, MeetingCopy, SkipCounts, SkipReason};
use rapport_ingest::source::{SourceKind, read_mail, walk};
use rapport_ingest::{customers, ics};

use super::ExportedFiles;
use crate::dataset::{Dataset, GenSpec};
use crate::datetime::utc;

/// Exports `dataset` for `window` into a new temporary folder (kept alive by the returned guard).
fn export(dataset: &Dataset, window: (i64, i64)) -> (tempfile::TempDir, ExportedFiles) {
    let Ok(dir) = tempfile::tempdir() else { panic!("no temp dir") };
    let Ok(files) = dataset.export_files(dir.path(), window) else { panic!("export failed") };
    (dir, files)
}

/// Reads the exported files back with rapport-ingest: the email copies, the calendar occurrence
/// copies of the window with their skip counts, and the files the walk ignored.
fn read_back(
    files: &ExportedFiles,
    window: (i64, i64),
) -> (Vec<EmailCopy>, Vec<MeetingCopy>, SkipCounts, u64) {
    let Ok(walked) = walk(&files.sources()) else { panic!("walk failed") };
    let mut emails = Vec::new();
    let read = read_mail(
        &walked.items,
        2,
        &mut |record| {
            if let MailRecord::Email(email) = record {
                emails.push(email);
            }
        },
        &|_| {},
    );
    assert!(read.is_ok());
    let calendars: Vec<CalendarFile> = walked
        .items
        .iter()
        .filter(|item| item.kind == SourceKind::Calendar)
        .map(|item| ics::parse_ics(&fs::read(&item.path).unwrap_or_default()))
        .collect();
    let (meetings, skips) = expand(&calendars, window.0, window.1);
    (emails, meetings, skips, walked.files_ignored)
}

/// How many users and contacts the customer files hold, read as `rapport enrich` reads them.
fn customer_counts(files: &ExportedFiles) -> (Option<usize>, Option<usize>) {
    let users = customers::load_users(&files.users).map(|loaded| loaded.items.len()).ok();
    let contacts = customers::load_contacts(&files.contacts, "Email", "AccountId")
        .map(|loaded| loaded.items.len())
        .ok();
    (users, contacts)
}

#[test]
fn small_export_reads_back() {
    let dataset = Dataset::small();
    let (_dir, files) = export(&dataset, Dataset::SMALL_WINDOW);
    assert_eq!((files.n_messages, files.n_events), (19, 14));
    let (emails, meetings, skips, files_ignored) = read_back(&files, Dataset::SMALL_WINDOW);
    assert_eq!(files_ignored, 0);
    assert_eq!(emails.len(), 19);
    let copies = |message_id: &'static str| {
        emails.iter().filter(move |email| email.message_id.as_deref() == Some(message_id))
    };
    // The reply carries its parent (found through conversationIndex) and the eventMessage reads
    // as calendar traffic.
    let m2 = copies("m2.ana@fabrikam.example").next();
    assert_eq!(m2.and_then(|email| email.parent_id.as_deref()), Some("m1.adele@contoso.example"));
    assert_eq!(m2.and_then(|email| email.sent), Some(utc(2025, 6, 2, 13, 30, 0)));
    assert_eq!(
        m2.map(|email| email.recipients.clone()),
        Some(vec!["adele@contoso.example".to_owned(), "bianca@contoso.example".to_owned()])
    );
    let m15 = copies("m15.adele@contoso.example").next();
    assert_eq!(m15.and_then(|email| email.parent_id.as_deref()), Some("m2.ana@fabrikam.example"));
    let m8 = copies("m8.diego@contoso.example").next();
    assert_eq!(m8.map(|email| email.automated), Some(true));
    // Chen's copy (his mailbox comes first) does not show the Bcc line that names him.
    assert_eq!(
        copies("m13.diego@contoso.example").map(|email| email.recipients.len()).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(copies("m1.adele@contoso.example").count(), 3);
    assert!(!emails.iter().any(|email| matches!(
        email.message_id.as_deref(),
        Some("m9.adele@contoso.example" | "m10.ana@fabrikam.example")
    )));
    assert_eq!(emails.iter().filter(|email| email.automated).count(), 1);

    // 14 VEVENTs: the two copies of each of the two shared meetings are versions of one UID, so
    // one of each counts as a duplicate.
    assert_eq!(meetings.len(), 12);
    assert_eq!(skips.get(SkipReason::Duplicate), 2);
    assert_eq!(skips.total(), 2);
    let exception = meetings.iter().find(|meeting| meeting.start == utc(2025, 10, 21, 16, 0, 0));
    assert_eq!(
        exception.and_then(|meeting| meeting.key.as_ref()).map(|key| key.1),
        Some(utc(2025, 10, 20, 15, 0, 0))
    );
    assert_eq!(meetings.iter().filter(|meeting| meeting.cancelled).count(), 1);
    assert_eq!(meetings.iter().filter(|meeting| meeting.all_day).count(), 1);
    let declined = meetings.iter().find(|meeting| meeting.start == utc(2025, 11, 10, 14, 0, 0));
    assert_eq!(
        declined.map(|meeting| meeting.participants.clone()),
        Some(vec!["li@adatum.example".to_owned()])
    );
    let with_room = meetings.iter().find(|meeting| meeting.start == utc(2026, 1, 15, 10, 0, 0));
    assert_eq!(
        with_room.map(|meeting| meeting.participants.clone()),
        Some(vec!["li@adatum.example".to_owned(), "chen@contoso.example".to_owned()])
    );
    let alone = meetings.iter().find(|meeting| meeting.start == utc(2025, 8, 1, 12, 0, 0));
    assert_eq!(
        alone.map(|meeting| (meeting.organizer.clone(), meeting.participants.len())),
        Some((Some("adele@contoso.example".to_owned()), 0))
    );

    // The customer files read as `rapport enrich` reads them.
    assert_eq!(customer_counts(&files), (Some(5), Some(5)));
    let accounts =
        customers::load_accounts(&files.accounts, "AccountId", &["Domains".to_owned()]).ok();
    let accounts = accounts.map(|loaded| loaded.items).unwrap_or_default();
    assert_eq!(accounts.len(), 4);
    assert_eq!(
        accounts.first().map(|account| account.domains.clone()),
        Some(vec!["fabrikam.example".to_owned()])
    );
}

#[test]
fn generated_export_reads_back() {
    let spec = GenSpec {
        mailboxes: 5,
        messages_per_mailbox: 60,
        events_per_mailbox: 20,
        external_domains: 4,
        seed: 11,
        window: (utc(2025, 3, 1, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0)),
    };
    let dataset = Dataset::generated(&spec);
    let mut expected_messages = 0;
    let mut expected_events = 0;
    let mut expected_parents = 0;
    for user in dataset.users() {
        let address = user.mail.clone().unwrap_or_default();
        for folder in ["inbox", "sentitems"] {
            let messages = dataset.messages(&address, folder).unwrap_or_default();
            expected_messages +=
                messages.iter().filter(|message| message.received >= spec.window.0).count() as u64;
            expected_parents += messages
                .iter()
                .filter(|message| {
                    message.received >= spec.window.0 && message.conversation_index.len() > 22
                })
                .count();
        }
        let events = dataset.events(&address).unwrap_or_default();
        expected_events += events
            .iter()
            .filter(|event| event.start < spec.window.1 && event.end > spec.window.0)
            .count() as u64;
    }
    let (_dir, files) = export(&dataset, spec.window);
    assert_eq!((files.n_messages, files.n_events), (expected_messages, expected_events));
    assert!(expected_messages > 250 && expected_messages < 300);
    let (emails, meetings, skips, _) = read_back(&files, spec.window);
    assert_eq!(emails.len() as u64, expected_messages);
    assert_eq!(emails.iter().filter(|email| email.parent_id.is_some()).count(), expected_parents);
    // Every event copy is read; the copies of one event in two calendars are versions of one
    // UID, one of which wins.
    assert_eq!(meetings.len() as u64 + skips.get(SkipReason::Duplicate), expected_events);
    assert_eq!(skips.total(), skips.get(SkipReason::Duplicate));
    assert_eq!(customer_counts(&files), (Some(5), Some(32)));
}
