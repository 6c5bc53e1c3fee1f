use rapport_core::calendar::{
    CalendarFile, Event, EventComponent, EventGroup, Length, Start, Zone,
};
use rapport_core::model::{EmailCopy, MailRecord, MeetingCopy};

use super::ErasedAddresses;
use crate::ledger::{self, DecodeError};

fn erased() -> ErasedAddresses {
    ErasedAddresses::new(["pgone@fabrikam.example".to_owned()])
}

fn email(sender: &str, recipients: &[&str]) -> MailRecord {
    MailRecord::Email(EmailCopy {
        message_id: Some("0123456789abcdef0123456789abcdef".into()),
        sent: Some(1_700_000_000),
        sender: Some(sender.into()),
        recipients: recipients.iter().map(|recipient| (*recipient).to_owned()).collect(),
        parent_id: None,
        automated: false,
    })
}

#[test]
fn an_erased_recipient_is_dropped_and_an_erased_sender_cleared() {
    let erased = erased();
    let mut to_them =
        email("palice@contoso.com", &["pgone@fabrikam.example", "pcarol@fabrikam.example"]);
    assert!(erased.mail_record(&mut to_them));
    assert_eq!(
        to_them,
        email("palice@contoso.com", &["pcarol@fabrikam.example"]),
        "only the erased recipient goes"
    );
    let mut from_them = email("pgone@fabrikam.example", &["palice@contoso.com"]);
    assert!(erased.mail_record(&mut from_them));
    let MailRecord::Email(copy) = &from_them else { panic!("still an email") };
    assert_eq!(copy.sender, None);
    assert_eq!(copy.recipients, vec!["palice@contoso.com".to_owned()]);
    let mut other = email("palice@contoso.com", &["pcarol@fabrikam.example"]);
    assert!(!erased.mail_record(&mut other));
    assert!(!erased.mail_record(&mut MailRecord::Unparseable));
}

#[test]
fn an_erased_participant_and_organizer_leave_a_meeting() {
    let mut meeting = MeetingCopy {
        key: Some(("uid-1".into(), 1_700_000_000)),
        start: 1_700_000_000,
        end: 1_700_003_600,
        organizer: Some("pgone@fabrikam.example".into()),
        participants: vec!["palice@contoso.com".into(), "pgone@fabrikam.example".into()],
        cancelled: false,
        all_day: false,
    };
    assert!(erased().meeting_copy(&mut meeting));
    assert_eq!(meeting.organizer, None);
    assert_eq!(meeting.participants, vec!["palice@contoso.com".to_owned()]);
    assert!(!erased().meeting_copy(&mut meeting));
}

#[test]
fn a_blob_is_rewritten_segment_by_segment_and_keeps_its_records() {
    let first =
        vec![email("pgone@fabrikam.example", &["palice@contoso.com"]), MailRecord::Unparseable];
    let second =
        vec![email("palice@contoso.com", &["pgone@fabrikam.example", "pdan@tailspin.example"])];
    let mut blob = ledger::new_blob();
    ledger::encode_segment(&first, &mut blob);
    ledger::encode_segment(&second, &mut blob);

    let rewritten = erased().blob(&blob).expect("decodes").expect("changed");
    let segments: Vec<Vec<MailRecord>> =
        ledger::segments(&rewritten).expect("format").collect::<Result<_, _>>().expect("segments");
    let MailRecord::Email(mut cleared) = email("x", &["palice@contoso.com"]) else {
        panic!("an email")
    };
    cleared.sender = None;
    assert_eq!(
        segments,
        vec![
            vec![MailRecord::Email(cleared), MailRecord::Unparseable],
            vec![email("palice@contoso.com", &["pdan@tailspin.example"])],
        ]
    );
    assert!(!rewritten.windows(22).any(|window| window == b"pgone@fabrikam.example"));
    // Nothing left to erase: no rewrite.
    assert_eq!(erased().blob(&rewritten), Ok(None));
    assert_eq!(ErasedAddresses::default().blob(&blob), Ok(None));
    // Another format holding the pseudonym's bytes cannot be rewritten; without them it is
    // not even decoded.
    assert_eq!(
        erased().blob(b"\x09pgone@fabrikam.example"),
        Err(DecodeError::Format { found: Some(9) })
    );
    assert_eq!(erased().blob(&[9]), Ok(None));
}

/// A calendar of one event by `organizer` with `participants`, and an unparseable component.
fn calendar(organizer: Option<&str>, participants: &[&str]) -> CalendarFile {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 3, 4).expect("date").and_hms_opt(9, 0, 0);
    let event = Event {
        recurrence_id: None,
        sequence: 0,
        stamp: None,
        start: Start::DateTime { local: start.expect("time"), zone: Zone::Utc },
        length: Length::Exact(3600),
        rules: Vec::new(),
        dates: Vec::new(),
        exception_dates: Vec::new(),
        organizer: organizer.map(str::to_owned),
        participants: participants.iter().map(|participant| (*participant).to_owned()).collect(),
        cancelled: false,
        all_day: false,
    };
    CalendarFile {
        method: None,
        groups: vec![EventGroup {
            uid: Some("0123456789abcdef0123456789abcdef".into()),
            components: vec![EventComponent::Event(Box::new(event)), EventComponent::Unparseable],
        }],
    }
}

#[test]
fn a_calendar_loses_an_erased_organizer_and_participant_in_every_event() {
    let erased = erased();
    let mut file = calendar(
        Some("pgone@fabrikam.example"),
        &["pgone@fabrikam.example", "pcarol@fabrikam.example"],
    );
    assert!(erased.calendar_file(&mut file));
    assert_eq!(file, calendar(None, &["pcarol@fabrikam.example"]));
    assert!(!erased.calendar_file(&mut file), "nothing left to erase");
    assert!(
        !ErasedAddresses::default()
            .calendar_file(&mut calendar(Some("pgone@fabrikam.example"), &[]))
    );
}

#[test]
fn a_calendar_blob_is_rewritten_without_the_erased_address() {
    let erased = erased();
    let with = ledger::calendar::encode(&calendar(
        Some("palice@contoso.com"),
        &["pgone@fabrikam.example", "pcarol@fabrikam.example"],
    ));
    let rewritten = erased.blob(&with).expect("decodes").expect("changed");
    assert_eq!(
        ledger::calendar::decode(&rewritten),
        Ok(calendar(Some("palice@contoso.com"), &["pcarol@fabrikam.example"]))
    );
    // The erased pseudonym is gone from the bytes, and a BLOB without it is left alone.
    assert!(!rewritten.windows(22).any(|window| window == b"pgone@fabrikam.example"));
    assert_eq!(erased.blob(&rewritten), Ok(None));
    // A damaged calendar BLOB that holds the pseudonym is an error (the caller reads it again).
    let mut damaged = with.clone();
    damaged.truncate(with.len() - 1);
    assert!(matches!(erased.blob(&damaged), Err(DecodeError::Damaged { .. })));
}
