//! `.ics` files (RFC 5545) → [`CalendarFile`]: the `METHOD`, and every `VEVENT` as plain data,
//! with its values read and its time zones resolved. Summaries, descriptions, locations and
//! alarms are never kept.
//!
//! Reading never fails. Content lines are unfolded (CRLF or LF followed by a space or tab), names
//! are case-insensitive, parameter values may be quoted (`CN="Doe, Jane"`), invalid UTF-8 is
//! replaced, and properties of sub-components (`VALARM`) are ignored. A quoted parameter value runs
//! to its closing quote, so a line like `DTSTART;TZID="Zone:20200609T090000"` has an empty value,
//! which cannot be read. A file with no `VEVENT` gives an empty calendar.
//!
//! `TZID` resolution (metrics.md §8): an IANA name → that zone; a name starting with `/` → its
//! longest trailing part that is an IANA name; the file's `VTIMEZONE` of that name; a Windows
//! zone id, Outlook display name or legacy name ([`crate::windows_zones`]); the fixed offset of a
//! `(UTC±hh:mm)` prefix; else UTC. Floating times and empty `TZID`s are UTC.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use rapport_core::address;
use rapport_core::calendar::{
    CalendarFile, CustomZone, Event, EventComponent, EventGroup, Length, NominalDuration,
    Observance, RecurrenceDate, RecurrenceRule, Start, TimeText, TimeValue, Zone,
    is_ignored_method, parse_duration_text, parse_time_text,
};

use crate::mail::dedup_keep_order;
use crate::windows_zones;

/// The deepest component nesting that is tracked; deeper `BEGIN`s are ignored, which bounds the
/// work per `END` line on hostile input.
const MAX_NESTING: usize = 64;

/// Reads an `.ics` file. Never fails: garbage gives a calendar without events.
pub fn parse_ics(bytes: &[u8]) -> CalendarFile {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut reader = Reader::new();
    let mut physical_lines = text.split('\n').peekable();
    while let Some(line) = physical_lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let is_folded = |next: &&str| next.starts_with([' ', '\t']);
        if physical_lines.peek().is_some_and(is_folded) {
            let mut unfolded = line.to_owned();
            while let Some(next) = physical_lines.next_if(is_folded) {
                let next = next.strip_suffix('\r').unwrap_or(next);
                unfolded.push_str(next.get(1..).unwrap_or_default());
            }
            reader.line(&unfolded);
        } else {
            reader.line(line);
        }
    }
    reader.finish()
}

/// A date or date-time property value with the parameters that matter.
#[derive(Clone, Debug, Default)]
struct RawTime {
    value: String,
    tzid: Option<String>,
}

/// The properties of one `VEVENT` as found, before time zones are known.
#[derive(Debug, Default)]
struct RawEvent {
    /// The index of the `VCALENDAR` holding the event (0: outside any).
    calendar: usize,
    uid: Option<String>,
    start: Option<RawTime>,
    start_is_date: bool,
    end: Option<RawTime>,
    duration: Option<String>,
    recurrence_id: Option<RawTime>,
    rules: Vec<String>,
    dates: Vec<RawTime>,
    exception_dates: Vec<RawTime>,
    sequence: Option<String>,
    stamp: Option<String>,
    organizer: Option<Option<String>>,
    participants: Vec<String>,
    cancelled: Option<bool>,
    all_day_flag: bool,
}

#[derive(Debug, Default)]
struct RawObservance {
    start: Option<String>,
    offset_from: Option<String>,
    offset_to: Option<String>,
    rules: Vec<String>,
    dates: Vec<String>,
}

#[derive(Debug, Default)]
struct RawZone {
    tzid: Option<String>,
    observances: Vec<RawObservance>,
}

/// The state of one file's reading.
struct Reader {
    /// Upper-cased names of the open components.
    stack: Vec<String>,
    /// The `METHOD` of each `VCALENDAR`; slot 0 stands for events outside any.
    methods: Vec<Option<String>>,
    event: Option<RawEvent>,
    events: Vec<RawEvent>,
    zone: Option<RawZone>,
    observance: Option<RawObservance>,
    zones: Vec<RawZone>,
}

impl Reader {
    fn new() -> Reader {
        Reader {
            stack: Vec::new(),
            methods: vec![None],
            event: None,
            events: Vec::new(),
            zone: None,
            observance: None,
            zones: Vec::new(),
        }
    }

    fn line(&mut self, line: &str) {
        let (name, params, value) = split_line(line);
        if name.eq_ignore_ascii_case("BEGIN") {
            self.begin(value.trim());
        } else if name.eq_ignore_ascii_case("END") {
            self.end(value.trim());
        } else {
            self.property(name, params, value);
        }
    }

    fn begin(&mut self, component: &str) {
        if self.stack.len() >= MAX_NESTING {
            return;
        }
        let component = component.to_ascii_uppercase();
        match component.as_str() {
            "VCALENDAR" => self.methods.push(None),
            "VEVENT" => {
                self.close_event();
                self.event =
                    Some(RawEvent { calendar: self.methods.len() - 1, ..RawEvent::default() });
            }
            "VTIMEZONE" => {
                self.close_zone();
                self.zone = Some(RawZone::default());
            }
            "STANDARD" | "DAYLIGHT" if self.top() == Some("VTIMEZONE") => {
                self.close_observance();
                self.observance = Some(RawObservance::default());
            }
            _ => {}
        }
        self.stack.push(component);
    }

    fn end(&mut self, component: &str) {
        let Some(position) =
            self.stack.iter().rposition(|open| open.eq_ignore_ascii_case(component))
        else {
            return;
        };
        while self.stack.len() > position {
            let Some(closed) = self.stack.pop() else { break };
            match closed.as_str() {
                "VEVENT" => self.close_event(),
                "VTIMEZONE" => self.close_zone(),
                "STANDARD" | "DAYLIGHT" => self.close_observance(),
                _ => {}
            }
        }
    }

    fn top(&self) -> Option<&str> {
        self.stack.last().map(String::as_str)
    }

    fn close_event(&mut self) {
        if let Some(event) = self.event.take() {
            self.events.push(event);
        }
    }

    fn close_observance(&mut self) {
        if let (Some(observance), Some(zone)) = (self.observance.take(), self.zone.as_mut()) {
            zone.observances.push(observance);
        }
    }

    fn close_zone(&mut self) {
        self.close_observance();
        if let Some(zone) = self.zone.take() {
            self.zones.push(zone);
        }
    }

    fn property(&mut self, name: &str, params: &str, value: &str) {
        match self.top() {
            Some("VCALENDAR") => {
                if name.eq_ignore_ascii_case("METHOD")
                    && let Some(method @ None) = self.methods.last_mut()
                {
                    *method = Some(value.trim().to_ascii_uppercase());
                }
            }
            Some("VEVENT") => {
                if let Some(event) = self.event.as_mut() {
                    event_property(event, name, params, value);
                }
            }
            Some("VTIMEZONE") => {
                if let Some(zone) = self.zone.as_mut()
                    && name.eq_ignore_ascii_case("TZID")
                    && zone.tzid.is_none()
                {
                    zone.tzid = Some(zone_key(value));
                }
            }
            Some("STANDARD" | "DAYLIGHT") => {
                if let Some(observance) = self.observance.as_mut() {
                    observance_property(observance, name, value);
                }
            }
            _ => {}
        }
    }

    fn finish(mut self) -> CalendarFile {
        while !self.stack.is_empty() {
            let outermost = self.stack.first().cloned().unwrap_or_default();
            self.end(&outermost);
        }
        self.close_event();
        self.close_zone();
        let method = file_method(&self.methods, &self.events);
        let mut zones = ZoneResolver::new(&self.zones);
        let mut groups: Vec<EventGroup> = Vec::new();
        let mut group_of_uid: HashMap<String, usize> = HashMap::new();
        for raw in self.events {
            let calendar_method = self.methods.get(raw.calendar).and_then(Option::as_deref);
            if calendar_method.is_some_and(is_ignored_method) {
                continue;
            }
            let mut component = convert_event(&raw, &mut zones);
            if let EventComponent::Event(event) = &mut component
                && calendar_method == Some("CANCEL")
            {
                event.cancelled = true;
            }
            match raw.uid {
                Some(uid) => match group_of_uid.get(&uid) {
                    Some(&index) => {
                        if let Some(group) = groups.get_mut(index) {
                            group.components.push(component);
                        }
                    }
                    None => {
                        group_of_uid.insert(uid.clone(), groups.len());
                        groups.push(EventGroup { uid: Some(uid), components: vec![component] });
                    }
                },
                None => groups.push(EventGroup { uid: None, components: vec![component] }),
            }
        }
        CalendarFile { method, groups }
    }
}

/// The file's `METHOD`: the one every `VCALENDAR` holding events shares, else `None` (a file
/// joining several iTIP messages). Each event is already treated by its own calendar's `METHOD`.
fn file_method(methods: &[Option<String>], events: &[RawEvent]) -> Option<String> {
    let mut shared: Option<&Option<String>> = None;
    for event in events {
        let method = methods.get(event.calendar).unwrap_or(&None);
        match shared {
            None => shared = Some(method),
            Some(seen) if seen == method => {}
            Some(_) => return None,
        }
    }
    match shared {
        Some(method) => method.clone(),
        None => methods.iter().flatten().next().cloned(),
    }
}

/// Splits a content line into name, parameter text and value. The value starts after the first
/// `:` outside a quoted parameter value; a line without one has an empty value.
fn split_line(line: &str) -> (&str, &str, &str) {
    let bytes = line.as_bytes();
    let Some(name_end) = bytes.iter().position(|&byte| byte == b';' || byte == b':') else {
        return (line, "", "");
    };
    let name = line.get(..name_end).unwrap_or_default();
    if bytes.get(name_end) == Some(&b':') {
        return (name, "", line.get(name_end + 1..).unwrap_or_default());
    }
    let mut in_quotes = false;
    for (index, &byte) in bytes.iter().enumerate().skip(name_end + 1) {
        match byte {
            b'"' => in_quotes = !in_quotes,
            b':' if !in_quotes => {
                return (
                    name,
                    line.get(name_end + 1..index).unwrap_or_default(),
                    line.get(index + 1..).unwrap_or_default(),
                );
            }
            _ => {}
        }
    }
    (name, line.get(name_end + 1..).unwrap_or_default(), "")
}

/// The value of parameter `wanted` (case-insensitive) in a parameter text, without surrounding
/// quotes.
fn param<'a>(params: &'a str, wanted: &str) -> Option<&'a str> {
    let mut rest = params;
    loop {
        let mut in_quotes = false;
        let mut part_end = rest.len();
        for (index, byte) in rest.bytes().enumerate() {
            match byte {
                b'"' => in_quotes = !in_quotes,
                b';' if !in_quotes => {
                    part_end = index;
                    break;
                }
                _ => {}
            }
        }
        let part = rest.get(..part_end).unwrap_or_default();
        if let Some((name, value)) = part.split_once('=')
            && name.trim().eq_ignore_ascii_case(wanted)
        {
            return Some(strip_quotes(value.trim()));
        }
        rest = rest.get(part_end + 1..)?;
    }
}

fn strip_quotes(value: &str) -> &str {
    let value = value.strip_prefix('"').unwrap_or(value);
    value.strip_suffix('"').unwrap_or(value)
}

fn raw_time(params: &str, value: &str) -> RawTime {
    RawTime { value: value.trim().to_owned(), tzid: param(params, "TZID").map(str::to_owned) }
}

fn event_property(event: &mut RawEvent, name: &str, params: &str, value: &str) {
    let is = |wanted: &str| name.eq_ignore_ascii_case(wanted);
    if is("UID") {
        if event.uid.is_none() {
            let uid = value.trim();
            event.uid = (!uid.is_empty()).then(|| uid.to_owned());
        }
    } else if is("DTSTART") {
        if event.start.is_none() {
            event.start = Some(raw_time(params, value));
            event.start_is_date =
                param(params, "VALUE").is_some_and(|kind| kind.eq_ignore_ascii_case("DATE"));
        }
    } else if is("DTEND") {
        if event.end.is_none() {
            event.end = Some(raw_time(params, value));
        }
    } else if is("DURATION") {
        if event.duration.is_none() {
            event.duration = Some(value.trim().to_owned());
        }
    } else if is("RECURRENCE-ID") {
        if event.recurrence_id.is_none() {
            event.recurrence_id = Some(raw_time(params, value));
        }
    } else if is("RRULE") {
        event.rules.push(value.trim().to_owned());
    } else if is("RDATE") {
        event.dates.push(raw_time(params, value));
    } else if is("EXDATE") {
        event.exception_dates.push(raw_time(params, value));
    } else if is("SEQUENCE") {
        if event.sequence.is_none() {
            event.sequence = Some(value.trim().to_owned());
        }
    } else if is("DTSTAMP") {
        if event.stamp.is_none() {
            event.stamp = Some(value.trim().to_owned());
        }
    } else if is("ORGANIZER") {
        if event.organizer.is_none() {
            event.organizer = Some(calendar_address(params, value));
        }
    } else if is("ATTENDEE") {
        if takes_part(params)
            && let Some(address) = calendar_address(params, value)
        {
            event.participants.push(address);
        }
    } else if is("STATUS") {
        if event.cancelled.is_none() {
            event.cancelled = Some(value.trim().eq_ignore_ascii_case("CANCELLED"));
        }
    } else if is("X-MICROSOFT-CDO-ALLDAYEVENT") && value.trim().eq_ignore_ascii_case("TRUE") {
        event.all_day_flag = true;
    }
}

/// False for attendees who are not participants: declined, rooms and resources, non-participants.
fn takes_part(params: &str) -> bool {
    let has = |name: &str, values: &[&str]| {
        param(params, name).is_some_and(|found| {
            values.iter().any(|value| found.trim().eq_ignore_ascii_case(value))
        })
    };
    !(has("PARTSTAT", &["DECLINED"])
        || has("CUTYPE", &["ROOM", "RESOURCE"])
        || has("ROLE", &["NON-PARTICIPANT"]))
}

/// The address of an `ORGANIZER` or `ATTENDEE`: the `mailto:` value (scheme case-insensitive),
/// else the `EMAIL` parameter, normalized.
fn calendar_address(params: &str, value: &str) -> Option<String> {
    let value = value.trim();
    let from_value = match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => {
            value.get(7..).and_then(address::normalize)
        }
        _ => None,
    };
    from_value.or_else(|| param(params, "EMAIL").and_then(address::normalize))
}

fn observance_property(observance: &mut RawObservance, name: &str, value: &str) {
    let value = value.trim();
    if name.eq_ignore_ascii_case("DTSTART") {
        observance.start.get_or_insert_with(|| value.to_owned());
    } else if name.eq_ignore_ascii_case("TZOFFSETFROM") {
        observance.offset_from.get_or_insert_with(|| value.to_owned());
    } else if name.eq_ignore_ascii_case("TZOFFSETTO") {
        observance.offset_to.get_or_insert_with(|| value.to_owned());
    } else if name.eq_ignore_ascii_case("RRULE") {
        observance.rules.push(value.to_owned());
    } else if name.eq_ignore_ascii_case("RDATE") {
        observance.dates.push(value.to_owned());
    }
}

/// A `TZID` as a lookup key: surrounding white space and quotes removed, backslash escapes
/// (`Bangkok\, Hanoi`) undone.
fn zone_key(tzid: &str) -> String {
    strip_quotes(tzid.trim()).trim().replace('\\', "")
}

/// Reads a `TZOFFSETFROM`/`TZOFFSETTO` value (`+0100`, `-0330`, `+053045`) as seconds.
fn parse_utc_offset(text: &str) -> Option<i32> {
    let text = text.trim();
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, text.get(1..)?),
        b'-' => (-1, text.get(1..)?),
        _ => return None,
    };
    if !(digits.len() == 4 || digits.len() == 6)
        || !digits.bytes().all(|byte| byte.is_ascii_digit())
    {
        return None;
    }
    let hours: i32 = digits.get(0..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..4)?.parse().ok()?;
    let seconds: i32 = digits
        .get(4..)
        .filter(|rest| !rest.is_empty())
        .map_or(Some(0), |rest| rest.parse().ok())?;
    Some(sign * (hours * 3600 + minutes * 60 + seconds))
}

/// Resolves `TZID`s of one file, caching each distinct one.
struct ZoneResolver<'a> {
    definitions: HashMap<&'a str, &'a RawZone>,
    resolved: HashMap<String, Zone>,
}

impl<'a> ZoneResolver<'a> {
    fn new(zones: &'a [RawZone]) -> ZoneResolver<'a> {
        let mut definitions = HashMap::new();
        for zone in zones {
            if let Some(tzid) = zone.tzid.as_deref().filter(|tzid| !tzid.is_empty()) {
                definitions.entry(tzid).or_insert(zone);
            }
        }
        ZoneResolver { definitions, resolved: HashMap::new() }
    }

    fn zone(&mut self, tzid: Option<&str>) -> Zone {
        let Some(tzid) = tzid else { return Zone::Utc };
        if let Some(zone) = self.resolved.get(tzid) {
            return zone.clone();
        }
        let zone = self.resolve(tzid);
        self.resolved.insert(tzid.to_owned(), zone.clone());
        zone
    }

    fn resolve(&self, tzid: &str) -> Zone {
        let name = zone_key(tzid);
        if name.is_empty() {
            return Zone::Utc;
        }
        if let Ok(tz) = name.parse::<Tz>() {
            return Zone::Iana(tz);
        }
        if name.starts_with('/') {
            // The longest trailing part that names an IANA zone: `/vendor/Olson_x/America/Chicago`.
            let mut rest = name.as_str();
            while let Some((_, tail)) = rest.split_once('/') {
                if let Ok(tz) = tail.parse::<Tz>() {
                    return Zone::Iana(tz);
                }
                rest = tail;
            }
        }
        if let Some(definition) = self.definitions.get(name.as_str())
            && let Some(zone) = build_custom_zone(&name, definition)
        {
            return Zone::Custom(Arc::new(zone));
        }
        if let Some(tz) = windows_zones::lookup(&name) {
            return Zone::Iana(tz);
        }
        if let Some(offset) = windows_zones::display_offset(&name) {
            return Zone::Fixed(offset);
        }
        Zone::Utc
    }
}

/// A custom zone from a `VTIMEZONE`; observances whose `DTSTART` or offsets cannot be read are
/// left out, and a definition with none left is no zone.
fn build_custom_zone(name: &str, definition: &RawZone) -> Option<CustomZone> {
    let mut observances = Vec::new();
    for raw in &definition.observances {
        let (Some(start), Some(offset_to)) = (
            raw.start.as_deref().and_then(local_time),
            raw.offset_to.as_deref().and_then(parse_utc_offset),
        ) else {
            continue;
        };
        let offset_from =
            raw.offset_from.as_deref().and_then(parse_utc_offset).unwrap_or(offset_to);
        let rules = raw.rules.iter().filter_map(|rule| RecurrenceRule::parse(rule)).collect();
        let dates =
            raw.dates.iter().flat_map(|list| list.split(',')).filter_map(local_time).collect();
        observances.push(Observance { start, offset_from, offset_to, rules, dates });
    }
    (!observances.is_empty()).then(|| CustomZone::new(name.to_owned(), &observances))
}

/// A DATE or DATE-TIME as a naive time (dates at midnight; `Z` ignored), for `VTIMEZONE` onsets
/// and `DTSTAMP`s.
fn local_time(text: &str) -> Option<NaiveDateTime> {
    Some(match parse_time_text(text)? {
        TimeText::Date(date) => date.and_time(NaiveTime::MIN),
        TimeText::Local(local) | TimeText::Utc(local) => local,
    })
}

/// A value read with its zone: a date, or a UTC instant.
fn time_value(text: &str, tzid: Option<&str>, zones: &mut ZoneResolver<'_>) -> Option<TimeValue> {
    Some(match parse_time_text(text)? {
        TimeText::Date(date) => TimeValue::Date(date),
        TimeText::Utc(utc) => TimeValue::Instant(utc.and_utc().timestamp()),
        TimeText::Local(local) => TimeValue::Instant(zones.zone(tzid).local_to_utc(local)),
    })
}

/// Reads one `VEVENT`: an unreadable value makes it unparseable, a missing `DTSTART` or an end
/// before the start an invalid date.
fn convert_event(raw: &RawEvent, zones: &mut ZoneResolver<'_>) -> EventComponent {
    match read_event(raw, zones) {
        Err(problem) => problem,
        Ok(event) if event.ends_before_start() => EventComponent::InvalidDate,
        Ok(event) => EventComponent::Event(Box::new(event)),
    }
}

fn read_event(raw: &RawEvent, zones: &mut ZoneResolver<'_>) -> Result<Event, EventComponent> {
    const UNPARSEABLE: EventComponent = EventComponent::Unparseable;
    let start = match &raw.start {
        None => None,
        Some(time) => Some(match parse_time_text(&time.value).ok_or(UNPARSEABLE)? {
            TimeText::Date(date) => Start::Date(date),
            TimeText::Utc(utc) => Start::DateTime { local: utc, zone: Zone::Utc },
            TimeText::Local(local) => {
                Start::DateTime { local, zone: zones.zone(time.tzid.as_deref()) }
            }
        }),
    };
    let end = match &raw.end {
        None => None,
        Some(time) => {
            Some(time_value(&time.value, time.tzid.as_deref(), zones).ok_or(UNPARSEABLE)?)
        }
    };
    let duration = match &raw.duration {
        None => None,
        Some(text) => Some(parse_duration_text(text).ok_or(UNPARSEABLE)?),
    };
    let rules = raw
        .rules
        .iter()
        .map(|rule| RecurrenceRule::parse(rule).ok_or(UNPARSEABLE))
        .collect::<Result<Vec<_>, _>>()?;
    let mut dates = Vec::new();
    for time in &raw.dates {
        for item in time.value.split(',') {
            dates.push(recurrence_date(item, time.tzid.as_deref(), zones).ok_or(UNPARSEABLE)?);
        }
    }
    let mut exception_dates = Vec::new();
    for time in &raw.exception_dates {
        for item in time.value.split(',') {
            exception_dates.push(time_value(item, time.tzid.as_deref(), zones).ok_or(UNPARSEABLE)?);
        }
    }
    let recurrence_id = match &raw.recurrence_id {
        None => None,
        Some(time) => {
            Some(time_value(&time.value, time.tzid.as_deref(), zones).ok_or(UNPARSEABLE)?)
        }
    };
    let start = start.ok_or(EventComponent::InvalidDate)?;
    let start_instant = start.instant();
    let length = match (end, duration) {
        (Some(TimeValue::Instant(end)), _) => Length::Exact(end - start_instant),
        (Some(TimeValue::Date(date)), _) => {
            // A date end is midnight of that date in the start's zone.
            Length::Exact(start.zone().local_to_utc(date.and_time(NaiveTime::MIN)) - start_instant)
        }
        (None, Some(duration)) => Length::Nominal(duration),
        (None, None) => match start {
            Start::Date(_) => Length::Nominal(NominalDuration { days: 1, seconds: 0 }),
            Start::DateTime { .. } => Length::Exact(0),
        },
    };
    let all_day = raw.start_is_date || matches!(start, Start::Date(_)) || raw.all_day_flag;
    let mut participants = raw.participants.clone();
    dedup_keep_order(&mut participants);
    Ok(Event {
        recurrence_id,
        sequence: raw.sequence.as_deref().and_then(|text| text.parse().ok()).unwrap_or(0),
        // A DTSTAMP is UTC by definition: a missing `Z` or a bare date is read as UTC too.
        stamp: raw.stamp.as_deref().and_then(local_time).map(|stamp| stamp.and_utc().timestamp()),
        start,
        length,
        rules,
        dates,
        exception_dates,
        organizer: raw.organizer.clone().flatten(),
        participants,
        cancelled: raw.cancelled.unwrap_or(false),
        all_day,
    })
}

/// One `RDATE` item: a date, a date-time, or a `PERIOD` (`start/end` or `start/duration`).
fn recurrence_date(
    item: &str,
    tzid: Option<&str>,
    zones: &mut ZoneResolver<'_>,
) -> Option<RecurrenceDate> {
    let Some((start_text, end_text)) = item.split_once('/') else {
        return Some(RecurrenceDate { at: time_value(item, tzid, zones)?, period_seconds: None });
    };
    let at = time_value(start_text, tzid, zones)?;
    let TimeValue::Instant(start) = at else { return None };
    let end_text = end_text.trim();
    let period_seconds = if end_text.starts_with(['P', 'p', '+', '-']) {
        let duration = parse_duration_text(end_text)?;
        duration.days.checked_mul(86_400)?.checked_add(duration.seconds)?
    } else {
        match time_value(end_text, tzid, zones)? {
            TimeValue::Instant(end) => end - start,
            TimeValue::Date(_) => return None,
        }
    };
    Some(RecurrenceDate { at, period_seconds: Some(period_seconds) })
}
