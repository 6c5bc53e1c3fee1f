//! Splitting an mbox file (a byte slice, or a reader cut into blocks) into its messages.
//!
//! A message starts at `From ` at the start of the bytes or right after an empty line (LF or
//! CRLF); text before the first separator is ignored (metrics.md §8, Sources). Each message slice
//! starts with its `From ` envelope line, which `mail::parse_message` skips. Body lines escaped as
//! `>From ` (mboxrd, mboxo) are not un-escaped: bodies are never read.

use std::io::{self, Read};

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

/// Reads an mbox in blocks of whole messages, so that a file of any size is parsed in bounded
/// memory and the blocks can be parsed in parallel: `messages` over the blocks, in order, yields
/// exactly the messages of `messages` over the whole file. The cuts depend only on the bytes.
pub struct Blocks<R> {
    reader: R,
    /// Bytes read after the last cut: the start of the next block.
    carry: Vec<u8>,
}

impl<R: Read> Blocks<R> {
    /// Starts reading `reader` from its current position (the start of the mbox).
    pub fn new(reader: R) -> Blocks<R> {
        Blocks { reader, carry: Vec::new() }
    }

    /// The next block: at least `block_bytes` are read (unless the file ends), then the block is
    /// cut just before the last message start in it, so it falls short of `block_bytes` by less
    /// than one message; a single message larger than a block makes a larger block. `None` at
    /// the end. `buffer` is reused for the block (its contents are dropped), which spares fresh
    /// allocations when blocks are handed back after parsing.
    pub fn next_block(
        &mut self,
        block_bytes: usize,
        buffer: Vec<u8>,
    ) -> io::Result<Option<Vec<u8>>> {
        let block_bytes = block_bytes.max(1);
        let mut block = buffer;
        block.clear();
        block.append(&mut self.carry);
        loop {
            let searched_up_to = block.len();
            // Grow by at least one byte, so that zero bytes read means the end of the input.
            let wanted = block_bytes.max(block.len() + (block_bytes / 2).max(1));
            block.reserve(wanted - block.len());
            let n_read =
                (&mut self.reader).take((wanted - block.len()) as u64).read_to_end(&mut block)?;
            if n_read == 0 {
                return Ok(if block.is_empty() { None } else { Some(block) });
            }
            // A message start found only in the bytes just read (or one spanning the old end) is
            // the cut. It is never offset 0 (a start there has no `\n` before it), so every block
            // returned holds bytes and reading moves on.
            if let Some(cut) =
                last_message_start(&block, searched_up_to.saturating_sub(SEPARATOR.len() + 2))
            {
                self.carry = block.split_off(cut);
                return Ok(Some(block));
            }
        }
    }
}

/// The start of the last message in `bytes` that begins after `from` (a `From ` line after an
/// empty line), for cutting a file read in blocks at a message boundary.
fn last_message_start(bytes: &[u8], from: usize) -> Option<usize> {
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
