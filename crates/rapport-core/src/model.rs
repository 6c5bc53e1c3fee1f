//! The activity model: what connectors produce and the engine consumes.
//!
//! These types are the contract between `rapport-ingest` (and later the Graph connector and the store)
//! and the engine. They hold metadata only: participants, instants, ids and flags. Nothing here can
//! carry a subject, a body or a display name.

/// An instant as whole seconds since 1970-01-01T00:00:00Z.
pub type UnixSeconds = i64;

/// Why an input was not counted, in the order of metrics.md §6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The input could not be read as a message or calendar event.
    Unparseable,
    /// No usable sent time or start.
    InvalidDate,
    /// The activity lies outside the window `[W, T)`.
    OutsideWindow,
    /// No org user takes part.
    NoOrgParticipant,
    /// Automated or bulk mail, or calendar traffic sent as mail: processed, never counted.
    Automated,
    /// A copy of an email or meeting already seen, or a calendar version that lost.
    Duplicate,
    /// A contact address listed under two or more accounts.
    AmbiguousContact,
    /// A calendar occurrence that is not a meeting (cancelled, all-day, 24 h or longer, alone).
    NotAMeeting,
}

impl SkipReason {
    /// Every reason, in the order the summary lists them.
    pub const ALL: [SkipReason; 8] = [
        SkipReason::Unparseable,
        SkipReason::InvalidDate,
        SkipReason::OutsideWindow,
        SkipReason::NoOrgParticipant,
        SkipReason::Automated,
        SkipReason::Duplicate,
        SkipReason::AmbiguousContact,
        SkipReason::NotAMeeting,
    ];

    /// The key used in `summary.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Unparseable => "unparseable",
            SkipReason::InvalidDate => "invalid_date",
            SkipReason::OutsideWindow => "outside_window",
            SkipReason::NoOrgParticipant => "no_org_participant",
            SkipReason::Automated => "automated",
            SkipReason::Duplicate => "duplicate",
            SkipReason::AmbiguousContact => "ambiguous_contact",
            SkipReason::NotAMeeting => "not_a_meeting",
        }
    }
}

/// Counts of skipped inputs per reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkipCounts(pub [u64; 8]);

impl SkipCounts {
    /// Adds one skip of `reason`.
    pub fn add(&mut self, reason: SkipReason) {
        self.0[reason as usize] += 1;
    }

    /// Adds `n` skips of `reason`.
    pub fn add_n(&mut self, reason: SkipReason, n: u64) {
        self.0[reason as usize] += n;
    }

    /// The count for `reason`.
    pub fn get(&self, reason: SkipReason) -> u64 {
        self.0[reason as usize]
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &SkipCounts) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            *mine += theirs;
        }
    }

    /// The sum over all reasons.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// One copy of an email as read from one place (a file, a folder, a mailbox): headers only.
///
/// Addresses are normalized (see `address::normalize`): lowercase, no display name, no brackets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmailCopy {
    /// The Message-ID: the content of its first `<...>`, else the trimmed value; `None` when absent
    /// or empty (`<>` is no id).
    pub message_id: Option<String>,
    /// The sent time: the `Date` header, else the newest `Received:` timestamp; `None` when neither
    /// gives one (the copy is then skipped as `invalid_date`).
    pub sent: Option<UnixSeconds>,
    /// The first valid address of `From`.
    pub sender: Option<String>,
    /// Every valid address of every `To`, `Cc` and `Bcc` field, in header order, without repeats.
    pub recipients: Vec<String>,
    /// The id this message replies to: the first `In-Reply-To` id, else the last `References` id.
    pub parent_id: Option<String>,
    /// True when a header marks the message as automated or bulk mail (`Auto-Submitted` other
    /// than `no`, `Precedence: bulk|list|junk`, `List-Id`, `List-Unsubscribe`) or as calendar
    /// traffic (`Content-Type: text/calendar` at the top level, `Content-Class:
    /// urn:content-classes:calendarmessage`, a Graph `eventMessage`). The engine adds the rule on
    /// the sender's local part itself.
    pub automated: bool,
}

/// What reading one mail message gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailRecord {
    /// A message whose header block holds at least one header field.
    Email(EmailCopy),
    /// A message with no header field at all (metrics.md §8, Header block).
    Unparseable,
}

/// One occurrence copy of a calendar event that starts inside the window, after recurrence
/// expansion and calendar versioning, before the meeting rules are applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingCopy {
    /// The identity key: the UID and the occurrence's RECURRENCE-ID instant in UTC (else its
    /// start). `None` when the event has no UID: such copies never merge.
    pub key: Option<(String, UnixSeconds)>,
    /// Start instant.
    pub start: UnixSeconds,
    /// End instant (`DTEND`, else start + `DURATION`, else start; one day for a date start).
    pub end: UnixSeconds,
    /// The organizer's normalized address.
    pub organizer: Option<String>,
    /// Normalized addresses of the attendees who take part: without those who declined, rooms
    /// and resources, non-participants, attendees inside `VALARM` and attendees without an address.
    pub participants: Vec<String>,
    /// The occurrence is cancelled (its own `STATUS:CANCELLED`, or `METHOD:CANCEL`).
    pub cancelled: bool,
    /// The event is an all-day event (`DTSTART;VALUE=DATE` or `X-MICROSOFT-CDO-ALLDAYEVENT:TRUE`).
    pub all_day: bool,
}

/// An org user as given in the users file or resolved from a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgUser {
    /// Normalized address.
    pub email: String,
    /// Directory (Entra ID) object id or any id the user supplies.
    pub directory_id: Option<String>,
}

/// A contact of the customer data: an address and the account it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// Normalized address.
    pub email: String,
    /// Trimmed account id, compared case-sensitively.
    pub account_id: String,
}

/// A business account of the customer data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Trimmed account id, compared case-sensitively.
    pub account_id: String,
    /// Normalized web domains (lowercase, no scheme, path, port, leading `www.` or `@`).
    pub domains: Vec<String>,
}
