//! RFC 5322 date-times as found in `Date:` and `Received:` headers, read into unix seconds.
//!
//! Follows metrics.md §8 (Dates): RFC 5322 date-times and their obsolete forms — two-digit years
//! (00–68 → 20xx, 69–99 → 19xx), three-digit years (+1900), comments, extra white space, missing
//! seconds, the obsolete zone names UT GMT EST EDT CST CDT MST MDT PST PDT, and military
//! single-letter zones, which are read as UTC. No zone, `-0000` and unknown zone names are UTC. A
//! missing or wrong weekday is ignored. Any other form gives `None`. Nothing is allocated.

use rapport_core::address::skip_comment;
use rapport_core::model::UnixSeconds;

/// Parses an RFC 5322 date-time (with obsolete forms) into unix seconds, or `None`.
pub fn parse_rfc5322(value: &[u8]) -> Option<UnixSeconds> {
    let mut tokens = Tokens { bytes: value, index: 0 };
    let mut token = tokens.next()?;
    // An optional weekday, right or wrong: a weekday name, or any word followed by a comma
    // (`Thurs,`). A word that is neither (`Dec 18 2000`) is another form, not RFC 5322.
    if let Token::Word(word) = token {
        token = tokens.next()?;
        if token == Token::Comma {
            token = tokens.next()?;
        } else if !is_weekday(word) {
            return None;
        }
    } else if token == Token::Comma {
        token = tokens.next()?;
    }
    let Token::Number(day_digits) = token else { return None };
    let day = read_number(day_digits, 2)?;
    let Token::Word(month_name) = tokens.next()? else { return None };
    let month = month_number(month_name)?;
    let Token::Number(year_digits) = tokens.next()? else { return None };
    let year = match (year_digits.len(), read_number(year_digits, 4)?) {
        (2, two_digit) if two_digit < 69 => 2000 + two_digit,
        (2, two_digit) => 1900 + two_digit,
        (3, three_digit) => 1900 + three_digit,
        (4, four_digit) => four_digit,
        _ => return None,
    };
    let Token::Number(hour_digits) = tokens.next()? else { return None };
    let hour = read_number(hour_digits, 2)?;
    if tokens.next()? != Token::Colon {
        return None;
    }
    let Token::Number(minute_digits) = tokens.next()? else { return None };
    let minute = read_number(minute_digits, 2)?;
    let mut second = 0;
    let mut zone_token = tokens.next();
    if zone_token == Some(Token::Colon) {
        let Token::Number(second_digits) = tokens.next()? else { return None };
        second = read_number(second_digits, 2)?;
        zone_token = tokens.next();
    }
    // A leap second (60) is allowed by RFC 5322 and simply runs into the next minute.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let offset_seconds = match zone_token {
        None => 0,
        Some(Token::Offset(sign, digits)) => numeric_zone_offset(sign, digits, &mut tokens),
        Some(Token::Word(name)) => named_zone_offset(name),
        // Anything else after the time is not a zone: read as no zone, like an unknown name.
        Some(_) => 0,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second - offset_seconds)
}

/// Parses the instant of a `Received:` header value: the date-time after its last `;`.
pub fn parse_received(value: &[u8]) -> Option<UnixSeconds> {
    let semicolon = value.iter().rposition(|&byte| byte == b';')?;
    parse_rfc5322(value.get(semicolon + 1..)?)
}

/// One lexical element of a date-time; white space and comments separate tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    /// A run of ASCII letters.
    Word(&'a [u8]),
    /// A run of ASCII digits.
    Number(&'a [u8]),
    /// A `+` or `-` and the digits right after it.
    Offset(u8, &'a [u8]),
    /// `:`.
    Colon,
    /// `,`.
    Comma,
    /// Any other byte.
    Other,
}

/// The tokens of a date-time value, comments skipped.
struct Tokens<'a> {
    bytes: &'a [u8],
    index: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let byte = *self.bytes.get(self.index)?;
            match byte {
                b' ' | b'\t' | b'\r' | b'\n' => self.index += 1,
                b'(' => self.index = skip_comment(self.bytes, self.index),
                _ => break,
            }
        }
        let start = self.index;
        let byte = *self.bytes.get(start)?;
        self.index += 1;
        let token = match byte {
            b':' => Token::Colon,
            b',' => Token::Comma,
            b'+' | b'-' => {
                let digits = self.take_while(u8::is_ascii_digit);
                Token::Offset(byte, digits)
            }
            _ if byte.is_ascii_digit() => {
                self.index = start;
                Token::Number(self.take_while(u8::is_ascii_digit))
            }
            _ if byte.is_ascii_alphabetic() => {
                self.index = start;
                Token::Word(self.take_while(u8::is_ascii_alphabetic))
            }
            _ => Token::Other,
        };
        Some(token)
    }
}

impl<'a> Tokens<'a> {
    /// Consumes and returns the run of bytes from the current index that satisfy `keep`.
    fn take_while(&mut self, keep: fn(&u8) -> bool) -> &'a [u8] {
        let start = self.index;
        let rest = self.bytes.get(start..).unwrap_or_default();
        let length = rest.iter().position(|byte| !keep(byte)).unwrap_or(rest.len());
        self.index = start + length;
        rest.get(..length).unwrap_or_default()
    }
}

/// The offset east of UTC, in seconds, of a numeric zone `+hhmm`/`-hhmm` (also `+hh:mm`, which
/// some clients write). A malformed numeric zone is an unknown zone: UTC.
fn numeric_zone_offset(sign: u8, digits: &[u8], tokens: &mut Tokens<'_>) -> i64 {
    let (hours, minutes) = match digits.len() {
        4 => (
            read_number(digits.get(..2).unwrap_or_default(), 2),
            read_number(digits.get(2..).unwrap_or_default(), 2),
        ),
        1 | 2 => {
            let hours = read_number(digits, 2);
            let mut lookahead = Tokens { bytes: tokens.bytes, index: tokens.index };
            match (lookahead.next(), lookahead.next()) {
                (Some(Token::Colon), Some(Token::Number(minute_digits)))
                    if minute_digits.len() == 2 =>
                {
                    (hours, read_number(minute_digits, 2))
                }
                _ => (None, None),
            }
        }
        _ => (None, None),
    };
    match (hours, minutes) {
        (Some(hours), Some(minutes)) if hours <= 23 && minutes <= 59 => {
            let offset = hours * 3_600 + minutes * 60;
            if sign == b'-' { -offset } else { offset }
        }
        _ => 0,
    }
}

/// The offset of a named zone: the obsolete US zones of RFC 5322; every other name (UT, GMT,
/// military letters, unknown names) is UTC.
fn named_zone_offset(name: &[u8]) -> i64 {
    const ZONES: [(&[u8], i64); 8] = [
        (b"EST", -5),
        (b"EDT", -4),
        (b"CST", -6),
        (b"CDT", -5),
        (b"MST", -7),
        (b"MDT", -6),
        (b"PST", -8),
        (b"PDT", -7),
    ];
    ZONES
        .iter()
        .find(|(zone, _)| zone.eq_ignore_ascii_case(name))
        .map_or(0, |(_, hours)| hours * 3_600)
}

/// True for an English weekday name, abbreviated or full, in any case.
fn is_weekday(word: &[u8]) -> bool {
    const DAYS: [&[u8]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];
    const FULL: [&[u8]; 7] =
        [b"monday", b"tuesday", b"wednesday", b"thursday", b"friday", b"saturday", b"sunday"];
    DAYS.iter().chain(FULL.iter()).any(|day| day.eq_ignore_ascii_case(word))
}

/// The month number (1–12) of an English month name, abbreviated or full, in any case.
fn month_number(word: &[u8]) -> Option<i64> {
    const MONTHS: [&[u8]; 12] = [
        b"january",
        b"february",
        b"march",
        b"april",
        b"may",
        b"june",
        b"july",
        b"august",
        b"september",
        b"october",
        b"november",
        b"december",
    ];
    let position = MONTHS.iter().position(|month| {
        word.eq_ignore_ascii_case(month)
            || (word.len() == 3
                && month.get(..3).is_some_and(|short| short.eq_ignore_ascii_case(word)))
    })?;
    i64::try_from(position + 1).ok()
}

/// Reads 1 to `max_digits` ASCII digits as a number.
fn read_number(digits: &[u8], max_digits: usize) -> Option<i64> {
    if digits.is_empty() || digits.len() > max_digits {
        return None;
    }
    digits.iter().try_fold(0_i64, |number, &digit| {
        digit.is_ascii_digit().then(|| number * 10 + i64::from(digit - b'0'))
    })
}

/// The number of days of `month` (1–12) in `year` of the proleptic Gregorian calendar.
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`):
/// integer-only, for hot paths that cannot afford a round trip through chrono.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests;
