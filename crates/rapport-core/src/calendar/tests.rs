//! Tests of the calendar model: value readers, zones, recurrence rules and expansion with the
//! version and window rules. Instants are checked exactly against hand-computed UTC times.

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

use super::*;
use crate::model::{MeetingCopy, SkipReason, UnixSeconds};

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn utc(text: &str) -> UnixSeconds {
    local(text).and_utc().timestamp()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn iana(name: &str) -> Zone {
    Zone::Iana(name.parse::<Tz>().unwrap())
}

/// Expands `rule` from `start` in `zone` up to `limit`, as "YYYY-MM-DD HH:MM" local strings.
fn check_rule(rule: &str, start: &str, zone: &Zone, limit: &str, expect: &[&str]) {
    let rule = RecurrenceRule::parse(rule).unwrap();
    let mut output = Vec::new();
    rrule::expand_rule(
        &rule,
        local(start),
        zone,
        NaiveDateTime::MIN,
        local(limit),
        rrule::Limits::EVENTS,
        &mut output,
    );
    let got: Vec<String> =
        output.iter().map(|time| time.format("%Y-%m-%d %H:%M").to_string()).collect();
    assert_eq!(got, expect);
}

#[test]
fn time_texts_are_read() {
    assert_eq!(parse_time_text("20240131"), Some(TimeText::Date(date("2024-01-31"))));
    assert_eq!(
        parse_time_text(" 20240131T093000 "),
        Some(TimeText::Local(local("2024-01-31 09:30")))
    );
    assert_eq!(parse_time_text("20240131t0930z"), Some(TimeText::Utc(local("2024-01-31 09:30"))));
    assert_eq!(parse_time_text("20240230"), None);
    assert_eq!(parse_time_text("20031114T18300"), None);
    assert_eq!(parse_time_text(""), None);
    assert_eq!(parse_time_text("2024013"), None);
    assert_eq!(parse_time_text("20240131T25000"), None);
}

#[test]
fn durations_are_read() {
    let check = |text: &str, expect: Option<(i64, i64)>| {
        assert_eq!(parse_duration_text(text).map(|d| (d.days, d.seconds)), expect, "{text}");
    };
    check("PT1H30M", Some((0, 5400)));
    check("P1DT12H", Some((1, 43_200)));
    check("P2W", Some((14, 0)));
    check("-PT15M", Some((0, -900)));
    check("PT00H15M00S", Some((0, 900)));
    check("P", None);
    check("PT", None);
    check("P1H", None);
    check("1H", None);
    check("PT99999999999H", None);
}

#[test]
fn rules_are_read_or_refused() {
    let rule = RecurrenceRule::parse(
        "FREQ=WEEKLY;UNTIL=20201217T153500Z;INTERVAL=2;BYDAY=TU,-1TH;WKST=su",
    )
    .unwrap();
    assert_eq!(rule.frequency, Frequency::Weekly);
    assert_eq!(rule.interval, 2);
    assert_eq!(rule.until, Some(Until::Utc(utc("2020-12-17 15:35"))));
    assert_eq!(rule.by_day[1], WeekdayNumber { ordinal: -1, weekday: chrono::Weekday::Thu });
    assert_eq!(rule.week_start, chrono::Weekday::Sun);
    assert!(RecurrenceRule::parse("FREQ=DAILY;X-NAME=1;").is_some());
    assert!(RecurrenceRule::parse("RRULE:AnythingRandom;FREQ=WEEKLY;BYDAY=FR").is_none());
    assert!(RecurrenceRule::parse("BYDAY=MO").is_none());
    assert!(RecurrenceRule::parse("FREQ=FORTNIGHTLY").is_none());
    assert!(RecurrenceRule::parse("FREQ=MONTHLY;BYMONTHDAY=32").is_none());
    assert!(RecurrenceRule::parse("FREQ=MONTHLY;BYDAY=0MO").is_none());
    assert!(RecurrenceRule::parse("FREQ=YEARLY;BYMONTH=13").is_none());
    assert!(RecurrenceRule::parse("FREQ=DAILY;COUNT=x").is_none());
}

#[test]
fn weekly_by_day_with_count_and_interval() {
    check_rule(
        "FREQ=WEEKLY;INTERVAL=2;COUNT=5;BYDAY=TU,TH",
        "2024-01-02 09:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &[
            "2024-01-02 09:00",
            "2024-01-04 09:00",
            "2024-01-16 09:00",
            "2024-01-18 09:00",
            "2024-01-30 09:00",
        ],
    );
}

#[test]
fn an_unsynchronized_start_uses_up_one_of_count() {
    // DTSTART (a Wednesday) is not a Tuesday: it counts as the first of the three.
    check_rule(
        "FREQ=WEEKLY;BYDAY=TU;COUNT=3",
        "2024-01-03 09:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &["2024-01-09 09:00", "2024-01-16 09:00"],
    );
    let mut series = event("2024-01-03 09:00", &Zone::Utc, 30);
    series.rules.push(RecurrenceRule::parse("FREQ=WEEKLY;BYDAY=TU;COUNT=3").unwrap());
    let (copies, _) = run(&[file(None, vec![(Some("s"), vec![readable(series)])])]);
    assert_eq!(starts(&copies), ["2024-01-03 09:00", "2024-01-09 09:00", "2024-01-16 09:00"]);
}

#[test]
fn monthly_ordinal_weekdays() {
    // Second Tuesday and last Friday of each month; the unsynchronized DTSTART counts as one.
    check_rule(
        "FREQ=MONTHLY;COUNT=5;BYDAY=2TU,-1FR",
        "2024-01-01 10:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &["2024-01-09 10:00", "2024-01-26 10:00", "2024-02-13 10:00", "2024-02-23 10:00"],
    );
}

#[test]
fn monthly_set_position_picks_last_workday() {
    check_rule(
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=4",
        "2024-01-01 17:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &["2024-01-31 17:00", "2024-02-29 17:00", "2024-03-29 17:00"],
    );
    // Third Thursday via BYSETPOS (calcard_161).
    check_rule(
        "FREQ=MONTHLY;INTERVAL=1;BYDAY=TH;BYSETPOS=3",
        "2003-05-15 18:30",
        &Zone::Utc,
        "2003-08-01 00:00",
        &["2003-05-15 18:30", "2003-06-19 18:30", "2003-07-17 18:30"],
    );
}

#[test]
fn invalid_dates_are_skipped_and_negative_month_days_count_back() {
    check_rule(
        "FREQ=MONTHLY;COUNT=4",
        "2024-01-31 08:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &["2024-01-31 08:00", "2024-03-31 08:00", "2024-05-31 08:00", "2024-07-31 08:00"],
    );
    check_rule(
        "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4",
        "2023-12-01 08:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &["2023-12-31 08:00", "2024-01-31 08:00", "2024-02-29 08:00"],
    );
    check_rule(
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "2020-01-01 08:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &[],
    );
}

#[test]
fn yearly_parts() {
    // US election day: the Tuesday after the first Monday of November.
    check_rule(
        "FREQ=YEARLY;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8;COUNT=3",
        "2024-01-01 00:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &["2024-11-05 00:00", "2025-11-04 00:00"],
    );
    check_rule(
        "FREQ=YEARLY;BYYEARDAY=1,-1;COUNT=3",
        "2024-01-01 12:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &["2024-01-01 12:00", "2024-12-31 12:00", "2025-01-01 12:00"],
    );
    // Monday of ISO week 20 (RFC 5545 example).
    check_rule(
        "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO;COUNT=2",
        "1997-05-12 09:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &["1997-05-12 09:00", "1998-05-11 09:00"],
    );
    // The default: the start's month and day; February 29 only in leap years.
    check_rule(
        "FREQ=YEARLY;COUNT=2",
        "2024-02-29 12:00",
        &Zone::Utc,
        "2040-01-01 00:00",
        &["2024-02-29 12:00", "2028-02-29 12:00"],
    );
}

#[test]
fn until_forms_end_the_series() {
    // A UTC UNTIL is compared with each occurrence's instant: 09:00 Berlin is 07:00Z in summer.
    check_rule(
        "FREQ=DAILY;UNTIL=20240702T070000Z",
        "2024-07-01 09:00",
        &iana("Europe/Berlin"),
        "2030-01-01 00:00",
        &["2024-07-01 09:00", "2024-07-02 09:00"],
    );
    check_rule(
        "FREQ=DAILY;UNTIL=20240702T065959Z",
        "2024-07-01 09:00",
        &iana("Europe/Berlin"),
        "2030-01-01 00:00",
        &["2024-07-01 09:00"],
    );
    // A date UNTIL keeps that whole local day.
    check_rule(
        "FREQ=YEARLY;UNTIL=20050425;INTERVAL=1",
        "2003-04-25 23:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &["2003-04-25 23:00", "2004-04-25 23:00", "2005-04-25 23:00"],
    );
}

#[test]
fn sub_daily_rules_and_caps() {
    check_rule(
        "FREQ=HOURLY;INTERVAL=3;BYDAY=MO;COUNT=5",
        "2024-01-07 22:00",
        &Zone::Utc,
        "2030-01-01 00:00",
        &["2024-01-08 01:00", "2024-01-08 04:00", "2024-01-08 07:00", "2024-01-08 10:00"],
    );
    let rule = RecurrenceRule::parse("FREQ=SECONDLY").unwrap();
    let mut output = Vec::new();
    rrule::expand_rule(
        &rule,
        local("2024-01-01 00:00"),
        &Zone::Utc,
        NaiveDateTime::MIN,
        local("2025-01-01 00:00"),
        rrule::Limits::EVENTS,
        &mut output,
    );
    assert_eq!(output.len(), rrule::MAX_OCCURRENCES_PER_RULE);
    // A rule that never matches stops at the period cap rather than running on.
    let rule = RecurrenceRule::parse("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=3").unwrap();
    output.clear();
    rrule::expand_rule(
        &rule,
        local("2024-01-01 00:00"),
        &Zone::Utc,
        NaiveDateTime::MIN,
        NaiveDateTime::MAX,
        rrule::Limits::EVENTS,
        &mut output,
    );
    assert_eq!(output.len(), 0);
}

#[test]
fn skipping_ahead_gives_the_same_occurrences() {
    let rule = RecurrenceRule::parse("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,FR").unwrap();
    let start = local("2001-03-02 09:00");
    let (from, limit) = (local("2024-06-01 00:00"), local("2024-09-01 00:00"));
    let mut skipped = Vec::new();
    rrule::expand_rule(&rule, start, &Zone::Utc, from, limit, rrule::Limits::EVENTS, &mut skipped);
    let mut full = Vec::new();
    rrule::expand_rule(
        &rule,
        start,
        &Zone::Utc,
        NaiveDateTime::MIN,
        limit,
        rrule::Limits::EVENTS,
        &mut full,
    );
    full.retain(|time| *time >= from);
    assert_eq!(skipped, full);
    assert_eq!(skipped.len(), 8);
    assert_eq!(skipped.first(), Some(&local("2024-06-10 09:00")));
}

#[test]
fn iana_gaps_and_overlaps_follow_rfc_5545() {
    let new_york = iana("America/New_York");
    // 2024-03-10 02:30 does not exist: read with the offset before the gap (-5), i.e. 03:30 EDT.
    assert_eq!(new_york.local_to_utc(local("2024-03-10 02:30")), utc("2024-03-10 07:30"));
    // 2024-11-03 01:30 exists twice: the first (EDT, -4).
    assert_eq!(new_york.local_to_utc(local("2024-11-03 01:30")), utc("2024-11-03 05:30"));
    assert_eq!(new_york.local_to_utc(local("2024-07-01 09:00")), utc("2024-07-01 13:00"));
    assert_eq!(new_york.utc_to_local(utc("2024-07-01 13:00")), local("2024-07-01 09:00"));
}

/// The "Customized Time Zone" of calcard_010: US Eastern rules written as a VTIMEZONE from 1601.
fn eastern_custom_zone() -> Zone {
    let observance = |start: &str, from: i32, to: i32, rule: &str| Observance {
        start: local(start),
        offset_from: from * 3600,
        offset_to: to * 3600,
        rules: vec![RecurrenceRule::parse(rule).unwrap()],
        dates: Vec::new(),
    };
    Zone::Custom(std::sync::Arc::new(CustomZone::new(
        "Customized Time Zone".to_owned(),
        &[
            observance("1601-01-01 02:00", -4, -5, "FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11"),
            observance("1601-01-01 02:00", -5, -4, "FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3"),
        ],
    )))
}

#[test]
fn custom_zones_apply_their_rules() {
    let zone = eastern_custom_zone();
    assert_eq!(zone.offset_at_utc(utc("2020-08-25 14:35")), -4 * 3600);
    assert_eq!(zone.offset_at_utc(utc("2020-12-01 12:00")), -5 * 3600);
    assert_eq!(zone.local_to_utc(local("2020-08-25 10:35")), utc("2020-08-25 14:35"));
    assert_eq!(zone.local_to_utc(local("2020-11-03 10:35")), utc("2020-11-03 15:35"));
    // Same gap and overlap rules as IANA zones.
    assert_eq!(zone.local_to_utc(local("2024-03-10 02:30")), utc("2024-03-10 07:30"));
    assert_eq!(zone.local_to_utc(local("2024-11-03 01:30")), utc("2024-11-03 05:30"));
    // The change happens at 02:00 local of the first Sunday of November: 06:00Z.
    assert_eq!(zone.offset_at_utc(utc("2024-11-03 05:59")), -4 * 3600);
    assert_eq!(zone.offset_at_utc(utc("2024-11-03 06:00")), -5 * 3600);
}

#[test]
fn a_custom_zone_is_built_again_from_its_transitions() {
    let Zone::Custom(zone) = eastern_custom_zone() else { panic!("custom") };
    // 1970..2100 gives two changes a year, plus the two onsets of 1601.
    assert_eq!(zone.transitions().len(), 2 * 130 + 2);
    assert_eq!(zone.initial_offset(), -4 * 3600);
    let first: Vec<(i64, i32)> = zone.transitions().take(2).collect();
    assert_eq!(
        first,
        vec![
            (local("1601-01-01 06:00").and_utc().timestamp(), -5 * 3600),
            (local("1601-01-01 07:00").and_utc().timestamp(), -4 * 3600)
        ]
    );
    let rebuilt =
        CustomZone::from_transitions(zone.name.clone(), zone.initial_offset(), zone.transitions());
    assert_eq!(rebuilt, *zone);
    // Unsorted changes are sorted, so the zone answers as the original does.
    let reversed: Vec<(i64, i32)> = zone.transitions().rev().collect();
    let from_reversed = CustomZone::from_transitions(zone.name.clone(), -4 * 3600, reversed);
    assert_eq!(from_reversed.offset_at_utc(utc("2024-11-03 06:00")), -5 * 3600);
    assert_eq!(from_reversed.offset_at_utc(utc("2024-07-01 12:00")), -4 * 3600);
}

/// A readable event starting at `start` in `zone`, `minutes` long.
fn event(start: &str, zone: &Zone, minutes: i64) -> Event {
    Event {
        recurrence_id: None,
        sequence: 0,
        stamp: None,
        start: Start::DateTime { local: local(start), zone: zone.clone() },
        length: Length::Exact(minutes * 60),
        rules: Vec::new(),
        dates: Vec::new(),
        exception_dates: Vec::new(),
        organizer: Some("boss@org.example".to_owned()),
        participants: vec!["guest@customer.example".to_owned()],
        cancelled: false,
        all_day: false,
    }
}

fn file(method: Option<&str>, groups: Vec<(Option<&str>, Vec<EventComponent>)>) -> CalendarFile {
    CalendarFile {
        method: method.map(str::to_owned),
        groups: groups
            .into_iter()
            .map(|(uid, components)| EventGroup { uid: uid.map(str::to_owned), components })
            .collect(),
    }
}

fn readable(event: Event) -> EventComponent {
    EventComponent::Event(Box::new(event))
}

/// The window used by the expansion tests: the year 2024.
const W: &str = "2024-01-01 00:00";
const T: &str = "2025-01-01 00:00";

fn run(files: &[CalendarFile]) -> (Vec<MeetingCopy>, crate::model::SkipCounts) {
    expand(files, utc(W), utc(T))
}

fn starts(copies: &[MeetingCopy]) -> Vec<String> {
    copies
        .iter()
        .map(|copy| {
            chrono::DateTime::from_timestamp(copy.start, 0)
                .unwrap()
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .collect()
}

#[test]
fn weekly_series_keeps_local_time_across_dst() {
    let mut series = event("2024-03-05 09:00", &iana("Europe/Berlin"), 30);
    series.rules.push(RecurrenceRule::parse("FREQ=WEEKLY;COUNT=5").unwrap());
    let (copies, skips) = run(&[file(None, vec![(Some("weekly"), vec![readable(series)])])]);
    // Berlin moves to CEST on 2024-03-31: 09:00 local is 08:00Z before, 07:00Z after.
    assert_eq!(
        starts(&copies),
        [
            "2024-03-05 08:00",
            "2024-03-12 08:00",
            "2024-03-19 08:00",
            "2024-03-26 08:00",
            "2024-04-02 07:00"
        ]
    );
    assert_eq!(copies[4].end - copies[4].start, 1800);
    assert_eq!(copies[4].key, Some(("weekly".to_owned(), utc("2024-04-02 07:00"))));
    assert_eq!(skips.total(), 0);

    let mut custom = event("2024-10-29 10:35", &eastern_custom_zone(), 75);
    custom
        .rules
        .push(RecurrenceRule::parse("FREQ=WEEKLY;BYDAY=TU;UNTIL=20241112T153500Z").unwrap());
    let (copies, _) = run(&[file(None, vec![(Some("custom"), vec![readable(custom)])])]);
    assert_eq!(starts(&copies), ["2024-10-29 14:35", "2024-11-05 15:35", "2024-11-12 15:35"]);
}

#[test]
fn exdates_rdates_and_overrides() {
    let zone = iana("America/Los_Angeles");
    let mut master = event("2024-01-02 10:00", &zone, 30);
    master.rules.push(RecurrenceRule::parse("FREQ=MONTHLY;BYDAY=1TU;COUNT=4").unwrap());
    // EXDATE as a date means that date at the series' start time in its zone.
    master.exception_dates.push(TimeValue::Date(date("2024-02-06")));
    master.exception_dates.push(TimeValue::Instant(utc("2024-03-05 18:00")));
    master.dates.push(RecurrenceDate {
        at: TimeValue::Instant(utc("2024-01-20 18:00")),
        period_seconds: Some(7200),
    });
    // The April occurrence (1st Tuesday, 10:00 PDT = 17:00Z) is moved to 15:00 PDT and cancelled.
    let mut moved = event("2024-04-02 15:00", &zone, 60);
    moved.recurrence_id = Some(TimeValue::Date(date("2024-04-02")));
    moved.sequence = 1;
    moved.cancelled = true;
    moved.participants.clear();
    let (copies, skips) =
        run(&[file(None, vec![(Some("series"), vec![readable(master), readable(moved)])])]);
    assert_eq!(starts(&copies), ["2024-01-02 18:00", "2024-01-20 18:00", "2024-04-02 22:00"]);
    assert_eq!(copies[1].end - copies[1].start, 7200);
    let override_copy = &copies[2];
    assert_eq!(override_copy.key, Some(("series".to_owned(), utc("2024-04-02 17:00"))));
    assert!(override_copy.cancelled);
    assert!(override_copy.participants.is_empty());
    assert_eq!(override_copy.end - override_copy.start, 3600);
    assert_eq!(skips.total(), 0);
}

#[test]
fn override_in_another_file_replaces_the_generated_occurrence() {
    let mut master = event("2024-05-06 09:00", &Zone::Utc, 30);
    master.rules.push(RecurrenceRule::parse("FREQ=DAILY;COUNT=3").unwrap());
    let mut moved = event("2024-05-07 13:00", &Zone::Utc, 30);
    moved.recurrence_id = Some(TimeValue::Instant(utc("2024-05-07 09:00")));
    let files = [
        file(Some("REQUEST"), vec![(Some("u"), vec![readable(moved)])]),
        file(Some("PUBLISH"), vec![(Some("u"), vec![readable(master)])]),
    ];
    let (copies, skips) = run(&files);
    // Input order: the override's file comes first.
    assert_eq!(starts(&copies), ["2024-05-07 13:00", "2024-05-06 09:00", "2024-05-08 09:00"]);
    assert_eq!(skips.total(), 0);
}

#[test]
fn versions_by_sequence_then_stamp_then_input_order() {
    let version = |start: &str, sequence: i64, stamp: Option<&str>| {
        let mut version = event(start, &Zone::Utc, 30);
        version.sequence = sequence;
        version.stamp = stamp.map(utc);
        readable(version)
    };
    let files = [
        file(
            Some("REQUEST"),
            vec![(Some("a"), vec![version("2024-02-01 10:00", 1, Some("2024-01-01 00:00"))])],
        ),
        file(Some("REQUEST"), vec![(Some("a"), vec![version("2024-02-02 10:00", 2, None)])]),
        file(
            Some("REQUEST"),
            vec![(Some("a"), vec![version("2024-02-03 10:00", 2, Some("2023-01-01 00:00"))])],
        ),
        file(
            Some("REQUEST"),
            vec![(Some("a"), vec![version("2024-02-04 10:00", 2, Some("2023-01-01 00:00"))])],
        ),
    ];
    let (copies, skips) = run(&files);
    assert_eq!(starts(&copies), ["2024-02-03 10:00"]);
    assert_eq!(skips.get(SkipReason::Duplicate), 3);
    assert_eq!(skips.total(), 3);
}

#[test]
fn replies_are_ignored_and_cancel_marks_occurrences() {
    let files = [
        file(
            Some("REPLY"),
            vec![(
                Some("a"),
                vec![
                    readable(event("2024-02-01 10:00", &Zone::Utc, 30)),
                    EventComponent::Unparseable,
                ],
            )],
        ),
        file(
            Some("CANCEL"),
            vec![(Some("b"), vec![readable(event("2024-02-02 10:00", &Zone::Utc, 30))])],
        ),
    ];
    let (copies, skips) = run(&files);
    assert_eq!(starts(&copies), ["2024-02-02 10:00"]);
    assert!(copies[0].cancelled);
    assert_eq!(skips.total(), 0);
}

#[test]
fn group_skips_are_counted_once() {
    let outside = event("2023-06-01 10:00", &Zone::Utc, 30);
    let mut outside_series = event("2022-06-01 10:00", &Zone::Utc, 30);
    outside_series.rules.push(RecurrenceRule::parse("FREQ=WEEKLY;COUNT=10").unwrap());
    let files = [file(
        None,
        vec![
            (
                Some("broken"),
                vec![
                    EventComponent::Unparseable,
                    EventComponent::InvalidDate,
                    EventComponent::Unparseable,
                ],
            ),
            (Some("no-start"), vec![EventComponent::InvalidDate, EventComponent::InvalidDate]),
            (Some("old"), vec![readable(outside)]),
            (Some("old-series"), vec![readable(outside_series)]),
            (None, vec![readable(event("2024-03-01 10:00", &Zone::Utc, 30))]),
            (None, vec![readable(event("2024-03-01 10:00", &Zone::Utc, 30))]),
        ],
    )];
    let (copies, skips) = run(&files);
    assert_eq!(skips.get(SkipReason::Unparseable), 1);
    assert_eq!(skips.get(SkipReason::InvalidDate), 1);
    assert_eq!(skips.get(SkipReason::OutsideWindow), 2);
    assert_eq!(skips.total(), 4);
    // Components without UID never merge: both copies stay, without a key.
    assert_eq!(copies.len(), 2);
    assert!(copies.iter().all(|copy| copy.key.is_none()));
}

#[test]
fn lost_versions_do_not_also_count_outside_window() {
    let mut old = event("2024-02-01 10:00", &Zone::Utc, 30);
    old.sequence = 0;
    let mut moved_out = event("2025-03-01 10:00", &Zone::Utc, 30);
    moved_out.sequence = 1;
    let files = [
        file(Some("REQUEST"), vec![(Some("a"), vec![readable(old)])]),
        file(Some("REQUEST"), vec![(Some("a"), vec![readable(moved_out)])]),
    ];
    let (copies, skips) = run(&files);
    assert!(copies.is_empty());
    assert_eq!(skips.get(SkipReason::Duplicate), 1);
    assert_eq!(skips.get(SkipReason::OutsideWindow), 1);
    assert_eq!(skips.total(), 2);
}

#[test]
fn window_is_half_open_and_dates_start_at_utc_midnight() {
    let mut all_day = event("2024-01-01 00:00", &Zone::Utc, 0);
    all_day.start = Start::Date(date("2024-12-31"));
    all_day.length = Length::Nominal(NominalDuration { days: 1, seconds: 0 });
    all_day.all_day = true;
    let files = [file(
        None,
        vec![
            (Some("at-w"), vec![readable(event(W, &Zone::Utc, 0))]),
            (Some("at-t"), vec![readable(event(T, &Zone::Utc, 30))]),
            (Some("all-day"), vec![readable(all_day)]),
        ],
    )];
    let (copies, skips) = run(&files);
    assert_eq!(starts(&copies), ["2024-01-01 00:00", "2024-12-31 00:00"]);
    assert_eq!(copies[0].end, copies[0].start);
    assert_eq!(copies[1].end - copies[1].start, 86_400);
    assert!(copies[1].all_day);
    assert_eq!(skips.get(SkipReason::OutsideWindow), 1);
}

#[test]
fn nominal_durations_keep_local_time_and_end_checks() {
    let zone = iana("Europe/Berlin");
    let mut long = event("2024-03-30 12:00", &zone, 0);
    long.length = Length::Nominal(NominalDuration { days: 1, seconds: 0 });
    // Across the change to CEST a nominal day is 23 hours.
    assert_eq!(long.end_of(long.start.instant()) - long.start.instant(), 23 * 3600);
    assert!(!long.ends_before_start());
    long.length = Length::Exact(-60);
    assert!(long.ends_before_start());
}
