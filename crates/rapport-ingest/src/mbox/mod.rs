//! Splitting an mbox file (a mapped or borrowed byte slice) into its messages.
//!
//! A message starts at `From ` at the start of the bytes or right after an empty line (LF or
//! CRLF); text before the first separator is ignored (metrics.md §8, Sources). Each message slice
//! starts with its `From ` envelope line, which `mail::parse_message` skips. Body lines escaped as
//! `>From ` (mboxrd, mboxo) are not un-escaped: bodies are never read.

use memchr::memmem;

/// The separator searched for: a `From ` line start. Whether the line before it is empty is
/// checked separately.
const SEPARATOR: &[u8] = b"\nFrom ";

/// The messages of an mbox, in file order, each including its `From ` line and the empty line
/// that ends it.
pub fn messages(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let first_start = if bytes.starts_with(b"From ") { Some(0) } else { next_start(bytes, 0) };
    Messages { bytes, start: first_start }
}

/// Offsets that cut `bytes` into about `n_chunks` pieces of similar size, each cut at the start of
/// a message, for parsing the pieces in parallel.
///
/// The result starts with 0, ends with `bytes.len()` and strictly increases (fewer pieces come
/// out when the messages are fewer or larger than a piece). Every inner offset is a message
/// start, so `messages` over each piece `bytes[offsets[k]..offsets[k + 1]]` yields, in order,
/// exactly the messages of `messages(bytes)`.
pub fn chunk_boundaries(bytes: &[u8], n_chunks: usize) -> Vec<usize> {
    let n_chunks = n_chunks.max(1);
    let mut offsets = Vec::with_capacity(n_chunks + 1);
    offsets.push(0);
    for chunk_index in 1..n_chunks {
        // The target is computed in u128 so that huge files cannot overflow the product.
        let target = (bytes.len() as u128 * chunk_index as u128 / n_chunks as u128) as usize;
        let previous = offsets.last().copied().unwrap_or(0);
        match next_start(bytes, target.max(previous)) {
            Some(start) if start > previous => offsets.push(start),
            Some(_) => {}
            None => break,
        }
    }
    if offsets.last() != Some(&bytes.len()) {
        offsets.push(bytes.len());
    }
    offsets
}

/// The start of the last message in `bytes` that begins after `from` (a `From ` line after an
/// empty line), for cutting a file read in blocks at a message boundary.
pub fn last_message_start(bytes: &[u8], from: usize) -> Option<usize> {
    let haystack = bytes.get(from..)?;
    memmem::rfind_iter(haystack, SEPARATOR)
        .map(|offset| from + offset)
        .find(|&newline| follows_empty_line(bytes, newline))
        .map(|newline| newline + 1)
}

/// The iterator of `messages`.
struct Messages<'a> {
    bytes: &'a [u8],
    /// Where the next message starts, if there is one.
    start: Option<usize>,
}

impl<'a> Iterator for Messages<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let start = self.start?;
        // Search from just past this message's own `From` so that it is not found again.
        let end = next_start(self.bytes, start + 1);
        self.start = end;
        self.bytes.get(start..end.unwrap_or(self.bytes.len()))
    }
}

/// The start of the first message separator at or after `from` (not counting one at offset 0):
/// the offset of the `F` of a `From ` line that follows an empty line.
fn next_start(bytes: &[u8], from: usize) -> Option<usize> {
    // Step back one byte so that a separator whose `\n` sits just before `from` is found.
    let search_from = from.saturating_sub(1);
    let haystack = bytes.get(search_from..)?;
    memmem::find_iter(haystack, SEPARATOR)
        .map(|offset| search_from + offset)
        .find(|&newline| follows_empty_line(bytes, newline))
        .map(|newline| newline + 1)
}

/// True when the line ending at the `\n` at `newline` is empty (`\n\n`, `\n\r\n`, or an empty
/// first line of the file).
fn follows_empty_line(bytes: &[u8], newline: usize) -> bool {
    let line_start = match newline.checked_sub(1) {
        None => return true,
        Some(before) if bytes.get(before) == Some(&b'\r') => before,
        Some(_) => newline,
    };
    line_start == 0
        || line_start.checked_sub(1).and_then(|before| bytes.get(before)) == Some(&b'\n')
}

#[cfg(test)]
mod tests;
