use chrono::{DateTime, NaiveDateTime, NaiveTime, Weekday};

use super::*;

/// UTC seconds of `YYYY-MM-DDTHH:MM:SSZ`.
fn utc(text: &str) -> i64 {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
        .expect("test instant")
        .and_utc()
        .timestamp()
}

/// A schedule from its parts; times as `HH:MM`.
fn schedule(frequency: Frequency, weekday: Weekday, times: &[&str], zone: &str) -> Schedule {
    Schedule {
        frequency,
        weekday,
        times: times
            .iter()
            .map(|time| NaiveTime::parse_from_str(time, "%H:%M").expect("test time"))
            .collect(),
        time_zone: zone.to_owned(),
    }
}

/// Follows the schedule `n` times from `after` and compares the instants (UTC) with `expected`.
fn check(schedule: &Schedule, after: &str, expected: &[&str]) {
    let mut instant = utc(after);
    let mut seen = Vec::new();
    for _ in 0..expected.len() {
        let Some(next) = next_run_after(schedule, instant) else { break };
        seen.push(
            DateTime::from_timestamp(next, 0)
                .expect("instant")
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
        );
        instant = next;
    }
    assert_eq!(seen, expected);
}

#[test]
fn off_never_runs() {
    let off = schedule(Frequency::Off, Weekday::Mon, &["02:00"], "UTC");
    assert_eq!(next_run_after(&off, utc("2024-01-01T00:00:00Z")), None);
}

#[test]
fn no_times_never_runs() {
    let empty = schedule(Frequency::Daily, Weekday::Mon, &[], "UTC");
    assert_eq!(next_run_after(&empty, utc("2024-01-01T00:00:00Z")), None);
}

#[test]
fn weekly_monday_berlin_across_the_march_change() {
    // Clocks go forward on Sunday 2024-03-31: 02:00 local is 01:00 UTC before, 00:00 UTC after.
    let weekly = schedule(Frequency::Weekly, Weekday::Mon, &["02:00"], "Europe/Berlin");
    check(
        &weekly,
        "2024-03-18T12:00:00Z",
        &["2024-03-25T01:00:00Z", "2024-04-01T00:00:00Z", "2024-04-08T00:00:00Z"],
    );
}

#[test]
fn weekly_monday_berlin_across_the_october_change() {
    // Clocks go back on Sunday 2024-10-27.
    let weekly = schedule(Frequency::Weekly, Weekday::Mon, &["02:00"], "Europe/Berlin");
    check(
        &weekly,
        "2024-10-14T12:00:00Z",
        &["2024-10-21T00:00:00Z", "2024-10-28T01:00:00Z", "2024-11-04T01:00:00Z"],
    );
}

#[test]
fn weekly_is_strictly_after() {
    let weekly = schedule(Frequency::Weekly, Weekday::Mon, &["02:00"], "Europe/Berlin");
    // Exactly at a slot gives the next week's slot; one second before gives the slot itself.
    assert_eq!(
        next_run_after(&weekly, utc("2024-03-25T01:00:00Z")),
        Some(utc("2024-04-01T00:00:00Z"))
    );
    assert_eq!(
        next_run_after(&weekly, utc("2024-03-25T00:59:59Z")),
        Some(utc("2024-03-25T01:00:00Z"))
    );
}

#[test]
fn a_time_in_the_spring_gap_runs_when_the_gap_ends() {
    // 02:30 does not exist in Berlin on 2024-03-31 (02:00 CET jumps to 03:00 CEST = 01:00 UTC).
    let daily = schedule(Frequency::Daily, Weekday::Mon, &["02:30"], "Europe/Berlin");
    check(
        &daily,
        "2024-03-30T00:00:00Z",
        &["2024-03-30T01:30:00Z", "2024-03-31T01:00:00Z", "2024-04-01T00:30:00Z"],
    );
}

#[test]
fn a_time_in_the_new_york_spring_gap_runs_at_three() {
    // 02:30 does not exist in New York on 2024-03-10: 03:00 EDT is 07:00 UTC.
    let daily = schedule(Frequency::Daily, Weekday::Mon, &["02:30"], "America/New_York");
    check(&daily, "2024-03-09T12:00:00Z", &["2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z"]);
}

#[test]
fn a_time_that_occurs_twice_runs_once_at_the_first() {
    // 02:30 occurs at 00:30 UTC (CEST) and 01:30 UTC (CET) in Berlin on 2024-10-27.
    let daily = schedule(Frequency::Daily, Weekday::Mon, &["02:30"], "Europe/Berlin");
    check(&daily, "2024-10-26T12:00:00Z", &["2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"]);
    // Between the two occurrences, the second one is not a run.
    assert_eq!(
        next_run_after(&daily, utc("2024-10-27T01:00:00Z")),
        Some(utc("2024-10-28T01:30:00Z"))
    );
}

#[test]
fn four_times_a_day_in_any_order() {
    let four =
        schedule(Frequency::Daily, Weekday::Mon, &["18:00", "06:00", "00:00", "12:00"], "UTC");
    check(
        &four,
        "2024-01-01T05:00:00Z",
        &[
            "2024-01-01T06:00:00Z",
            "2024-01-01T12:00:00Z",
            "2024-01-01T18:00:00Z",
            "2024-01-02T00:00:00Z",
            "2024-01-02T06:00:00Z",
        ],
    );
}

#[test]
fn daily_in_new_york_keeps_local_time_across_the_change() {
    // 08:00 is 13:00 UTC in EST and 12:00 UTC in EDT (from 2024-03-10).
    let daily = schedule(Frequency::Daily, Weekday::Mon, &["08:00"], "America/New_York");
    check(
        &daily,
        "2024-03-08T14:00:00Z",
        &["2024-03-09T13:00:00Z", "2024-03-10T12:00:00Z", "2024-03-11T12:00:00Z"],
    );
}

#[test]
fn weekly_with_two_times_on_sunday_in_sydney() {
    // Sydney is UTC+11 in January: Sunday 07:00 and 19:00 local are Saturday 20:00 and Sunday
    // 08:00 UTC.
    let weekly = schedule(Frequency::Weekly, Weekday::Sun, &["07:00", "19:00"], "Australia/Sydney");
    check(
        &weekly,
        "2024-01-01T00:00:00Z",
        &["2024-01-06T20:00:00Z", "2024-01-07T08:00:00Z", "2024-01-13T20:00:00Z"],
    );
}

#[test]
fn an_unknown_zone_is_read_as_utc() {
    let daily = schedule(Frequency::Daily, Weekday::Mon, &["02:00"], "Mars/Olympus");
    assert_eq!(
        next_run_after(&daily, utc("2024-01-01T03:00:00Z")),
        Some(utc("2024-01-02T02:00:00Z"))
    );
}

#[test]
fn extreme_instants_do_not_panic() {
    let daily = schedule(Frequency::Daily, Weekday::Mon, &["02:00"], "Europe/Berlin");
    assert_eq!(next_run_after(&daily, i64::MAX), None);
    assert_eq!(next_run_after(&daily, i64::MIN), None);
    // The last representable instants have no next day; the first ones do.
    assert_eq!(next_run_after(&daily, DateTime::<chrono::Utc>::MAX_UTC.timestamp()), None);
    let first = DateTime::<chrono::Utc>::MIN_UTC.timestamp();
    assert!(next_run_after(&daily, first).is_some_and(|next| next > first));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    const ZONES: [&str; 6] = [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kolkata",
        "Pacific/Apia",
    ];

    fn any_schedule() -> impl Strategy<Value = Schedule> {
        (
            prop_oneof![Just(Frequency::Daily), Just(Frequency::Weekly)],
            0u8..7,
            prop::collection::vec((0u32..24, 0u32..60), 1..=4),
            0..ZONES.len(),
        )
            .prop_map(|(frequency, weekday, times, zone)| Schedule {
                frequency,
                weekday: Weekday::try_from(weekday).unwrap_or(Weekday::Mon),
                times: times
                    .into_iter()
                    .filter_map(|(hour, minute)| NaiveTime::from_hms_opt(hour, minute, 0))
                    .collect(),
                time_zone: ZONES[zone].to_owned(),
            })
    }

    proptest! {
        /// The next run is strictly later, within the schedule's period (plus a day for a
        /// daylight-saving change), and asking from just before it gives it again.
        #[test]
        fn next_run_is_the_first_slot_after(schedule in any_schedule(), after in 946_684_800i64..2_208_988_800) {
            let next = next_run_after(&schedule, after);
            prop_assert!(next.is_some());
            let next = next.unwrap_or(after);
            prop_assert!(next > after);
            let period_days = if schedule.frequency == Frequency::Weekly { 7 } else { 1 };
            prop_assert!(next - after <= (period_days + 1) * 86_400);
            prop_assert_eq!(next_run_after(&schedule, next - 1), Some(next));
            // No slot lies between `after` and `next`.
            let halfway = after + (next - after) / 2;
            prop_assert_eq!(next_run_after(&schedule, halfway), Some(next));
        }
    }
}
