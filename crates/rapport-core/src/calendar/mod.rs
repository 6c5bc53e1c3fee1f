//! Calendars: the parsed form of iCalendar files, their time zones and recurrence rules, and the
//! expansion of their events into the meeting occurrence copies of one window (metrics.md §3
//! "Meeting" and §8 "Calendars").
//!
//! `rapport-ingest::ics` reads an `.ics` file into a [`CalendarFile`]: plain data (its `METHOD`
//! and its `VEVENT`s grouped per UID, each readable or a counted problem), which a store can keep
//! between runs. [`expand`] applies the calendar rules of §8 across all files at once: METHOD
//! filtering, versions, overrides, `EXDATE`/`RDATE`, the window, and the skip counts that belong to
//! calendars (`unparseable`, `invalid_date`, `outside_window`, `duplicate`). The meeting rules
//! (`not_a_meeting`, the identity merge, `no_org_participant`) are the engine's.

pub mod rrule;
pub mod value;
pub mod zone;

mod expand;
#[cfg(test)]
mod tests;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use crate::period::SECONDS_PER_DAY;

pub use expand::expand;
pub use rrule::{Frequency, RecurrenceRule, Until, WeekdayNumber};
pub use value::{NominalDuration, TimeText, parse_duration_text, parse_time_text};
pub use zone::{CustomZone, Observance, Zone};

/// One calendar file (or one calendar read from a server) in parsed form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CalendarFile {
    /// The `METHOD` of the calendar, upper-cased and trimmed; `None` when absent. A reader that
    /// joins several calendars with different methods into one file applies each calendar's method
    /// to its own components (drops ignored ones, marks `CANCEL` ones cancelled) and sets `None`.
    pub method: Option<String>,
    /// The events of the file: the `VEVENT`s of one UID form one group, in the order the UID first
    /// appears; a `VEVENT` without UID is a group of its own.
    pub groups: Vec<EventGroup>,
}

impl CalendarFile {
    /// True when the components of this calendar are replies rather than versions of an event:
    /// see [`is_ignored_method`].
    pub fn is_ignored(&self) -> bool {
        self.method.as_deref().is_some_and(is_ignored_method)
    }

    /// True when the calendar cancels its events (`METHOD:CANCEL`).
    pub fn is_cancel(&self) -> bool {
        self.method.as_deref() == Some("CANCEL")
    }
}

/// True for an upper-cased `METHOD` whose components are ignored entirely (metrics.md §8: only
/// organizer methods are versions): `REPLY`, `COUNTER`, `DECLINECOUNTER`, `REFRESH`.
pub fn is_ignored_method(method: &str) -> bool {
    matches!(method, "REPLY" | "COUNTER" | "DECLINECOUNTER" | "REFRESH")
}

/// The `VEVENT`s of one UID in one file ("an event" of metrics.md §8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventGroup {
    /// The UID (trimmed, non-empty); `None` for a component without one.
    pub uid: Option<String>,
    /// The components, in file order.
    pub components: Vec<EventComponent>,
}

/// One `VEVENT`: readable, or the reason it cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventComponent {
    /// A readable component.
    Event(Box<Event>),
    /// A `DTSTART`, `DTEND`, `DURATION`, `RRULE`, `RDATE` or `EXDATE` value cannot be read.
    Unparseable,
    /// No `DTSTART`, or the event ends before it starts.
    InvalidDate,
}

/// A DATE-TIME value already placed in UTC, or a DATE value, which means "that date at the series'
/// start time in the series' zone" and is resolved against the series during expansion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeValue {
    /// A UTC instant (seconds since the epoch).
    Instant(i64),
    /// A date.
    Date(NaiveDate),
}

/// `DTSTART`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// A DATE value: midnight of that date, floating, hence UTC.
    Date(NaiveDate),
    /// A DATE-TIME value: a local time in a zone (UTC for `Z` values, floating times and unknown
    /// zones).
    DateTime {
        /// The local wall-clock time.
        local: NaiveDateTime,
        /// The zone of its `TZID`.
        zone: Zone,
    },
}

impl Start {
    /// The zone recurrence is expanded in (UTC for a date).
    pub fn zone(&self) -> Zone {
        match self {
            Start::Date(_) => Zone::Utc,
            Start::DateTime { zone, .. } => zone.clone(),
        }
    }

    /// The local wall-clock start (midnight for a date).
    pub fn local(&self) -> NaiveDateTime {
        match self {
            Start::Date(date) => date.and_time(NaiveTime::MIN),
            Start::DateTime { local, .. } => *local,
        }
    }

    /// The start as a UTC instant.
    pub fn instant(&self) -> i64 {
        match self {
            Start::Date(date) => date.and_time(NaiveTime::MIN).and_utc().timestamp(),
            Start::DateTime { local, zone } => zone.local_to_utc(*local),
        }
    }

    /// The UTC instant of a `RDATE`/`EXDATE`/`RECURRENCE-ID` value for a series with this start:
    /// a date means that date at this start's time of day in this start's zone.
    pub fn resolve(&self, value: TimeValue) -> i64 {
        match (value, self) {
            (TimeValue::Instant(instant), _) => instant,
            (TimeValue::Date(date), Start::Date(_)) => {
                date.and_time(NaiveTime::MIN).and_utc().timestamp()
            }
            (TimeValue::Date(date), Start::DateTime { local, zone }) => {
                zone.local_to_utc(date.and_time(local.time()))
            }
        }
    }
}

/// How long each occurrence lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// An exact number of seconds: `DTEND − DTSTART` (negative when the event ends before it
    /// starts), or 0 when neither `DTEND` nor `DURATION` is given for a date-time start.
    Exact(i64),
    /// A `DURATION` (days are nominal: the same local time on a later date), or one day for a date
    /// start without `DTEND`/`DURATION`.
    Nominal(NominalDuration),
}

/// One `RDATE` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecurrenceDate {
    /// The added start.
    pub at: TimeValue,
    /// For a `PERIOD` value, the length of that occurrence in seconds; else the event's length.
    pub period_seconds: Option<i64>,
}

/// A readable `VEVENT`, with everything the expansion and the meeting rules need and nothing else
/// (no summary, description or location).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `RECURRENCE-ID`: set on an override of one occurrence.
    pub recurrence_id: Option<TimeValue>,
    /// `SEQUENCE` (missing or unreadable = 0).
    pub sequence: i64,
    /// `DTSTAMP` as a UTC instant (`None` = missing, older than any).
    pub stamp: Option<i64>,
    /// `DTSTART`.
    pub start: Start,
    /// The occurrence length (`DTEND`, else `DURATION`, else zero or one day).
    pub length: Length,
    /// `RRULE`s (their occurrences are united).
    pub rules: Vec<RecurrenceRule>,
    /// `RDATE`s.
    pub dates: Vec<RecurrenceDate>,
    /// `EXDATE`s.
    pub exception_dates: Vec<TimeValue>,
    /// The organizer's normalized address.
    pub organizer: Option<String>,
    /// The attendees who take part (see `MeetingCopy::participants`), normalized, in file order.
    pub participants: Vec<String>,
    /// The component's own `STATUS:CANCELLED` (or its calendar's `METHOD:CANCEL`, when the reader
    /// applied it per calendar).
    pub cancelled: bool,
    /// `DTSTART;VALUE=DATE` or `X-MICROSOFT-CDO-ALLDAYEVENT:TRUE`.
    pub all_day: bool,
}

impl Event {
    /// The end of an occurrence starting at the UTC instant `occurrence_start`.
    pub fn end_of(&self, occurrence_start: i64) -> i64 {
        match self.length {
            Length::Exact(seconds) => occurrence_start.saturating_add(seconds),
            Length::Nominal(duration) => {
                let zone = self.start.zone();
                let local = zone.utc_to_local(occurrence_start);
                let shifted = local
                    .checked_add_signed(TimeDelta::try_days(duration.days).unwrap_or_default());
                let base = match shifted {
                    Some(shifted) if duration.days != 0 => zone.local_to_utc(shifted),
                    _ => occurrence_start
                        .saturating_add(duration.days.saturating_mul(SECONDS_PER_DAY)),
                };
                base.saturating_add(duration.seconds)
            }
        }
    }

    /// True when the event ends before it starts (metrics.md §8: `invalid_date`).
    pub fn ends_before_start(&self) -> bool {
        let start = self.start.instant();
        self.end_of(start) < start
    }
}
