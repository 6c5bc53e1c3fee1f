use rapport_core::model::{MeetingCopy, SkipReason};

use super::*;

fn attendee(kind: &str, response: &str, address: &str) -> String {
    format!(
        r#"{{"type": "{kind}", "status": {{"response": "{response}", "time": "0001-01-01T00:00:00Z"}}, "emailAddress": {{"name": "N", "address": "{address}"}}}}"#
    )
}

#[test]
fn a_delta_page_maps_events() {
    let body = format!(
        r##"{{
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
        "@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/u1/calendarView/delta?$deltatoken=d1",
        "value": [
            {{
                "@odata.type": "#microsoft.graph.event",
                "id": "e1",
                "type": "singleInstance",
                "iCalUId": "uid-1",
                "isCancelled": false,
                "isAllDay": false,
                "start": {{"dateTime": "2026-03-02T15:00:00.0000000", "timeZone": "UTC"}},
                "end": {{"dateTime": "2026-03-02T15:30:00.0000000", "timeZone": "UTC"}},
                "organizer": {{"emailAddress": {{"name": "Ann", "address": "Ann@Contoso.com"}}}},
                "attendees": [{a1}, {a2}, {a3}, {a4}, {a5}, {a6}]
            }},
            {{
                "id": "e2",
                "type": "occurrence",
                "iCalUId": "uid-2",
                "seriesMasterId": "master-2",
                "originalStart": "2026-03-03T09:00:00Z",
                "isCancelled": true,
                "isAllDay": false,
                "start": {{"dateTime": "2026-03-03T10:00:00.0000000", "timeZone": "UTC"}},
                "end": {{"dateTime": "2026-03-03T11:00:00.0000000", "timeZone": "UTC"}},
                "organizer": {{"emailAddress": {{"address": "bob@fabrikam.com"}}}},
                "attendees": [{a7}]
            }},
            {{
                "id": "e3",
                "type": "exception",
                "iCalUId": "uid-3",
                "seriesMasterId": "master-3",
                "isAllDay": true,
                "start": {{"dateTime": "2026-03-04T00:00:00.0000000", "timeZone": "UTC"}},
                "end": {{"dateTime": "2026-03-05T00:00:00.0000000", "timeZone": "UTC"}},
                "attendees": null
            }},
            {{"id": "e4", "type": "seriesMaster", "iCalUId": "uid-4", "start": {{"dateTime": "2026-01-01T00:00:00", "timeZone": "UTC"}}}},
            {{"id": "e5", "@removed": {{"reason": "deleted"}}}},
            {{"id": "e6", "iCalUId": "uid-6"}},
            {{"id": "e7", "start": {{"dateTime": "someday", "timeZone": "UTC"}}}},
            {{"id": "e8", "start": {{"dateTime": "2026-03-02T15:00:00", "timeZone": "Mars/Olympus"}}}},
            {{"id": "e9", "start": {{"dateTime": "2026-07-01T09:00:00.0000000", "timeZone": "Pacific Standard Time"}}, "end": {{"dateTime": "2026-07-01T10:00:00", "timeZone": "Europe/Paris"}}}},
            {{"type": "singleInstance"}}
        ]
    }}"##,
        a1 = attendee("required", "accepted", "bob@fabrikam.com"),
        a2 = attendee("optional", "declined", "cat@fabrikam.com"),
        a3 = attendee("resource", "accepted", "room1@contoso.com"),
        a4 = attendee("required", "none", "BOB@fabrikam.com"),
        a5 = attendee("optional", "tentativelyAccepted", "dan@contoso.com"),
        a6 = attendee("required", "organizer", "ann@contoso.com"),
        a7 = attendee("required", "notResponded", "ann@contoso.com"),
    );
    let page = read_event_page(body.as_bytes()).expect("page reads");
    assert_eq!(
        page.delta_link.as_deref(),
        Some("https://graph.microsoft.com/v1.0/users/u1/calendarView/delta?$deltatoken=d1")
    );
    assert_eq!(page.removed, ["e5", "e6", "e7", "e8"]);
    assert_eq!(page.skipped.get(SkipReason::InvalidDate), 1);
    assert_eq!(page.skipped.get(SkipReason::Unparseable), 3);
    assert_eq!(page.skipped.total(), 4);
    assert_eq!(
        page.upserted,
        [
            CalendarItem {
                graph_id: "e1".into(),
                kind: EventKind::Single,
                series_master_id: None,
                meeting: MeetingCopy {
                    key: Some(("uid-1".into(), 1_772_463_600)),
                    start: 1_772_463_600,
                    end: 1_772_465_400,
                    organizer: Some("ann@contoso.com".into()),
                    participants: vec![
                        "bob@fabrikam.com".into(),
                        "dan@contoso.com".into(),
                        "ann@contoso.com".into()
                    ],
                    cancelled: false,
                    all_day: false,
                },
            },
            CalendarItem {
                graph_id: "e2".into(),
                kind: EventKind::Occurrence,
                series_master_id: Some("master-2".into()),
                meeting: MeetingCopy {
                    key: Some(("uid-2".into(), 1_772_528_400)),
                    start: 1_772_532_000,
                    end: 1_772_535_600,
                    organizer: Some("bob@fabrikam.com".into()),
                    participants: vec!["ann@contoso.com".into()],
                    cancelled: true,
                    all_day: false,
                },
            },
            CalendarItem {
                graph_id: "e3".into(),
                kind: EventKind::Exception,
                series_master_id: Some("master-3".into()),
                meeting: MeetingCopy {
                    key: Some(("uid-3".into(), 1_772_582_400)),
                    start: 1_772_582_400,
                    end: 1_772_668_800,
                    organizer: None,
                    participants: vec![],
                    cancelled: false,
                    all_day: true,
                },
            },
            CalendarItem {
                graph_id: "e9".into(),
                kind: EventKind::Single,
                series_master_id: None,
                meeting: MeetingCopy {
                    key: None,
                    // 09:00 in Los Angeles (UTC−7 in July) and 10:00 in Paris (UTC+2).
                    start: 1_782_921_600,
                    end: 1_782_892_800,
                    organizer: None,
                    participants: vec![],
                    cancelled: false,
                    all_day: false,
                },
            },
        ]
    );
}

#[test]
fn date_times_in_their_zones() {
    let check = |date_time: &str, zone: &str, expected: Option<i64>| {
        assert_eq!(date_time_instant(date_time, zone), expected, "{date_time} {zone}");
    };
    check("2026-01-15T12:00:00.0000000", "UTC", Some(1_768_478_400));
    check("2026-01-15T12:00:00", "", Some(1_768_478_400));
    check("2026-01-15T12:00", "Etc/UTC", Some(1_768_478_400));
    check("2026-01-15T12:00:00Z", "Tokyo Standard Time", Some(1_768_478_400));
    check("2026-01-15T13:00:00", "Europe/Berlin", Some(1_768_478_400));
    check("2026-01-15T13:00:00", "W. Europe Standard Time", Some(1_768_478_400));
    check(
        "2026-01-15T13:00:00",
        "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
        Some(1_768_478_400),
    );
    check("2026-01-15T17:30:00", "(UTC+05:30) Somewhere Else", Some(1_768_478_400));
    check("2026-01-15T12:00:00", "Nowhere/Special", None);
    check("15/01/2026 12:00", "UTC", None);
}

#[test]
fn first_round_covers_the_window() {
    assert_eq!(
        first_round_path("3f2a-user", 1_735_689_600, 1_767_225_600),
        "/users/3f2a-user/calendarView/delta?startDateTime=2025-01-01T00:00:00Z&endDateTime=2026-01-01T00:00:00Z"
    );
}
