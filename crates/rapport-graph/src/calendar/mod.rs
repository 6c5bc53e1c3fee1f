//! Calendars: calendarView delta pages and the mapping of Graph events onto [`MeetingCopy`].
//!
//! calendarView expands series into occurrences and exceptions over the asked range, so a
//! `seriesMaster` item (none is expected) is not an occurrence and is ignored. A calendarView delta
//! token is bound to the range it was created with (metrics.md §8): the sync starts a new round
//! when the window moves.

use std::str::FromStr;

use rapport_core::calendar::Zone;
use rapport_core::model::{MeetingCopy, SkipReason, UnixSeconds};

use crate::http::{encode_path_segment, encode_query_value};
use crate::mail::{format_instant, parse_instant};
use crate::wire::{
    DeltaItem, DeltaPage, LenientBool, LenientList, LenientObject, LenientStr, WireEmailAddress,
    WireRecipient, WireRemoved, read_delta_page,
};

#[cfg(test)]
mod tests;

/// What kind of calendar item an event is (Graph's `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A single event (`singleInstance`, or no type given).
    Single,
    /// An occurrence of a series.
    Occurrence,
    /// An occurrence of a series that was changed.
    Exception,
}

/// One event occurrence as read from one calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarItem {
    /// Graph id of the event (unique per calendar).
    pub graph_id: String,
    /// Single, occurrence or exception.
    pub kind: EventKind,
    /// The series master's Graph id, for occurrences and exceptions.
    pub series_master_id: Option<String>,
    /// The activity fields.
    pub meeting: MeetingCopy,
}

/// One page of a calendarView delta round. `removed` also holds the ids of items that no longer
/// read as a meeting; `skipped` counts items without an id or with an unreadable time
/// (`unparseable`), or without a start (`invalid_date`).
pub type EventPage = DeltaPage<CalendarItem>;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireEvent<'a> {
    #[serde(borrow)]
    id: LenientStr<'a>,
    #[serde(rename = "@removed", borrow)]
    removed: LenientObject<WireRemoved<'a>>,
    #[serde(rename = "type", borrow)]
    kind: LenientStr<'a>,
    #[serde(rename = "iCalUId", borrow)]
    ical_uid: LenientStr<'a>,
    #[serde(rename = "seriesMasterId", borrow)]
    series_master_id: LenientStr<'a>,
    #[serde(rename = "originalStart", borrow)]
    original_start: LenientStr<'a>,
    #[serde(rename = "isCancelled")]
    is_cancelled: LenientBool,
    #[serde(rename = "isAllDay")]
    is_all_day: LenientBool,
    #[serde(borrow)]
    start: LenientObject<WireDateTimeTimeZone<'a>>,
    #[serde(borrow)]
    end: LenientObject<WireDateTimeTimeZone<'a>>,
    #[serde(borrow)]
    organizer: LenientObject<WireRecipient<'a>>,
    #[serde(borrow)]
    attendees: LenientList<LenientObject<WireAttendee<'a>>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireDateTimeTimeZone<'a> {
    #[serde(rename = "dateTime", borrow)]
    date_time: LenientStr<'a>,
    #[serde(rename = "timeZone", borrow)]
    time_zone: LenientStr<'a>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireAttendee<'a> {
    #[serde(rename = "type", borrow)]
    kind: LenientStr<'a>,
    #[serde(borrow)]
    status: LenientObject<WireResponseStatus<'a>>,
    #[serde(rename = "emailAddress", borrow)]
    email_address: LenientObject<WireEmailAddress<'a>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireResponseStatus<'a> {
    #[serde(borrow)]
    response: LenientStr<'a>,
}

/// Reads one page of a calendarView delta answer.
pub fn read_event_page(body: &[u8]) -> Result<EventPage, serde_json::Error> {
    read_delta_page(body, |graph_id, event: &WireEvent<'_>, out| match map_event(graph_id, event) {
        Mapped::Item(item) => out.upserted.push(item),
        Mapped::Ignored => {}
        Mapped::Skipped(graph_id, reason) => {
            out.skipped.add(reason);
            out.removed.push(graph_id);
        }
    })
}

impl DeltaItem for WireEvent<'_> {
    fn graph_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    fn is_removed(&self) -> bool {
        self.removed.0.is_some()
    }
}

enum Mapped {
    Item(CalendarItem),
    /// A series master: not an occurrence.
    Ignored,
    /// Unusable; the id is reported removed so a stored older version goes too.
    Skipped(String, SkipReason),
}

fn map_event(graph_id: String, event: &WireEvent<'_>) -> Mapped {
    let kind = match event.kind.as_deref() {
        Some(kind) if kind.eq_ignore_ascii_case("seriesMaster") => return Mapped::Ignored,
        Some(kind) if kind.eq_ignore_ascii_case("occurrence") => EventKind::Occurrence,
        Some(kind) if kind.eq_ignore_ascii_case("exception") => EventKind::Exception,
        _ => EventKind::Single,
    };
    let start = match event_instant(&event.start) {
        Instant::Missing => return Mapped::Skipped(graph_id, SkipReason::InvalidDate),
        Instant::Unreadable => return Mapped::Skipped(graph_id, SkipReason::Unparseable),
        Instant::At(start) => start,
    };
    let end = match event_instant(&event.end) {
        Instant::Missing => start,
        Instant::Unreadable => return Mapped::Skipped(graph_id, SkipReason::Unparseable),
        Instant::At(end) => end,
    };
    let key_instant = match kind {
        EventKind::Occurrence | EventKind::Exception => {
            event.original_start.as_deref().and_then(parse_instant).unwrap_or(start)
        }
        EventKind::Single => start,
    };
    let key = event
        .ical_uid
        .as_deref()
        .map(str::trim)
        .filter(|uid| !uid.is_empty())
        .map(|uid| (uid.to_owned(), key_instant));
    let organizer = event.organizer.0.as_ref().and_then(WireRecipient::normalized_address);
    let mut participants: Vec<String> = Vec::new();
    for attendee in event.attendees.0.iter().filter_map(|attendee| attendee.0.as_ref()) {
        if attendee.kind.as_deref().is_some_and(|kind| kind.eq_ignore_ascii_case("resource")) {
            continue;
        }
        let declined = attendee.status.0.as_ref().is_some_and(|status| {
            status
                .response
                .as_deref()
                .is_some_and(|response| response.eq_ignore_ascii_case("declined"))
        });
        if declined {
            continue;
        }
        let address = attendee
            .email_address
            .0
            .as_ref()
            .and_then(|email| email.address.as_deref())
            .and_then(rapport_core::address::normalize);
        if let Some(address) = address
            && !participants.contains(&address)
        {
            participants.push(address);
        }
    }
    Mapped::Item(CalendarItem {
        graph_id,
        kind,
        series_master_id: match kind {
            EventKind::Single => None,
            _ => event.series_master_id.as_deref().filter(|id| !id.is_empty()).map(str::to_owned),
        },
        meeting: MeetingCopy {
            key,
            start,
            end,
            organizer,
            participants,
            cancelled: event.is_cancelled.0 == Some(true),
            all_day: event.is_all_day.0 == Some(true),
        },
    })
}

enum Instant {
    Missing,
    Unreadable,
    At(UnixSeconds),
}

fn event_instant(value: &LenientObject<WireDateTimeTimeZone<'_>>) -> Instant {
    let Some(value) = value.0.as_ref() else {
        return Instant::Missing;
    };
    let Some(date_time) = value.date_time.as_deref().filter(|text| !text.trim().is_empty()) else {
        return Instant::Missing;
    };
    match date_time_instant(date_time, value.time_zone.as_deref().unwrap_or("")) {
        Some(instant) => Instant::At(instant),
        None => Instant::Unreadable,
    }
}

/// The instant of a Graph `dateTimeTimeZone`: a local date-time (`2026-03-02T15:00:00.0000000`)
/// in `time_zone`, which is UTC as the sync asks (`Prefer: outlook.timezone="UTC"`), else an IANA
/// name, a Windows zone id or Outlook display name (CLDR's table), or a `(UTC±hh:mm)` prefix.
/// `None` when the date-time or the zone cannot be read.
pub fn date_time_instant(date_time: &str, time_zone: &str) -> Option<UnixSeconds> {
    let date_time = date_time.trim();
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(date_time, format).ok());
    let Some(local) = local else {
        // A value with its own offset (`...Z`, `...+02:00`) needs no zone.
        return chrono::DateTime::parse_from_rfc3339(date_time)
            .ok()
            .map(|instant| instant.timestamp());
    };
    Some(zone_of(time_zone)?.local_to_utc(local))
}

/// The zone of a Graph `timeZone` value.
fn zone_of(name: &str) -> Option<Zone> {
    let name = name.trim();
    if name.is_empty()
        || name.eq_ignore_ascii_case("UTC")
        || name.eq_ignore_ascii_case("Etc/UTC")
        || name.eq_ignore_ascii_case("tzone://Microsoft/Utc")
    {
        return Some(Zone::Utc);
    }
    if let Ok(zone) = chrono_tz::Tz::from_str(name) {
        return Some(Zone::Iana(zone));
    }
    if let Some(zone) = rapport_ingest::windows_zones::lookup(name) {
        return Some(Zone::Iana(zone));
    }
    rapport_ingest::windows_zones::display_offset(name).map(Zone::Fixed)
}

/// The first request of a calendarView delta round over `[window_start, window_end)` (relative
/// to `{graph}/v1.0`).
pub fn first_round_path(
    mailbox_id: &str,
    window_start: UnixSeconds,
    window_end: UnixSeconds,
) -> String {
    format!(
        "/users/{}/calendarView/delta?startDateTime={}&endDateTime={}",
        encode_path_segment(mailbox_id),
        encode_query_value(&format_instant(window_start)),
        encode_query_value(&format_instant(window_end))
    )
}
