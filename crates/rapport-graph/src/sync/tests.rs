use rapport_core::model::SkipCounts;

use super::*;

fn folder(id: &str) -> MailFolder {
    MailFolder { id: id.into(), display_name: id.into(), path: id.into() }
}

fn mail_page(mailbox: &str, folder_id: &str, cursor: Option<Cursor>) -> SyncEvent {
    SyncEvent::MailPage(MailPageEvent {
        mailbox: mailbox.into(),
        folder: folder(folder_id),
        reset: false,
        upserted: vec![],
        removed: vec![],
        skipped: SkipCounts::default(),
        cursor,
    })
}

#[test]
fn state_follows_the_events() {
    let mut state = SyncState::default();
    state.apply(&mail_page("m1", "inbox", Some(Cursor::Next("https://g/next1".into()))));
    state.apply(&mail_page("m1", "sent", Some(Cursor::Delta("https://g/delta-sent".into()))));
    state.apply(&mail_page("m1", "inbox", Some(Cursor::Delta("https://g/delta-inbox".into()))));
    state.apply(&mail_page("m2", "old", Some(Cursor::Delta("https://g/delta-old".into()))));
    state.apply(&SyncEvent::CalendarPage(CalendarPageEvent {
        mailbox: "m2".into(),
        reset: true,
        upserted: vec![],
        removed: vec![],
        skipped: SkipCounts::default(),
        cursor: Some(CalendarCursor {
            window_start: 10,
            window_end: 20,
            cursor: Cursor::Next("https://g/cal".into()),
        }),
    }));
    state.apply(&SyncEvent::FolderGone { mailbox: "m2".into(), folder_id: "old".into() });
    state.apply(&mail_page("m1", "sent", None));
    state.apply(&SyncEvent::MailboxRead { mailbox: "m3".into() });
    let json = serde_json::to_string(&state).expect("serializes");
    assert_eq!(
        json,
        r#"{"mailboxes":{"m1":{"folders":{"inbox":{"kind":"delta","link":"https://g/delta-inbox"}},"calendar":null},"m2":{"folders":{},"calendar":{"window_start":10,"window_end":20,"cursor":{"kind":"next","link":"https://g/cal"}}}}}"#
    );
    let back: SyncState = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, state);
    let sparse: SyncState = serde_json::from_str(r#"{"mailboxes":{"m9":{}}}"#).expect("defaults");
    assert_eq!(sparse.mailboxes.get("m9"), Some(&MailboxState::default()));
}

#[test]
fn failures_have_kinds() {
    let status = |status: u16, code: &str| GraphError::Status {
        status,
        code: code.into(),
        message: String::new(),
        resource: "/v1.0/users/u/mailFolders".into(),
    };
    let kinds: Vec<&str> = [
        status(404, "MailboxNotEnabledForRESTAPI"),
        status(403, "ErrorAccessDenied"),
        status(401, "InvalidAuthenticationToken"),
        status(429, "TooManyRequests"),
        status(503, "ServiceUnavailable"),
        status(504, "GatewayTimeout"),
        GraphError::MalformedJson { resource: "/".into() },
        GraphError::Timeout { resource: "/".into() },
        GraphError::RetryAfterTooLong { seconds: 9999, resource: "/".into() },
        status(400, "BadRequest"),
    ]
    .iter()
    .map(|error| FailureKind::of(error).as_str())
    .collect();
    assert_eq!(
        kinds,
        [
            "no_mailbox",
            "access_denied",
            "unauthorized",
            "throttled",
            "throttled",
            "faulty",
            "faulty",
            "faulty",
            "throttled",
            "other"
        ]
    );
}

#[test]
fn lost_delta_state_restarts_the_round() {
    let status = |status: u16, code: &str| GraphError::Status {
        status,
        code: code.into(),
        message: String::new(),
        resource: "/".into(),
    };
    assert!(is_sync_state_lost(&status(410, "")));
    assert!(is_sync_state_lost(&status(400, "SyncStateNotFound")));
    assert!(is_sync_state_lost(&status(400, "resyncRequired")));
    assert!(!is_sync_state_lost(&status(404, "ErrorItemNotFound")));
}
