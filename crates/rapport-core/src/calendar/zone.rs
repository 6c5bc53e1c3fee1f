//! Time zones of calendar values: UTC, IANA zones, fixed offsets and the custom zones a calendar
//! file defines in `VTIMEZONE` components.
//!
//! Every zone answers two questions: the UTC offset in force at a UTC instant, and the UTC instant
//! of a local wall-clock time. The second follows RFC 5545 §3.3.5: a local time that does not exist
//! (in a gap) is read with the offset before the gap, and a local time that exists twice (in an
//! overlap) means its first occurrence. Recurrence expansion works on local wall-clock times and
//! converts each occurrence with this rule, so a weekly 09:00 meeting stays at 09:00 across a DST
//! change.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

use crate::calendar::rrule::{self, Limits, RecurrenceRule};
use crate::period::SECONDS_PER_DAY;

/// A time zone that calendar values can be read in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Zone {
    /// UTC; also used for floating times and empty or unknown `TZID`s.
    Utc,
    /// A zone of the IANA database.
    Iana(Tz),
    /// A fixed offset east of UTC, in seconds (for an Outlook `(UTC+07:00) ...` name not in the list).
    Fixed(i32),
    /// A zone defined by a `VTIMEZONE` component of the calendar file.
    Custom(Arc<CustomZone>),
}

/// One `STANDARD` or `DAYLIGHT` sub-component of a `VTIMEZONE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observance {
    /// `DTSTART`: the first onset, as a local time in the offset `offset_from`.
    pub start: NaiveDateTime,
    /// `TZOFFSETFROM`, seconds east of UTC.
    pub offset_from: i32,
    /// `TZOFFSETTO`, seconds east of UTC.
    pub offset_to: i32,
    /// `RRULE`s giving the later onsets (local times in `offset_from`).
    pub rules: Vec<RecurrenceRule>,
    /// `RDATE`s giving further onsets (local times in `offset_from`).
    pub dates: Vec<NaiveDateTime>,
}

/// A zone defined by a `VTIMEZONE` component, held as the list of its offset changes.
///
/// The onsets are computed once, when the zone is built, for the years [`TRANSITIONS_FROM_YEAR`,
/// [`TRANSITIONS_TO_YEAR`]) (plus each observance's own `DTSTART`); after the last one the last
/// offset stays in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomZone {
    /// The `TZID` of the component, unescaped.
    pub name: String,
    /// Offset changes sorted by instant.
    transitions: Vec<Transition>,
    /// The offset before the first change: the `TZOFFSETFROM` of the earliest onset.
    initial_offset: i32,
}

/// One offset change of a custom zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Transition {
    /// The UTC instant of the change.
    at: i64,
    /// The offset in force from `at` on.
    offset: i32,
}

/// The first year for which recurring onsets of a custom zone are computed.
pub const TRANSITIONS_FROM_YEAR: i32 = 1970;
/// The year (exclusive) up to which recurring onsets of a custom zone are computed.
pub const TRANSITIONS_TO_YEAR: i32 = 2100;

impl CustomZone {
    /// Builds a zone named `name` from its observances.
    pub fn new(name: String, observances: &[Observance]) -> CustomZone {
        let from = NaiveDate::from_ymd_opt(TRANSITIONS_FROM_YEAR, 1, 1)
            .unwrap_or_default()
            .and_time(Default::default());
        let limit = NaiveDate::from_ymd_opt(TRANSITIONS_TO_YEAR, 1, 1)
            .unwrap_or_default()
            .and_time(Default::default());
        let mut transitions = Vec::new();
        let mut onsets = Vec::new();
        let mut earliest: Option<(i64, i32)> = None;
        for observance in observances {
            onsets.clear();
            onsets.push(observance.start);
            onsets.extend(observance.dates.iter().copied());
            let onset_zone = Zone::Fixed(observance.offset_from);
            for rule in &observance.rules {
                rrule::expand_rule(
                    rule,
                    observance.start,
                    &onset_zone,
                    from,
                    limit,
                    Limits::ZONE_ONSETS,
                    &mut onsets,
                );
            }
            for onset in &onsets {
                let at = onset.and_utc().timestamp() - i64::from(observance.offset_from);
                transitions.push(Transition { at, offset: observance.offset_to });
                if earliest.is_none_or(|(earliest_at, _)| at < earliest_at) {
                    earliest = Some((at, observance.offset_from));
                }
            }
        }
        transitions.sort_by_key(|transition| transition.at);
        CustomZone { name, transitions, initial_offset: earliest.map_or(0, |(_, offset)| offset) }
    }

    /// A zone named `name` from its offset changes as [`CustomZone::transitions`] lists them
    /// (UTC instant, offset in force from then on) and the offset before the first one, as
    /// [`CustomZone::initial_offset`] gives it: how a store that kept a zone builds it again
    /// without its observances. The changes are sorted by instant (stably, so an already sorted
    /// list keeps its order and the zone equals the one it was taken from).
    pub fn from_transitions(
        name: String,
        initial_offset: i32,
        transitions: impl IntoIterator<Item = (i64, i32)>,
    ) -> CustomZone {
        let mut transitions: Vec<Transition> =
            transitions.into_iter().map(|(at, offset)| Transition { at, offset }).collect();
        transitions.sort_by_key(|transition| transition.at);
        CustomZone { name, transitions, initial_offset }
    }

    /// The offset changes, sorted by instant: (UTC instant, offset in seconds east of UTC in
    /// force from then on).
    pub fn transitions(
        &self,
    ) -> impl ExactSizeIterator<Item = (i64, i32)> + DoubleEndedIterator + '_ {
        self.transitions.iter().map(|transition| (transition.at, transition.offset))
    }

    /// The offset (seconds east of UTC) before the first change.
    pub fn initial_offset(&self) -> i32 {
        self.initial_offset
    }

    /// The offset (seconds east of UTC) in force at the UTC instant `instant`.
    pub fn offset_at_utc(&self, instant: i64) -> i32 {
        let index = self.transitions.partition_point(|transition| transition.at <= instant);
        match index.checked_sub(1).and_then(|last| self.transitions.get(last)) {
            Some(transition) => transition.offset,
            None => self.initial_offset,
        }
    }
}

impl Zone {
    /// The offset (seconds east of UTC) in force at the UTC instant `instant`.
    pub fn offset_at_utc(&self, instant: i64) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(offset) => *offset,
            Zone::Iana(tz) => match DateTime::from_timestamp(instant, 0) {
                Some(utc) => tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc(),
                None => 0,
            },
            Zone::Custom(custom) => custom.offset_at_utc(instant),
        }
    }

    /// The UTC instant of the local wall-clock time `local` (RFC 5545: a time in a gap uses the
    /// offset before the gap, a time in an overlap its first occurrence).
    pub fn local_to_utc(&self, local: NaiveDateTime) -> i64 {
        let as_if_utc = local.and_utc().timestamp();
        match self {
            Zone::Utc => as_if_utc,
            Zone::Fixed(offset) => as_if_utc - i64::from(*offset),
            Zone::Iana(_) | Zone::Custom(_) => {
                // Offset changes are at least a day apart, so the offsets a day either side are the
                // only candidates.
                let offset_before = i64::from(self.offset_at_utc(as_if_utc - SECONDS_PER_DAY));
                let offset_after = i64::from(self.offset_at_utc(as_if_utc + SECONDS_PER_DAY));
                let candidate_before = as_if_utc - offset_before;
                let candidate_after = as_if_utc - offset_after;
                let before_fits = i64::from(self.offset_at_utc(candidate_before)) == offset_before;
                let after_fits = i64::from(self.offset_at_utc(candidate_after)) == offset_after;
                match (before_fits, after_fits) {
                    (true, true) => candidate_before.min(candidate_after),
                    (false, true) => candidate_after,
                    // In a gap (or a fits-only-before time) the offset before the change applies.
                    _ => candidate_before,
                }
            }
        }
    }

    /// The local wall-clock time at the UTC instant `instant` (saturating at chrono's range).
    pub fn utc_to_local(&self, instant: i64) -> NaiveDateTime {
        naive_from_timestamp(instant.saturating_add(i64::from(self.offset_at_utc(instant))))
    }
}

/// The naive date-time of a count of seconds since the epoch, saturating at chrono's range.
pub(crate) fn naive_from_timestamp(seconds: i64) -> NaiveDateTime {
    match DateTime::from_timestamp(seconds, 0) {
        Some(date_time) => date_time.naive_utc(),
        None if seconds < 0 => NaiveDateTime::MIN,
        None => NaiveDateTime::MAX,
    }
}
