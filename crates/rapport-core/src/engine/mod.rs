//! The engine: takes org users, customer data and activity copies, and produces the enriched
//! table, the score explanations and the run summary (metrics.md §2–§6 and §8).
//!
//! Copies are pushed one by one in input order. Each is checked (`unparseable`, `invalid_date`,
//! `outside_window`), then its addresses and ids are interned into `u32` ids at once and it is
//! merged with earlier copies of the same email or meeting (union-find, so merging is transitive).
//! [`Engine::finish`] folds each merged email, applies the participation rules and aggregates
//! per account on integer ids: no strings are kept per copy.

mod aggregate;
pub(crate) mod hash;
mod mail;

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::identity::{AddressClass, Identity};
use crate::model::{Account, Contact, MailRecord, MeetingCopy, OrgUser, SkipCounts, SkipReason};
use crate::period::{self, Level, Periods, Window};
use crate::score::{Decimal, Weights};
use hash::{FxHashMap, Interner};
pub use mail::{LoadError, MailState};

/// The fewest org users an enrichment accepts (§1).
pub const MIN_USERS: usize = 2;
/// The most org users an enrichment accepts (§1).
pub const MAX_USERS: usize = 2_500;

/// How one enrichment runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The as-of instant `T` in unix seconds (UTC).
    pub as_of: i64,
    /// Match outside addresses to accounts by their web domains (§2 rule 3).
    pub match_domains: bool,
    /// Domains (or `prefix.*` patterns) added to the public mail providers.
    pub extra_public_domains: Vec<String>,
    /// The score weights.
    pub weights: Weights,
    /// The time zone periods and dates are bucketed in; `None` = UTC.
    pub zone: Option<Tz>,
}

/// A configuration the engine refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The number of distinct org users is outside 2–2,500.
    UserCount(usize),
    /// The weights are invalid; the text says why.
    Weights(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UserCount(count) => write!(
                formatter,
                "{count} org users resolved: between {MIN_USERS} and {MAX_USERS} are needed"
            ),
            ConfigError::Weights(reason) => write!(formatter, "invalid weights: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A two-decimal value of the table (`AverageDuration_*`), rounded half up from the exact mean.
pub type Decimal2 = Decimal;

/// One row of the enriched table (§4), fields in column order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// `AccountId`.
    pub account_id: String,
    /// `EngagementScore`, 0–100.
    pub engagement_score: u8,
    /// `NoOfEmails_ToAccount`.
    pub n_emails_to_account: u64,
    /// `NoOfEmails_FromAccount`.
    pub n_emails_from_account: u64,
    /// `NoOfMeetings_FromAccount`.
    pub n_meetings_from_account: u64,
    /// `NoOfMeetings_ToAccount`.
    pub n_meetings_to_account: u64,
    /// `NoOfContactsInvolved_Meetings`: distinct org people in meetings with the account.
    pub n_org_people_meetings: u64,
    /// `NoOfContactsInvolved_Emails`: distinct org people in emails with the account.
    pub n_org_people_emails: u64,
    /// `NoOfAccountContactsInvolved_Meetings`: distinct account people in meetings.
    pub n_account_people_meetings: u64,
    /// `NoOfAccountContactsInvolved_Emails`: distinct account people in emails.
    pub n_account_people_emails: u64,
    /// `EngagementStartDate`: date of the account's first counted activity in the window.
    pub engagement_start_date: NaiveDate,
    /// `DaysSinceLastEmail`: whole days from the latest counted email before `Rf` to `Rf`.
    pub days_since_last_email: Option<i64>,
    /// `DaysSinceLastMeeting`: likewise for meeting starts.
    pub days_since_last_meeting: Option<i64>,
    /// `AverageDuration_Of_Meetings` in minutes.
    pub average_meeting_minutes: Option<Decimal2>,
    /// `AverageDuration_Of_AccountEmailReplies` in hours.
    pub average_reply_hours: Option<Decimal2>,
    /// `AggregationStartDate`.
    pub aggregation_start_date: NaiveDate,
    /// `AggregationLevel`.
    pub level: Level,
}

/// One feature's part in a score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureScore {
    /// The feature name (one of [`Weights::FEATURES`]).
    pub feature: &'static str,
    /// The feature's value for the row (recency is negative: minus the days since).
    pub value: i64,
    /// The feature's weight.
    pub weight: Decimal,
    /// Rows of the same (level, period) with a strictly smaller value.
    pub accounts_beaten: u64,
    /// `N − 1`: the other rows of the same (level, period).
    pub accounts_compared: u64,
    /// `accounts_beaten / accounts_compared`, half-up to 4 decimals; 1 when `N = 1`.
    pub share_beaten: Decimal,
}

/// How one row's score came about; `Enrichment::explanations[i]` explains `Enrichment::rows[i]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The row's account.
    pub account_id: String,
    /// The row's level.
    pub level: Level,
    /// The row's `AggregationStartDate`.
    pub aggregation_start_date: NaiveDate,
    /// The row's score.
    pub engagement_score: u8,
    /// One entry per feature, in [`Weights::FEATURES`] order.
    pub features: [FeatureScore; 5],
}

/// The run summary (§6, §8 Summary). It names nobody.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Accounts with a Year row.
    pub accounts_enriched: u64,
    /// Distinct account ids of the accounts and contacts.
    pub accounts_total: u64,
    /// Distinct org users.
    pub users_selected: u64,
    /// Org users who take part in a processed email or meeting.
    pub users_processed: u64,
    /// Distinct emails in the window with an org participant (automated ones included).
    pub emails_processed: u64,
    /// Distinct meetings in the window with an org participant.
    pub meetings_processed: u64,
    /// Distinct emails counted for at least one account.
    pub emails_counted: u64,
    /// Distinct meetings counted for at least one account.
    pub meetings_counted: u64,
    /// Whole days from the earliest processed activity to `T`; 0 when nothing was processed.
    pub days_covered: u64,
    /// The date of `W`.
    pub window_start: NaiveDate,
    /// The date of `T`.
    pub window_end: NaiveDate,
    /// Skips by reason: mail, calendars and ambiguous contacts together.
    pub skipped: SkipCounts,
    /// Files that were neither mail nor calendars; set by the caller that walked the sources.
    pub files_ignored: u64,
    /// Mail records pushed (every copy read).
    pub emails_seen: u64,
    /// The mail part of `skipped`.
    pub skipped_emails: SkipCounts,
    /// The calendar part of `skipped`.
    pub skipped_meetings: SkipCounts,
}

/// What one row's score was made of (§5): its feature values and how they compare with the
/// other rows of its (level, period). The rest of its explanation follows from these, the row
/// and the weights ([`explain`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowScore {
    /// The feature values, in [`Weights::FEATURES`] order (recency is minus the days since).
    pub values: [i64; 5],
    /// Per feature, the other rows of the group with a strictly smaller value.
    pub beaten: [u64; 5],
    /// `N − 1`: the other rows of the group.
    pub compared: u64,
}

/// What an enrichment produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrichment {
    /// The enriched table, sorted by AccountId (code point), level, AggregationStartDate.
    pub rows: Vec<Row>,
    /// What each row's score was made of, in the same order.
    pub scores: Vec<RowScore>,
    /// The weights the scores were computed with.
    pub weights: Weights,
    /// The resolved org users, sorted by email (the `_UserEntity` table).
    pub users: Vec<OrgUser>,
    /// The run summary.
    pub summary: Summary,
}

impl Enrichment {
    /// One explanation per row, in the same order (made on demand: a stored run keeps the
    /// compact [`RowScore`]s).
    pub fn explanations(&self) -> Vec<Explanation> {
        explain(&self.rows, &self.scores, &self.weights)
    }
}

/// The explanation of each row from its [`RowScore`] and the weights; `rows` and `scores` pair
/// up in order (the shorter one ends the list).
pub fn explain(rows: &[Row], scores: &[RowScore], weights: &Weights) -> Vec<Explanation> {
    rows.iter()
        .zip(scores)
        .map(|(row, score)| {
            let scored = crate::score::Scored {
                score: row.engagement_score,
                beaten: score.beaten,
                compared: score.compared,
            };
            Explanation {
                account_id: row.account_id.clone(),
                level: row.level,
                aggregation_start_date: row.aggregation_start_date,
                engagement_score: row.engagement_score,
                features: std::array::from_fn(|index| FeatureScore {
                    feature: Weights::FEATURES.get(index).copied().unwrap_or_default(),
                    value: score.values.get(index).copied().unwrap_or(0),
                    weight: weights.get(index),
                    accounts_beaten: score.beaten.get(index).copied().unwrap_or(0),
                    accounts_compared: score.compared,
                    share_beaten: scored.share_beaten(index),
                }),
            }
        })
        .collect()
}

/// No id: an absent sender, message id, parent id or organizer.
const NONE: u32 = u32::MAX;
/// `address_class` value of an org user.
const CLASS_ORG: u32 = u32::MAX;
/// `address_class` value of an address that belongs to no account.
const CLASS_OUTSIDE: u32 = u32::MAX - 1;

/// One in-window email copy, on interned ids.
#[derive(Clone, Copy, Debug)]
struct CopyRecord {
    sent: i64,
    /// Start of this copy's recipient set (sorted, distinct) in `copy_recipients`.
    recipients_start: usize,
    recipients_len: u32,
    sender: u32,
    message_id: u32,
    parent_id: u32,
    /// The interned (sender, sent, recipient set), `NONE` without a sender.
    fingerprint: u32,
    automated: bool,
}

/// One meeting after merging by key.
#[derive(Clone, Debug)]
struct MeetingRecord {
    start: i64,
    end: i64,
    organizer: u32,
    /// Sorted, distinct participant ids (the organizer too when listed as an attendee).
    participants: Vec<u32>,
}

/// The enrichment engine; see the module documentation.
#[derive(Debug)]
pub struct Engine {
    options: Options,
    window: Window,
    identity: Identity,
    users: Vec<OrgUser>,
    /// Every dated email copy pushed, on interned ids (addresses shared with the calendars).
    mail: MailState,
    meetings: Vec<MeetingRecord>,
    uids: Interner,
    meeting_by_key: FxHashMap<(u32, i64), u32>,
    skipped_meetings: SkipCounts,
    /// Org users whose mailbox a connector read successfully (§6: processed).
    users_read: Vec<String>,
}

impl Engine {
    /// Makes room for about `n_emails` more email copies at once, so that the tables do not grow
    /// by doubling (each step copies them into fresh pages). A guess is fine: it changes memory,
    /// not results.
    pub fn reserve_emails(&mut self, n_emails: usize) {
        self.mail.reserve(n_emails);
    }

    /// Sets up an enrichment. `users` are normalized and may repeat (the first non-empty
    /// directory id of an address wins); there must be 2–2,500 distinct ones.
    pub fn new(
        users: Vec<OrgUser>,
        accounts: Vec<Account>,
        contacts: Vec<Contact>,
        options: Options,
    ) -> Result<Engine, ConfigError> {
        options.weights.validate().map_err(ConfigError::Weights)?;
        let mut resolved: Vec<OrgUser> = Vec::new();
        let mut position_by_email: HashMap<String, usize> = HashMap::new();
        for user in users {
            if user.email.is_empty() {
                continue;
            }
            let directory_id =
                user.directory_id.map(|id| id.trim().to_string()).filter(|id| !id.is_empty());
            match position_by_email.get(&user.email) {
                Some(position) => {
                    if let Some(known) = resolved.get_mut(*position)
                        && known.directory_id.is_none()
                    {
                        known.directory_id = directory_id;
                    }
                }
                None => {
                    position_by_email.insert(user.email.clone(), resolved.len());
                    resolved.push(OrgUser { email: user.email, directory_id });
                }
            }
        }
        if !(MIN_USERS..=MAX_USERS).contains(&resolved.len()) {
            return Err(ConfigError::UserCount(resolved.len()));
        }
        let identity = Identity::new(
            resolved.iter().map(|user| user.email.as_str()),
            &accounts,
            &contacts,
            options.match_domains,
            &options.extra_public_domains,
        );
        resolved.sort_unstable_by(|left, right| left.email.cmp(&right.email));
        Ok(Engine {
            window: period::window(options.as_of),
            options,
            identity,
            users: resolved,
            mail: MailState::default(),
            meetings: Vec::new(),
            uids: Interner::default(),
            meeting_by_key: FxHashMap::default(),
            skipped_meetings: SkipCounts::default(),
            users_read: Vec::new(),
        })
    }

    /// Starts with a mail state kept from an earlier run (see [`MailState::load`]) instead of an
    /// empty one: its segments need not be pushed again. Only before anything is pushed.
    pub fn restore_mail(&mut self, mail: MailState) {
        self.mail = mail;
    }

    /// Starts the mail segment `key` (a source file and its stamp, say): the mail records pushed
    /// next belong to it. A segment of the same key held already is replaced.
    pub fn begin_mail_segment(&mut self, key: &str) {
        self.mail.begin_segment(key);
    }

    /// Records org users whose mailbox a connector (Microsoft Graph) read successfully: they
    /// count as processed users (§6) even without a processed email or meeting. Addresses that
    /// are not org users are ignored.
    pub fn mark_mailboxes_read(&mut self, addresses: impl IntoIterator<Item = String>) {
        self.users_read.extend(addresses);
    }

    /// Counts `n` mail copies of the current segment that its source's kept records no longer
    /// hold because they were sent before an earlier window (a trimmed ledger row): they are
    /// seen and `outside_window`, as a full read would count them.
    pub fn count_trimmed_mail(&mut self, n: u64) {
        self.mail.count_trimmed(n);
    }

    /// True when the mail segment `key` is held (pushed, or restored from an earlier run).
    pub fn has_mail_segment(&self, key: &str) -> bool {
        self.mail.has_segment(key)
    }

    /// Sets which mail segments this run counts, in input order (a key may repeat, as a file
    /// named twice is read twice). Without it, every segment counts in the order it was made.
    /// Fails with a key that no segment has.
    pub fn set_mail_order(&mut self, keys: &[&str]) -> Result<(), String> {
        self.mail.set_order(keys)
    }

    /// The window `[W, T)`.
    pub fn window(&self) -> Window {
        self.window
    }

    /// Takes one mail record, in input order (each copy of each message, as read). The window
    /// and every counting rule are applied by [`Engine::finish`].
    pub fn push_mail(&mut self, record: MailRecord) {
        self.mail.push(record);
    }

    /// Takes the meeting occurrence copies of the calendars (already versioned and expanded,
    /// starting inside the window, in input order) and the calendar-level skips.
    ///
    /// Per copy: `not_a_meeting` (cancelled, all-day, 24 h or longer, or nobody but the
    /// organizer), then the merge by key (`duplicate`): the first copy's start, end and status
    /// win, the organizer is the first one present and the participants are the union.
    /// Copies starting outside the window break the calendar contract and are dropped uncounted;
    /// a copy that ends before it starts is `invalid_date`.
    pub fn push_meetings(&mut self, copies: Vec<MeetingCopy>, calendar_skips: SkipCounts) {
        self.skipped_meetings.merge(&calendar_skips);
        for copy in copies {
            if !self.window.contains(copy.start) {
                continue;
            }
            if copy.end < copy.start {
                self.skipped_meetings.add(SkipReason::InvalidDate);
                continue;
            }
            let alone = copy
                .participants
                .iter()
                .all(|participant| Some(participant) == copy.organizer.as_ref());
            let too_long = copy.end.saturating_sub(copy.start) >= period::SECONDS_PER_DAY;
            if copy.cancelled || copy.all_day || too_long || alone {
                self.skipped_meetings.add(SkipReason::NotAMeeting);
                continue;
            }
            let addresses = &mut self.mail.addresses;
            let organizer =
                copy.organizer.as_deref().map_or(NONE, |organizer| addresses.intern(organizer));
            let mut participants: Vec<u32> =
                copy.participants.iter().map(|participant| addresses.intern(participant)).collect();
            participants.sort_unstable();
            participants.dedup();
            if let Some((uid, key_instant)) = copy.key {
                let uid = self.uids.intern(&uid);
                let next_index = self.meetings.len() as u32;
                let index = *self.meeting_by_key.entry((uid, key_instant)).or_insert(next_index);
                if index != next_index {
                    self.skipped_meetings.add(SkipReason::Duplicate);
                    if let Some(meeting) = self.meetings.get_mut(index as usize) {
                        if meeting.organizer == NONE {
                            meeting.organizer = organizer;
                        }
                        meeting.participants.extend_from_slice(&participants);
                        meeting.participants.sort_unstable();
                        meeting.participants.dedup();
                    }
                    continue;
                }
            }
            self.meetings.push(MeetingRecord {
                start: copy.start,
                end: copy.end,
                organizer,
                participants,
            });
        }
    }

    /// Merges, classifies, aggregates and scores everything pushed.
    pub fn finish(self) -> Enrichment {
        aggregate::finish(self).0
    }

    /// [`Engine::finish`], handing back the mail state too, to be saved for the next run.
    pub fn finish_keeping_mail(self) -> (Enrichment, MailState) {
        aggregate::finish(self)
    }
}

#[cfg(test)]
mod tests;
