//! Readers for the iCalendar value texts that the calendar model keeps in parsed form: DATE and
//! DATE-TIME values (RFC 5545 §3.3.4–5) and DURATION values (§3.3.6).
//!
//! They live in the core because recurrence rules (`UNTIL`) need them as much as the `.ics`
//! connector does. They read one trimmed value; splitting lists on `,` is the caller's job.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// A DATE or DATE-TIME value as written, before any time zone is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeText {
    /// `YYYYMMDD`.
    Date(NaiveDate),
    /// `YYYYMMDDTHHMMSS` without `Z`: a local time (floating unless a `TZID` applies).
    Local(NaiveDateTime),
    /// `YYYYMMDDTHHMMSSZ`: a UTC time.
    Utc(NaiveDateTime),
}

/// A DURATION value: whole days (weeks count 7) and seconds, both carrying the value's sign.
///
/// Days are nominal (the same local time on a later date), seconds exact, as RFC 5545 §3.3.6 says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NominalDuration {
    /// Nominal days (`nW` counts `7n`).
    pub days: i64,
    /// Exact seconds (`nH`, `nM`, `nS`).
    pub seconds: i64,
}

/// Reads a DATE (`20240131`) or DATE-TIME (`20240131T093000`, `...Z`) value; white space around it
/// is ignored, letters may be lowercase, and a time without seconds (`T0930`) is accepted.
/// A leap second (`60`) reads as `59`.
pub fn parse_time_text(text: &str) -> Option<TimeText> {
    let bytes = text.trim().as_bytes();
    if bytes.len() < 8 {
        return None;
    }
    let (date_part, rest) = bytes.split_at(8);
    let year = digits(date_part.get(0..4)?)?;
    let month = digits(date_part.get(4..6)?)?;
    let day = digits(date_part.get(6..8)?)?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    if rest.is_empty() {
        return Some(TimeText::Date(date));
    }
    let (&separator, rest) = rest.split_first()?;
    if !separator.eq_ignore_ascii_case(&b'T') {
        return None;
    }
    let (rest, is_utc) = match rest.split_last() {
        Some((&last, head)) if last.eq_ignore_ascii_case(&b'Z') => (head, true),
        _ => (rest, false),
    };
    let (hour, minute, second) = match rest.len() {
        6 => (digits(rest.get(0..2)?)?, digits(rest.get(2..4)?)?, digits(rest.get(4..6)?)?),
        4 => (digits(rest.get(0..2)?)?, digits(rest.get(2..4)?)?, 0),
        _ => return None,
    };
    let time = NaiveTime::from_hms_opt(hour, minute, second.min(59))?;
    let local = date.and_time(time);
    Some(if is_utc { TimeText::Utc(local) } else { TimeText::Local(local) })
}

/// Reads a DURATION value such as `PT1H30M`, `-P2D`, `P1W` or `P1DT12H` (components in any order
/// are accepted; at least one is required; letters may be lowercase).
pub fn parse_duration_text(text: &str) -> Option<NominalDuration> {
    let bytes = text.trim().as_bytes();
    let (sign, bytes) = match bytes.first() {
        Some(b'-') => (-1, bytes.get(1..)?),
        Some(b'+') => (1, bytes.get(1..)?),
        _ => (1, bytes),
    };
    let (&p, mut rest) = bytes.split_first()?;
    if !p.eq_ignore_ascii_case(&b'P') {
        return None;
    }
    let mut days: i64 = 0;
    let mut seconds: i64 = 0;
    let mut in_time = false;
    let mut n_components = 0;
    while let Some((&first, tail)) = rest.split_first() {
        if first.eq_ignore_ascii_case(&b'T') {
            in_time = true;
            rest = tail;
            continue;
        }
        let n_digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
        if n_digits == 0 || n_digits > 9 {
            return None;
        }
        let number = i64::from(digits(rest.get(..n_digits)?)?);
        let unit = rest.get(n_digits)?.to_ascii_uppercase();
        rest = rest.get(n_digits + 1..)?;
        n_components += 1;
        match (unit, in_time) {
            (b'W', _) => days = days.checked_add(number.checked_mul(7)?)?,
            (b'D', false) => days = days.checked_add(number)?,
            (b'H', true) => seconds = seconds.checked_add(number.checked_mul(3600)?)?,
            (b'M', true) => seconds = seconds.checked_add(number.checked_mul(60)?)?,
            (b'S', true) => seconds = seconds.checked_add(number)?,
            _ => return None,
        }
    }
    if n_components == 0 {
        return None;
    }
    Some(NominalDuration { days: sign * days, seconds: sign * seconds })
}

/// Reads ASCII digits as a number (at most 9 of them, so it cannot overflow).
fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 9 {
        return None;
    }
    let mut value: u32 = 0;
    for &byte in bytes {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(byte - b'0');
    }
    Some(value)
}
