//! Recurrence rules (RFC 5545 §3.3.10): reading an `RRULE` value and expanding it into local
//! wall-clock occurrences.
//!
//! Expansion follows the RFC's model (the one python-dateutil and libical implement): each period
//! of the frequency (a year, month, week, day, hour, minute or second, every `INTERVAL`) yields the
//! dates and times in it that pass every `BY*` part, `BYSETPOS` picks from that set, and `COUNT` and
//! `UNTIL` end the series. Dates that do not exist (February 30) are never produced. Occurrences are
//! local times in the series' zone, so DST changes do not move them.
//!
//! Runaway rules are bounded: one expansion generates at most [`MAX_OCCURRENCES_PER_RULE`]
//! occurrences and examines at most [`MAX_PERIODS_PER_RULE`] periods, and it never goes past the
//! `limit` it is given. A rule without `COUNT` starts at the period just before `from`, so a daily
//! series that began decades ago costs no more than one that began last month.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Weekday};

use crate::calendar::value::{TimeText, parse_time_text};
use crate::calendar::zone::Zone;

/// The most occurrences one expansion of one event rule generates.
pub const MAX_OCCURRENCES_PER_RULE: usize = 100_000;
/// The most periods (years, months, weeks, days, ...) one expansion of one event rule examines.
pub const MAX_PERIODS_PER_RULE: u64 = 1_000_000;

/// Bounds on one expansion, so that no rule can run away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most occurrences generated (counted from the first period examined).
    pub max_occurrences: usize,
    /// The most periods examined.
    pub max_periods: u64,
}

impl Limits {
    /// The limits for event series: [`MAX_OCCURRENCES_PER_RULE`] and [`MAX_PERIODS_PER_RULE`].
    pub const EVENTS: Limits =
        Limits { max_occurrences: MAX_OCCURRENCES_PER_RULE, max_periods: MAX_PERIODS_PER_RULE };
    /// The limits for the onsets of a `VTIMEZONE` observance (a few per year suffice).
    pub const ZONE_ONSETS: Limits = Limits { max_occurrences: 2_000, max_periods: 20_000 };
}

/// `FREQ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Frequency {
    /// `SECONDLY`.
    Secondly,
    /// `MINUTELY`.
    Minutely,
    /// `HOURLY`.
    Hourly,
    /// `DAILY`.
    Daily,
    /// `WEEKLY`.
    Weekly,
    /// `MONTHLY`.
    Monthly,
    /// `YEARLY`.
    Yearly,
}

/// `UNTIL`, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// A UTC date-time (`...Z`), as seconds since the epoch: compared with each occurrence's instant.
    Utc(i64),
    /// A local date-time: compared with each occurrence's local time.
    Local(NaiveDateTime),
    /// A date: occurrences on or before that local date are kept.
    Date(NaiveDate),
}

/// One `BYDAY` entry: a weekday, optionally with an ordinal (`2TU`, `-1FR`; 0 = every).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeekdayNumber {
    /// The n-th weekday of the month or year (negative: from the end); 0 means every such weekday.
    pub ordinal: i32,
    /// The weekday.
    pub weekday: Weekday,
}

/// A parsed `RRULE` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecurrenceRule {
    /// `FREQ`.
    pub frequency: Frequency,
    /// `INTERVAL` (at least 1).
    pub interval: u32,
    /// `COUNT`.
    pub count: Option<u32>,
    /// `UNTIL`.
    pub until: Option<Until>,
    /// `BYSECOND` (0–59; a leap second 60 reads as 59).
    pub by_second: Vec<u32>,
    /// `BYMINUTE` (0–59).
    pub by_minute: Vec<u32>,
    /// `BYHOUR` (0–23).
    pub by_hour: Vec<u32>,
    /// `BYDAY`.
    pub by_day: Vec<WeekdayNumber>,
    /// `BYMONTHDAY` (±1–31).
    pub by_month_day: Vec<i32>,
    /// `BYYEARDAY` (±1–366).
    pub by_year_day: Vec<i32>,
    /// `BYWEEKNO` (±1–53).
    pub by_week_number: Vec<i32>,
    /// `BYMONTH` (1–12).
    pub by_month: Vec<u32>,
    /// `BYSETPOS` (±1–366).
    pub by_set_position: Vec<i32>,
    /// `WKST` (default Monday).
    pub week_start: Weekday,
}

impl RecurrenceRule {
    /// Reads an `RRULE` value such as `FREQ=WEEKLY;UNTIL=20201217T153500Z;BYDAY=TU,TH;WKST=SU`.
    ///
    /// Names are case-insensitive and white space around parts is ignored. Unknown names
    /// (extensions) are ignored. `None` when `FREQ` is missing, a part has no `=`, or a known part
    /// has a value out of its range: such a rule "cannot be read" (metrics.md §8).
    pub fn parse(text: &str) -> Option<RecurrenceRule> {
        let mut frequency = None;
        let mut rule = RecurrenceRule {
            frequency: Frequency::Daily,
            interval: 1,
            count: None,
            until: None,
            by_second: Vec::new(),
            by_minute: Vec::new(),
            by_hour: Vec::new(),
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_year_day: Vec::new(),
            by_week_number: Vec::new(),
            by_month: Vec::new(),
            by_set_position: Vec::new(),
            week_start: Weekday::Mon,
        };
        for part in text.trim().split(';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (name, value) = part.split_once('=')?;
            let name = name.trim().to_ascii_uppercase();
            let value = value.trim();
            match name.as_str() {
                "FREQ" => frequency = Some(parse_frequency(value)?),
                // INTERVAL=0 is meaningless; it is read as the default rather than rejected.
                "INTERVAL" => rule.interval = value.parse::<u32>().ok()?.max(1),
                "COUNT" => rule.count = Some(value.parse::<u32>().ok()?),
                "UNTIL" => {
                    rule.until = Some(match parse_time_text(value)? {
                        TimeText::Date(date) => Until::Date(date),
                        TimeText::Local(local) => Until::Local(local),
                        TimeText::Utc(utc) => Until::Utc(utc.and_utc().timestamp()),
                    })
                }
                "BYSECOND" => {
                    rule.by_second = parse_list(value, |n: u32| (n <= 60).then_some(n.min(59)))?
                }
                "BYMINUTE" => rule.by_minute = parse_list(value, |n: u32| (n <= 59).then_some(n))?,
                "BYHOUR" => rule.by_hour = parse_list(value, |n: u32| (n <= 23).then_some(n))?,
                "BYDAY" => rule.by_day = parse_by_day(value)?,
                "BYMONTHDAY" => {
                    rule.by_month_day = parse_list(value, |n: i32| in_signed_range(n, 31))?
                }
                "BYYEARDAY" => {
                    rule.by_year_day = parse_list(value, |n: i32| in_signed_range(n, 366))?
                }
                "BYWEEKNO" => {
                    rule.by_week_number = parse_list(value, |n: i32| in_signed_range(n, 53))?
                }
                "BYMONTH" => {
                    rule.by_month = parse_list(value, |n: u32| (1..=12).contains(&n).then_some(n))?
                }
                "BYSETPOS" => {
                    rule.by_set_position = parse_list(value, |n: i32| in_signed_range(n, 366))?
                }
                "WKST" => rule.week_start = parse_weekday(value)?,
                _ => {}
            }
        }
        rule.frequency = frequency?;
        Some(rule)
    }
}

fn in_signed_range(n: i32, max: i32) -> Option<i32> {
    (n != 0 && n.abs() <= max).then_some(n)
}

fn parse_frequency(value: &str) -> Option<Frequency> {
    Some(match value.to_ascii_uppercase().as_str() {
        "SECONDLY" => Frequency::Secondly,
        "MINUTELY" => Frequency::Minutely,
        "HOURLY" => Frequency::Hourly,
        "DAILY" => Frequency::Daily,
        "WEEKLY" => Frequency::Weekly,
        "MONTHLY" => Frequency::Monthly,
        "YEARLY" => Frequency::Yearly,
        _ => return None,
    })
}

fn parse_weekday(value: &str) -> Option<Weekday> {
    Some(match value.trim().to_ascii_uppercase().as_str() {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

/// Reads a comma-separated list; empty items (a trailing comma) are skipped, an empty list fails.
fn parse_list<N: std::str::FromStr, T>(
    value: &str,
    check: impl Fn(N) -> Option<T>,
) -> Option<Vec<T>> {
    let mut items = Vec::new();
    for item in value.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        items.push(check(item.parse::<N>().ok()?)?);
    }
    (!items.is_empty()).then_some(items)
}

fn parse_by_day(value: &str) -> Option<Vec<WeekdayNumber>> {
    let mut items = Vec::new();
    for item in value.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let split = item.len().checked_sub(2)?;
        let (ordinal_text, weekday_text) = (item.get(..split)?, item.get(split..)?);
        let weekday = parse_weekday(weekday_text)?;
        let ordinal = if ordinal_text.is_empty() {
            0
        } else {
            in_signed_range(ordinal_text.parse().ok()?, 53)?
        };
        items.push(WeekdayNumber { ordinal, weekday });
    }
    (!items.is_empty()).then_some(items)
}

/// The `BY*` sets in force for one expansion: the rule's, with RFC 5545's defaults taken from
/// `DTSTART` where the rule leaves them out.
struct Plan {
    by_month: Vec<u32>,
    by_month_day: Vec<i32>,
    by_day: Vec<WeekdayNumber>,
    hours: Vec<u32>,
    minutes: Vec<u32>,
    seconds: Vec<u32>,
}

impl Plan {
    fn new(rule: &RecurrenceRule, start: NaiveDateTime) -> Plan {
        let mut by_month = rule.by_month.clone();
        let mut by_month_day = rule.by_month_day.clone();
        let mut by_day = rule.by_day.clone();
        let no_day_part = rule.by_week_number.is_empty()
            && rule.by_year_day.is_empty()
            && rule.by_month_day.is_empty()
            && rule.by_day.is_empty();
        if no_day_part {
            match rule.frequency {
                Frequency::Yearly => {
                    if by_month.is_empty() {
                        by_month.push(start.month());
                    }
                    by_month_day.push(start.day() as i32);
                }
                Frequency::Monthly => by_month_day.push(start.day() as i32),
                Frequency::Weekly => {
                    by_day.push(WeekdayNumber { ordinal: 0, weekday: start.weekday() })
                }
                _ => {}
            }
        }
        let default = |list: &[u32], value: u32| -> Vec<u32> {
            let mut values = if list.is_empty() { vec![value] } else { list.to_vec() };
            values.sort_unstable();
            values.dedup();
            values
        };
        by_month.sort_unstable();
        by_month.dedup();
        Plan {
            by_month,
            by_month_day,
            by_day,
            hours: default(&rule.by_hour, start.hour()),
            minutes: default(&rule.by_minute, start.minute()),
            seconds: default(&rule.by_second, start.second().min(59)),
        }
    }
}

/// Expands `rule` for a series starting at the local time `start` in `zone`, appending to `output`
/// the occurrences (local times, ascending) that are at or after `from` and at or before `limit`,
/// within `limits`.
///
/// `COUNT` counts from `start` whatever `from` is, and `start` always counts as the first
/// occurrence (RFC 5545). `start` itself is not added unless the rule produces it: the caller adds
/// `DTSTART` to the recurrence set.
pub fn expand_rule(
    rule: &RecurrenceRule,
    start: NaiveDateTime,
    zone: &Zone,
    from: NaiveDateTime,
    limit: NaiveDateTime,
    limits: Limits,
    output: &mut Vec<NaiveDateTime>,
) {
    let plan = Plan::new(rule, start);
    let interval = i64::from(rule.interval.max(1));
    let days_into_week = TimeDelta::days(i64::from(start.weekday().days_since(rule.week_start)));
    let Some(week_begin) = start.date().checked_sub_signed(days_into_week) else { return };
    let sub_daily_step = match rule.frequency {
        Frequency::Hourly => 3600 * interval,
        Frequency::Minutely => 60 * interval,
        Frequency::Secondly => interval,
        _ => 0,
    };
    let sub_daily_base = truncate(start, rule.frequency);
    let mut period_index: i64 = if rule.count.is_none() && from > start {
        first_useful_period(rule, start, week_begin, from)
    } else {
        0
    };
    let mut candidates: Vec<NaiveDateTime> = Vec::new();
    let mut n_generated: usize = 0;
    // RFC 5545: "DTSTART always counts as the first occurrence", also when the rule does not
    // produce it; then it uses up one of COUNT.
    let mut start_counted = period_index > 0;
    let mut n_periods: u64 = 0;
    loop {
        n_periods += 1;
        if n_periods > limits.max_periods {
            return;
        }
        candidates.clear();
        let period_begin = match rule.frequency {
            Frequency::Yearly => {
                let Some(year) =
                    i32::try_from(i64::from(start.year()) + period_index * interval).ok()
                else {
                    return;
                };
                let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) else { return };
                if !plan.by_month.is_empty() {
                    for &month in &plan.by_month {
                        push_month_days(rule, &plan, year, month, &mut candidates);
                    }
                } else {
                    for month in 1..=12 {
                        push_month_days(rule, &plan, year, month, &mut candidates);
                    }
                }
                first.and_time(NaiveTime::MIN)
            }
            Frequency::Monthly => {
                let month_index = i64::from(start.year()) * 12
                    + i64::from(start.month0())
                    + period_index * interval;
                let Some(year) = i32::try_from(month_index.div_euclid(12)).ok() else { return };
                let month = month_index.rem_euclid(12) as u32 + 1;
                let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else { return };
                if plan.by_month.is_empty() || plan.by_month.contains(&month) {
                    push_month_days(rule, &plan, year, month, &mut candidates);
                }
                first.and_time(NaiveTime::MIN)
            }
            Frequency::Weekly | Frequency::Daily => {
                let (first, n_days) = match rule.frequency {
                    Frequency::Weekly => (add_days(week_begin, period_index * interval * 7), 7),
                    _ => (add_days(start.date(), period_index * interval), 1),
                };
                let Some(first) = first else { return };
                let mut date = first;
                for _ in 0..n_days {
                    if day_matches(rule, &plan, date) {
                        push_times(&plan, date, &mut candidates);
                    }
                    match date.succ_opt() {
                        Some(next) => date = next,
                        None => break,
                    }
                }
                first.and_time(NaiveTime::MIN)
            }
            Frequency::Hourly | Frequency::Minutely | Frequency::Secondly => {
                let Some(offset) = period_index.checked_mul(sub_daily_step) else { return };
                let Some(begin) = sub_daily_base.checked_add_signed(TimeDelta::seconds(offset))
                else {
                    return;
                };
                if !day_matches(rule, &plan, begin.date()) {
                    // Jump to the first period of the next day rather than testing each one.
                    let Some(next_day) = begin.date().succ_opt() else { return };
                    let to_next_day =
                        (next_day.and_time(NaiveTime::MIN) - sub_daily_base).num_seconds();
                    let next_index = (to_next_day + sub_daily_step - 1) / sub_daily_step.max(1);
                    if next_day.and_time(NaiveTime::MIN) > limit {
                        return;
                    }
                    period_index = next_index.max(period_index + 1);
                    continue;
                }
                push_sub_daily(rule, &plan, begin, &mut candidates);
                begin
            }
        };
        if period_begin > limit {
            return;
        }
        if !rule.by_set_position.is_empty() {
            select_positions(&rule.by_set_position, &mut candidates);
        }
        for &candidate in &candidates {
            if candidate < start {
                continue;
            }
            if !start_counted {
                start_counted = true;
                if candidate != start {
                    n_generated += 1;
                }
            }
            if beyond_until(rule.until, candidate, zone) {
                return;
            }
            if rule.count.is_some_and(|count| n_generated >= count as usize) {
                return;
            }
            if candidate > limit {
                return;
            }
            n_generated += 1;
            if n_generated > limits.max_occurrences {
                return;
            }
            if candidate >= from {
                output.push(candidate);
            }
        }
        period_index += 1;
    }
}

/// The start of the sub-daily period holding `start` (the hour, minute or second).
fn truncate(start: NaiveDateTime, frequency: Frequency) -> NaiveDateTime {
    let time = match frequency {
        Frequency::Hourly => NaiveTime::from_hms_opt(start.hour(), 0, 0),
        Frequency::Minutely => NaiveTime::from_hms_opt(start.hour(), start.minute(), 0),
        _ => NaiveTime::from_hms_opt(start.hour(), start.minute(), start.second().min(59)),
    };
    start.date().and_time(time.unwrap_or(NaiveTime::MIN))
}

/// The index of a period that begins no later than `from` and close to it (only for rules without
/// `COUNT`, whose earlier periods cannot matter).
fn first_useful_period(
    rule: &RecurrenceRule,
    start: NaiveDateTime,
    week_begin: NaiveDate,
    from: NaiveDateTime,
) -> i64 {
    let interval = i64::from(rule.interval.max(1));
    let periods_before = match rule.frequency {
        Frequency::Yearly => i64::from(from.year()) - i64::from(start.year()) - 1,
        Frequency::Monthly => {
            (i64::from(from.year()) * 12 + i64::from(from.month0()))
                - (i64::from(start.year()) * 12 + i64::from(start.month0()))
                - 1
        }
        Frequency::Weekly => ((from.date() - week_begin).num_days() - 7) / 7,
        Frequency::Daily => (from.date() - start.date()).num_days() - 1,
        Frequency::Hourly => (from - start).num_seconds() / 3600 - 1,
        Frequency::Minutely => (from - start).num_seconds() / 60 - 1,
        Frequency::Secondly => (from - start).num_seconds() - 1,
    };
    periods_before.max(0) / interval
}

fn add_days(date: NaiveDate, n_days: i64) -> Option<NaiveDate> {
    date.checked_add_days(Days::new(u64::try_from(n_days).ok()?))
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    match (next, NaiveDate::from_ymd_opt(year, month, 1)) {
        (Some(next), Some(first)) => (next - first).num_days() as u32,
        _ => 31,
    }
}

fn days_in_year(year: i32) -> i32 {
    if NaiveDate::from_ymd_opt(year, 2, 29).is_some() { 366 } else { 365 }
}

fn push_month_days(
    rule: &RecurrenceRule,
    plan: &Plan,
    year: i32,
    month: u32,
    candidates: &mut Vec<NaiveDateTime>,
) {
    let month_length = days_in_month(year, month);
    let lengths = (month_length as i32, days_in_year(year));
    for day in 1..=month_length {
        if let Some(date) = NaiveDate::from_ymd_opt(year, month, day)
            && day_matches_with(rule, plan, date, lengths)
        {
            push_times(plan, date, candidates);
        }
    }
}

fn push_times(plan: &Plan, date: NaiveDate, candidates: &mut Vec<NaiveDateTime>) {
    for &hour in &plan.hours {
        for &minute in &plan.minutes {
            for &second in &plan.seconds {
                if let Some(time) = NaiveTime::from_hms_opt(hour, minute, second) {
                    candidates.push(date.and_time(time));
                }
            }
        }
    }
}

/// The occurrences of one hourly, minutely or secondly period beginning at `begin`.
fn push_sub_daily(
    rule: &RecurrenceRule,
    plan: &Plan,
    begin: NaiveDateTime,
    candidates: &mut Vec<NaiveDateTime>,
) {
    if !rule.by_hour.is_empty() && !rule.by_hour.contains(&begin.hour()) {
        return;
    }
    let date = begin.date();
    match rule.frequency {
        Frequency::Hourly => {
            for &minute in &plan.minutes {
                for &second in &plan.seconds {
                    if let Some(time) = NaiveTime::from_hms_opt(begin.hour(), minute, second) {
                        candidates.push(date.and_time(time));
                    }
                }
            }
        }
        Frequency::Minutely => {
            if !rule.by_minute.is_empty() && !rule.by_minute.contains(&begin.minute()) {
                return;
            }
            for &second in &plan.seconds {
                if let Some(time) = NaiveTime::from_hms_opt(begin.hour(), begin.minute(), second) {
                    candidates.push(date.and_time(time));
                }
            }
        }
        _ => {
            if (!rule.by_minute.is_empty() && !rule.by_minute.contains(&begin.minute()))
                || (!rule.by_second.is_empty() && !rule.by_second.contains(&begin.second()))
            {
                return;
            }
            candidates.push(begin);
        }
    }
}

/// True when `date` passes the day-level parts (`BYMONTH`, `BYWEEKNO`, `BYYEARDAY`, `BYMONTHDAY`,
/// `BYDAY`). Filtering every day of a period by all of them gives RFC 5545's expand/limit table.
fn day_matches(rule: &RecurrenceRule, plan: &Plan, date: NaiveDate) -> bool {
    let lengths = (days_in_month(date.year(), date.month()) as i32, days_in_year(date.year()));
    day_matches_with(rule, plan, date, lengths)
}

/// [`day_matches`] with the lengths of the date's month and year already known.
fn day_matches_with(
    rule: &RecurrenceRule,
    plan: &Plan,
    date: NaiveDate,
    (month_length, year_length): (i32, i32),
) -> bool {
    if !plan.by_month.is_empty() && !plan.by_month.contains(&date.month()) {
        return false;
    }
    if !rule.by_week_number.is_empty()
        && !week_number_matches(&rule.by_week_number, rule.week_start, date)
    {
        return false;
    }
    let day_of_year = date.ordinal() as i32;
    if !rule.by_year_day.is_empty()
        && !rule.by_year_day.iter().any(|&n| n == day_of_year || n == day_of_year - year_length - 1)
    {
        return false;
    }
    let day = date.day() as i32;
    if !plan.by_month_day.is_empty()
        && !plan.by_month_day.iter().any(|&n| n == day || n == day - month_length - 1)
    {
        return false;
    }
    if !plan.by_day.is_empty() {
        // Ordinals count within the month for MONTHLY (and YEARLY with BYMONTH), within the year
        // for YEARLY; other frequencies ignore them, as RFC 5545 says they must not carry one.
        let (position, length) = match rule.frequency {
            Frequency::Monthly => (day, month_length),
            Frequency::Yearly if !rule.by_month.is_empty() => (day, month_length),
            Frequency::Yearly => (day_of_year, year_length),
            _ => (0, 0),
        };
        let matches = plan.by_day.iter().any(|entry| {
            entry.weekday == date.weekday()
                && (entry.ordinal == 0
                    || length == 0
                    || (entry.ordinal > 0 && (position - 1) / 7 + 1 == entry.ordinal)
                    || (entry.ordinal < 0 && -((length - position) / 7 + 1) == entry.ordinal))
        });
        if !matches {
            return false;
        }
    }
    true
}

/// The first day of week 1 of `year`: weeks start on `week_start`, and week 1 is the first week
/// with at least four days in the year (RFC 5545, `BYWEEKNO`).
fn first_week_begin(year: i32, week_start: Weekday) -> Option<NaiveDate> {
    let january_first = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let days_into_week = i64::from(january_first.weekday().days_since(week_start));
    if days_into_week <= 3 {
        january_first.checked_sub_signed(TimeDelta::days(days_into_week))
    } else {
        january_first.checked_add_signed(TimeDelta::days(7 - days_into_week))
    }
}

fn week_number_matches(week_numbers: &[i32], week_start: Weekday, date: NaiveDate) -> bool {
    let year = date.year();
    // The week-numbering year of `date` is the year whose week 1 begins last on or before it.
    let mut week_year = year + 1;
    let mut begin = None;
    while week_year >= year - 1 {
        if let Some(candidate) = first_week_begin(week_year, week_start)
            && candidate <= date
        {
            begin = Some(candidate);
            break;
        }
        week_year -= 1;
    }
    let (Some(begin), Some(next_begin)) = (begin, first_week_begin(week_year + 1, week_start))
    else {
        return false;
    };
    let week = ((date - begin).num_days() / 7 + 1) as i32;
    let n_weeks = ((next_begin - begin).num_days() / 7) as i32;
    week_numbers.iter().any(|&n| n == week || n == week - n_weeks - 1)
}

/// Keeps the `BYSETPOS` positions of the period's sorted candidate set.
fn select_positions(positions: &[i32], candidates: &mut Vec<NaiveDateTime>) {
    candidates.sort_unstable();
    candidates.dedup();
    let length = candidates.len() as i64;
    let mut selected: Vec<NaiveDateTime> = positions
        .iter()
        .filter_map(|&position| {
            let index =
                if position > 0 { i64::from(position) - 1 } else { length + i64::from(position) };
            usize::try_from(index).ok().and_then(|index| candidates.get(index).copied())
        })
        .collect();
    selected.sort_unstable();
    selected.dedup();
    *candidates = selected;
}

fn beyond_until(until: Option<Until>, candidate: NaiveDateTime, zone: &Zone) -> bool {
    match until {
        None => false,
        Some(Until::Utc(instant)) => zone.local_to_utc(candidate) > instant,
        Some(Until::Local(local)) => candidate > local,
        Some(Until::Date(date)) => candidate.date() > date,
    }
}
