//! Email addresses: normalizing one address, and reading the addresses of an RFC 5322
//! address-list header value.
//!
//! An address is compared case-insensitively after removing a display name, angle brackets and
//! comments, then stripping white space and quote characters (`'`, `"`) from each end
//! (metrics.md §2 and §8). Display names and encoded words are skipped, never decoded: only the
//! address itself is kept.

/// Normalizes one address as found in a CSV cell or a users-file line.
///
/// `Name <addr>` gives `addr` (the last angle pair wins); comments `(..)` are removed; white space
/// and quotes are stripped from each end independently; the result is lowercase. The result must
/// hold exactly one `@` with a non-empty local part and domain and no white space, control
/// character or one of `<>(),;` inside, else `None`.
///
/// `Alice@Contoso.COM`, `'alice@contoso.com'` and `"Alice" <alice@contoso.com>` all give
/// `alice@contoso.com`.
pub fn normalize(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let candidate = match bytes.iter().rposition(|&byte| byte == b'<') {
        Some(open) => {
            let inner = bytes.get(open + 1..).unwrap_or_default();
            // An unclosed `<` still names the address: everything after it.
            let close = inner.iter().position(|&byte| byte == b'>').unwrap_or(inner.len());
            inner.get(..close).unwrap_or_default()
        }
        None => bytes,
    };
    candidate_to_address(candidate)
}

/// Appends every valid address of an RFC 5322 address-list header value to `out`, normalized as
/// [`normalize`] does, in order; invalid entries are skipped.
///
/// The value may be folded (CR/LF inside) and may use obsolete syntax: group syntax
/// (`undisclosed-recipients:;`, `Group: a@x, b@y;`), quoted display names holding `,`, `@` or
/// `<`, comments, encoded words, 8-bit bytes, `<..>` entries without commas between them, and
/// bare lists (`a@x, b@y`). Nothing is allocated except the strings pushed to `out`.
pub fn parse_list(value: &[u8], out: &mut Vec<String>) {
    // The bare text of the current entry (no angle pair seen yet): the first and one past the
    // last byte that is neither white space nor part of an edge comment.
    let mut bare_start: Option<usize> = None;
    let mut bare_end = 0;
    let mut index = 0;
    while let Some(&byte) = value.get(index) {
        match byte {
            b'"' => {
                let end = skip_quoted(value, index);
                bare_start.get_or_insert(index);
                bare_end = end;
                index = end;
            }
            b'(' => index = skip_comment(value, index),
            b'[' => {
                // A domain literal may hold `:` and `,`, which must not split the entry.
                let end = find_byte(value, index + 1, b']').map_or(value.len(), |close| close + 1);
                bare_start.get_or_insert(index);
                bare_end = end;
                index = end;
            }
            b'<' => {
                let close = find_byte(value, index + 1, b'>').unwrap_or(value.len());
                push_address(value.get(index + 1..close).unwrap_or_default(), out);
                // The display name before `<` is dropped; text after `>` starts a new entry, which
                // is how entries without a comma between them are still read.
                bare_start = None;
                index = close + 1;
            }
            b',' | b';' => {
                flush_bare(value, bare_start, bare_end, out);
                bare_start = None;
                index += 1;
            }
            b':' => {
                // A group name ends here; its members follow.
                bare_start = None;
                index += 1;
            }
            b' ' | b'\t' | b'\r' | b'\n' => index += 1,
            _ => {
                bare_start.get_or_insert(index);
                // Skip the whole run of ordinary bytes at once: they only extend the entry.
                index += 1;
                while value
                    .get(index)
                    .is_some_and(|&byte| BYTE_CLASS[usize::from(byte)] == ORDINARY)
                {
                    index += 1;
                }
                bare_end = index;
            }
        }
    }
    flush_bare(value, bare_start, bare_end, out);
}

/// The domain of a normalized address: the part after its `@` (empty when there is none).
pub fn domain(address: &str) -> &str {
    address.rfind('@').and_then(|at| address.get(at + 1..)).unwrap_or_default()
}

/// Pushes the bare entry `value[start..end]`, if any, as an address.
fn flush_bare(value: &[u8], start: Option<usize>, end: usize, out: &mut Vec<String>) {
    if let Some(start) = start
        && let Some(candidate) = value.get(start..end)
    {
        push_address(candidate, out);
    }
}

/// Pushes `candidate` to `out` when it is a valid address.
fn push_address(candidate: &[u8], out: &mut Vec<String>) {
    if let Some(address) = candidate_to_address(candidate) {
        out.push(address);
    }
}

/// Turns the text that should hold one address into the normalized address, or `None`.
fn candidate_to_address(candidate: &[u8]) -> Option<String> {
    match validate(candidate) {
        Validation::Valid(address) => Some(lowercase(address)),
        Validation::Invalid => None,
        Validation::HasComment => {
            // Rare: a comment inside the address text. Copying is fine off the common path.
            let without_comments = remove_comments(candidate);
            match validate(&without_comments) {
                Validation::Valid(address) => Some(lowercase(address)),
                Validation::Invalid | Validation::HasComment => None,
            }
        }
    }
}

/// What [`validate`] found.
enum Validation<'a> {
    /// The trimmed address, not yet lowercased.
    Valid(&'a [u8]),
    /// Not an address.
    Invalid,
    /// A `(` inside: comments must be removed first.
    HasComment,
}

/// Trims a candidate, drops an obsolete route (`@a,@b:`), and checks it in one pass: exactly one
/// `@` with text on both sides, and no white space, control character or one of `<>(),;`.
fn validate(candidate: &[u8]) -> Validation<'_> {
    let mut address = trim_quotes_and_space(candidate);
    if address.first() == Some(&b'@')
        && let Some(colon) = address.iter().rposition(|&byte| byte == b':')
    {
        address = trim_quotes_and_space(address.get(colon + 1..).unwrap_or_default());
    }
    let mut at_index = None;
    let mut is_valid = true;
    for (index, &byte) in address.iter().enumerate() {
        match BYTE_CLASS[usize::from(byte)] {
            ORDINARY | QUOTE | SPECIAL_IN_LIST => {}
            AT if at_index.is_none() => at_index = Some(index),
            // A comment anywhere decides, even after a space (`a@b (Name)`).
            OPEN_COMMENT => return Validation::HasComment,
            _ => is_valid = false,
        }
    }
    match at_index {
        Some(at) if is_valid && at > 0 && at + 1 < address.len() => Validation::Valid(address),
        _ => Validation::Invalid,
    }
}

/// Byte classes for the scanners: ordinary address text, or one of the bytes that need care.
const ORDINARY: u8 = 0;
/// `@`.
const AT: u8 = 1;
/// `(`.
const OPEN_COMMENT: u8 = 2;
/// `"` and `'`: allowed inside an address, special at the ends and in lists.
const QUOTE: u8 = 3;
/// White space and control characters.
const SPACE: u8 = 4;
/// `<>),;`: structure, never inside an address.
const SPECIAL: u8 = 5;
/// `:[]\\`: structure in lists (groups, domain literals, escapes), allowed inside an address.
const SPECIAL_IN_LIST: u8 = 6;

/// The class of every byte value.
static BYTE_CLASS: [u8; 256] = {
    let mut classes = [ORDINARY; 256];
    let mut byte = 0;
    while byte < 0x20 {
        classes[byte] = SPACE;
        byte += 1;
    }
    classes[b' ' as usize] = SPACE;
    classes[0x7f] = SPACE;
    classes[b'@' as usize] = AT;
    classes[b'(' as usize] = OPEN_COMMENT;
    classes[b'"' as usize] = QUOTE;
    classes[b'\'' as usize] = QUOTE;
    classes[b'<' as usize] = SPECIAL;
    classes[b'>' as usize] = SPECIAL;
    classes[b')' as usize] = SPECIAL;
    classes[b',' as usize] = SPECIAL;
    classes[b';' as usize] = SPECIAL;
    classes[b':' as usize] = SPECIAL_IN_LIST;
    classes[b'[' as usize] = SPECIAL_IN_LIST;
    classes[b']' as usize] = SPECIAL_IN_LIST;
    classes[b'\\' as usize] = SPECIAL_IN_LIST;
    classes
};

/// Lowercases address bytes into a string; invalid UTF-8 is replaced, not rejected, so that the
/// same 8-bit address always gives the same string.
fn lowercase(address: &[u8]) -> String {
    if address.is_ascii() {
        // ASCII bytes are valid UTF-8, so the conversion below never falls back.
        match String::from_utf8(address.to_ascii_lowercase()) {
            Ok(text) => text,
            Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
        }
    } else {
        String::from_utf8_lossy(address).to_lowercase()
    }
}

/// Strips white space and quote characters from each end independently.
fn trim_quotes_and_space(bytes: &[u8]) -> &[u8] {
    let is_trimmed = |byte: &u8| byte.is_ascii_whitespace() || *byte == b'"' || *byte == b'\'';
    let start = bytes.iter().position(|byte| !is_trimmed(byte)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|byte| !is_trimmed(byte)).map_or(start, |last| last + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Copies `bytes` without its comments.
fn remove_comments(bytes: &[u8]) -> Vec<u8> {
    let mut kept = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'(' {
            index = skip_comment(bytes, index);
        } else {
            kept.push(byte);
            index += 1;
        }
    }
    kept
}

/// The index just past the quoted string that opens at `open` (or the end of `bytes`).
fn skip_quoted(bytes: &[u8], open: usize) -> usize {
    let mut index = open + 1;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'\\' => index += 2,
            b'"' => return index + 1,
            _ => index += 1,
        }
    }
    bytes.len()
}

/// The index just past the (possibly nested) RFC 5322 comment that opens at `open` (or the end of
/// `bytes`); backslash escapes inside are honoured. Header parsers share it.
pub fn skip_comment(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0_usize;
    let mut index = open;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'\\' => index += 1,
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return index + 1;
                }
            }
            _ => {}
        }
        index += 1;
    }
    bytes.len()
}

/// The index of the first `needle` at or after `from`.
fn find_byte(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    let rest = bytes.get(from..)?;
    rest.iter().position(|&byte| byte == needle).map(|offset| from + offset)
}

#[cfg(test)]
mod tests;
