//! Tests of the `.ics` reader: syntax, participants, zones, problems, and every file of the
//! shared calendar corpus (when present) expanded with exact instants checked by hand.

use chrono::{DateTime, NaiveDateTime};
use rapport_core::calendar::{TimeValue, expand};
use rapport_core::model::{MeetingCopy, SkipReason};

use super::*;

fn utc(text: &str) -> i64 {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap().and_utc().timestamp()
}

fn format(instant: i64) -> String {
    DateTime::from_timestamp(instant, 0).unwrap().format("%Y-%m-%d %H:%M").to_string()
}

/// Wraps VEVENT lines in a calendar with CRLF line ends.
fn calendar(body: &str) -> Vec<u8> {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{}END:VCALENDAR\r\n", body.replace('\n', "\r\n"))
        .into_bytes()
}

/// The single component of a one-event calendar.
fn only_component(bytes: &[u8]) -> EventComponent {
    let file = parse_ics(bytes);
    assert_eq!(file.groups.len(), 1, "{file:?}");
    assert_eq!(file.groups[0].components.len(), 1);
    file.groups[0].components[0].clone()
}

fn only_event(bytes: &[u8]) -> Event {
    match only_component(bytes) {
        EventComponent::Event(event) => *event,
        other => panic!("not readable: {other:?}"),
    }
}

/// The UTC start of a one-event calendar whose DTSTART line is `dtstart`.
fn start_of(extra: &str, dtstart: &str) -> String {
    let bytes = calendar(&format!("{extra}BEGIN:VEVENT\nUID:x\n{dtstart}\nEND:VEVENT\n"));
    format(only_event(&bytes).start.instant())
}

#[test]
fn content_lines_are_unfolded_and_names_are_case_insensitive() {
    let bytes = b"begin:vcalendar\nmethod:request\nBEGIN:VEVENT\nUID:a\n\tb\nDTSTART:20240105T1\n 00000Z\nDTEND:20240105T110000Z\nattendee;CN=\"Doe, Jane; Jr: x\":MAILTO:jane\n .doe@Example.com\nEND:VEVENT\nEND:VCALENDAR";
    let file = parse_ics(bytes);
    assert_eq!(file.method.as_deref(), Some("REQUEST"));
    assert_eq!(file.groups[0].uid.as_deref(), Some("ab"));
    let EventComponent::Event(event) = &file.groups[0].components[0] else { panic!() };
    assert_eq!(event.start.instant(), utc("2024-01-05 10:00"));
    assert_eq!(event.length, Length::Exact(3600));
    assert_eq!(event.participants, ["jane.doe@example.com"]);
}

#[test]
fn invalid_utf8_and_garbage_are_tolerated() {
    let mut bytes =
        calendar("BEGIN:VEVENT\nUID:\u{e9}t\u{e9}\nDTSTART:20240105T100000Z\nEND:VEVENT\n");
    bytes.splice(0..0, b"\xef\xbb\xbf".iter().copied());
    bytes.extend_from_slice(b"\xff\xfe garbage \x00\n");
    assert_eq!(only_event(&bytes).start.instant(), utc("2024-01-05 10:00"));
    assert_eq!(parse_ics(b""), CalendarFile::default());
    assert_eq!(parse_ics(b"\xff\x00\r\n:;\"\n END:\nBEGIN:\n"), CalendarFile::default());
    let nested = "BEGIN:X\n".repeat(10_000) + &"END:Y\n".repeat(10_000);
    assert_eq!(parse_ics(nested.as_bytes()), CalendarFile::default());
    // An unterminated event at the end of the file is still read.
    let truncated = b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:t\nDTSTART:20240105T100000Z\n";
    assert_eq!(parse_ics(truncated).groups.len(), 1);
}

#[test]
fn participants_follow_the_exclusions() {
    let bytes = calendar(
        "BEGIN:VEVENT\nUID:p\nDTSTART:20240105T100000Z\n\
         ORGANIZER;CN=Boss:mailto:Boss@Org.example\n\
         ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@customer.example\n\
         ATTENDEE;PARTSTAT=declined:mailto:declined@customer.example\n\
         ATTENDEE;CUTYPE=ROOM:mailto:room@org.example\n\
         ATTENDEE;CUTYPE=RESOURCE:mailto:projector@org.example\n\
         ATTENDEE;ROLE=NON-PARTICIPANT:mailto:fyi@org.example\n\
         ATTENDEE;CN=No Address:urn:uuid:1234\n\
         ATTENDEE;EMAIL=\"B@Customer.example\":urn:uuid:5678\n\
         ATTENDEE:MAILTO:a@customer.example\n\
         ATTENDEE:mailto:not-an-address\n\
         BEGIN:VALARM\nATTENDEE:mailto:alarm@org.example\nEND:VALARM\n\
         END:VEVENT\n",
    );
    let event = only_event(&bytes);
    assert_eq!(event.organizer.as_deref(), Some("boss@org.example"));
    assert_eq!(event.participants, ["a@customer.example", "b@customer.example"]);
}

#[test]
fn zones_resolve_in_the_order_of_the_spec() {
    // IANA name.
    assert_eq!(start_of("", "DTSTART;TZID=Europe/Berlin:20240705T090000"), "2024-07-05 07:00");
    // A `/`-prefixed id uses its longest trailing IANA name.
    assert_eq!(
        start_of(
            "",
            "DTSTART;TZID=/softwarestudio.org/Olson_20011030_5/America/Chicago:20240705T090000"
        ),
        "2024-07-05 14:00"
    );
    // Windows ids and Outlook display names without a VTIMEZONE.
    assert_eq!(
        start_of("", "DTSTART;TZID=W. Europe Standard Time:20240105T090000"),
        "2024-01-05 08:00"
    );
    assert_eq!(
        start_of("", "DTSTART;TZID=\"(UTC+07:00) Bangkok, Hanoi, Jakarta\":20190430T090000"),
        "2019-04-30 02:00"
    );
    assert_eq!(
        start_of("", "DTSTART;TZID=\"(UTC-05:00) Eastern Time (US & Canada)\":20240705T090000"),
        "2024-07-05 13:00"
    );
    // An unknown display name falls back to its prefix offset; anything else to UTC.
    assert_eq!(
        start_of("", "DTSTART;TZID=\"(UTC+05:30) Nowhere\":20240705T090000"),
        "2024-07-05 03:30"
    );
    assert_eq!(start_of("", "DTSTART;TZID=Mars/Olympus:20240705T090000"), "2024-07-05 09:00");
    assert_eq!(start_of("", "DTSTART;TZID=:20240705T090000"), "2024-07-05 09:00");
    assert_eq!(start_of("", "DTSTART:20240705T090000"), "2024-07-05 09:00");
    // Legacy Lotus Notes name.
    assert_eq!(start_of("", "DTSTART;TZID=Eastern:20240705T090000"), "2024-07-05 13:00");
    // The file's VTIMEZONE beats the Windows table, and an IANA name beats the VTIMEZONE.
    let fixed_zone = |name: &str| {
        format!(
            "BEGIN:VTIMEZONE\nTZID:{name}\nBEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETFROM:+0300\nTZOFFSETTO:+0300\nEND:STANDARD\nEND:VTIMEZONE\n"
        )
    };
    assert_eq!(
        start_of(
            &fixed_zone("W. Europe Standard Time"),
            "DTSTART;TZID=W. Europe Standard Time:20240105T090000"
        ),
        "2024-01-05 06:00"
    );
    assert_eq!(
        start_of(&fixed_zone("Europe/Berlin"), "DTSTART;TZID=Europe/Berlin:20240105T090000"),
        "2024-01-05 08:00"
    );
    // Escaped commas in the VTIMEZONE's TZID match the quoted parameter.
    assert_eq!(
        start_of(
            &fixed_zone("Kuala Lumpur\\, Nowhere"),
            "DTSTART;TZID=\"Kuala Lumpur, Nowhere\":20240105T090000"
        ),
        "2024-01-05 06:00"
    );
}

#[test]
fn a_custom_vtimezone_applies_across_dst() {
    let bytes = calendar(
        "BEGIN:VTIMEZONE\nTZID:Customized Time Zone\n\
         BEGIN:STANDARD\nDTSTART:16010101T020000\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\nEND:STANDARD\n\
         BEGIN:DAYLIGHT\nDTSTART:16010101T020000\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3\nEND:DAYLIGHT\n\
         END:VTIMEZONE\n\
         BEGIN:VEVENT\nUID:c\nDTSTART;TZID=Customized Time Zone:20241029T103500\nDTEND;TZID=Customized Time Zone:20241029T115000\n\
         RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=3\nEND:VEVENT\n",
    );
    let (copies, _) =
        expand(&[parse_ics(&bytes)], utc("2024-01-01 00:00"), utc("2025-01-01 00:00"));
    let starts: Vec<String> = copies.iter().map(|copy| format(copy.start)).collect();
    assert_eq!(starts, ["2024-10-29 14:35", "2024-11-05 15:35", "2024-11-12 15:35"]);
    assert!(copies.iter().all(|copy| copy.end - copy.start == 75 * 60));
}

#[test]
fn unreadable_values_and_missing_starts_are_problems() {
    let component = |lines: &str| {
        only_component(&calendar(&format!("BEGIN:VEVENT\nUID:u\n{lines}END:VEVENT\n")))
    };
    // A quoted TZID that swallows the value (calcard_013) leaves DTSTART empty.
    assert_eq!(
        component("DTSTART;TZID=\"W. Europe Standard Time:20200609T090000\"\n"),
        EventComponent::Unparseable
    );
    assert_eq!(component("DTSTART:2024-01-05\n"), EventComponent::Unparseable);
    assert_eq!(
        component("DTSTART:20240105T100000Z\nDTEND:20031114T18300\n"),
        EventComponent::Unparseable
    );
    assert_eq!(
        component("DTSTART:20240105T100000Z\nDURATION:1 hour\n"),
        EventComponent::Unparseable
    );
    assert_eq!(
        component("DTSTART:20240105T100000Z\nRRULE:RRULE:AnythingRandom;FREQ=WEEKLY\n"),
        EventComponent::Unparseable
    );
    assert_eq!(
        component("DTSTART:20240105T100000Z\nEXDATE:20240112T100000Z,soon\n"),
        EventComponent::Unparseable
    );
    assert_eq!(
        component("DTSTART:20240105T100000Z\nRDATE;VALUE=PERIOD:20240112T100000Z/later\n"),
        EventComponent::Unparseable
    );
    assert_eq!(component("RRULE:FREQ=DAILY\n"), EventComponent::InvalidDate);
    assert_eq!(
        component("DTSTART:20240105T100000Z\nDTEND:20240105T090000Z\n"),
        EventComponent::InvalidDate
    );
    assert_eq!(
        component("DTSTART:20240105T100000Z\nDURATION:-PT1H\n"),
        EventComponent::InvalidDate
    );
    // White space around a value is trimmed; DTEND wins over DURATION.
    let EventComponent::Event(event) =
        component("DTSTART: 20240105T100000Z \nDTEND:20240105T103000Z\nDURATION:PT2H\n")
    else {
        panic!()
    };
    assert_eq!(event.length, Length::Exact(1800));
}

#[test]
fn flags_lengths_and_recurrence_values() {
    let event =
        |lines: &str| only_event(&calendar(&format!("BEGIN:VEVENT\nUID:u\n{lines}END:VEVENT\n")));
    let all_day = event("DTSTART;VALUE=DATE:20240105\n");
    assert!(all_day.all_day);
    assert_eq!(all_day.length, Length::Nominal(NominalDuration { days: 1, seconds: 0 }));
    let flagged = event(
        "DTSTART:20240105T000000Z\nDTEND:20240106T000000Z\nX-MICROSOFT-CDO-ALLDAYEVENT:TRUE\n",
    );
    assert!(flagged.all_day);
    let plain =
        event("DTSTART:20240105T100000Z\nSTATUS:cancelled\nSEQUENCE:x\nDTSTAMP:20240101T000000Z\n");
    assert!(!plain.all_day);
    assert!(plain.cancelled);
    assert_eq!(plain.sequence, 0);
    assert_eq!(plain.stamp, Some(utc("2024-01-01 00:00")));
    assert_eq!(plain.length, Length::Exact(0));
    let series = event(
        "DTSTART;TZID=America/New_York:20240105T100000\nRRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY;BYDAY=SA\n\
         EXDATE;VALUE=DATE:20240106,20240107\nRDATE;TZID=America/New_York;VALUE=PERIOD:20240201T090000/PT2H,20240202T090000/20240202T093000\n\
         RECURRENCE-ID;TZID=America/New_York:20240110T100000\nSEQUENCE:3\n",
    );
    assert_eq!(series.rules.len(), 2);
    assert_eq!(series.exception_dates.len(), 2);
    assert_eq!(
        series.dates[0],
        RecurrenceDate {
            at: TimeValue::Instant(utc("2024-02-01 14:00")),
            period_seconds: Some(7200)
        }
    );
    assert_eq!(series.dates[1].period_seconds, Some(1800));
    assert_eq!(series.recurrence_id, Some(TimeValue::Instant(utc("2024-01-10 15:00"))));
    assert_eq!(series.sequence, 3);
}

#[test]
fn events_group_by_uid_and_methods_apply_per_calendar() {
    let bytes = b"BEGIN:VCALENDAR\nMETHOD:REQUEST\n\
        BEGIN:VEVENT\nUID:a\nDTSTART:20240105T100000Z\nEND:VEVENT\n\
        BEGIN:VEVENT\nDTSTART:20240106T100000Z\nEND:VEVENT\n\
        BEGIN:VEVENT\nUID:a\nRECURRENCE-ID:20240105T100000Z\nDTSTART:20240105T120000Z\nEND:VEVENT\n\
        END:VCALENDAR\n\
        BEGIN:VCALENDAR\nMETHOD:REPLY\nBEGIN:VEVENT\nUID:a\nEND:VEVENT\nEND:VCALENDAR\n\
        BEGIN:VCALENDAR\nMETHOD:CANCEL\nBEGIN:VEVENT\nUID:b\nDTSTART:20240107T100000Z\nEND:VEVENT\nEND:VCALENDAR\n";
    let file = parse_ics(bytes);
    assert_eq!(file.method, None);
    let uids: Vec<Option<&str>> = file.groups.iter().map(|group| group.uid.as_deref()).collect();
    assert_eq!(uids, [Some("a"), None, Some("b")]);
    assert_eq!(file.groups[0].components.len(), 2);
    let EventComponent::Event(cancelled) = &file.groups[2].components[0] else { panic!() };
    assert!(cancelled.cancelled);
    let single = parse_ics(
        b"BEGIN:VCALENDAR\nMETHOD:reply\nBEGIN:VEVENT\nUID:a\nEND:VEVENT\nEND:VCALENDAR\n",
    );
    assert_eq!(single.method.as_deref(), Some("REPLY"));
    assert!(single.groups.is_empty());
}

#[test]
fn random_events_among_noise_are_each_read_once() {
    // A cheap deterministic generator: events of random, partly broken property lines between
    // runs of calendar-ish noise (invalid UTF-8 and stray folds included). Each event must give
    // exactly one component, grouped under its first non-empty UID outside a VALARM.
    const NOISE: &[u8] =
        b"BEGIN:VEVENTENDRULE;=\"\r\n \tTZID/DTSTART20240105T1Z,FREQ=SECONDLYBYDAY\xff";
    const LINES: &[&str] = &[
        "UID:a",
        "UID:b",
        "UID: c ",
        "UID:",
        "DTSTART:20240105T100000Z",
        "DTSTART;TZID=\"Nowhere:20240105T100000",
        "DTSTART;VALUE=DATE:2024010",
        "DTEND:20240105T1\r\n 10000Z",
        "DURATION:soon",
        "RRULE:FREQ=SECONDLY;BYDAY=MO",
        "EXDATE:20240106T100000Z,x",
        "RDATE;VALUE=PERIOD:20240201T090000Z/PT2H",
        "ATTENDEE;CN=\"a:b\";PARTSTAT=DECLINED:mailto:x@y.example",
        ";:;",
        "BEGIN:VALARM",
        "END:VALARM",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut below = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    let mut bytes = b"BEGIN:VCALENDAR\r\n".to_vec();
    let mut expected: Vec<(Option<String>, usize)> = Vec::new();
    for _ in 0..5_000 {
        // The property name keeps a leading fold of the noise off the `END:VEVENT` line above.
        bytes.extend_from_slice(b"X-NOISE:");
        for _ in 0..below(200) {
            bytes.push(NOISE[below(NOISE.len())]);
        }
        bytes.extend_from_slice(b"\r\nBEGIN:VEVENT\r\n");
        let (mut uid, mut alarm_depth) = (None, 0_usize);
        for _ in 0..below(8) {
            let line = LINES[below(LINES.len())];
            match line {
                "BEGIN:VALARM" => alarm_depth += 1,
                "END:VALARM" => alarm_depth = alarm_depth.saturating_sub(1),
                _ => {}
            }
            if let Some(value) = line.strip_prefix("UID:")
                && alarm_depth == 0
                && uid.is_none()
                && !value.trim().is_empty()
            {
                uid = Some(value.trim().to_owned());
            }
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"END:VEVENT\r\n");
        match expected.iter_mut().find(|(group_uid, _)| uid.is_some() && *group_uid == uid) {
            Some((_, n_components)) => *n_components += 1,
            None => expected.push((uid, 1)),
        }
    }
    bytes.extend_from_slice(b"END:VCALENDAR\r\n");
    let file = parse_ics(&bytes);
    let groups: Vec<(Option<String>, usize)> =
        file.groups.iter().map(|group| (group.uid.clone(), group.components.len())).collect();
    assert_eq!(groups.len(), expected.len());
    assert_eq!(groups, expected);
}

/// The corpus test's findings for one file: counts and a few starts.
fn summary(name: &str, copies: &[MeetingCopy], skips: &rapport_core::model::SkipCounts) -> String {
    let first: Vec<String> = copies.iter().take(2).map(|copy| format(copy.start)).collect();
    format!("{name}: {} copies, skips {:?}, first {first:?}", copies.len(), skips.0)
}

#[test]
fn every_corpus_file_loads_and_expands() {
    // The shared data folder beside the repository, when this machine has it.
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ical");
    if !folder.is_dir() {
        eprintln!("skipped: no calendar corpus at {}", folder.display());
        return;
    }
    let mut paths: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "ics"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 51);
    let (wide_start, wide_end) = (utc("1990-01-01 00:00"), utc("2027-01-01 00:00"));
    let mut by_name = HashMap::new();
    for path in &paths {
        let file = parse_ics(&std::fs::read(path).unwrap());
        let (copies, skips) = expand(std::slice::from_ref(&file), wide_start, wide_end);
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        eprintln!("{}", summary(&name, &copies, &skips));
        by_name.insert(name, (file, copies, skips));
    }
    let starts = |name: &str| -> Vec<String> {
        by_name[name].1.iter().map(|copy| format(copy.start)).collect()
    };
    let lengths = |name: &str| -> Vec<i64> {
        by_name[name].1.iter().map(|copy| (copy.end - copy.start) / 60).collect()
    };

    // calcard_010: Tuesdays and Thursdays 10:35 in a custom US Eastern zone until 2020-12-17.
    let custom = starts("calcard_010");
    assert_eq!(custom.len(), 34);
    assert_eq!(custom[..2], ["2020-08-25 14:35", "2020-08-27 14:35"]);
    assert_eq!(custom[19..21], ["2020-10-29 14:35", "2020-11-03 15:35"]);
    assert_eq!(custom.last().unwrap(), "2020-12-17 15:35");
    assert!(lengths("calcard_010").iter().all(|&minutes| minutes == 75));

    // calcard_013: the DTSTART with a run-away quote is unparseable; the rest reads in its zones.
    let exchange = starts("calcard_013");
    assert_eq!(by_name["calcard_013"].2.get(SkipReason::Unparseable), 1);
    assert_eq!(exchange.len(), 1 + 1 + 135);
    assert_eq!(
        exchange[..4],
        ["2020-09-10 07:00", "2020-09-15 15:30", "2020-07-07 19:00", "2020-07-09 19:00"]
    );
    // 2020-07-21 and 2020-07-23 are EXDATEs; after 2020-11-01 noon PST is 20:00Z.
    assert_eq!(exchange[8..11], ["2020-07-17 19:00", "2020-07-19 19:00", "2020-07-24 19:00"]);
    assert!(!exchange.contains(&"2020-07-21 19:00".to_owned()));
    assert_eq!(exchange.last().unwrap(), "2021-03-09 20:00");

    assert_eq!(starts("calcard_020"), ["2019-04-30 02:00"]);
    assert_eq!(lengths("calcard_020"), [180]);
    assert_eq!(starts("calcard_045"), ["2021-05-27 08:30"]);
    assert_eq!(lengths("calcard_045"), [90]);
    // calcard_047: every other day at 11:00 CET until 2020-11-26 10:00Z; two attendees.
    assert_eq!(starts("calcard_047"), ["2020-11-24 10:00", "2020-11-26 10:00"]);
    assert!(by_name["calcard_047"].1.iter().all(|copy| copy.participants.len() == 2));
    // calcard_006: Outlook display names without VTIMEZONE.
    assert_eq!(starts("calcard_006")[..2], ["2020-10-28 02:30", "2020-10-28 17:30"]);
    // calcard_007: the invalid RRULE is unparseable.
    assert_eq!(by_name["calcard_007"].2.get(SkipReason::Unparseable), 1);
    // calcard_161: the `/`-prefixed TZID is America/Chicago.
    assert!(starts("calcard_161").contains(&"2003-05-15 23:30".to_owned()));
    // calcard_199: Lotus Notes "Eastern" VTIMEZONE, five days at 09:00 EDT.
    assert_eq!(
        starts("calcard_199"),
        [
            "2005-04-11 13:00",
            "2005-04-12 13:00",
            "2005-04-13 13:00",
            "2005-04-14 13:00",
            "2005-04-15 13:00"
        ]
    );
    // calcard_096/097 are replies: ignored entirely.
    assert!(by_name["calcard_096"].1.is_empty() && by_name["calcard_096"].2.total() == 0);

    // calcard_259: overrides, RDATEs and EXDATEs of a monthly series.
    let (window_start, window_end) = (utc("2012-09-01 00:00"), utc("2013-03-01 00:00"));
    let (copies, skips) =
        expand(std::slice::from_ref(&by_name["calcard_259"].0), window_start, window_end);
    let got: Vec<(String, i64)> =
        copies.iter().map(|copy| (format(copy.start), copy.key.as_ref().unwrap().1)).collect();
    assert_eq!(
        got,
        [
            ("2012-11-06 18:00".to_owned(), utc("2012-11-06 18:00")),
            ("2012-11-10 18:00".to_owned(), utc("2012-11-10 18:00")),
            ("2012-11-30 18:00".to_owned(), utc("2012-11-30 18:00")),
            ("2013-01-01 18:00".to_owned(), utc("2013-01-01 18:00")),
            ("2012-10-02 22:00".to_owned(), utc("2012-10-02 17:00")),
            ("2012-11-07 04:00".to_owned(), utc("2012-11-05 18:00")),
        ]
    );
    assert_eq!(copies[0].participants.len(), 3);
    assert!(copies[4].participants.is_empty());
    assert_eq!(skips.total(), 0);

    // calcard_220: iTIP messages in one file: versions by SEQUENCE then DTSTAMP; the CANCEL
    // without DTSTART is invalid and does not compete; replies and the counter are ignored.
    let (copies, skips) = (&by_name["calcard_220"].1, &by_name["calcard_220"].2);
    assert_eq!(copies.len(), 1);
    assert_eq!(format(copies[0].start), "1997-07-01 19:00");
    assert_eq!(skips.get(SkipReason::Duplicate), 2);
    assert_eq!(skips.get(SkipReason::InvalidDate), 1);
}
