//! The engine's mail state: every dated email copy pushed, on interned ids, grouped in segments
//! (one per source file or ledger row), independent of `T`, of the customer data and of the org
//! users — so it can be kept between runs ([`MailState::save`], [`MailState::load`]) and a run
//! pushes only the files that changed.
//!
//! Nothing here decides what counts: the window, the merge of copies and every rule of §3 are
//! applied by `finish` over the segments in the input order of that run ([`MailState::prepare`]).
//! The merge keys are interned when a copy is pushed — its Message-ID, and its fingerprint (same
//! sender, same sent second, same recipient set) — so `prepare` merges on array lookups alone.

use super::hash::{
    FxHasher, Interner, compact_table, find_in, make_room_for_one, place_in, reserve_slots,
    with_headroom,
};
use super::{CopyRecord, NONE};
use crate::codec::{checksum, checksum_parts};
use crate::identity;
use crate::model::{EmailCopy, MailRecord, SkipCounts, SkipReason};
use crate::period::Window;
use std::hash::Hasher;

/// The key a replaced segment gets: no caller's key (those are never empty with a NUL first).
const REPLACED: &str = "\u{0}replaced";

/// The bytes of one copy in a saved mail state: sent, then five `u32`s, then the flag.
const COPY_BYTES: usize = 8 + 5 * 4 + 1;

/// The first bytes of a saved mail state; the last byte is the format version.
const MAGIC: [u8; 8] = *b"RPMAIL\x00\x03";

/// One source's part of the mail state: its copies and what it skipped.
#[derive(Clone, Debug)]
struct Segment {
    /// The caller's name for the source (a file and its stamp); unique.
    key: String,
    /// Its copies: `copies[start..end]`.
    start: u32,
    end: u32,
    /// Records pushed (copies kept, unparseable and undated ones).
    emails_seen: u64,
    unparseable: u64,
    invalid_date: u64,
    /// Copies the source's ledger row no longer holds: sent before a window that has moved on,
    /// so `outside_window` at every run (metrics §6 counts them as if they were read).
    trimmed: u64,
}

/// Why a saved mail state cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "the saved mail state cannot be used: {}", self.0)
    }
}

impl std::error::Error for LoadError {}

/// See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct MailState {
    pub(super) addresses: Interner,
    pub(super) message_ids: Interner,
    pub(super) copies: Vec<CopyRecord>,
    pub(super) copy_recipients: Vec<u32>,
    /// Open-addressing table over fingerprint ids: `hash << 32 | (id + 1)`, 0 when empty.
    fingerprint_slots: Vec<u64>,
    /// Per fingerprint id, the copy that first had it (for comparing on a hash match).
    fingerprint_copy: Vec<u32>,
    segments: Vec<Segment>,
    /// The segment pushes go to; `None` until the first push or `begin_segment`.
    current: Option<usize>,
    /// The segments of this run in input order (indices into `segments`, repeats allowed);
    /// `None` = every segment in the order it was made.
    order: Option<Vec<u32>>,
    /// The copies held when the state was loaded (`None`: not loaded, made by pushes alone).
    loaded_copies: Option<usize>,
    scratch: Vec<u32>,
}

/// The copies of one run, in input order and inside the window, with their merge sets.
pub(super) struct Prepared {
    /// The index in the mail state of each copy of the run, in input order.
    pub(super) copies: Vec<u32>,
    /// Union-find parents over `copies`; a root is always the earliest copy of its set.
    pub(super) copy_parent: Vec<u32>,
    pub(super) emails_seen: u64,
    /// `unparseable`, `invalid_date` and `outside_window` of the mail.
    pub(super) skipped: SkipCounts,
}

impl MailState {
    /// Makes room for about `n_emails` more copies at once (a guess changes memory, not results).
    pub(super) fn reserve(&mut self, n_emails: usize) {
        self.copies.reserve(n_emails);
        self.copy_recipients.reserve(n_emails.saturating_mul(2));
        self.fingerprint_copy.reserve(n_emails);
        self.message_ids.reserve(n_emails, n_emails.saturating_mul(40));
        reserve_slots(&mut self.fingerprint_slots, self.fingerprint_copy.len() + n_emails);
    }

    /// Starts the segment `key`: the records pushed next belong to it. A segment of the same
    /// key held already is replaced (left out of every later run and of the next save).
    pub(super) fn begin_segment(&mut self, key: &str) {
        for segment in &mut self.segments {
            if segment.key == key {
                segment.key = REPLACED.to_owned();
            }
        }
        let at = self.copies.len() as u32;
        self.segments.push(Segment {
            key: key.to_owned(),
            start: at,
            end: at,
            emails_seen: 0,
            unparseable: 0,
            invalid_date: 0,
            trimmed: 0,
        });
        self.current = Some(self.segments.len() - 1);
    }

    /// Counts `n` copies of the current segment that were dropped from its source's ledger row
    /// because they were sent before an earlier window: seen, and outside the window.
    pub(super) fn count_trimmed(&mut self, n: u64) {
        let index = self.current_segment();
        if let Some(segment) = self.segments.get_mut(index) {
            segment.emails_seen += n;
            segment.trimmed += n;
        }
    }

    /// Names each segment `from` `to` from now on (for the next run, which knows its source by
    /// another stamp), in one pass; true when some segment was renamed. A segment already named
    /// a `to` (and renamed to nothing) is replaced.
    pub fn rename_segments(&mut self, renames: &[(String, String)]) -> bool {
        let new_key: std::collections::HashMap<&str, &str> = renames
            .iter()
            .filter(|(from, to)| from != to)
            .map(|(from, to)| (from.as_str(), to.as_str()))
            .collect();
        let taken: std::collections::HashSet<&str> = new_key.values().copied().collect();
        let mut renamed = false;
        for segment in &mut self.segments {
            if let Some(to) = new_key.get(segment.key.as_str()) {
                segment.key = (*to).to_owned();
                renamed = true;
            } else if taken.contains(segment.key.as_str()) {
                segment.key = REPLACED.to_owned();
            }
        }
        renamed
    }

    /// True when a segment named `key` is held (loaded or pushed).
    pub(super) fn has_segment(&self, key: &str) -> bool {
        self.segments.iter().any(|segment| segment.key == key)
    }

    /// Sets the segments of this run, in input order; segments not named are left out of it.
    /// Fails with the first unknown key.
    pub(super) fn set_order(&mut self, keys: &[&str]) -> Result<(), String> {
        let mut order = Vec::with_capacity(keys.len());
        for key in keys {
            let index = self
                .segments
                .iter()
                .position(|segment| segment.key == *key)
                .ok_or_else(|| (*key).to_owned())?;
            order.push(index as u32);
        }
        self.order = Some(order);
        Ok(())
    }

    /// The current segment; a push without `begin_segment` opens an unnamed one.
    fn current_segment(&mut self) -> usize {
        match self.current {
            Some(index) => index,
            None => {
                self.begin_segment("");
                self.segments.len() - 1
            }
        }
    }

    /// Takes one mail record of the current segment. Addresses are interned with `intern`,
    /// which the engine shares with the calendars.
    pub(super) fn push(&mut self, record: MailRecord) {
        let segment_index = self.current_segment();
        let copy_index = self.copies.len() as u32;
        let Some(segment) = self.segments.get_mut(segment_index) else { return };
        segment.emails_seen += 1;
        let copy = match record {
            MailRecord::Unparseable => {
                segment.unparseable += 1;
                return;
            }
            MailRecord::Email(copy) => copy,
        };
        let EmailCopy {
            message_id, sent, sender, recipients: recipient_addresses, parent_id, ..
        } = &copy;
        let Some(sent) = *sent else {
            segment.invalid_date += 1;
            return;
        };
        segment.end = copy_index + 1;
        let mut automated = copy.automated;
        let sender = match sender {
            Some(sender) => {
                automated |= identity::is_automated_sender(sender);
                self.addresses.intern(sender)
            }
            None => NONE,
        };
        let mut recipients = std::mem::take(&mut self.scratch);
        recipients.clear();
        for recipient in recipient_addresses {
            recipients.push(self.addresses.intern(recipient));
        }
        recipients.sort_unstable();
        recipients.dedup();
        let recipients_start = self.copy_recipients.len();
        self.copy_recipients.extend_from_slice(&recipients);
        let message_id = message_id.as_deref().map_or(NONE, |id| self.message_ids.intern(id));
        let parent_id = parent_id.as_deref().map_or(NONE, |id| self.message_ids.intern(id));
        // The fingerprint rule needs a sender (§8).
        let fingerprint = if sender == NONE {
            NONE
        } else {
            self.intern_fingerprint(sender, sent, &recipients, copy_index)
        };
        self.copies.push(CopyRecord {
            sent,
            recipients_start,
            recipients_len: recipients.len() as u32,
            sender,
            message_id,
            parent_id,
            fingerprint,
            automated,
        });
        self.scratch = recipients;
    }

    fn recipients_of(&self, copy: &CopyRecord) -> &[u32] {
        self.copy_recipients
            .get(copy.recipients_start..copy.recipients_start + copy.recipients_len as usize)
            .unwrap_or_default()
    }

    /// The fingerprint id of (sender, sent, recipient set), new when `copy_index` is its first.
    fn intern_fingerprint(
        &mut self,
        sender: u32,
        sent: i64,
        recipients: &[u32],
        copy_index: u32,
    ) -> u32 {
        let hash = fingerprint_hash(sender, sent, recipients);
        if let Some(id) = self.find_fingerprint(sender, sent, recipients, hash) {
            return id;
        }
        make_room_for_one(&mut self.fingerprint_slots, self.fingerprint_copy.len());
        let id = self.fingerprint_copy.len() as u32;
        self.fingerprint_copy.push(copy_index);
        place_in(&mut self.fingerprint_slots, u64::from(hash) << 32 | u64::from(id + 1));
        id
    }

    fn find_fingerprint(
        &self,
        sender: u32,
        sent: i64,
        recipients: &[u32],
        hash: u32,
    ) -> Option<u32> {
        find_in(&self.fingerprint_slots, hash, |id| {
            let first = self
                .fingerprint_copy
                .get(id as usize)
                .and_then(|copy| self.copies.get(*copy as usize));
            first.is_some_and(|first| {
                first.sender == sender
                    && first.sent == sent
                    && self.recipients_of(first) == recipients
            })
        })
    }

    /// The indices of the segments of this run, in input order.
    fn run_order(&self) -> Vec<u32> {
        match &self.order {
            Some(order) => order.clone(),
            None => (0..self.segments.len() as u32)
                .filter(|index| {
                    self.segments
                        .get(*index as usize)
                        .is_some_and(|segment| segment.key != REPLACED)
                })
                .collect(),
        }
    }

    /// The copies of this run inside `window`, in input order, merged by Message-ID and by
    /// fingerprint (§3 identity): each set's root is its first copy in input order.
    pub(super) fn prepare(&self, window: Window) -> Prepared {
        let segments: Vec<&Segment> = self
            .run_order()
            .iter()
            .filter_map(|index| self.segments.get(*index as usize))
            .collect();
        let n_copies: usize =
            segments.iter().map(|segment| (segment.end - segment.start) as usize).sum();
        let mut prepared = Prepared {
            copies: Vec::with_capacity(n_copies),
            copy_parent: Vec::with_capacity(n_copies),
            emails_seen: 0,
            skipped: SkipCounts::default(),
        };
        let mut first_by_message_id = vec![NONE; self.message_ids.len()];
        let mut first_by_fingerprint = vec![NONE; self.fingerprint_copy.len()];
        for segment in segments {
            prepared.emails_seen += segment.emails_seen;
            prepared.skipped.add_n(SkipReason::Unparseable, segment.unparseable);
            prepared.skipped.add_n(SkipReason::InvalidDate, segment.invalid_date);
            prepared.skipped.add_n(SkipReason::OutsideWindow, segment.trimmed);
            let copies = self.copies.get(segment.start as usize..segment.end as usize);
            for (copy_index, copy) in (segment.start..).zip(copies.unwrap_or_default()) {
                if !window.contains(copy.sent) {
                    prepared.skipped.add(SkipReason::OutsideWindow);
                    continue;
                }
                let position = prepared.copies.len() as u32;
                prepared.copies.push(copy_index);
                prepared.copy_parent.push(position);
                for (table, key) in [
                    (&mut first_by_message_id, copy.message_id),
                    (&mut first_by_fingerprint, copy.fingerprint),
                ] {
                    if let Some(first) = table.get_mut(key as usize) {
                        if *first == NONE {
                            *first = position;
                        } else {
                            union(&mut prepared.copy_parent, *first, position);
                        }
                    }
                }
            }
        }
        prepared
    }

    /// Writes the segments of this run (all of them when no order was set) to `out`: a
    /// checksummed image that [`MailState::load`] reads back. Segments left out of the run are
    /// dropped, and with them their copies.
    pub fn save(&self, out: &mut Vec<u8>) {
        let mut seen = vec![false; self.segments.len()];
        let mut kept: Vec<&Segment> = Vec::with_capacity(self.segments.len());
        for index in self.run_order() {
            if let Some(slot) = seen.get_mut(index as usize)
                && !*slot
                && let Some(segment) = self.segments.get(index as usize)
            {
                *slot = true;
                kept.push(segment);
            }
        }
        let compacted;
        let state = if kept.len() == self.segments.len() && self.order.is_none() {
            self
        } else {
            compacted = self.compacted(&kept);
            &compacted
        };
        state.write(out);
    }

    /// A copy of the state holding only `segments` (in that order), fingerprints re-interned.
    fn compacted(&self, segments: &[&Segment]) -> MailState {
        let mut state = MailState {
            addresses: self.addresses.clone(),
            message_ids: self.message_ids.clone(),
            ..MailState::default()
        };
        for segment in segments {
            let start = state.copies.len() as u32;
            let copies = self.copies.get(segment.start as usize..segment.end as usize);
            for copy in copies.unwrap_or_default() {
                let recipients = self.recipients_of(copy);
                let copy_index = state.copies.len() as u32;
                let recipients_start = state.copy_recipients.len();
                state.copy_recipients.extend_from_slice(recipients);
                let fingerprint = if copy.sender == NONE {
                    NONE
                } else {
                    state.intern_fingerprint(copy.sender, copy.sent, recipients, copy_index)
                };
                state.copies.push(CopyRecord { recipients_start, fingerprint, ..*copy });
            }
            state.segments.push(Segment {
                start,
                end: state.copies.len() as u32,
                key: segment.key.clone(),
                ..**segment
            });
        }
        state
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        let checksum_at = out.len();
        // Two checksums: of the message ids, and of everything else (see `load`).
        out.extend_from_slice(&[0u8; 16]);
        let body_at = out.len();
        write_interner(out, &self.addresses);
        let ids_at = out.len();
        write_interner(out, &self.message_ids);
        let ids_end = out.len();
        put_u64(out, self.copies.len() as u64);
        for copy in &self.copies {
            put_u64(out, copy.sent as u64);
            for value in [
                copy.recipients_len,
                copy.sender,
                copy.message_id,
                copy.parent_id,
                copy.fingerprint,
            ] {
                put_u32(out, value);
            }
            out.push(u8::from(copy.automated));
        }
        put_u64(out, self.copy_recipients.len() as u64);
        for id in &self.copy_recipients {
            put_u32(out, *id);
        }
        let fingerprint_slots = compact_table(&self.fingerprint_slots, self.fingerprint_copy.len());
        put_u64(out, fingerprint_slots.len() as u64);
        for slot in fingerprint_slots.iter() {
            put_u64(out, *slot);
        }
        put_u64(out, self.fingerprint_copy.len() as u64);
        for copy in &self.fingerprint_copy {
            put_u32(out, *copy);
        }
        put_u64(out, self.segments.len() as u64);
        for segment in &self.segments {
            put_u64(out, segment.key.len() as u64);
            out.extend_from_slice(segment.key.as_bytes());
            for value in [segment.start, segment.end] {
                put_u32(out, value);
            }
            for value in
                [segment.emails_seen, segment.unparseable, segment.invalid_date, segment.trimmed]
            {
                put_u64(out, value);
            }
        }
        let ids_checksum = checksum(out.get(ids_at..ids_end).unwrap_or_default());
        let rest_checksum = checksum_parts(&[
            out.get(body_at..ids_at).unwrap_or_default(),
            out.get(ids_end..).unwrap_or_default(),
        ]);
        if let Some(slot) = out.get_mut(checksum_at..body_at) {
            let both = [rest_checksum.to_le_bytes(), ids_checksum.to_le_bytes()].concat();
            slot.copy_from_slice(&both);
        }
    }

    /// Reads an image written by [`MailState::save`]. Every length, index and range is checked:
    /// a damaged or foreign file is an error, never a panic or a wrong count.
    pub fn load(bytes: &[u8]) -> Result<MailState, LoadError> {
        let fail = |what: &str| LoadError(what.to_owned());
        if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
            return Err(fail("not a mail state of this version"));
        }
        let mut reader = Reader { bytes, at: MAGIC.len() };
        let rest_checksum = reader.u64()?;
        let ids_checksum = reader.u64()?;
        let body_at = reader.at;
        let addresses = reader.interner()?;
        // The message ids are about half of the image: they are checked and decoded on a second
        // thread while this one checks and decodes the rest.
        let ids_start = reader.at;
        let n_message_ids = reader.skip_interner()?;
        let ids_end = reader.at;
        let ids_bytes = bytes.get(ids_start..ids_end).unwrap_or_default();
        std::thread::scope(|scope| {
            let second = scope.spawn(move || {
                let intact = checksum(ids_bytes) == ids_checksum;
                let message_ids = Reader { bytes: ids_bytes, at: 0 }.interner();
                (intact, message_ids)
            });
            let rest_intact = checksum_parts(&[
                bytes.get(body_at..ids_start).unwrap_or_default(),
                bytes.get(ids_end..).unwrap_or_default(),
            ]) == rest_checksum;
            let rest = Self::load_rest(&mut reader, bytes, addresses, n_message_ids);
            let (ids_intact, message_ids) = second.join().unwrap_or_else(|_| {
                (false, Err(LoadError("the message ids could not be read".into())))
            });
            if !rest_intact || !ids_intact {
                return Err(fail("checksum mismatch"));
            }
            let mut state = rest?;
            state.message_ids = message_ids?;
            if state.message_ids.len() != n_message_ids {
                return Err(fail("the message ids do not add up"));
            }
            Ok(state)
        })
    }

    /// The rest of [`MailState::load`] after the interners: copies, recipients, fingerprints and
    /// segments, checked against `n_message_ids`. The message ids are left empty.
    fn load_rest(
        reader: &mut Reader<'_>,
        bytes: &[u8],
        addresses: Interner,
        n_message_ids: usize,
    ) -> Result<MailState, LoadError> {
        let fail = |what: &str| LoadError(what.to_owned());
        let n_copies = reader.count(COPY_BYTES)?;
        let mut copies = Vec::with_capacity(with_headroom(n_copies));
        let mut recipients_start = 0usize;
        for record in reader.take(n_copies * COPY_BYTES)?.chunks_exact(COPY_BYTES) {
            let u32_at = |at: usize| {
                u32::from_le_bytes(
                    record.get(at..at + 4).and_then(|b| b.try_into().ok()).unwrap_or_default(),
                )
            };
            let sent = i64::from_le_bytes(
                record.get(..8).and_then(|b| b.try_into().ok()).unwrap_or_default(),
            );
            let recipients_len = u32_at(8);
            let sender = u32_at(12);
            let message_id = u32_at(16);
            let parent_id = u32_at(20);
            let fingerprint = u32_at(24);
            let automated = record.get(28).copied().unwrap_or(0) != 0;
            let in_range = |id: u32, n: usize| id == NONE || (id as usize) < n;
            if !in_range(sender, addresses.len())
                || !in_range(message_id, n_message_ids)
                || !in_range(parent_id, n_message_ids)
            {
                return Err(fail("a copy names an unknown id"));
            }
            copies.push(CopyRecord {
                sent,
                recipients_start,
                recipients_len,
                sender,
                message_id,
                parent_id,
                fingerprint,
                automated,
            });
            recipients_start += recipients_len as usize;
        }
        let n_recipients = reader.count(4)?;
        if n_recipients != recipients_start {
            return Err(fail("the recipient lists do not add up"));
        }
        let copy_recipients = reader.u32s(n_recipients)?;
        if copy_recipients.iter().any(|id| *id as usize >= addresses.len()) {
            return Err(fail("a recipient is an unknown address"));
        }
        let n_slots = reader.count(8)?;
        let fingerprint_slots = reader.u64s(n_slots)?;
        let n_fingerprints = reader.count(4)?;
        if !(n_slots == 0 && n_fingerprints == 0
            || n_slots.is_power_of_two() && n_fingerprints * 2 <= n_slots)
        {
            return Err(fail("the fingerprint table is malformed"));
        }
        let fingerprint_copy = reader.u32s(n_fingerprints)?;
        if fingerprint_copy.iter().any(|copy| *copy as usize >= n_copies) {
            return Err(fail("a fingerprint names an unknown copy"));
        }
        if copies
            .iter()
            .any(|copy| copy.fingerprint != NONE && copy.fingerprint as usize >= n_fingerprints)
            || fingerprint_slots
                .iter()
                .any(|slot| *slot != 0 && (*slot as u32).wrapping_sub(1) as usize >= n_fingerprints)
        {
            return Err(fail("a fingerprint id is out of range"));
        }
        let n_segments = reader.count(8)?;
        let mut segments = Vec::with_capacity(n_segments);
        for _ in 0..n_segments {
            let key_len = reader.count(1)?;
            let key = std::str::from_utf8(reader.take(key_len)?)
                .map_err(|_| fail("a segment key is not UTF-8"))?
                .to_owned();
            let start = reader.u32()?;
            let end = reader.u32()?;
            if start > end || end as usize > n_copies {
                return Err(fail("a segment range is out of bounds"));
            }
            segments.push(Segment {
                key,
                start,
                end,
                emails_seen: reader.u64()?,
                unparseable: reader.u64()?,
                invalid_date: reader.u64()?,
                trimmed: reader.u64()?,
            });
        }
        if reader.at != bytes.len() {
            return Err(fail("trailing bytes"));
        }
        Ok(MailState {
            addresses,
            message_ids: Interner::default(),
            copies,
            copy_recipients,
            fingerprint_slots,
            fingerprint_copy,
            segments,
            current: None,
            order: None,
            loaded_copies: Some(n_copies),
            scratch: Vec::new(),
        })
    }

    /// True when the state was read by [`MailState::load`] (and pushed to since, maybe).
    pub fn was_loaded(&self) -> bool {
        self.loaded_copies.is_some()
    }

    /// How far the state is from the one loaded: copies pushed since, and copies of segments
    /// this run leaves out. A caller may keep the image it loaded while this stays small: the
    /// segments of that image still name their files exactly, and the few that changed are
    /// pushed again next time.
    pub fn churn(&self) -> usize {
        let pushed = self.copies.len() - self.loaded_copies.unwrap_or(0).min(self.copies.len());
        let order = self.run_order();
        let unused: usize = self
            .segments
            .iter()
            .enumerate()
            .filter(|(index, _)| !order.contains(&(*index as u32)))
            .map(|(_, segment)| (segment.end - segment.start) as usize)
            .sum();
        pushed + unused
    }

    /// The number of copies held (every segment).
    pub fn n_copies(&self) -> usize {
        self.copies.len()
    }

    /// The number of distinct message ids interned (some may belong to no copy of this run).
    pub fn n_message_ids(&self) -> usize {
        self.message_ids.len()
    }
}

/// The earliest position of the set holding `position` (path halving).
pub(super) fn find(parents: &mut [u32], position: u32) -> u32 {
    let mut current = position;
    loop {
        let Some(parent) = parents.get(current as usize).copied() else { return current };
        if parent == current {
            return current;
        }
        let grandparent = parents.get(parent as usize).copied().unwrap_or(parent);
        if let Some(slot) = parents.get_mut(current as usize) {
            *slot = grandparent;
        }
        current = grandparent;
    }
}

/// Joins two sets; the earlier position stays the root.
fn union(parents: &mut [u32], left: u32, right: u32) {
    let left = find(parents, left);
    let right = find(parents, right);
    let (root, child) = if left < right { (left, right) } else { (right, left) };
    if root != child
        && let Some(slot) = parents.get_mut(child as usize)
    {
        *slot = root;
    }
}

fn fingerprint_hash(sender: u32, sent: i64, recipients: &[u32]) -> u32 {
    let mut hasher = FxHasher::default();
    hasher.write_u32(sender);
    hasher.write_i64(sent);
    for id in recipients {
        hasher.write_u32(*id);
    }
    hasher.write_usize(recipients.len());
    hasher.finish() as u32
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn write_interner(out: &mut Vec<u8>, interner: &Interner) {
    let (arena, lengths, slots) = interner.parts();
    put_u64(out, arena.len() as u64);
    out.extend_from_slice(arena.as_bytes());
    put_u64(out, interner.len() as u64);
    for length in lengths {
        put_u32(out, length);
    }
    let slots = compact_table(slots, interner.len());
    put_u64(out, slots.len() as u64);
    for slot in slots.iter() {
        put_u64(out, *slot);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Result<&'a [u8], LoadError> {
        let end = self.at.checked_add(length).ok_or_else(|| LoadError("length overflow".into()))?;
        let taken = self.bytes.get(self.at..end).ok_or_else(|| LoadError("truncated".into()))?;
        self.at = end;
        Ok(taken)
    }

    fn u32(&mut self) -> Result<u32, LoadError> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes(bytes.try_into().map_err(|_| LoadError("truncated".into()))?))
    }

    fn u64(&mut self) -> Result<u64, LoadError> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(bytes.try_into().map_err(|_| LoadError("truncated".into()))?))
    }

    /// `count` little-endian `u32`s.
    fn u32s(&mut self, count: usize) -> Result<Vec<u32>, LoadError> {
        let bytes =
            self.take(count.checked_mul(4).ok_or_else(|| LoadError("count overflow".into()))?)?;
        let mut values = Vec::with_capacity(with_headroom(count));
        values.extend(
            bytes
                .chunks_exact(4)
                .map(|chunk| u32::from_le_bytes(chunk.try_into().unwrap_or_default())),
        );
        Ok(values)
    }

    /// `count` little-endian `u64`s.
    fn u64s(&mut self, count: usize) -> Result<Vec<u64>, LoadError> {
        let bytes =
            self.take(count.checked_mul(8).ok_or_else(|| LoadError("count overflow".into()))?)?;
        Ok(bytes
            .chunks_exact(8)
            .map(|chunk| u64::from_le_bytes(chunk.try_into().unwrap_or_default()))
            .collect())
    }

    /// A count of items of at least `item_bytes` each, checked against the bytes left.
    fn count(&mut self, item_bytes: usize) -> Result<usize, LoadError> {
        let count = usize::try_from(self.u64()?).map_err(|_| LoadError("count overflow".into()))?;
        if count.saturating_mul(item_bytes) > self.bytes.len().saturating_sub(self.at) {
            return Err(LoadError("a count runs past the end".into()));
        }
        Ok(count)
    }

    /// Steps over an interner; returns its number of strings.
    fn skip_interner(&mut self) -> Result<usize, LoadError> {
        let arena_len = self.count(1)?;
        self.take(arena_len)?;
        let n_strings = self.count(4)?;
        self.take(n_strings * 4)?;
        let n_slots = self.count(8)?;
        self.take(n_slots * 8)?;
        Ok(n_strings)
    }

    fn interner(&mut self) -> Result<Interner, LoadError> {
        let arena_len = self.count(1)?;
        let arena = std::str::from_utf8(self.take(arena_len)?)
            .map_err(|_| LoadError("interned text is not UTF-8".into()))?;
        let mut arena_text = String::with_capacity(with_headroom(arena_len));
        arena_text.push_str(arena);
        let n_strings = self.count(4)?;
        let lengths = self.u32s(n_strings)?;
        let n_slots = self.count(8)?;
        let slots = self.u64s(n_slots)?;
        Interner::from_parts(arena_text, &lengths, slots)
            .ok_or_else(|| LoadError("an interner table is malformed".into()))
    }
}
