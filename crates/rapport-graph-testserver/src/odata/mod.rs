//! Reading what a Graph request carries: percent-decoded query options (`$select`, `$filter`,
//! `$top`, `$skip`, `$skiptoken`, `$deltatoken`, `startDateTime`, ...), `Prefer` headers, the few
//! `$filter` forms rapport sends, and the opaque paging and delta tokens the server hands out.
//!
//! A token is a list of integers behind a kind letter, with a checksum, base64url-encoded: the
//! client cannot read or forge one by accident, and the server can refuse a damaged one.

#[cfg(test)]
mod tests;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::datetime::parse_datetime;

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, as in form bodies and query
/// strings); invalid escapes stay as they are, invalid UTF-8 is replaced.
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut position = 0;
    while let Some(&byte) = bytes.get(position) {
        match byte {
            b'%' => {
                let value = bytes
                    .get(position + 1..position + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                match value {
                    Some(value) => {
                        decoded.push(value);
                        position += 3;
                        continue;
                    }
                    None => decoded.push(b'%'),
                }
            }
            b'+' if plus_is_space => decoded.push(b' '),
            _ => decoded.push(byte),
        }
        position += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Encodes a query option value for a link the server hands out.
pub(crate) fn percent_encode(text: &str, out: &mut String) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(byte & 0xf)]));
        }
    }
}

/// Reads an `application/x-www-form-urlencoded` body (a raw query string has the same syntax).
pub(crate) fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name, true), percent_decode(value, true))
        })
        .collect()
}

/// The decoded options of a query string, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Reads a raw query string (`a=b&c=d`), decoding names and values as a form does.
    pub(crate) fn parse(raw: &str) -> Query {
        Query { pairs: parse_form(raw.as_bytes()) }
    }

    /// The value of option `name`, matched case-insensitively and with or without its `$`
    /// (Graph v1.0 accepts both). The first one wins.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        let bare = name.trim_start_matches('$');
        self.pairs
            .iter()
            .find(|(key, _)| key.trim_start_matches('$').eq_ignore_ascii_case(bare))
            .map(|(_, value)| value.as_str())
    }
}

/// What the `Prefer` headers ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Prefer {
    /// `odata.maxpagesize=N`.
    pub(crate) max_page_size: Option<usize>,
    /// `outlook.timezone="..."`, unquoted.
    pub(crate) time_zone: Option<String>,
}

/// Reads every `Prefer` header value (several headers, or several preferences separated by
/// commas in one: both forms are HTTP's).
pub(crate) fn parse_prefer<'a>(values: impl Iterator<Item = &'a str>) -> Prefer {
    let mut prefer = Prefer::default();
    for value in values {
        for preference in value.split(',') {
            let Some((name, argument)) = preference.split_once('=') else { continue };
            let argument = argument.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "odata.maxpagesize" => {
                    prefer.max_page_size = argument.parse().ok().filter(|&size: &usize| size > 0);
                }
                "outlook.timezone" => prefer.time_zone = Some(argument.to_owned()),
                _ => {}
            }
        }
    }
    prefer
}

/// Reads `receivedDateTime ge <instant>` (or `gt`): the only `$filter` message delta supports. The
/// lowest `receivedDateTime` it lets through.
pub(crate) fn parse_received_filter(filter: &str) -> Option<i64> {
    let mut words = filter.split_whitespace();
    let property = words.next()?;
    let operator = words.next()?;
    let value = words.next()?;
    if words.next().is_some() || !property.eq_ignore_ascii_case("receivedDateTime") {
        return None;
    }
    let instant = parse_datetime(value.trim_matches('\''))?;
    match operator.to_ascii_lowercase().as_str() {
        "ge" => Some(instant),
        "gt" => Some(instant + 1),
        _ => None,
    }
}

/// Reads `<property> eq '<literal>'` (`''` inside the literal is a quote): the group filters
/// rapport sends. Returns the property and the literal.
pub(crate) fn parse_eq_filter(filter: &str) -> Option<(String, String)> {
    let filter = filter.trim();
    let (property, rest) = filter.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let (operator, rest) = rest.split_once(char::is_whitespace)?;
    if !operator.eq_ignore_ascii_case("eq") {
        return None;
    }
    let literal = rest.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    if literal.replace("''", "").contains('\'') {
        return None;
    }
    Some((property.to_owned(), literal.replace("''", "'")))
}

/// Encodes a token: a kind letter and integers, with a checksum.
pub(crate) fn encode_token(kind: u8, values: &[i64]) -> String {
    let mut bytes = Vec::with_capacity(2 + values.len() * 8 + 4);
    bytes.push(kind);
    bytes.push(values.len() as u8);
    for value in values {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    let checksum = checksum(&bytes);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a token of `kind` holding `n_values` integers; `None` when it is damaged or of
/// another kind.
pub(crate) fn decode_token(token: &str, kind: u8, n_values: usize) -> Option<Vec<i64>> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let body_length = 2 + n_values * 8;
    if bytes.len() != body_length + 4 || bytes.first() != Some(&kind) {
        return None;
    }
    if bytes.get(1).copied().map(usize::from) != Some(n_values) {
        return None;
    }
    let (body, sum) = bytes.split_at(body_length);
    if sum != checksum(body).to_le_bytes() {
        return None;
    }
    body.get(2..)?
        .chunks_exact(8)
        .map(|chunk| chunk.try_into().ok().map(i64::from_le_bytes))
        .collect()
}

fn checksum(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for &byte in bytes {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}
