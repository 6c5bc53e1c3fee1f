use chrono::NaiveDate;

use super::*;

fn instant(text: &str) -> i64 {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .map(|naive| naive.and_utc().timestamp())
        .unwrap()
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn check_window(as_of: &str, expect_start: &str) {
    let window = window(instant(as_of));
    assert_eq!(
        (window.start, window.end),
        (instant(expect_start), instant(as_of)),
        "as of {as_of}"
    );
}

#[test]
fn window_is_twelve_calendar_months_with_day_clamped() {
    check_window("2001-12-31T00:00:00", "2000-12-31T00:00:00");
    check_window("2024-02-29T00:00:00", "2023-02-28T00:00:00");
    check_window("2024-03-31T13:45:10", "2023-03-31T13:45:10");
    check_window("2025-02-28T23:59:59", "2024-02-28T23:59:59");
    check_window("2023-01-01T00:00:00", "2022-01-01T00:00:00");
}

#[test]
fn window_edges_are_half_open() {
    let window = window(instant("2001-12-31T00:00:00"));
    assert!(window.contains(window.start));
    assert!(!window.contains(window.start - 1));
    assert!(window.contains(window.end - 1));
    assert!(!window.contains(window.end));
}

#[test]
fn absurd_as_of_does_not_panic() {
    let window = window(i64::MAX);
    assert_eq!(window.end, i64::MAX);
    assert_eq!(window.start, i64::MAX - 365 * SECONDS_PER_DAY);
    let periods = Periods::new(super::window(i64::MIN), None);
    assert_eq!(periods.index_of(Level::Month, 0), None);
}

#[test]
fn level_names() {
    assert_eq!(Level::ALL.map(Level::as_str), ["Year", "Month", "Week"]);
}

fn summary(periods: &[Period]) -> Vec<(String, i64, i64)> {
    periods.iter().map(|period| (period.start_date.to_string(), period.start, period.end)).collect()
}

#[test]
fn months_are_clipped_to_the_window() {
    // T = 2001-12-15T06:00Z: W = 2000-12-15T06:00Z; 13 months, the first and last partial.
    let window = window(instant("2001-12-15T06:00:00"));
    let periods = Periods::new(window, None);
    let months = summary(periods.months());
    assert_eq!(months.len(), 13);
    assert_eq!(
        months[0],
        ("2000-12-01".to_string(), instant("2000-12-15T06:00:00"), instant("2001-01-01T00:00:00"))
    );
    assert_eq!(
        months[1],
        ("2001-01-01".to_string(), instant("2001-01-01T00:00:00"), instant("2001-02-01T00:00:00"))
    );
    assert_eq!(
        months[12],
        ("2001-12-01".to_string(), instant("2001-12-01T00:00:00"), instant("2001-12-15T06:00:00"))
    );
    assert_eq!(periods.year().start_date, date("2000-12-15"));
    assert_eq!((periods.year().start, periods.year().end), (window.start, window.end));
}

#[test]
fn a_window_starting_on_the_first_has_twelve_months() {
    let periods = Periods::new(window(instant("2002-01-01T00:00:00")), None);
    let months = summary(periods.months());
    assert_eq!(months.len(), 12);
    assert_eq!(months[0].0, "2001-01-01");
    assert_eq!(
        months[11],
        ("2001-12-01".to_string(), instant("2001-12-01T00:00:00"), instant("2002-01-01T00:00:00"))
    );
}

#[test]
fn weeks_are_iso_mondays_clipped_to_the_window() {
    // 2001-12-31 is a Monday; W = 2000-12-31 is a Sunday, in the week of Monday 2000-12-25.
    let periods = Periods::new(window(instant("2001-12-31T00:00:00")), None);
    let weeks = summary(periods.weeks());
    assert_eq!(weeks.len(), 53);
    assert_eq!(
        weeks[0],
        ("2000-12-25".to_string(), instant("2000-12-31T00:00:00"), instant("2001-01-01T00:00:00"))
    );
    assert_eq!(weeks[1].0, "2001-01-01");
    assert_eq!(
        weeks[52],
        ("2001-12-24".to_string(), instant("2001-12-24T00:00:00"), instant("2001-12-31T00:00:00"))
    );
}

#[test]
fn index_of_finds_the_holding_period() {
    let periods = Periods::new(window(instant("2001-12-31T00:00:00")), None);
    assert_eq!(periods.index_of(Level::Year, instant("2000-12-31T00:00:00")), Some(0));
    assert_eq!(periods.index_of(Level::Year, instant("2000-12-30T23:59:59")), None);
    assert_eq!(periods.index_of(Level::Month, instant("2000-12-31T00:00:00")), Some(0));
    assert_eq!(periods.index_of(Level::Month, instant("2001-01-01T00:00:00")), Some(1));
    assert_eq!(periods.index_of(Level::Month, instant("2001-12-30T23:59:59")), Some(12));
    assert_eq!(periods.index_of(Level::Month, instant("2001-12-31T00:00:00")), None);
    assert_eq!(periods.index_of(Level::Week, instant("2001-01-07T23:59:59")), Some(1));
    assert_eq!(periods.index_of(Level::Week, instant("2001-01-08T00:00:00")), Some(2));
}

#[test]
fn leap_day_window() {
    let periods = Periods::new(window(instant("2024-02-29T00:00:00")), None);
    assert_eq!(periods.year().start_date, date("2023-02-28"));
    let months = summary(periods.months());
    assert_eq!(months.len(), 13);
    assert_eq!(
        months[0],
        ("2023-02-01".to_string(), instant("2023-02-28T00:00:00"), instant("2023-03-01T00:00:00"))
    );
    assert_eq!(
        months[12],
        ("2024-02-01".to_string(), instant("2024-02-01T00:00:00"), instant("2024-02-29T00:00:00"))
    );
}

#[test]
fn zoned_periods_start_at_local_midnight() {
    let zone: Tz = "America/New_York".parse().unwrap();
    let periods = Periods::new(window(instant("2001-12-31T00:00:00")), Some(zone));
    // W = 2000-12-31T00:00Z is 2000-12-30 19:00 in New York (EST, −5 h).
    assert_eq!(periods.year().start_date, date("2000-12-30"));
    let months = summary(periods.months());
    assert_eq!(
        months[0],
        ("2000-12-01".to_string(), instant("2000-12-31T00:00:00"), instant("2001-01-01T05:00:00"))
    );
    // April starts in EDT (−4 h).
    assert_eq!(
        months[4],
        ("2001-04-01".to_string(), instant("2001-04-01T05:00:00"), instant("2001-05-01T04:00:00"))
    );
    assert_eq!(months.last().unwrap().0, "2001-12-01");
    assert_eq!(months.last().unwrap().2, instant("2001-12-31T00:00:00"));
    assert_eq!(periods.date_of(instant("2001-07-01T03:59:59")), date("2001-06-30"));
}

#[test]
fn midnight_in_a_dst_gap_starts_the_day_at_the_gap_end() {
    // Sao Paulo skipped 2018-11-04 00:00–01:00 local; the day began at 01:00 −02 = 03:00Z.
    let zone: Tz = "America/Sao_Paulo".parse().unwrap();
    assert_eq!(start_of_day(date("2018-11-04"), Some(zone)), instant("2018-11-04T03:00:00"));
    assert_eq!(start_of_day(date("2018-11-05"), Some(zone)), instant("2018-11-05T02:00:00"));
    assert_eq!(start_of_day(date("2018-11-05"), None), instant("2018-11-05T00:00:00"));
}
