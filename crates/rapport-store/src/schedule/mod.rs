//! When a schedule fires next: pure calendar arithmetic in the schedule's time zone.
//!
//! The store never reads the clock; callers pass the instant (UTC seconds) to count from.
//! Daylight-saving changes follow what a person setting an alarm expects: a local time that does
//! not exist on the spring-forward day fires at the first valid instant after the gap, and a time
//! that occurs twice on the fall-back day fires once, at its first occurrence.

use chrono::{
    DateTime, Datelike as _, LocalResult, NaiveDateTime, Offset as _, TimeDelta, TimeZone as _,
};
use chrono_tz::Tz;

use crate::config::{Frequency, Schedule};

/// Days before the local date of `after` that are looked at: a time on the previous local day
/// can still be after `after` when it falls in a daylight-saving gap that ends after midnight.
const DAYS_BEFORE: i64 = 1;
/// Days after the local date of `after` that are looked at: a week, plus a day for a
/// daylight-saving change, covers the next weekly slot.
const DAYS_AFTER: i64 = 8;
/// The step used to walk out of a daylight-saving gap to a valid local time on either side.
const GAP_STEP_MINUTES: i64 = 15;
/// How far to walk out of a gap: zones have skipped a whole day (Pacific/Apia, 2011-12-30).
const GAP_MAX_MINUTES: i64 = 26 * 60;

/// The first scheduled instant strictly after `after` (UTC seconds), or `None` when the schedule
/// is Off or has no times of day.
///
/// A schedule whose time zone is not a known IANA name (which validation refuses) is read in UTC.
pub fn next_run_after(schedule: &Schedule, after: i64) -> Option<i64> {
    if schedule.frequency == Frequency::Off || schedule.times.is_empty() {
        return None;
    }
    let zone: Tz = schedule.time_zone.parse().unwrap_or(Tz::UTC);
    let after_local = local_time(&zone, after)?.date();
    let mut best: Option<i64> = None;
    for day_offset in -DAYS_BEFORE..=DAYS_AFTER {
        let Some(date) = after_local.checked_add_signed(TimeDelta::days(day_offset)) else {
            continue;
        };
        if schedule.frequency == Frequency::Weekly && date.weekday() != schedule.weekday {
            continue;
        }
        for time in &schedule.times {
            let Some(instant) = local_to_instant(&zone, date.and_time(*time)) else {
                continue;
            };
            if instant > after && best.is_none_or(|best| instant < best) {
                best = Some(instant);
            }
        }
    }
    best
}

/// The UTC instant of local time `local` in `zone`: the earlier one when it occurs twice, the end
/// of the gap when it does not exist.
fn local_to_instant(zone: &Tz, local: NaiveDateTime) -> Option<i64> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) => Some(instant.timestamp()),
        LocalResult::Ambiguous(earliest, _) => Some(earliest.timestamp()),
        LocalResult::None => end_of_gap(zone, local),
    }
}

/// The first instant whose local time is at or after `local`, which lies in a gap: found by
/// bracketing the gap with valid local times and bisecting over UTC seconds.
fn end_of_gap(zone: &Tz, local: NaiveDateTime) -> Option<i64> {
    let valid_instant = |direction: i64| {
        (1..=GAP_MAX_MINUTES / GAP_STEP_MINUTES).find_map(|step| {
            let probe = local
                .checked_add_signed(TimeDelta::minutes(direction * step * GAP_STEP_MINUTES))?;
            zone.from_local_datetime(&probe).earliest().map(|instant| instant.timestamp())
        })
    };
    // Before the gap the local time is earlier than `local`, after it later.
    let mut low = valid_instant(-1)?;
    let mut high = valid_instant(1)?;
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if local_time(zone, middle)? >= local {
            high = middle;
        } else {
            low = middle;
        }
    }
    Some(high)
}

/// The local time in `zone` of the instant `instant`; `None` outside chrono's range (where
/// `DateTime::naive_local` would panic).
fn local_time(zone: &Tz, instant: i64) -> Option<NaiveDateTime> {
    let utc = DateTime::from_timestamp(instant, 0)?.naive_utc();
    utc.checked_add_offset(zone.offset_from_utc_datetime(&utc).fix())
}

#[cfg(test)]
mod tests;
