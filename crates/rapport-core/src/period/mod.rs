//! The window `[W, T)` and the Year/Month/Week periods that intersect it (metrics.md §1, §4).
//!
//! Periods are calendar periods in UTC or in a configured time zone: a month starts on its first
//! day at local midnight, a week on its ISO Monday at local midnight. Each period is clipped to the
//! window, so its clipped end is the row's reference instant `Rf = min(p1, T)`.
//! This module does no I/O and never reads the clock.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// Seconds in one day: "whole days" in metrics.md are floors of a difference divided by this.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// The enrichment window `[start, end)` in unix seconds: `start = W`, `end = T`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// `W`, the first instant inside the window.
    pub start: i64,
    /// `T`, the as-of instant, the first instant after the window.
    pub end: i64,
}

impl Window {
    /// True when `instant` lies in `[W, T)`: activity at exactly `W` counts, at exactly `T` not.
    pub fn contains(&self, instant: i64) -> bool {
        self.start <= instant && instant < self.end
    }
}

/// Returns the window for the as-of instant `T`: `W = T − 12 calendar months` at the same UTC time
/// of day, the day clamped to the month's last day (`T = 2024-02-29 → W = 2023-02-28`).
///
/// An instant that chrono cannot represent falls back to `T − 365 days`, so the function never
/// panics; no real as-of instant comes near that range.
pub fn window(as_of: i64) -> Window {
    let start = DateTime::from_timestamp(as_of, 0)
        .map(|instant| instant.naive_utc())
        .and_then(|naive| naive.checked_sub_months(Months::new(12)))
        .map(|naive| naive.and_utc().timestamp())
        .unwrap_or_else(|| as_of.saturating_sub(365 * SECONDS_PER_DAY));
    Window { start, end: as_of }
}

/// An aggregation level of the enriched table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// The whole window.
    Year,
    /// Calendar months.
    Month,
    /// ISO weeks starting on Monday.
    Week,
}

impl Level {
    /// Every level, in the order rows are sorted.
    pub const ALL: [Level; 3] = [Level::Year, Level::Month, Level::Week];

    /// The `AggregationLevel` cell text.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Year => "Year",
            Level::Month => "Month",
            Level::Week => "Week",
        }
    }
}

/// One period of one level, clipped to the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The level this period belongs to.
    pub level: Level,
    /// `AggregationStartDate`: the date of `W` for Year, the first of the month, the ISO Monday.
    pub start_date: NaiveDate,
    /// First instant of the period inside the window (`max(p0, W)`).
    pub start: i64,
    /// End of the period clipped to the window: `Rf = min(p1, T)`.
    pub end: i64,
}

/// The periods of every level that intersect a window, in one time zone (UTC when `None`).
#[derive(Clone, Debug)]
pub struct Periods {
    window: Window,
    zone: Option<Tz>,
    year: Period,
    months: Vec<Period>,
    weeks: Vec<Period>,
}

/// More periods than a 12-month window can hold; it only stops a loop on absurd input.
const MAX_PERIODS_PER_LEVEL: usize = 1_000;

impl Periods {
    /// Builds the Year period, the months and the ISO weeks that intersect `window`, in `zone`.
    pub fn new(window: Window, zone: Option<Tz>) -> Periods {
        let start_date = local_date(window.start, zone);
        let year = Period { level: Level::Year, start_date, start: window.start, end: window.end };
        let months =
            clipped_periods(window, zone, Level::Month, first_of_month(start_date), |date| {
                date.checked_add_months(Months::new(1))
            });
        let monday = start_date
            .checked_sub_days(Days::new(u64::from(start_date.weekday().num_days_from_monday())))
            .unwrap_or(start_date);
        let weeks = clipped_periods(window, zone, Level::Week, monday, |date| {
            date.checked_add_days(Days::new(7))
        });
        Periods { window, zone, year, months, weeks }
    }

    /// The one Year period: the whole window.
    pub fn year(&self) -> &Period {
        &self.year
    }

    /// The months intersecting the window, in time order.
    pub fn months(&self) -> &[Period] {
        &self.months
    }

    /// The ISO weeks intersecting the window, in time order.
    pub fn weeks(&self) -> &[Period] {
        &self.weeks
    }

    /// The periods of `level`, in time order.
    pub fn of_level(&self, level: Level) -> &[Period] {
        match level {
            Level::Year => std::slice::from_ref(&self.year),
            Level::Month => &self.months,
            Level::Week => &self.weeks,
        }
    }

    /// The index into [`Periods::of_level`] of the period holding `instant`, `None` outside the
    /// window.
    pub fn index_of(&self, level: Level, instant: i64) -> Option<usize> {
        if !self.window.contains(instant) {
            return None;
        }
        let periods = self.of_level(level);
        // The periods tile the window, so the holder is the last one starting at or before it.
        periods.partition_point(|period| period.start <= instant).checked_sub(1)
    }

    /// The calendar date of `instant` in the bucketing zone.
    pub fn date_of(&self, instant: i64) -> NaiveDate {
        local_date(instant, self.zone)
    }
}

/// The calendar date of `instant` in `zone` (UTC when `None`); 1970-01-01 if out of chrono's range.
pub fn local_date(instant: i64, zone: Option<Tz>) -> NaiveDate {
    let Some(utc) = DateTime::from_timestamp(instant, 0) else {
        return NaiveDate::default();
    };
    match zone {
        None => utc.date_naive(),
        Some(zone) => utc.with_timezone(&zone).date_naive(),
    }
}

/// The first instant whose local date in `zone` is `date`: local midnight, or the end of a DST
/// gap that swallows midnight, or the earlier of two midnights in a repeated hour.
pub fn start_of_day(date: NaiveDate, zone: Option<Tz>) -> i64 {
    let midnight: NaiveDateTime = date.and_time(chrono::NaiveTime::MIN);
    let naive_utc = midnight.and_utc().timestamp();
    let Some(zone) = zone else {
        return naive_utc;
    };
    if let Some(instant) = zone.from_local_datetime(&midnight).earliest() {
        return instant.timestamp();
    }
    // Midnight falls in a gap: search the first instant whose local date is `date`. Offsets lie
    // within ±26 h of UTC, and inside that range the local date only moves forward at a gap.
    let mut low = naive_utc - 26 * 3_600;
    let mut high = naive_utc + 26 * 3_600;
    while low < high {
        let middle = low + (high - low) / 2;
        if local_date(middle, Some(zone)) >= date {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    low
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// Walks calendar periods from `first` (which holds `W`) with `next`, keeping those that start
/// before `T`, each clipped to the window.
fn clipped_periods(
    window: Window,
    zone: Option<Tz>,
    level: Level,
    first: NaiveDate,
    next: impl Fn(NaiveDate) -> Option<NaiveDate>,
) -> Vec<Period> {
    let mut periods = Vec::new();
    let mut date = first;
    let mut period_start = start_of_day(date, zone);
    while period_start < window.end && periods.len() < MAX_PERIODS_PER_LEVEL {
        let Some(next_date) = next(date) else { break };
        let next_start = start_of_day(next_date, zone);
        if next_start > window.start {
            periods.push(Period {
                level,
                start_date: date,
                start: period_start.max(window.start),
                end: next_start.min(window.end),
            });
        }
        date = next_date;
        period_start = next_start;
    }
    periods
}

#[cfg(test)]
mod tests;
