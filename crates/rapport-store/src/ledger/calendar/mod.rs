//! The calendar ledger's codec: what one `.ics` file becomes in the database, and back.
//!
//! A calendar is kept as its parsed components (a [`CalendarFile`]), not as the occurrences of one
//! window: versions, overrides, `EXDATE`s and series across files, and meetings that are still in
//! the future, then come out of `calendar::expand` at every later `T` exactly as a full read would
//! give them (metrics.md §7). The file is pseudonymised before it is encoded (see
//! `Pseudonymizer::calendar_file`); the codec itself round-trips any calendar. Summaries,
//! descriptions and locations are not in the model, so they cannot be kept.
//!
//! ```text
//! blob        = 0xC1 text?(method) strings zones groups
//! text?       = varint(0) | varint(len + 1) utf8-bytes
//! strings     = varint(n) { varint(len) utf8-bytes }*n  -- addresses and IANA names, each once
//! zones       = varint(n) custom-zone*n                 -- VTIMEZONE zones, each once
//! custom-zone = varint(len) utf8-bytes zigzag(offset before the first change)
//!               varint(n) { zigzag(Δinstant) zigzag(Δoffset) }*n
//! groups      = varint(n) { id?(uid) varint(n) component*n }*n
//! id?         = 0x00 | 0x01 id                          -- ids as in the mail ledger
//! component   = tag                                     -- unparseable or invalid-date marker
//!             | tag [time(recurrence id)] zigzag(sequence) [zigzag(stamp)] start length
//!               varint(n) rule*n  varint(n) { time [zigzag(period seconds)] }*n
//!               varint(n) time*n  [varint(organizer)] varint(n) varint(participant)*n
//! time        = 0x00 zigzag(instant) | 0x01 zigzag(days from CE)   (| 0x02 when a period follows)
//! start       = 0x00 zigzag(days from CE) | 0x01 zone zigzag(local seconds) varint(nanoseconds)
//! zone        = 0x00 (UTC) | 0x01 varint(IANA name) | 0x02 zigzag(offset) | 0x03 varint(zone)
//! length      = 0x00 zigzag(seconds) | 0x01 zigzag(days) zigzag(seconds)
//! rule        = byte(frequency | week start << 3 | until kind << 6) varint(interval)
//!               varint(count + 1, or 0) [until] varint(mask of non-empty BY lists) lists
//! ```
//!
//! Instants are UTC seconds; local times are written as if they were UTC. A decoded rule is
//! checked against the ranges `RecurrenceRule::parse` allows, so a damaged BLOB is refused rather
//! than expanded into nonsense.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, Weekday};
use chrono_tz::Tz;
use rapport_core::calendar::{
    CalendarFile, CustomZone, Event, EventComponent, EventGroup, Frequency, Length,
    NominalDuration, RecurrenceDate, RecurrenceRule, Start, TimeValue, Until, WeekdayNumber, Zone,
};

use crate::ledger::{DecodeError, Reader, intern, put_id, put_text, put_varint, unzigzag, zigzag};

/// The first byte of every calendar ledger BLOB. It differs from the mail ledger's
/// `FORMAT_VERSION`, so a BLOB of one kind never decodes as the other.
pub const FORMAT_VERSION: u8 = 0xC1;

/// Component tag: a readable event (its flags follow in the same byte).
const TAG_EVENT: u8 = 0;
/// Component tag: a component whose values cannot be read.
const TAG_UNPARSEABLE: u8 = 1;
/// Component tag: a component without `DTSTART` or ending before it starts.
const TAG_INVALID_DATE: u8 = 2;
/// The bits of a tag that hold its kind.
const TAG_KIND: u8 = 3;
/// Event flag: a `RECURRENCE-ID` follows.
const FLAG_RECURRENCE_ID: u8 = 1 << 2;
/// Event flag: a `DTSTAMP` follows.
const FLAG_STAMP: u8 = 1 << 3;
/// Event flag: an organizer follows.
const FLAG_ORGANIZER: u8 = 1 << 4;
/// Event flag: the event is cancelled.
const FLAG_CANCELLED: u8 = 1 << 5;
/// Event flag: the event is all-day.
const FLAG_ALL_DAY: u8 = 1 << 6;
/// Every event flag in use.
const EVENT_FLAGS: u8 =
    FLAG_RECURRENCE_ID | FLAG_STAMP | FLAG_ORGANIZER | FLAG_CANCELLED | FLAG_ALL_DAY;

/// Time value tag bit: a date (else an instant).
const TIME_DATE: u8 = 1;
/// Time value tag bit: a period length follows (`RDATE` only).
const TIME_PERIOD: u8 = 2;

/// The weekdays by `num_days_from_monday`.
const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The frequencies by their code.
const FREQUENCIES: [Frequency; 7] = [
    Frequency::Secondly,
    Frequency::Minutely,
    Frequency::Hourly,
    Frequency::Daily,
    Frequency::Weekly,
    Frequency::Monthly,
    Frequency::Yearly,
];

/// True when `blob` starts with this codec's [`FORMAT_VERSION`].
pub fn is_calendar_blob(blob: &[u8]) -> bool {
    blob.first() == Some(&FORMAT_VERSION)
}

/// The number of components (`VEVENT`s, readable or not) of a calendar: its ledger row's
/// `n_records`.
pub fn n_components(file: &CalendarFile) -> u64 {
    file.groups.iter().map(|group| group.components.len() as u64).sum()
}

/// Encodes a calendar into a ledger BLOB.
pub fn encode(file: &CalendarFile) -> Vec<u8> {
    let mut encoder = Encoder::default();
    put_varint(&mut encoder.body, file.groups.len() as u64);
    for group in &file.groups {
        encoder.group(group);
    }
    let mut out = Vec::with_capacity(encoder.body.len() + 64);
    out.push(FORMAT_VERSION);
    put_optional_text(&mut out, file.method.as_deref());
    put_varint(&mut out, encoder.strings.len() as u64);
    for text in &encoder.strings {
        put_text(&mut out, text);
    }
    put_varint(&mut out, encoder.zones.len() as u64);
    for zone in &encoder.zones {
        put_text(&mut out, &zone.name);
        let initial_offset = zone.initial_offset();
        put_varint(&mut out, zigzag(i64::from(initial_offset)));
        put_varint(&mut out, zone.transitions().len() as u64);
        let (mut previous_at, mut previous_offset) = (0_i64, i64::from(initial_offset));
        for (at, offset) in zone.transitions() {
            put_varint(&mut out, zigzag(at.wrapping_sub(previous_at)));
            put_varint(&mut out, zigzag(i64::from(offset) - previous_offset));
            (previous_at, previous_offset) = (at, i64::from(offset));
        }
    }
    out.extend_from_slice(&encoder.body);
    out
}

/// Decodes a calendar ledger BLOB.
pub fn decode(blob: &[u8]) -> Result<CalendarFile, DecodeError> {
    if !is_calendar_blob(blob) {
        return Err(DecodeError::CalendarFormat { found: blob.first().copied() });
    }
    let mut decoder = Decoder {
        reader: Reader { bytes: blob, offset: 1 },
        strings: Vec::new(),
        zones: Vec::new(),
    };
    decoder.file()
}

/// Appends an optional string: 0 for none, else its length + 1 and its bytes.
fn put_optional_text(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => put_varint(out, 0),
        Some(text) => {
            put_varint(out, text.len() as u64 + 1);
            out.extend_from_slice(text.as_bytes());
        }
    }
}

/// Appends a signed value.
fn put_signed(out: &mut Vec<u8>, value: i64) {
    put_varint(out, zigzag(value));
}

/// Appends a date as its day number from the common era.
fn put_date(out: &mut Vec<u8>, date: NaiveDate) {
    put_signed(out, i64::from(date.num_days_from_ce()));
}

/// Appends a local date-time as seconds (as if UTC) and nanoseconds.
fn put_local(out: &mut Vec<u8>, local: NaiveDateTime) {
    let as_if_utc = local.and_utc();
    put_signed(out, as_if_utc.timestamp());
    put_varint(out, u64::from(as_if_utc.timestamp_subsec_nanos()));
}

/// Appends a time value; `period_seconds` is an `RDATE`'s period length.
fn put_time(out: &mut Vec<u8>, value: TimeValue, period_seconds: Option<i64>) {
    let period = if period_seconds.is_some() { TIME_PERIOD } else { 0 };
    match value {
        TimeValue::Instant(instant) => {
            out.push(period);
            put_signed(out, instant);
        }
        TimeValue::Date(date) => {
            out.push(period | TIME_DATE);
            put_date(out, date);
        }
    }
    if let Some(seconds) = period_seconds {
        put_signed(out, seconds);
    }
}

/// The state of one encoding: the string and zone tables and the groups' bytes.
#[derive(Default)]
struct Encoder<'a> {
    strings: Vec<&'a str>,
    string_index: HashMap<&'a str, u64>,
    zones: Vec<&'a Arc<CustomZone>>,
    body: Vec<u8>,
}

impl<'a> Encoder<'a> {
    /// The index of `text` in the string table, adding it on first use.
    fn string(&mut self, text: &'a str) -> u64 {
        intern(text, &mut self.strings, &mut self.string_index)
    }

    /// The index of a custom zone in the zone table, adding it on first use. The reader shares
    /// one `Arc` per zone, so the pointer almost always finds it; equal zones are merged too.
    fn zone(&mut self, zone: &'a Arc<CustomZone>) -> u64 {
        let found =
            self.zones.iter().position(|known| Arc::ptr_eq(known, zone) || **known == *zone);
        match found {
            Some(index) => index as u64,
            None => {
                self.zones.push(zone);
                self.zones.len() as u64 - 1
            }
        }
    }

    fn group(&mut self, group: &'a EventGroup) {
        match &group.uid {
            None => self.body.push(0),
            Some(uid) => {
                self.body.push(1);
                put_id(&mut self.body, uid);
            }
        }
        put_varint(&mut self.body, group.components.len() as u64);
        for component in &group.components {
            match component {
                EventComponent::Unparseable => self.body.push(TAG_UNPARSEABLE),
                EventComponent::InvalidDate => self.body.push(TAG_INVALID_DATE),
                EventComponent::Event(event) => self.event(event),
            }
        }
    }

    fn event(&mut self, event: &'a Event) {
        let mut tag = TAG_EVENT;
        for (present, flag) in [
            (event.recurrence_id.is_some(), FLAG_RECURRENCE_ID),
            (event.stamp.is_some(), FLAG_STAMP),
            (event.organizer.is_some(), FLAG_ORGANIZER),
            (event.cancelled, FLAG_CANCELLED),
            (event.all_day, FLAG_ALL_DAY),
        ] {
            if present {
                tag |= flag;
            }
        }
        self.body.push(tag);
        if let Some(recurrence_id) = event.recurrence_id {
            put_time(&mut self.body, recurrence_id, None);
        }
        put_signed(&mut self.body, event.sequence);
        if let Some(stamp) = event.stamp {
            put_signed(&mut self.body, stamp);
        }
        match &event.start {
            Start::Date(date) => {
                self.body.push(0);
                put_date(&mut self.body, *date);
            }
            Start::DateTime { local, zone } => {
                self.body.push(1);
                self.zone_value(zone);
                put_local(&mut self.body, *local);
            }
        }
        match event.length {
            Length::Exact(seconds) => {
                self.body.push(0);
                put_signed(&mut self.body, seconds);
            }
            Length::Nominal(duration) => {
                self.body.push(1);
                put_signed(&mut self.body, duration.days);
                put_signed(&mut self.body, duration.seconds);
            }
        }
        put_varint(&mut self.body, event.rules.len() as u64);
        for rule in &event.rules {
            put_rule(&mut self.body, rule);
        }
        put_varint(&mut self.body, event.dates.len() as u64);
        for date in &event.dates {
            put_time(&mut self.body, date.at, date.period_seconds);
        }
        put_varint(&mut self.body, event.exception_dates.len() as u64);
        for date in &event.exception_dates {
            put_time(&mut self.body, *date, None);
        }
        if let Some(organizer) = &event.organizer {
            let index = self.string(organizer);
            put_varint(&mut self.body, index);
        }
        put_varint(&mut self.body, event.participants.len() as u64);
        for participant in &event.participants {
            let index = self.string(participant);
            put_varint(&mut self.body, index);
        }
    }

    fn zone_value(&mut self, zone: &'a Zone) {
        match zone {
            Zone::Utc => self.body.push(0),
            Zone::Iana(tz) => {
                let index = self.string(tz.name());
                self.body.push(1);
                put_varint(&mut self.body, index);
            }
            Zone::Fixed(offset) => {
                self.body.push(2);
                put_signed(&mut self.body, i64::from(*offset));
            }
            Zone::Custom(custom) => {
                let index = self.zone(custom);
                self.body.push(3);
                put_varint(&mut self.body, index);
            }
        }
    }
}

/// Appends a recurrence rule.
fn put_rule(out: &mut Vec<u8>, rule: &RecurrenceRule) {
    let frequency = FREQUENCIES.iter().position(|known| *known == rule.frequency).unwrap_or(0);
    let until_kind = match rule.until {
        None => 0,
        Some(Until::Utc(_)) => 1,
        Some(Until::Local(_)) => 2,
        Some(Until::Date(_)) => 3,
    };
    let week_start = rule.week_start.num_days_from_monday() as u8;
    out.push(frequency as u8 | week_start << 3 | until_kind << 6);
    put_varint(out, u64::from(rule.interval));
    put_varint(out, rule.count.map_or(0, |count| u64::from(count) + 1));
    match rule.until {
        None => {}
        Some(Until::Utc(instant)) => put_signed(out, instant),
        Some(Until::Local(local)) => put_local(out, local),
        Some(Until::Date(date)) => put_date(out, date),
    }
    let lists_present = [
        !rule.by_second.is_empty(),
        !rule.by_minute.is_empty(),
        !rule.by_hour.is_empty(),
        !rule.by_day.is_empty(),
        !rule.by_month_day.is_empty(),
        !rule.by_year_day.is_empty(),
        !rule.by_week_number.is_empty(),
        !rule.by_month.is_empty(),
        !rule.by_set_position.is_empty(),
    ];
    let mask = lists_present
        .iter()
        .enumerate()
        .fold(0_u64, |mask, (bit, present)| if *present { mask | 1 << bit } else { mask });
    put_varint(out, mask);
    let unsigned = |out: &mut Vec<u8>, list: &[u32]| {
        if !list.is_empty() {
            put_varint(out, list.len() as u64);
            list.iter().for_each(|value| put_varint(out, u64::from(*value)));
        }
    };
    let signed = |out: &mut Vec<u8>, list: &[i32]| {
        if !list.is_empty() {
            put_varint(out, list.len() as u64);
            list.iter().for_each(|value| put_signed(out, i64::from(*value)));
        }
    };
    unsigned(out, &rule.by_second);
    unsigned(out, &rule.by_minute);
    unsigned(out, &rule.by_hour);
    if !rule.by_day.is_empty() {
        put_varint(out, rule.by_day.len() as u64);
        for day in &rule.by_day {
            let weekday = u64::from(day.weekday.num_days_from_monday());
            put_varint(out, zigzag(i64::from(day.ordinal)) << 3 | weekday);
        }
    }
    signed(out, &rule.by_month_day);
    signed(out, &rule.by_year_day);
    signed(out, &rule.by_week_number);
    unsigned(out, &rule.by_month);
    signed(out, &rule.by_set_position);
}

/// The state of one decoding: the cursor and the tables read so far.
struct Decoder<'a> {
    reader: Reader<'a>,
    strings: Vec<&'a str>,
    zones: Vec<Arc<CustomZone>>,
}

impl<'a> Decoder<'a> {
    fn damaged(&self) -> DecodeError {
        self.reader.damaged()
    }

    fn file(&mut self) -> Result<CalendarFile, DecodeError> {
        let method = match self.reader.length()? {
            0 => None,
            length => Some(self.reader.text(length - 1)?.to_owned()),
        };
        let n_strings = self.reader.length()?;
        self.strings.reserve(n_strings.min(self.reader.remaining()));
        for _ in 0..n_strings {
            let length = self.reader.length()?;
            let text = self.reader.text(length)?;
            self.strings.push(text);
        }
        let n_zones = self.reader.length()?;
        for _ in 0..n_zones {
            let zone = self.custom_zone()?;
            self.zones.push(Arc::new(zone));
        }
        let n_groups = self.reader.length()?;
        let mut groups = Vec::with_capacity(n_groups.min(self.reader.remaining()));
        for _ in 0..n_groups {
            groups.push(self.group()?);
        }
        if self.reader.remaining() != 0 {
            return Err(self.damaged());
        }
        Ok(CalendarFile { method, groups })
    }

    fn string(&mut self) -> Result<&'a str, DecodeError> {
        let index = self.reader.length()?;
        self.strings.get(index).copied().ok_or_else(|| self.damaged())
    }

    fn signed(&mut self) -> Result<i64, DecodeError> {
        Ok(unzigzag(self.reader.varint()?))
    }

    fn signed_i32(&mut self) -> Result<i32, DecodeError> {
        let value = self.signed()?;
        i32::try_from(value).map_err(|_| self.damaged())
    }

    fn date(&mut self) -> Result<NaiveDate, DecodeError> {
        let days = self.signed_i32()?;
        NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| self.damaged())
    }

    fn local(&mut self) -> Result<NaiveDateTime, DecodeError> {
        let seconds = self.signed()?;
        let nanoseconds = u32::try_from(self.reader.varint()?).map_err(|_| self.damaged())?;
        DateTime::from_timestamp(seconds, nanoseconds)
            .map(|date_time| date_time.naive_utc())
            .ok_or_else(|| self.damaged())
    }

    /// A time value and, when the tag says so, a period length.
    fn time(&mut self) -> Result<(TimeValue, Option<i64>), DecodeError> {
        let tag = self.reader.byte()?;
        if tag & !(TIME_DATE | TIME_PERIOD) != 0 {
            return Err(self.damaged());
        }
        let value = if tag & TIME_DATE != 0 {
            TimeValue::Date(self.date()?)
        } else {
            TimeValue::Instant(self.signed()?)
        };
        let period = if tag & TIME_PERIOD != 0 { Some(self.signed()?) } else { None };
        Ok((value, period))
    }

    /// A time value that has no period.
    fn plain_time(&mut self) -> Result<TimeValue, DecodeError> {
        match self.time()? {
            (value, None) => Ok(value),
            (_, Some(_)) => Err(self.damaged()),
        }
    }

    fn custom_zone(&mut self) -> Result<CustomZone, DecodeError> {
        let length = self.reader.length()?;
        let name = self.reader.text(length)?.to_owned();
        let initial_offset = self.signed_i32()?;
        let n_transitions = self.reader.length()?;
        let mut transitions = Vec::with_capacity(n_transitions.min(self.reader.remaining()));
        let (mut at, mut offset) = (0_i64, i64::from(initial_offset));
        for _ in 0..n_transitions {
            at = at.wrapping_add(self.signed()?);
            offset = offset.checked_add(self.signed()?).ok_or_else(|| self.damaged())?;
            let offset = i32::try_from(offset).map_err(|_| self.damaged())?;
            transitions.push((at, offset));
        }
        // Transitions are written sorted: unsorted ones mean damage, not a zone to repair.
        if transitions.windows(2).any(|pair| matches!(pair, [left, right] if left.0 > right.0)) {
            return Err(self.damaged());
        }
        Ok(CustomZone::from_transitions(name, initial_offset, transitions))
    }

    fn group(&mut self) -> Result<EventGroup, DecodeError> {
        let uid = match self.reader.byte()? {
            0 => None,
            1 => Some(self.reader.id()?),
            _ => return Err(self.damaged()),
        };
        let n_components = self.reader.length()?;
        let mut components = Vec::with_capacity(n_components.min(self.reader.remaining()));
        for _ in 0..n_components {
            let tag = self.reader.byte()?;
            components.push(match tag {
                TAG_UNPARSEABLE => EventComponent::Unparseable,
                TAG_INVALID_DATE => EventComponent::InvalidDate,
                tag if tag & TAG_KIND == TAG_EVENT && tag & !EVENT_FLAGS == 0 => {
                    EventComponent::Event(Box::new(self.event(tag)?))
                }
                _ => return Err(self.damaged()),
            });
        }
        Ok(EventGroup { uid, components })
    }

    fn event(&mut self, tag: u8) -> Result<Event, DecodeError> {
        let recurrence_id =
            if tag & FLAG_RECURRENCE_ID != 0 { Some(self.plain_time()?) } else { None };
        let sequence = self.signed()?;
        let stamp = if tag & FLAG_STAMP != 0 { Some(self.signed()?) } else { None };
        let start = match self.reader.byte()? {
            0 => Start::Date(self.date()?),
            1 => {
                let zone = self.zone()?;
                Start::DateTime { local: self.local()?, zone }
            }
            _ => return Err(self.damaged()),
        };
        let length = match self.reader.byte()? {
            0 => Length::Exact(self.signed()?),
            1 => Length::Nominal(NominalDuration { days: self.signed()?, seconds: self.signed()? }),
            _ => return Err(self.damaged()),
        };
        let n_rules = self.reader.length()?;
        let mut rules = Vec::with_capacity(n_rules.min(self.reader.remaining()));
        for _ in 0..n_rules {
            rules.push(self.rule()?);
        }
        let n_dates = self.reader.length()?;
        let mut dates = Vec::with_capacity(n_dates.min(self.reader.remaining()));
        for _ in 0..n_dates {
            let (at, period_seconds) = self.time()?;
            dates.push(RecurrenceDate { at, period_seconds });
        }
        let n_exception_dates = self.reader.length()?;
        let mut exception_dates =
            Vec::with_capacity(n_exception_dates.min(self.reader.remaining()));
        for _ in 0..n_exception_dates {
            exception_dates.push(self.plain_time()?);
        }
        let organizer =
            if tag & FLAG_ORGANIZER != 0 { Some(self.string()?.to_owned()) } else { None };
        let n_participants = self.reader.length()?;
        let mut participants = Vec::with_capacity(n_participants.min(self.reader.remaining()));
        for _ in 0..n_participants {
            participants.push(self.string()?.to_owned());
        }
        Ok(Event {
            recurrence_id,
            sequence,
            stamp,
            start,
            length,
            rules,
            dates,
            exception_dates,
            organizer,
            participants,
            cancelled: tag & FLAG_CANCELLED != 0,
            all_day: tag & FLAG_ALL_DAY != 0,
        })
    }

    fn zone(&mut self) -> Result<Zone, DecodeError> {
        Ok(match self.reader.byte()? {
            0 => Zone::Utc,
            1 => {
                let name = self.string()?;
                Zone::Iana(name.parse::<Tz>().map_err(|_| self.damaged())?)
            }
            2 => Zone::Fixed(self.signed_i32()?),
            3 => {
                let index = self.reader.length()?;
                Zone::Custom(self.zones.get(index).cloned().ok_or_else(|| self.damaged())?)
            }
            _ => return Err(self.damaged()),
        })
    }

    fn rule(&mut self) -> Result<RecurrenceRule, DecodeError> {
        let head = self.reader.byte()?;
        let frequency = *FREQUENCIES.get(usize::from(head & 7)).ok_or_else(|| self.damaged())?;
        let week_start = *WEEKDAYS.get(usize::from(head >> 3 & 7)).ok_or_else(|| self.damaged())?;
        let interval = u32::try_from(self.reader.varint()?)
            .ok()
            .filter(|interval| *interval >= 1)
            .ok_or_else(|| self.damaged())?;
        let count = match self.reader.varint()? {
            0 => None,
            count => Some(u32::try_from(count - 1).map_err(|_| self.damaged())?),
        };
        let until = match head >> 6 {
            0 => None,
            1 => Some(Until::Utc(self.signed()?)),
            2 => Some(Until::Local(self.local()?)),
            _ => Some(Until::Date(self.date()?)),
        };
        let mask = self.reader.varint()?;
        if mask >> 9 != 0 {
            return Err(self.damaged());
        }
        let present = |bit: u32| mask & (1 << bit) != 0;
        let by_second = self.unsigned_list(present(0), 59)?;
        let by_minute = self.unsigned_list(present(1), 59)?;
        let by_hour = self.unsigned_list(present(2), 23)?;
        let mut by_day = Vec::new();
        if present(3) {
            let n_days = self.list_length()?;
            by_day.reserve(n_days);
            for _ in 0..n_days {
                let value = self.reader.varint()?;
                let weekday = *WEEKDAYS.get((value & 7) as usize).ok_or_else(|| self.damaged())?;
                let ordinal = i32::try_from(unzigzag(value >> 3))
                    .ok()
                    .filter(|ordinal| ordinal.unsigned_abs() <= 53)
                    .ok_or_else(|| self.damaged())?;
                by_day.push(WeekdayNumber { ordinal, weekday });
            }
        }
        let by_month_day = self.signed_list(present(4), 31)?;
        let by_year_day = self.signed_list(present(5), 366)?;
        let by_week_number = self.signed_list(present(6), 53)?;
        let by_month = self.unsigned_list(present(7), 12)?;
        if by_month.contains(&0) {
            return Err(self.damaged());
        }
        let by_set_position = self.signed_list(present(8), 366)?;
        Ok(RecurrenceRule {
            frequency,
            interval,
            count,
            until,
            by_second,
            by_minute,
            by_hour,
            by_day,
            by_month_day,
            by_year_day,
            by_week_number,
            by_month,
            by_set_position,
            week_start,
        })
    }

    /// The length of a present BY list: at least one entry.
    fn list_length(&mut self) -> Result<usize, DecodeError> {
        let length = self.reader.length()?;
        if length == 0 || length > self.reader.remaining() {
            return Err(self.damaged());
        }
        Ok(length)
    }

    /// A BY list of values in `0..=max`, or an empty one when it is not `present`.
    fn unsigned_list(&mut self, present: bool, max: u32) -> Result<Vec<u32>, DecodeError> {
        if !present {
            return Ok(Vec::new());
        }
        let length = self.list_length()?;
        let mut list = Vec::with_capacity(length);
        for _ in 0..length {
            let value = u32::try_from(self.reader.varint()?)
                .ok()
                .filter(|value| *value <= max)
                .ok_or_else(|| self.damaged())?;
            list.push(value);
        }
        Ok(list)
    }

    /// A BY list of values in `±1..=max`, or an empty one when it is not `present`.
    fn signed_list(&mut self, present: bool, max: i32) -> Result<Vec<i32>, DecodeError> {
        if !present {
            return Ok(Vec::new());
        }
        let length = self.list_length()?;
        let mut list = Vec::with_capacity(length);
        for _ in 0..length {
            let value = self.signed_i32()?;
            if value == 0 || value.unsigned_abs() > max.unsigned_abs() {
                return Err(self.damaged());
            }
            list.push(value);
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests;
