//! Erased addresses: the pseudonyms of people removed with `rapport erase --address A` (issue 3,
//! "Privacy in the store"), and how a record, a meeting or a whole ledger BLOB loses them.
//!
//! Erasing drops the address from an email's recipients and clears the sender where it is the
//! sender, so the email counts for no account through that person; a meeting loses the address
//! from its participants and organizer the same way. The records themselves stay (an email with
//! other participants is still an email of theirs, and the summary's counts of what was seen stay
//! those of the files). The same rule is applied to the ledger once, by the erase command, and to
//! every file read again later, before its records are encoded.

use std::collections::HashSet;

use memchr::memmem;
use rapport_core::calendar::{CalendarFile, EventComponent};
use rapport_core::model::{EmailCopy, MailRecord, MeetingCopy};

use crate::ledger::{self, DecodeError};

/// What erasing one address from every ledger changed (see `Store::erase_address`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Erasure {
    /// The enrichments whose ledger held the address, in id order.
    pub enrichments: Vec<crate::EnrichmentId>,
    /// The ledger rows (source files) that held it.
    pub n_files: u64,
    /// The kept Microsoft Graph items (messages and meeting occurrences) that held it.
    pub n_graph_items: u64,
    /// True when the write-ahead log was checkpointed and emptied afterwards, so the old pages
    /// are gone from it too; false when a reader kept it (they go at a later checkpoint).
    pub checkpointed: bool,
}

/// A set of erased address pseudonyms (made with one installation key).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErasedAddresses {
    pseudonyms: HashSet<String>,
}

impl ErasedAddresses {
    /// The set of `pseudonyms`.
    pub fn new(pseudonyms: impl IntoIterator<Item = String>) -> ErasedAddresses {
        ErasedAddresses { pseudonyms: pseudonyms.into_iter().collect() }
    }

    /// True when nothing was erased: every filter is then a no-op, and callers may skip it.
    pub fn is_empty(&self) -> bool {
        self.pseudonyms.is_empty()
    }

    /// The number of erased addresses.
    pub fn len(&self) -> usize {
        self.pseudonyms.len()
    }

    /// True when `pseudonym` was erased.
    pub fn contains(&self, pseudonym: &str) -> bool {
        self.pseudonyms.contains(pseudonym)
    }

    /// The erased pseudonyms, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.pseudonyms.iter().map(String::as_str)
    }

    /// Removes erased addresses from an email copy: from its recipients, and its sender when the
    /// sender is erased. True when the copy changed.
    pub fn email_copy(&self, copy: &mut EmailCopy) -> bool {
        self.people(&mut copy.sender, &mut copy.recipients)
    }

    /// [`ErasedAddresses::email_copy`] for a mail record (an unparseable marker never changes).
    pub fn mail_record(&self, record: &mut MailRecord) -> bool {
        match record {
            MailRecord::Email(copy) => self.email_copy(copy),
            MailRecord::Unparseable => false,
        }
    }

    /// Removes erased addresses from a meeting copy: from its participants, and its organizer
    /// when the organizer is erased. True when the copy changed.
    pub fn meeting_copy(&self, copy: &mut MeetingCopy) -> bool {
        self.people(&mut copy.organizer, &mut copy.participants)
    }

    /// Removes erased addresses from every event of a calendar: from its participants, and its
    /// organizer when the organizer is erased, as [`ErasedAddresses::meeting_copy`] does to the
    /// occurrences. True when the calendar changed.
    pub fn calendar_file(&self, file: &mut CalendarFile) -> bool {
        if self.is_empty() {
            return false;
        }
        let mut changed = false;
        for group in &mut file.groups {
            for component in &mut group.components {
                let EventComponent::Event(event) = component else { continue };
                changed |= self.people(&mut event.organizer, &mut event.participants);
            }
        }
        changed
    }

    /// Drops the erased addresses from `people` and clears `lead` (a sender or an organizer)
    /// when it is erased. True when either changed.
    fn people(&self, lead: &mut Option<String>, people: &mut Vec<String>) -> bool {
        if self.is_empty() {
            return false;
        }
        let mut changed = false;
        if lead.as_deref().is_some_and(|address| self.contains(address)) {
            *lead = None;
            changed = true;
        }
        let n_people = people.len();
        people.retain(|address| !self.contains(address));
        changed | (people.len() != n_people)
    }

    /// A ledger BLOB without the erased addresses, or `None` when nothing in it changed: a mail
    /// BLOB segment by segment (a segment stays a segment, so the BLOB keeps its shape; the
    /// number of records never changes), a calendar BLOB (`ledger::calendar`) decoded and
    /// encoded again.
    pub fn blob(&self, blob: &[u8]) -> Result<Option<Vec<u8>>, DecodeError> {
        // A segment keeps each address once, as plain bytes: a BLOB without the bytes of any
        // erased pseudonym holds none of them, and is not decoded at all.
        if !self
            .pseudonyms
            .iter()
            .any(|pseudonym| memmem::find(blob, pseudonym.as_bytes()).is_some())
        {
            return Ok(None);
        }
        if ledger::calendar::is_calendar_blob(blob) {
            let mut file = ledger::calendar::decode(blob)?;
            return Ok(self.calendar_file(&mut file).then(|| ledger::calendar::encode(&file)));
        }
        let mut rewritten = ledger::new_blob();
        let mut changed = false;
        for segment in ledger::segments(blob)? {
            let mut records = segment?;
            for record in &mut records {
                changed |= self.mail_record(record);
            }
            ledger::encode_segment(&records, &mut rewritten);
        }
        Ok(changed.then_some(rewritten))
    }
}

#[cfg(test)]
mod tests;
