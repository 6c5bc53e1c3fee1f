//! A small, fast, non-cryptographic hasher (the FxHash mix used by rustc) and a string interner.
//!
//! The engine hashes millions of short addresses and ids that come from mail the user chose to
//! import; denial-of-service resistance is not needed there, speed is. Not a public API.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The FxHash multiplier.
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// FxHash over 8-byte words.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add_word(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add_word(u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            for (slot, byte) in word.iter_mut().zip(rest) {
                *slot = *byte;
            }
            self.add_word(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add_word(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add_word(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add_word(value);
    }

    fn write_i64(&mut self, value: i64) {
        self.add_word(value as u64);
    }

    fn write_usize(&mut self, value: usize) {
        self.add_word(value as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the best bits at the top while tables pick slots from the bottom:
        // a final avalanche (MurmurHash3's fmix64) spreads them over every bit.
        let mut hash = self.hash;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        hash ^ (hash >> 33)
    }
}

/// A `HashMap` with [`FxHasher`].
pub(crate) type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Maps strings to dense `u32` ids in first-seen order, keeping each distinct string once.
///
/// The strings live back to back in one arena and the table is open addressing (linear
/// probing, at most half full) over ids, so interning a million message ids makes a handful of
/// allocations instead of a million, and dropping the interner frees three buffers. Each slot
/// holds the id and 32 bits of its hash, so a probe touches the text only on a likely match.
#[derive(Clone, Debug, Default)]
pub(crate) struct Interner {
    arena: String,
    /// Per id: where its text starts in `arena` and its length.
    spans: Vec<(usize, u32)>,
    /// `hash << 32 | (id + 1)` per slot, 0 for an empty slot; the length is a power of two.
    slots: Vec<u64>,
}

impl Interner {
    /// The number of distinct strings interned.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// The id of `text`, interning it when new. More than `u32::MAX − 1` distinct strings cannot
    /// occur before memory runs out; past that, new strings would share the last id.
    pub(crate) fn intern(&mut self, text: &str) -> u32 {
        let hash = hash_str(text) as u32;
        if let Some(id) = self.find(text, hash) {
            return id;
        }
        make_room_for_one(&mut self.slots, self.spans.len());
        let Ok(id) = u32::try_from(self.spans.len()) else { return u32::MAX - 1 };
        let start = self.arena.len();
        self.arena.push_str(text);
        self.spans.push((start, u32::try_from(text.len()).unwrap_or(u32::MAX)));
        place_in(&mut self.slots, u64::from(hash) << 32 | u64::from(id + 1));
        id
    }

    /// The id of `text` when it is interned.
    pub(crate) fn get(&self, text: &str) -> Option<u32> {
        self.find(text, hash_str(text) as u32)
    }

    /// The arena, each string's length in id order, and the slot table: what
    /// [`Interner::from_parts`] takes back.
    pub(crate) fn parts(&self) -> (&str, impl Iterator<Item = u32> + '_, &[u64]) {
        (&self.arena, self.spans.iter().map(|(_, length)| *length), &self.slots)
    }

    /// An interner from [`Interner::parts`]; `None` when they do not fit together (lengths
    /// that do not add up to the arena or cut a character, a table that is not a power of two at
    /// most half full, a slot naming an unknown id).
    pub(crate) fn from_parts(arena: String, lengths: &[u32], slots: Vec<u64>) -> Option<Interner> {
        let mut spans = Vec::with_capacity(with_headroom(lengths.len()));
        let mut start = 0usize;
        for length in lengths {
            let end = start.checked_add(*length as usize)?;
            if !arena.is_char_boundary(end) || end > arena.len() {
                return None;
            }
            spans.push((start, *length));
            start = end;
        }
        let table_ok = if slots.is_empty() {
            spans.is_empty()
        } else {
            slots.len().is_power_of_two() && spans.len() * 2 <= slots.len()
        };
        let ids_ok = slots
            .iter()
            .all(|slot| *slot == 0 || ((*slot as u32).wrapping_sub(1) as usize) < spans.len());
        (start == arena.len() && table_ok && ids_ok).then_some(Interner { arena, spans, slots })
    }

    /// The text of `id`.
    pub(crate) fn text(&self, id: u32) -> &str {
        let Some((start, length)) = self.spans.get(id as usize).copied() else { return "" };
        self.arena.get(start..start + length as usize).unwrap_or_default()
    }

    fn find(&self, text: &str, hash: u32) -> Option<u32> {
        find_in(&self.slots, hash, |id| self.text(id) == text)
    }

    /// Makes room for `n_strings` more strings of `n_bytes` in all without growing step by step.
    pub(crate) fn reserve(&mut self, n_strings: usize, n_bytes: usize) {
        self.arena.reserve(n_bytes);
        self.spans.reserve(n_strings);
        reserve_slots(&mut self.slots, self.spans.len() + n_strings);
    }
}

/// The id in `slots` (an open-addressing table of packed `hash << 32 | (id + 1)` values) whose
/// hash is `hash` and for which `is_match` holds: the text is compared only on a hash match.
/// The capacity a loaded table gets for `n` items: room for the next runs' few new files, so
/// that pushing them does not move the whole table into fresh memory (a growing vector doubles
/// and copies; capacity that is never written costs no memory).
pub(crate) fn with_headroom(n: usize) -> usize {
    n.saturating_add(n / 4).saturating_add(1_024)
}

pub(crate) fn find_in(slots: &[u64], hash: u32, is_match: impl Fn(u32) -> bool) -> Option<u32> {
    let mask = slots.len().checked_sub(1)?;
    let mut position = hash as usize & mask;
    loop {
        let slot = slots.get(position).copied()?;
        if slot == 0 {
            return None;
        }
        let id = (slot as u32).wrapping_sub(1);
        if (slot >> 32) as u32 == hash && is_match(id) {
            return Some(id);
        }
        position = (position + 1) & mask;
    }
}

/// Grows `slots` at once so that `n_entries` fill at most half of it.
pub(crate) fn reserve_slots(slots: &mut Vec<u64>, n_entries: usize) {
    let wanted = n_entries.saturating_mul(2).next_power_of_two();
    if wanted > slots.len() {
        rehash(slots, wanted);
    }
}

/// Doubles `slots`, which holds `n_entries`, when one more entry would fill more than half of it.
pub(crate) fn make_room_for_one(slots: &mut Vec<u64>, n_entries: usize) {
    if (n_entries + 1) * 2 > slots.len() {
        let capacity = (slots.len() * 2).max(64);
        rehash(slots, capacity);
    }
}

/// Moves every entry of `slots` into a fresh table of `capacity` slots (a power of two).
fn rehash(slots: &mut Vec<u64>, capacity: usize) {
    let old = std::mem::replace(slots, vec![0; capacity]);
    for packed in old.into_iter().filter(|packed| *packed != 0) {
        place_in(slots, packed);
    }
}

/// `slots` (an open-addressing table of packed `hash << 32 | (id + 1)` values holding `n`
/// entries) at the smallest capacity that keeps it at most half full: tables are reserved for a
/// guess of what comes, and a saved table need not carry the guess.
pub(crate) fn compact_table(slots: &[u64], n: usize) -> std::borrow::Cow<'_, [u64]> {
    let capacity = n.saturating_mul(2).next_power_of_two().max(64);
    if slots.len() <= capacity {
        return std::borrow::Cow::Borrowed(slots);
    }
    let mut compact = vec![0; capacity];
    for packed in slots.iter().filter(|packed| **packed != 0) {
        place_in(&mut compact, *packed);
    }
    std::borrow::Cow::Owned(compact)
}

/// Puts a packed slot value in the first free slot of its probe sequence (there is room).
pub(crate) fn place_in(slots: &mut [u64], packed: u64) {
    let mask = slots.len().saturating_sub(1);
    let mut position = (packed >> 32) as usize & mask;
    while let Some(slot) = slots.get_mut(position) {
        if *slot == 0 {
            *slot = packed;
            return;
        }
        position = (position + 1) & mask;
    }
}

/// The hash of one string, well mixed in every bit (the table indexes with the low bits).
fn hash_str(text: &str) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(text.as_bytes());
    hasher.write_usize(text.len());
    hasher.finish()
}
