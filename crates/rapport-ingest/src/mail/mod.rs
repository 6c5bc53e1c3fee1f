//! The mail header scanner: one message's header block into an `EmailCopy`.
//!
//! Only the header block is read (metrics.md §8, Header block), and only the dozen fields the
//! engine needs are looked at; the body, the subject and display names are never decoded. Header
//! values may hold any bytes (8-bit, invalid UTF-8): they never make reading fail. The scanner is
//! hand-written over `memchr` because it is the hot loop of a run: values are borrowed slices of
//! the message, and only the strings that end up in the `EmailCopy` are allocated.

use memchr::memchr;
use rapport_core::address;
use rapport_core::model::{EmailCopy, MailRecord};

use crate::date;

/// Reads the header block of one message (an `.eml` file, a Maildir file or one mbox message)
/// into a `MailRecord`.
///
/// A leading mbox envelope line (`From ...`) is skipped. A message with no header field at all is
/// `MailRecord::Unparseable`. See `EmailCopy` for how each field is filled.
pub fn parse_message(bytes: &[u8]) -> MailRecord {
    let mut copy = EmailCopy::default();
    let mut any_field = false;
    let mut first_date: Option<&[u8]> = None;
    let mut seen_from = false;
    let mut seen_message_id = false;
    let mut reply_to_id: Option<&[u8]> = None;
    let mut last_reference_id: Option<&[u8]> = None;
    for field in HeaderFields::new(bytes) {
        any_field = true;
        let name = field.name;
        let value = field.value;
        // Dispatch on the length first so that most fields cost one comparison of a length.
        match name.len() {
            2 if name.eq_ignore_ascii_case(b"to") || name.eq_ignore_ascii_case(b"cc") => {
                address::parse_list(value, &mut copy.recipients);
            }
            3 if name.eq_ignore_ascii_case(b"bcc") => {
                address::parse_list(value, &mut copy.recipients);
            }
            4 if name.eq_ignore_ascii_case(b"date") => {
                first_date.get_or_insert(value);
            }
            4 if !seen_from && name.eq_ignore_ascii_case(b"from") => {
                seen_from = true;
                copy.sender = first_address(value, &mut copy.recipients);
            }
            7 if name.eq_ignore_ascii_case(b"list-id") => copy.automated = true,
            10 if !seen_message_id && name.eq_ignore_ascii_case(b"message-id") => {
                seen_message_id = true;
                copy.message_id = message_id(value);
            }
            10 if name.eq_ignore_ascii_case(b"references") => {
                if let Some(id) = AngleIds(value).last() {
                    last_reference_id = Some(id);
                }
            }
            10 if name.eq_ignore_ascii_case(b"precedence") => {
                let precedence = first_token(value);
                if [b"bulk".as_slice(), b"list", b"junk"]
                    .iter()
                    .any(|bulk| bulk.eq_ignore_ascii_case(precedence))
                {
                    copy.automated = true;
                }
            }
            // Several In-Reply-To fields are joined: the first id over all of them wins.
            11 if reply_to_id.is_none() && name.eq_ignore_ascii_case(b"in-reply-to") => {
                reply_to_id = AngleIds(value).next();
            }
            12 if name.eq_ignore_ascii_case(b"content-type")
                && first_token(value).eq_ignore_ascii_case(b"text/calendar") =>
            {
                copy.automated = true;
            }
            13 if name.eq_ignore_ascii_case(b"content-class")
                && first_token(value)
                    .eq_ignore_ascii_case(b"urn:content-classes:calendarmessage") =>
            {
                copy.automated = true;
            }
            // Parameters after `;` and comments are not part of the keyword.
            14 if name.eq_ignore_ascii_case(b"auto-submitted")
                && !first_token(value).eq_ignore_ascii_case(b"no") =>
            {
                copy.automated = true;
            }
            16 if name.eq_ignore_ascii_case(b"list-unsubscribe") => copy.automated = true,
            _ => {}
        }
    }
    if !any_field {
        return MailRecord::Unparseable;
    }
    copy.sent = first_date.and_then(date::parse_rfc5322).or_else(|| latest_received(bytes));
    copy.parent_id = reply_to_id.or(last_reference_id).map(lossy_string);
    dedup_keep_order(&mut copy.recipients);
    MailRecord::Email(copy)
}

/// One header field: its name and its raw value (folded lines included, line ends excluded at the
/// end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeaderField<'a> {
    /// The field name as written (compare case-insensitively).
    pub(crate) name: &'a [u8],
    /// Everything after the `:`, over continuation lines, without the last line end.
    pub(crate) value: &'a [u8],
}

/// The fields of a message's header block, in order.
///
/// The block ends at the first empty line, at the end of the bytes, or at a line that is neither
/// a field (a non-empty name of printable ASCII other than `:` and space, then `:`) nor a
/// continuation (a line starting with a space or tab). CRLF and LF line ends are both read.
pub(crate) struct HeaderFields<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> HeaderFields<'a> {
    /// Starts at the top of `bytes`, past a leading mbox envelope line (`From ...`).
    pub(crate) fn new(bytes: &'a [u8]) -> HeaderFields<'a> {
        let position = if bytes.starts_with(b"From ") { next_line_start(bytes, 0) } else { 0 };
        HeaderFields { bytes, position }
    }

    /// Ends the iteration: nothing after this point is header.
    fn finish(&mut self) -> Option<HeaderField<'a>> {
        self.position = self.bytes.len();
        None
    }
}

impl<'a> Iterator for HeaderFields<'a> {
    type Item = HeaderField<'a>;

    fn next(&mut self) -> Option<HeaderField<'a>> {
        loop {
            let rest = self.bytes.get(self.position..).filter(|rest| !rest.is_empty())?;
            let first = *rest.first()?;
            if first == b' ' || first == b'\t' {
                // A continuation line with no field before it belongs to nothing: skip it.
                self.position = next_line_start(self.bytes, self.position);
                continue;
            }
            if first == b'\n' || rest.starts_with(b"\r\n") {
                return self.finish();
            }
            let Some(name_length) = field_name_length(rest) else {
                return self.finish();
            };
            let name = rest.get(..name_length)?;
            let value_start = self.position + name_length + 1;
            let mut value_end = line_content_end(self.bytes, value_start);
            self.position = next_line_start(self.bytes, value_start);
            while let Some(&(b' ' | b'\t')) = self.bytes.get(self.position) {
                value_end = line_content_end(self.bytes, self.position);
                self.position = next_line_start(self.bytes, self.position);
            }
            let value = self.bytes.get(value_start..value_end).unwrap_or_default();
            return Some(HeaderField { name, value });
        }
    }
}

/// The length of the field name at the start of `line` when the line is a header field: a
/// non-empty run of printable ASCII other than `:` and space, directly followed by `:`.
fn field_name_length(line: &[u8]) -> Option<usize> {
    for (index, &byte) in line.iter().enumerate() {
        match byte {
            b':' if index > 0 => return Some(index),
            b'!'..=b'9' | b';'..=b'~' => {}
            _ => return None,
        }
    }
    None
}

/// The index of the next line's first byte after `from` (the end of `bytes` on the last line).
fn next_line_start(bytes: &[u8], from: usize) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    memchr(b'\n', rest).map_or(bytes.len(), |offset| from + offset + 1)
}

/// The end of the content of the line holding `from`: before its `\n` or `\r\n`.
fn line_content_end(bytes: &[u8], from: usize) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    match memchr(b'\n', rest) {
        Some(offset) if offset > 0 && rest.get(offset - 1) == Some(&b'\r') => from + offset - 1,
        Some(offset) => from + offset,
        None => bytes.len(),
    }
}

/// The first valid address of a `From` value. `scratch` is the recipient list, borrowed as
/// scratch space so that no temporary vector is allocated; it is left as it was.
fn first_address(value: &[u8], scratch: &mut Vec<String>) -> Option<String> {
    let before = scratch.len();
    address::parse_list(value, scratch);
    let mut added = scratch.drain(before..);
    added.next()
}

/// The Message-ID of a value: the content of the first `<...>`, else the trimmed value; `None`
/// when that is empty (`<>` is no id).
fn message_id(value: &[u8]) -> Option<String> {
    let id = match angle_pair(value) {
        Some((content, _)) => content,
        None => value.trim_ascii(),
    };
    (!id.is_empty()).then(|| lossy_string(id))
}

/// The latest parseable `Received:` instant of the message, if any.
fn latest_received(bytes: &[u8]) -> Option<i64> {
    HeaderFields::new(bytes)
        .filter(|field| field.name.eq_ignore_ascii_case(b"received"))
        .filter_map(|field| date::parse_received(field.value))
        .max()
}

/// The first `<...>` of `value`: its trimmed content (from the last `<` before the `>`, so that a
/// stray `<` does not swallow the id) and the index just past the `>`.
fn angle_pair(value: &[u8]) -> Option<(&[u8], usize)> {
    let open = memchr(b'<', value)?;
    let after_open = value.get(open + 1..)?;
    let close = memchr(b'>', after_open)?;
    let inside = after_open.get(..close)?;
    let content = match memchr::memrchr(b'<', inside) {
        Some(inner_open) => inside.get(inner_open + 1..)?,
        None => inside,
    };
    Some((content.trim_ascii(), open + 1 + close + 1))
}

/// The non-empty `<...>` ids of a value, in order (for `In-Reply-To` and `References`).
struct AngleIds<'a>(&'a [u8]);

impl<'a> Iterator for AngleIds<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let (content, end) = angle_pair(self.0)?;
            self.0 = self.0.get(end..).unwrap_or_default();
            if !content.is_empty() {
                return Some(content);
            }
        }
    }
}

/// The first token of a structured value: after leading white space and comments, up to white
/// space, `(` or `;` (so parameters and trailing comments are dropped).
fn first_token(value: &[u8]) -> &[u8] {
    let mut index = 0;
    while let Some(&byte) = value.get(index) {
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' => index += 1,
            b'(' => index = address::skip_comment(value, index),
            _ => break,
        }
    }
    let rest = value.get(index..).unwrap_or_default();
    let length = rest
        .iter()
        .position(|&byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b'(' | b';'))
        .unwrap_or(rest.len());
    rest.get(..length).unwrap_or_default()
}

/// Header bytes as a string; invalid UTF-8 is replaced so that the same bytes always give the same
/// string.
fn lossy_string(bytes: &[u8]) -> String {
    // The strict check is the fast path: ids are almost always ASCII.
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Removes repeated strings, keeping the first of each in order (recipients here, attendees in
/// `ics`). Long lists are sorted rather than compared pairwise, so hostile ones stay cheap.
pub(crate) fn dedup_keep_order(list: &mut Vec<String>) {
    const LINEAR_LIMIT: usize = 32;
    if list.len() <= LINEAR_LIMIT {
        // Short lists, the common case: quadratic but allocation-free.
        let mut n_kept = 0;
        for index in 0..list.len() {
            let is_new = match (list.get(..n_kept), list.get(index)) {
                (Some(kept), Some(candidate)) => !kept.contains(candidate),
                _ => false,
            };
            if is_new {
                list.swap(n_kept, index);
                n_kept += 1;
            }
        }
        list.truncate(n_kept);
        return;
    }
    // Long lists (mailing-list style headers): sort the positions by value, keep the first
    // position of each run of equal values.
    let mut order: Vec<usize> = (0..list.len()).collect();
    order.sort_by(|&left, &right| list.get(left).cmp(&list.get(right)).then(left.cmp(&right)));
    let mut keep = vec![true; list.len()];
    for pair in order.windows(2) {
        if let [earlier, later] = *pair
            && list.get(earlier) == list.get(later)
            && let Some(flag) = keep.get_mut(later)
        {
            *flag = false;
        }
    }
    let mut flags = keep.into_iter();
    list.retain(|_| flags.next().unwrap_or(true));
}

#[cfg(test)]
mod tests;
