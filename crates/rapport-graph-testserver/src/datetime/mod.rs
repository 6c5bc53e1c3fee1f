//! UTC instants (whole seconds since the epoch) written and read the ways Graph, RFC 5322, mbox
//! envelopes and iCalendar spell them.
//!
//! Hand-written rather than through a date library: the generated dataset formats several dates
//! per message on the benchmark's hot path, and pushing digits into a reused `String` costs no
//! allocation. Everything here is proleptic Gregorian UTC; no time zone other than fixed offsets
//! when parsing.

#[cfg(test)]
mod tests;

/// Seconds in a day.
pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// Seconds between 1601-01-01 (the FILETIME epoch) and 1970-01-01.
pub(crate) const FILETIME_EPOCH_OFFSET: i64 = 11_644_473_600;

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
pub(crate) const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = month as i64;
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date `(year, month, day)` of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The UTC instant of a civil date and time.
pub const fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> i64 {
    days_from_civil(year as i64, month, day) * SECONDS_PER_DAY
        + hour as i64 * 3600
        + minute as i64 * 60
        + second as i64
}

/// The instant twelve calendar months before `instant`, day clamped (metrics.md §1: the window
/// start `W` of an as-of instant `T`).
pub fn twelve_months_before(instant: i64) -> i64 {
    let days = instant.div_euclid(SECONDS_PER_DAY);
    let time_of_day = instant.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let year = year - 1;
    let day = day.min(days_in_month(year, month));
    days_from_civil(year, month, day) * SECONDS_PER_DAY + time_of_day
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The broken-down UTC fields of an instant.
struct Fields {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    weekday: usize,
}

fn fields(instant: i64) -> Fields {
    let days = instant.div_euclid(SECONDS_PER_DAY);
    let seconds = instant.rem_euclid(SECONDS_PER_DAY) as u32;
    let (year, month, day) = civil_from_days(days);
    Fields {
        year,
        month,
        day,
        hour: seconds / 3600,
        minute: seconds / 60 % 60,
        second: seconds % 60,
        weekday: days.rem_euclid(7) as usize,
    }
}

fn push_two(out: &mut String, value: u32) {
    out.push(char::from(b'0' + (value / 10 % 10) as u8));
    out.push(char::from(b'0' + (value % 10) as u8));
}

fn push_year(out: &mut String, year: i64) {
    if (0..=9999).contains(&year) {
        let year = year as u32;
        push_two(out, year / 100);
        push_two(out, year % 100);
    } else {
        // Out of the four-digit range nothing downstream reads these; keep them unambiguous.
        use std::fmt::Write as _;
        let _ = write!(out, "{year}");
    }
}

fn push_date_dashed(out: &mut String, fields: &Fields) {
    push_year(out, fields.year);
    out.push('-');
    push_two(out, fields.month);
    out.push('-');
    push_two(out, fields.day);
}

fn push_time_colons(out: &mut String, fields: &Fields) {
    push_two(out, fields.hour);
    out.push(':');
    push_two(out, fields.minute);
    out.push(':');
    push_two(out, fields.second);
}

/// `2025-06-02T09:00:00Z`: Graph's `DateTimeOffset` (sentDateTime, receivedDateTime,
/// originalStart).
pub(crate) fn push_utc(out: &mut String, instant: i64) {
    let fields = fields(instant);
    push_date_dashed(out, &fields);
    out.push('T');
    push_time_colons(out, &fields);
    out.push('Z');
}

/// `2025-06-02T09:00:00.0000000`: the `dateTime` of Graph's `dateTimeTimeZone` (start, end).
pub(crate) fn push_graph_local(out: &mut String, instant: i64) {
    let fields = fields(instant);
    push_date_dashed(out, &fields);
    out.push('T');
    push_time_colons(out, &fields);
    out.push_str(".0000000");
}

/// `Mon, 02 Jun 2025 09:00:00 +0000`: an RFC 5322 `Date` header value.
pub(crate) fn push_rfc5322(out: &mut String, instant: i64) {
    let fields = fields(instant);
    out.push_str(WEEKDAYS[fields.weekday]);
    out.push_str(", ");
    push_two(out, fields.day);
    out.push(' ');
    out.push_str(MONTHS[(fields.month - 1) as usize]);
    out.push(' ');
    push_year(out, fields.year);
    out.push(' ');
    push_time_colons(out, &fields);
    out.push_str(" +0000");
}

/// `Mon Jun  2 09:00:00 2025`: the date of an mbox `From ` envelope line (asctime form).
pub(crate) fn push_asctime(out: &mut String, instant: i64) {
    let fields = fields(instant);
    out.push_str(WEEKDAYS[fields.weekday]);
    out.push(' ');
    out.push_str(MONTHS[(fields.month - 1) as usize]);
    out.push(' ');
    if fields.day < 10 {
        out.push(' ');
        out.push(char::from(b'0' + fields.day as u8));
    } else {
        push_two(out, fields.day);
    }
    out.push(' ');
    push_time_colons(out, &fields);
    out.push(' ');
    push_year(out, fields.year);
}

/// `20250602T090000Z`: an iCalendar UTC DATE-TIME.
pub(crate) fn push_ics_utc(out: &mut String, instant: i64) {
    let fields = fields(instant);
    push_ics_date_fields(out, &fields);
    out.push('T');
    push_two(out, fields.hour);
    push_two(out, fields.minute);
    push_two(out, fields.second);
    out.push('Z');
}

/// `20250602`: an iCalendar DATE (the UTC date of `instant`).
pub(crate) fn push_ics_date(out: &mut String, instant: i64) {
    push_ics_date_fields(out, &fields(instant));
}

fn push_ics_date_fields(out: &mut String, fields: &Fields) {
    push_year(out, fields.year);
    push_two(out, fields.month);
    push_two(out, fields.day);
}

/// Reads an ISO 8601 date-time as Graph query options carry them: `2025-03-01`,
/// `2025-03-01T00:00`, `2025-03-01T00:00:00`, with an optional fraction and an optional `Z` or
/// `±hh:mm` offset. A value without offset is UTC (as Graph reads `startDateTime` without one).
pub(crate) fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let year = digits(bytes.get(0..4)?)?;
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(bytes.get(5..7)?)? as u32;
    let day = digits(bytes.get(8..10)?)? as u32;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let date = days_from_civil(year, month, day) * SECONDS_PER_DAY;
    let rest = bytes.get(10..)?;
    if rest.is_empty() {
        return Some(date);
    }
    if !matches!(rest.first(), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let rest = rest.get(1..)?;
    let hour = digits(rest.get(0..2)?)?;
    if rest.get(2) != Some(&b':') {
        return None;
    }
    let minute = digits(rest.get(3..5)?)?;
    let mut position = 5;
    let mut second = 0;
    if rest.get(position) == Some(&b':') {
        second = digits(rest.get(6..8)?)?;
        position = 8;
        if rest.get(position) == Some(&b'.') {
            position += 1;
            while rest.get(position).is_some_and(u8::is_ascii_digit) {
                position += 1;
            }
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let local = date + hour * 3600 + minute * 60 + second;
    let zone = rest.get(position..)?;
    match zone {
        [] | [b'Z' | b'z'] => Some(local),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let offset = digits(&[*h1, *h2])? * 3600 + digits(&[*m1, *m2])? * 60;
            Some(if *sign == b'+' { local - offset } else { local + offset })
        }
        _ => None,
    }
}

fn digits(bytes: &[u8]) -> Option<i64> {
    let mut value = 0_i64;
    for &byte in bytes {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(byte - b'0');
    }
    Some(value)
}
