//! Tests of the date-time formats and parser.

use super::*;

fn check_format(push: fn(&mut String, i64), instant: i64, expect: &str) {
    let mut out = String::new();
    push(&mut out, instant);
    assert_eq!(out, expect);
}

#[test]
fn civil_dates_round_trip() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(days_from_civil(1969, 12, 31), -1);
    for days in [-800_000, -1, 0, 59, 10_957, 20_513, 2_932_896] {
        let (year, month, day) = civil_from_days(days);
        assert_eq!(days_from_civil(year, month, day), days);
    }
    assert_eq!(civil_from_days(20_513), (2026, 3, 1));
}

#[test]
fn utc_and_window_start() {
    assert_eq!(utc(2026, 3, 1, 0, 0, 0), 1_772_323_200);
    assert_eq!(utc(2025, 6, 2, 9, 30, 15), 1_748_856_615);
    assert_eq!(twelve_months_before(utc(2026, 3, 1, 0, 0, 0)), utc(2025, 3, 1, 0, 0, 0));
    assert_eq!(twelve_months_before(utc(2024, 2, 29, 12, 0, 0)), utc(2023, 2, 28, 12, 0, 0));
}

#[test]
fn formats() {
    let instant = utc(2025, 6, 2, 9, 5, 7);
    check_format(push_utc, instant, "2025-06-02T09:05:07Z");
    check_format(push_graph_local, instant, "2025-06-02T09:05:07.0000000");
    check_format(push_rfc5322, instant, "Mon, 02 Jun 2025 09:05:07 +0000");
    check_format(push_asctime, instant, "Mon Jun  2 09:05:07 2025");
    check_format(push_asctime, utc(2025, 12, 21, 23, 59, 59), "Sun Dec 21 23:59:59 2025");
    check_format(push_ics_utc, instant, "20250602T090507Z");
    check_format(push_ics_date, instant, "20250602");
    check_format(push_utc, -1, "1969-12-31T23:59:59Z");
}

#[test]
fn parses_iso_date_times() {
    let check =
        |text: &str, expect: Option<i64>| assert_eq!(parse_datetime(text), expect, "{text}");
    check("2025-03-01T00:00:00Z", Some(utc(2025, 3, 1, 0, 0, 0)));
    check("2025-03-01T00:00:00", Some(utc(2025, 3, 1, 0, 0, 0)));
    check("2025-03-01", Some(utc(2025, 3, 1, 0, 0, 0)));
    check("2025-03-01T10:20", Some(utc(2025, 3, 1, 10, 20, 0)));
    check("2025-03-01T10:20:30.0000000", Some(utc(2025, 3, 1, 10, 20, 30)));
    check("2025-03-01T10:20:30.5+02:00", Some(utc(2025, 3, 1, 8, 20, 30)));
    check("2025-03-01T10:20:30-05:30", Some(utc(2025, 3, 1, 15, 50, 30)));
    check(" 2025-03-01T00:00:00Z ", Some(utc(2025, 3, 1, 0, 0, 0)));
    check("2025-02-29T00:00:00Z", None);
    check("2025-13-01", None);
    check("2025-03-01T24:00:00Z", None);
    check("2025-03-01T00:00:00X", None);
    check("yesterday", None);
    check("", None);
}
