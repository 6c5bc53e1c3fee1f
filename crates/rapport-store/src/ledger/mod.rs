//! The mail ledger's record codec and content hash: what one source file's mail records become
//! in the database, and back. Calendar files have a codec of their own, [`calendar`], whose
//! BLOBs start with another format byte and live in the same rows.
//!
//! A file's records are one BLOB: a format byte, then one or more *segments* (a big mbox read in
//! blocks gives one segment per block, so blocks are encoded on worker threads and simply
//! concatenated). A segment is self-contained:
//!
//! ```text
//! segment  = varint(byte length of the rest) strings records
//! strings  = varint(n) { varint(len) utf8-bytes }*n        -- addresses, each once per segment
//! records  = varint(n) record*n
//! record   = tag [id] [zigzag-varint(sent - previous sent)] [varint(sender)]
//!            varint(n) varint(recipient)*n [id]             -- message id first, parent id last
//! id       = 0x00 16-bytes   (32 lowercase hex characters, packed)
//!          | varint(len + 1) utf8-bytes
//! ```
//!
//! The tag's bits say which optional parts follow, whether the copy is automated, and whether the
//! record is an unparseable message (a bare marker, so the summary's counts stay exact). Sent
//! times are deltas from the previous record's of the same segment (mail is mostly in time
//! order, so most take two or three bytes). Nothing here is specific to pseudonyms: any record
//! round-trips, but pseudonymised ids (32 hex characters) take 17 bytes instead of 33.

use std::collections::HashMap;
use std::path::PathBuf;

use rapport_core::codec::{self, put_text, put_varint, unzigzag, zigzag};
use rapport_core::model::{EmailCopy, MailRecord};

pub mod calendar;
pub mod graph;

/// The first byte of every ledger BLOB. A BLOB with another first byte was written by a
/// different rapport and is read again from its source file.
pub const FORMAT_VERSION: u8 = 1;

/// What the ledger knows of one source file of an enrichment (its records are read separately,
/// with `Store::ledger_records`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerFile {
    /// The row's id.
    pub id: i64,
    /// The file's path, as the sources were walked.
    pub path: PathBuf,
    /// Its size in bytes when it was read.
    pub size: u64,
    /// Its modification time in nanoseconds since 1970 when it was read (taken before reading,
    /// so a change during the read shows at the next run).
    pub mtime_ns: i64,
    /// [`content_hash`] of the bytes read (or [`combine_hashes`] of its blocks).
    pub content_hash: u64,
    /// `Pseudonymizer::key_id` of the key its pseudonyms were made with.
    pub key_id: i64,
    /// How many mail records (copies and unparseable markers) it holds.
    pub n_records: u64,
    /// The window start its copies sent earlier were dropped at ([`trim`]); `i64::MIN` when
    /// none was dropped. A run whose window starts earlier reads the file again.
    pub trimmed_before: i64,
    /// How many copies were dropped (each is `outside_window` at every later run).
    pub n_trimmed: u64,
    /// The earliest sent time of its copies ([`NO_DATED_RECORD`] when none has one); `None`
    /// when not known (rows written before schema version 5, and calendar rows).
    pub oldest_sent: Option<i64>,
}

/// One change to an enrichment's ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerChange {
    /// Adds the file's row or replaces it (matched by path).
    Upsert {
        /// The file's path.
        path: PathBuf,
        /// Its size when read.
        size: u64,
        /// Its modification time when read.
        mtime_ns: i64,
        /// The content hash of what was read.
        content_hash: u64,
        /// The number of records.
        n_records: u64,
        /// The records: a BLOB made of [`new_blob`] and [`encode_segment`].
        records: Vec<u8>,
        /// [`oldest_sent`] of the records (`None` for a calendar file).
        oldest_sent: Option<i64>,
    },
    /// The file's copies sent before `trimmed_before` were dropped (see [`trim`]); matched by
    /// path, after any `Upsert` of the same run.
    Trim {
        /// The file's path.
        path: PathBuf,
        /// The window start the copies were dropped at.
        trimmed_before: i64,
        /// What is left.
        trimmed: Trimmed,
    },
    /// The file was touched but its content hash is unchanged: only its size and modification
    /// time move, the records stay.
    Touch {
        /// The row's id.
        id: i64,
        /// The new size (equal to the old one when the content is).
        size: u64,
        /// The new modification time.
        mtime_ns: i64,
    },
    /// The file is gone from the sources: its row goes.
    Delete {
        /// The row's id.
        id: i64,
    },
}

/// The ledger changes of one run, written in the transaction that publishes its results.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerUpdate {
    /// The fingerprint of the key the new rows were made with.
    pub key_id: i64,
    /// The changes, applied in order.
    pub changes: Vec<LedgerChange>,
}

/// Tag bit: an unparseable message; nothing else follows.
const TAG_UNPARSEABLE: u8 = 1;
/// Tag bit: a message id follows.
const TAG_MESSAGE_ID: u8 = 1 << 1;
/// Tag bit: a sent time follows.
const TAG_SENT: u8 = 1 << 2;
/// Tag bit: a sender follows.
const TAG_SENDER: u8 = 1 << 3;
/// Tag bit: a parent id follows the recipients.
const TAG_PARENT: u8 = 1 << 4;
/// Tag bit: the copy is automated.
const TAG_AUTOMATED: u8 = 1 << 5;
/// Every tag bit in use.
const TAG_ALL: u8 = (1 << 6) - 1;

/// Why a ledger BLOB could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The BLOB is empty or starts with another format byte.
    #[error("the records are in format {found:?}, not {FORMAT_VERSION}")]
    Format {
        /// The first byte, if any.
        found: Option<u8>,
    },
    /// The BLOB is empty or does not start with the calendar codec's format byte.
    #[error("the calendar is in format {found:?}, not {}", calendar::FORMAT_VERSION)]
    CalendarFormat {
        /// The first byte, if any.
        found: Option<u8>,
    },
    /// The bytes end inside a value, or a value is out of range.
    #[error("the records are damaged at byte {offset}")]
    Damaged {
        /// Where, from the start of the BLOB.
        offset: usize,
    },
}

/// A new, empty ledger BLOB: the format byte. Append segments with [`encode_segment`].
pub fn new_blob() -> Vec<u8> {
    vec![FORMAT_VERSION]
}

/// Appends one segment holding `records`, in order, to `out`.
pub fn encode_segment(records: &[MailRecord], out: &mut Vec<u8>) {
    let mut strings: Vec<&str> = Vec::new();
    let mut string_index: HashMap<&str, u64> = HashMap::new();
    let mut body = Vec::with_capacity(records.len() * 48);
    let mut previous_sent: i64 = 0;
    put_varint(&mut body, records.len() as u64);
    for record in records {
        let copy = match record {
            MailRecord::Unparseable => {
                body.push(TAG_UNPARSEABLE);
                continue;
            }
            MailRecord::Email(copy) => copy,
        };
        let mut tag = 0;
        if copy.message_id.is_some() {
            tag |= TAG_MESSAGE_ID;
        }
        if copy.sent.is_some() {
            tag |= TAG_SENT;
        }
        if copy.sender.is_some() {
            tag |= TAG_SENDER;
        }
        if copy.parent_id.is_some() {
            tag |= TAG_PARENT;
        }
        if copy.automated {
            tag |= TAG_AUTOMATED;
        }
        body.push(tag);
        if let Some(id) = &copy.message_id {
            put_id(&mut body, id);
        }
        if let Some(sent) = copy.sent {
            put_varint(&mut body, zigzag(sent.wrapping_sub(previous_sent)));
            previous_sent = sent;
        }
        if let Some(sender) = &copy.sender {
            let index = intern(sender, &mut strings, &mut string_index);
            put_varint(&mut body, index);
        }
        put_varint(&mut body, copy.recipients.len() as u64);
        for recipient in &copy.recipients {
            let index = intern(recipient, &mut strings, &mut string_index);
            put_varint(&mut body, index);
        }
        if let Some(id) = &copy.parent_id {
            put_id(&mut body, id);
        }
    }
    let mut head = Vec::new();
    put_varint(&mut head, strings.len() as u64);
    for text in &strings {
        put_text(&mut head, text);
    }
    put_varint(out, (head.len() + body.len()) as u64);
    out.extend_from_slice(&head);
    out.extend_from_slice(&body);
}

/// The index of `text` in the segment's string table, adding it on first use.
fn intern<'a>(
    text: &'a str,
    strings: &mut Vec<&'a str>,
    string_index: &mut HashMap<&'a str, u64>,
) -> u64 {
    *string_index.entry(text).or_insert_with(|| {
        strings.push(text);
        strings.len() as u64 - 1
    })
}

/// The earliest sent time of `records`, or [`NO_DATED_RECORD`] when none has one.
pub fn oldest_sent(records: &[MailRecord]) -> i64 {
    records
        .iter()
        .filter_map(|record| match record {
            MailRecord::Email(copy) => copy.sent,
            MailRecord::Unparseable => None,
        })
        .min()
        .unwrap_or(NO_DATED_RECORD)
}

/// What [`oldest_sent`] gives for records none of which has a sent time.
pub const NO_DATED_RECORD: i64 = i64::MAX;

/// A mail BLOB without the copies sent before an instant: what a ledger row keeps once the
/// window has moved past them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trimmed {
    /// The BLOB that is left (one segment).
    pub records: Vec<u8>,
    /// The records it holds.
    pub n_records: u64,
    /// The copies dropped (a caller trimming kept records adds those dropped before: a `Trim`
    /// change carries the row's total).
    pub n_trimmed: u64,
    /// The earliest sent time left, or [`NO_DATED_RECORD`].
    pub oldest_sent: i64,
}

/// Drops the copies of `blob` sent before `before` (copies without a sent time and unparseable
/// markers stay: they are counted at every run).
pub fn trim(blob: &[u8], before: i64) -> Result<Trimmed, DecodeError> {
    let mut records = decode(blob)?;
    let n_before = records.len();
    records.retain(|record| match record {
        MailRecord::Email(copy) => copy.sent.is_none_or(|sent| sent >= before),
        MailRecord::Unparseable => true,
    });
    let mut out = new_blob();
    encode_segment(&records, &mut out);
    Ok(Trimmed {
        n_records: records.len() as u64,
        n_trimmed: (n_before - records.len()) as u64,
        oldest_sent: oldest_sent(&records),
        records: out,
    })
}

/// The segments of a ledger BLOB, each decoded into its records when the iterator reaches it.
/// Fails at once when the format byte is not [`FORMAT_VERSION`].
pub fn segments(blob: &[u8]) -> Result<Segments<'_>, DecodeError> {
    match blob.first() {
        Some(&FORMAT_VERSION) => Ok(Segments { blob, offset: 1 }),
        found => Err(DecodeError::Format { found: found.copied() }),
    }
}

/// Decodes a whole BLOB into its records, in order.
pub fn decode(blob: &[u8]) -> Result<Vec<MailRecord>, DecodeError> {
    let mut records = Vec::new();
    for segment in segments(blob)? {
        records.extend(segment?);
    }
    Ok(records)
}

/// The iterator of [`segments`]: one `Vec` of records per segment. After an error it ends.
#[derive(Debug)]
pub struct Segments<'a> {
    blob: &'a [u8],
    offset: usize,
}

impl Iterator for Segments<'_> {
    type Item = Result<Vec<MailRecord>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.offset >= self.blob.len() {
            return None;
        }
        let mut reader = Reader { bytes: self.blob, offset: self.offset };
        let outcome = reader.segment();
        self.offset = match outcome {
            Ok(_) => reader.offset,
            Err(_) => self.blob.len(),
        };
        Some(outcome)
    }
}

/// A cursor over a BLOB.
struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn damaged(&self) -> DecodeError {
        DecodeError::Damaged { offset: self.offset }
    }

    /// Decodes the segment at the cursor and moves past it.
    fn segment(&mut self) -> Result<Vec<MailRecord>, DecodeError> {
        let length = self.length()?;
        let end = self.offset.checked_add(length).ok_or_else(|| self.damaged())?;
        if end > self.bytes.len() {
            return Err(self.damaged());
        }
        let whole = self.bytes;
        // Everything of the segment is read from its own bytes: a bad length cannot make it
        // read its neighbour's.
        self.bytes = whole.get(..end).unwrap_or_default();
        let n_strings = self.length()?;
        let mut strings = Vec::with_capacity(n_strings.min(self.remaining()));
        for _ in 0..n_strings {
            let length = self.length()?;
            strings.push(self.text(length)?);
        }
        let n_records = self.length()?;
        let mut records = Vec::with_capacity(n_records.min(self.remaining()));
        let mut previous_sent: i64 = 0;
        let string = |reader: &mut Reader<'_>| -> Result<String, DecodeError> {
            let index = reader.length()?;
            strings.get(index).map(|text| (*text).to_owned()).ok_or_else(|| reader.damaged())
        };
        for _ in 0..n_records {
            let tag = self.byte()?;
            if tag & !TAG_ALL != 0 {
                return Err(self.damaged());
            }
            if tag & TAG_UNPARSEABLE != 0 {
                if tag != TAG_UNPARSEABLE {
                    return Err(self.damaged());
                }
                records.push(MailRecord::Unparseable);
                continue;
            }
            let message_id = if tag & TAG_MESSAGE_ID != 0 { Some(self.id()?) } else { None };
            let sent = if tag & TAG_SENT != 0 {
                let sent = previous_sent.wrapping_add(unzigzag(self.varint()?));
                previous_sent = sent;
                Some(sent)
            } else {
                None
            };
            let sender = if tag & TAG_SENDER != 0 { Some(string(self)?) } else { None };
            let n_recipients = self.length()?;
            let mut recipients = Vec::with_capacity(n_recipients.min(self.remaining()));
            for _ in 0..n_recipients {
                recipients.push(string(self)?);
            }
            let parent_id = if tag & TAG_PARENT != 0 { Some(self.id()?) } else { None };
            records.push(MailRecord::Email(EmailCopy {
                message_id,
                sent,
                sender,
                recipients,
                parent_id,
                automated: tag & TAG_AUTOMATED != 0,
            }));
        }
        if self.offset != end {
            return Err(self.damaged());
        }
        self.bytes = whole;
        Ok(records)
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.offset)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let byte = self.bytes.get(self.offset).copied().ok_or_else(|| self.damaged())?;
        self.offset += 1;
        Ok(byte)
    }

    fn take(&mut self, length: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.offset.checked_add(length).ok_or_else(|| self.damaged())?;
        let bytes = self.bytes.get(self.offset..end).ok_or_else(|| self.damaged())?;
        self.offset = end;
        Ok(bytes)
    }

    /// The next `length` bytes as UTF-8 text.
    fn text(&mut self, length: usize) -> Result<&'a str, DecodeError> {
        let bytes = self.take(length)?;
        std::str::from_utf8(bytes).map_err(|_| self.damaged())
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut reader = codec::Reader::new(self.bytes.get(self.offset..).unwrap_or_default());
        let value = reader.varint().map_err(|_| self.damaged())?;
        self.offset += reader.offset();
        Ok(value)
    }

    /// A varint used as a count, index or length.
    fn length(&mut self) -> Result<usize, DecodeError> {
        let value = self.varint()?;
        usize::try_from(value).map_err(|_| self.damaged())
    }

    fn id(&mut self) -> Result<String, DecodeError> {
        match self.length()? {
            0 => {
                let packed = self.take(16)?;
                let mut text = String::with_capacity(32);
                for byte in packed {
                    text.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
                    text.push(char::from(HEX_DIGITS[usize::from(byte & 15)]));
                }
                Ok(text)
            }
            length => Ok(self.text(length - 1)?.to_owned()),
        }
    }
}

/// Lowercase hex digits (also those of `Pseudonymizer`'s id pseudonyms).
pub(crate) const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends an id: packed when it is 32 lowercase hex characters (a pseudonym), else as text.
fn put_id(out: &mut Vec<u8>, id: &str) {
    let bytes = id.as_bytes();
    if bytes.len() == 32 && bytes.iter().all(|byte| hex_value(*byte).is_some()) {
        out.push(0);
        for pair in bytes.chunks_exact(2) {
            let high = pair.first().and_then(|byte| hex_value(*byte)).unwrap_or(0);
            let low = pair.get(1).and_then(|byte| hex_value(*byte)).unwrap_or(0);
            out.push(high << 4 | low);
        }
    } else {
        put_varint(out, bytes.len() as u64 + 1);
        out.extend_from_slice(bytes);
    }
}

/// The value of a lowercase hex digit.
fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}

/// A fast 64-bit hash of bytes (XXH64, seed 0): the content hash of a source file's bytes,
/// which tells a touched-but-unchanged file from a changed one. Not a cryptographic hash: it
/// guards against accidents, not against someone forging mail.
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxh64(bytes, 0)
}

/// The content hash of a file read in several blocks: the hash of the blocks' hashes, in order.
/// The blocks are cut at the same places for the same bytes, so the same file always gives the
/// same value.
pub fn combine_hashes(block_hashes: &[u64]) -> u64 {
    if let [single] = block_hashes {
        return *single;
    }
    let mut bytes = Vec::with_capacity(block_hashes.len() * 8);
    for hash in block_hashes {
        bytes.extend_from_slice(&hash.to_le_bytes());
    }
    xxh64(&bytes, 0)
}

const PRIME64_1: u64 = 0x9E37_79B1_85EB_CA87;
const PRIME64_2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const PRIME64_3: u64 = 0x1656_67B1_9E37_79F9;
const PRIME64_4: u64 = 0x85EB_CA77_C2B2_AE63;
const PRIME64_5: u64 = 0x27D4_EB2F_1656_67C5;

/// XXH64 as specified by its author (xxhash.com), over little-endian words.
fn xxh64(bytes: &[u8], seed: u64) -> u64 {
    let read_u64 =
        |chunk: &[u8]| u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
    let round = |accumulator: u64, lane: u64| {
        accumulator
            .wrapping_add(lane.wrapping_mul(PRIME64_2))
            .rotate_left(31)
            .wrapping_mul(PRIME64_1)
    };
    let merge = |hash: u64, accumulator: u64| {
        (hash ^ round(0, accumulator)).wrapping_mul(PRIME64_1).wrapping_add(PRIME64_4)
    };
    let mut rest = bytes;
    let mut hash;
    if bytes.len() >= 32 {
        let mut lanes = [
            seed.wrapping_add(PRIME64_1).wrapping_add(PRIME64_2),
            seed.wrapping_add(PRIME64_2),
            seed,
            seed.wrapping_sub(PRIME64_1),
        ];
        let mut stripes = bytes.chunks_exact(32);
        for stripe in &mut stripes {
            for (lane, word) in lanes.iter_mut().zip(stripe.chunks_exact(8)) {
                *lane = round(*lane, read_u64(word));
            }
        }
        rest = stripes.remainder();
        let [first, second, third, fourth] = lanes;
        hash = first
            .rotate_left(1)
            .wrapping_add(second.rotate_left(7))
            .wrapping_add(third.rotate_left(12))
            .wrapping_add(fourth.rotate_left(18));
        for lane in lanes {
            hash = merge(hash, lane);
        }
    } else {
        hash = seed.wrapping_add(PRIME64_5);
    }
    hash = hash.wrapping_add(bytes.len() as u64);
    let mut words = rest.chunks_exact(8);
    for word in &mut words {
        hash = (hash ^ round(0, read_u64(word))).rotate_left(27).wrapping_mul(PRIME64_1);
        hash = hash.wrapping_add(PRIME64_4);
    }
    let mut tail = words.remainder();
    if tail.len() >= 4 {
        let (word, after) = tail.split_at(4);
        let value = u64::from(u32::from_le_bytes(<[u8; 4]>::try_from(word).unwrap_or_default()));
        hash = (hash ^ value.wrapping_mul(PRIME64_1)).rotate_left(23).wrapping_mul(PRIME64_2);
        hash = hash.wrapping_add(PRIME64_3);
        tail = after;
    }
    for byte in tail {
        hash = (hash ^ u64::from(*byte).wrapping_mul(PRIME64_5))
            .rotate_left(11)
            .wrapping_mul(PRIME64_1);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(PRIME64_2);
    hash ^= hash >> 29;
    hash = hash.wrapping_mul(PRIME64_3);
    hash ^ (hash >> 32)
}

#[cfg(test)]
mod tests;
