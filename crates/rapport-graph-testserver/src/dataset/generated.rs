//! Datasets generated at any scale, item by item, by pure functions of (seed, mailbox, folder,
//! index): nothing per message or event is stored, so 500 mailboxes × 15,000 messages cost the
//! memory of 500 users.
//!
//! The structure is that of a real organization writing to its customers:
//! - mailbox `m` belongs to org user `m` (`user0042@contoso.example`); customer account `d` owns
//!   `customer0007.example` and its contacts `contact{c}@customer0007.example`;
//! - **Sent Items** of `s` holds `n_sent = N / 2` messages `(s, k)`, by `k % 3`: `0` to a contact
//!   with a colleague (`partner(s, k)`) on Cc, whose Inbox holds a copy with the same
//!   `internetMessageId` (one in 25 of those is an `eventMessage`); `1` to one or two contacts,
//!   who reply; `2` a reply to the contact who wrote Inbox message `(s, k)`;
//! - **Inbox** of `m` holds `N − n_sent` messages `(m, i)`, by `i % 3`: `0` the copy of Sent
//!   Items message `(s, i)` of the colleague `s` whose partner is `m` (the partner function is a
//!   rotation by an amount that depends on `i` only, hence invertible); `1` the contact's reply to
//!   Sent Items message `(m, i)`; `2` a new message from a contact (one in 20 from
//!   `noreply@...`);
//! - replies carry their parent's `conversationIndex` plus 5 bytes and its `conversationId`;
//! - about one root message in 40 lies before the window (so the first round's `$filter` has
//!   something to drop); every other message lies inside it, before `T`;
//! - calendar slot `e` of `m`: even slots are events of `m` (with one or two contacts and the
//!   colleague `partner(m, e)` as attendees), odd slots are the colleague's copy of the event of
//!   slot `e − 1` of the organizer whose partner is `m` (same `iCalUId`). Variants by hash:
//!   cancelled, all-day, longer than 24 hours, organized by the contact, occurrence or exception
//!   of a series, a declined contact, a room.

use std::fmt::Write as _;

use crate::dataset::{
    Attendee, AttendeeType, CustomerAccount, CustomerContact, Dataset, EmailAddress, Event,
    EventType, Group, GroupKind, Member, Message, MessageKind, ResponseType, Store, User,
};
use crate::datetime::{FILETIME_EPOCH_OFFSET, SECONDS_PER_DAY};

/// The organization's domain.
pub(crate) const ORG_DOMAIN: &str = "contoso.example";

/// Contacts per customer domain.
const CONTACTS_PER_DOMAIN: u64 = 8;

/// The shape of a generated dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenSpec {
    /// Org users, each with a mailbox.
    pub mailboxes: usize,
    /// Messages per mailbox, split between Sent Items (half, rounded down) and Inbox.
    pub messages_per_mailbox: usize,
    /// Events per mailbox calendar.
    pub events_per_mailbox: usize,
    /// Customer accounts, one domain each (at least 1 is used).
    pub external_domains: usize,
    /// The seed: equal specs give equal datasets.
    pub seed: u64,
    /// `[W, T)` as unix seconds: messages and events are spread over it.
    pub window: (i64, i64),
}

/// Which generated items a store holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Inbox,
    SentItems,
    Calendar,
}

impl Source {
    /// The letter that marks the source in generated ids.
    fn letter(self) -> char {
        match self {
            Source::Inbox => 'I',
            Source::SentItems => 'S',
            Source::Calendar => 'V',
        }
    }
}

/// The generated items of one store: items `0..count` of `source` in `mailbox`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GeneratedRange {
    pub(crate) mailbox: u64,
    pub(crate) source: Source,
    pub(crate) count: u64,
}

/// The generator's derived constants.
#[derive(Debug)]
pub(crate) struct Generator {
    seed: u64,
    n_mailboxes: u64,
    n_sent: u64,
    n_inbox: u64,
    n_events: u64,
    n_domains: u64,
    window_start: i64,
    /// Root messages are spread over `[W, W + span)`; replies follow within two days.
    span: i64,
    /// Events are spread over this many whole days from `W`.
    event_days: i64,
}

/// What a Sent Items message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SentKind {
    /// To a contact, a colleague on Cc.
    WithColleague,
    /// To one or two contacts (who reply).
    Outbound,
    /// A reply to Inbox message `(s, k)`.
    Reply,
}

/// What an Inbox message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InboxKind {
    /// The copy of Sent Items message `(sender, index)`.
    Copy { sender: u64 },
    /// The contact's reply to Sent Items message `(m, i)`.
    ContactReply,
    /// A new message from a contact (or a noreply sender).
    New,
}

/// Hash tags that keep the hashes of different decisions independent.
mod tag {
    pub(super) const PARTNER: u64 = 1;
    pub(super) const SENT: u64 = 2;
    pub(super) const INBOX: u64 = 3;
    pub(super) const EVENT: u64 = 4;
    pub(super) const EVENT_PARTNER: u64 = 5;
    pub(super) const GUID: u64 = 6;
    pub(super) const BLOCK: u64 = 7;
}

/// SplitMix64's finalizer over the inputs: a well-spread 64-bit hash.
fn mix(seed: u64, tag: u64, a: u64, b: u64) -> u64 {
    let mut z = seed
        ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ a.wrapping_mul(0xBF58_476D_1CE4_E5B9)
        ^ b.wrapping_mul(0x94D0_49BB_1331_11EB);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Builds the dataset of `spec`: users, groups, customer data and empty-handed stores whose
/// items are generated on demand.
pub(crate) fn build(spec: &GenSpec) -> Dataset {
    let generator = Generator::new(spec);
    let mut dataset = Dataset::empty();
    for mailbox in 0..generator.n_mailboxes {
        let mut address = String::new();
        push_org_address(&mut address, mailbox);
        // Ids are unique by construction, so adding cannot fail.
        let _ = dataset.add_user(User {
            id: user_id(mailbox),
            user_principal_name: address.clone(),
            mail: Some(address),
            display_name: format!("User {mailbox:04}"),
            has_mailbox: true,
        });
    }
    for (index, mailbox) in dataset.mailboxes.iter_mut().enumerate() {
        let index = index as u64;
        for folder in &mut mailbox.folders {
            let (source, count) = match folder.well_known {
                Some("inbox") => (Source::Inbox, generator.n_inbox),
                Some("sentitems") => (Source::SentItems, generator.n_sent),
                _ => continue,
            };
            folder.messages = Store::generated(GeneratedRange { mailbox: index, source, count });
        }
        mailbox.calendar = Store::generated(GeneratedRange {
            mailbox: index,
            source: Source::Calendar,
            count: generator.n_events,
        });
    }
    let half = generator.n_mailboxes / 2;
    let _ = dataset.add_group(Group {
        id: "10000000-0000-4000-8000-000000000002".into(),
        display_name: "Engineering".into(),
        mail: None,
        kind: GroupKind::Security,
        members: (half..generator.n_mailboxes).map(|m| Member::User(user_id(m))).collect(),
    });
    let mut all_staff: Vec<Member> = (0..half).map(|m| Member::User(user_id(m))).collect();
    all_staff.push(Member::Group("10000000-0000-4000-8000-000000000002".into()));
    let _ = dataset.add_group(Group {
        id: "10000000-0000-4000-8000-000000000001".into(),
        display_name: "All Staff".into(),
        mail: Some(format!("allstaff@{ORG_DOMAIN}")),
        kind: GroupKind::Unified,
        members: all_staff,
    });
    for domain in 0..generator.n_domains {
        dataset.add_account(CustomerAccount {
            account_id: format!("ACC-{domain:04}"),
            name: format!("Customer {domain:04}"),
            domains: vec![format!("customer{domain:04}.example")],
        });
        for contact in 0..CONTACTS_PER_DOMAIN {
            let mut address = EmailAddress::default();
            push_contact(&mut address, domain, contact);
            dataset.add_contact(CustomerContact {
                email: address.address,
                account_id: format!("ACC-{domain:04}"),
                name: address.name,
            });
        }
    }
    dataset.generator = Some(std::sync::Arc::new(generator));
    dataset
}

/// The object id of org user `mailbox`.
fn user_id(mailbox: u64) -> String {
    format!("00000000-0000-4000-8000-{:012x}", mailbox + 1)
}

fn push_org_address(out: &mut String, mailbox: u64) {
    let _ = write!(out, "user{mailbox:04}@{ORG_DOMAIN}");
}

fn push_org_user(out: &mut EmailAddress, mailbox: u64) {
    out.name.clear();
    let _ = write!(out.name, "User {mailbox:04}");
    out.address.clear();
    push_org_address(&mut out.address, mailbox);
}

fn push_contact(out: &mut EmailAddress, domain: u64, contact: u64) {
    out.name.clear();
    let _ = write!(out.name, "Contact {contact} Customer {domain:04}");
    out.address.clear();
    let _ = write!(out.address, "contact{contact}@customer{domain:04}.example");
}

fn push_noreply(out: &mut EmailAddress, domain: u64) {
    out.name.clear();
    let _ = write!(out.name, "Customer {domain:04} Notifications");
    out.address.clear();
    let _ = write!(out.address, "noreply@customer{domain:04}.example");
}

/// Makes `list` hold one address, filled by `fill` (the kept entry's buffers are reused).
fn only_address(list: &mut Vec<EmailAddress>, fill: impl FnOnce(&mut EmailAddress)) {
    list.resize_with(1, EmailAddress::default);
    if let Some(first) = list.first_mut() {
        fill(first);
    }
}

fn address_slot(slot: &mut Option<EmailAddress>) -> &mut EmailAddress {
    slot.get_or_insert_with(EmailAddress::default)
}

/// The addressing of a message from outside to `mailbox`: sent by its `from`, to the mailbox
/// owner alone.
fn address_to_mailbox(out: &mut Message, mailbox: u64) {
    out.sender.clone_from(&out.from);
    only_address(&mut out.to, |first| push_org_user(first, mailbox));
    out.cc.clear();
    out.bcc.clear();
    out.kind = MessageKind::Message;
}

/// The id of generated message `index` of `range`.
fn push_message_id(out: &mut String, range: &GeneratedRange, index: u64) {
    out.clear();
    let _ = write!(out, "AAMkAG{:06x}{}{index:08x}AAA=", range.mailbox, range.source.letter());
}

/// The generated index named by a message id of `range`, if it names one.
pub(crate) fn message_index(range: &GeneratedRange, id: &str) -> Option<u64> {
    parse_generated_id(range, id, "AAMkAG")
}

/// The generated index named by an event id of `range`, if it names one.
pub(crate) fn event_index(range: &GeneratedRange, id: &str) -> Option<u64> {
    parse_generated_id(range, id, "AAMkAE")
}

fn parse_generated_id(range: &GeneratedRange, id: &str, prefix: &str) -> Option<u64> {
    let rest = id.strip_prefix(prefix)?.strip_suffix("AAA=")?;
    let mailbox = u64::from_str_radix(rest.get(0..6)?, 16).ok()?;
    let letter = rest.get(6..7)?;
    let index = u64::from_str_radix(rest.get(7..)?, 16).ok()?;
    let mut letter_buffer = [0_u8; 4];
    let expected_letter = range.source.letter().encode_utf8(&mut letter_buffer);
    (mailbox == range.mailbox && letter == expected_letter && rest.len() == 15).then_some(index)
}

impl Generator {
    fn new(spec: &GenSpec) -> Generator {
        let (window_start, window_end) = spec.window;
        let length = (window_end - window_start).max(SECONDS_PER_DAY);
        let messages = spec.messages_per_mailbox as u64;
        Generator {
            seed: spec.seed,
            n_mailboxes: spec.mailboxes as u64,
            n_sent: messages / 2,
            n_inbox: messages - messages / 2,
            n_events: spec.events_per_mailbox as u64,
            n_domains: (spec.external_domains as u64).max(1),
            window_start,
            span: (length - 3 * SECONDS_PER_DAY).max(3600),
            event_days: (length / SECONDS_PER_DAY - 2).max(1),
        }
    }

    fn hash(&self, tag: u64, a: u64, b: u64) -> u64 {
        mix(self.seed, tag, a, b)
    }

    /// The colleague on Cc of Sent Items message `(s, k)`: a rotation of `s` by an amount that
    /// depends on `k` only. `None` with fewer than two mailboxes.
    fn partner(&self, tag: u64, sender: u64, index: u64) -> Option<u64> {
        let others = self.n_mailboxes.checked_sub(1).filter(|&others| others > 0)?;
        Some((sender + 1 + self.hash(tag, index, 0) % others) % self.n_mailboxes)
    }

    /// The sender whose partner for `index` is `mailbox` (the inverse of `partner`).
    fn partner_inverse(&self, tag: u64, mailbox: u64, index: u64) -> Option<u64> {
        let others = self.n_mailboxes.checked_sub(1).filter(|&others| others > 0)?;
        let shift = self.hash(tag, index, 0) % others;
        Some((mailbox + self.n_mailboxes - 1 - shift) % self.n_mailboxes)
    }

    fn domain(&self, hash: u64) -> u64 {
        hash % self.n_domains
    }

    /// A time spread over the roots' span by `position / count`, with up to an hour of jitter;
    /// one in 40 lies 1 to 60 days before the window.
    fn spread_time(&self, position: u64, count: u64, hash: u64) -> i64 {
        if hash % 40 == 7 {
            return self.window_start - (1 + (hash >> 8) as i64 % 60) * SECONDS_PER_DAY
                + (hash >> 20) as i64 % 3600;
        }
        let offset =
            (i128::from(position) * i128::from(self.span) / i128::from(count.max(1))) as i64;
        self.window_start + offset + (hash >> 20) as i64 % 3600
    }

    fn reply_delay(hash: u64) -> i64 {
        1800 + (hash >> 32) as i64 % (2 * SECONDS_PER_DAY - 1800)
    }

    fn inbox_kind(&self, mailbox: u64, index: u64) -> InboxKind {
        if index < self.n_sent {
            match index % 3 {
                0 => {
                    if let Some(sender) = self.partner_inverse(tag::PARTNER, mailbox, index) {
                        return InboxKind::Copy { sender };
                    }
                }
                1 => return InboxKind::ContactReply,
                _ => {}
            }
        }
        InboxKind::New
    }

    fn inbox_is_noreply(&self, mailbox: u64, index: u64) -> bool {
        self.inbox_kind(mailbox, index) == InboxKind::New
            && self.hash(tag::INBOX, mailbox, index) % 20 == 3
    }

    fn sent_kind(&self, sender: u64, index: u64) -> SentKind {
        match index % 3 {
            0 if self.n_mailboxes > 1 => SentKind::WithColleague,
            2 if index < self.n_inbox
                && self.inbox_kind(sender, index) == InboxKind::New
                && !self.inbox_is_noreply(sender, index) =>
            {
                SentKind::Reply
            }
            _ => SentKind::Outbound,
        }
    }

    /// The sent time of a new Inbox message `(m, i)`.
    fn inbox_new_time(&self, mailbox: u64, index: u64) -> i64 {
        self.spread_time(index, self.n_inbox, self.hash(tag::INBOX, mailbox, index))
    }

    /// The sent time of Sent Items message `(s, k)`.
    fn sent_time(&self, sender: u64, index: u64) -> i64 {
        let hash = self.hash(tag::SENT, sender, index);
        match self.sent_kind(sender, index) {
            SentKind::Reply => self.inbox_new_time(sender, index) + Self::reply_delay(hash),
            _ => self.spread_time(index, self.n_sent, hash),
        }
    }

    /// The 22-byte conversation-index header of a conversation rooted at `time`.
    fn push_index_header(&self, out: &mut Vec<u8>, root_tag: u64, a: u64, b: u64, time: i64) {
        out.clear();
        out.push(0x01);
        let filetime = (time + FILETIME_EPOCH_OFFSET).max(0) as u64 * 10_000_000;
        out.extend_from_slice(filetime.to_be_bytes().get(0..5).unwrap_or_default());
        out.extend_from_slice(&self.hash(tag::GUID, root_tag * 0x1_0000_0000 + a, b).to_be_bytes());
        out.extend_from_slice(
            &self.hash(tag::GUID + 100, root_tag * 0x1_0000_0000 + a, b).to_be_bytes(),
        );
    }

    fn push_index_block(&self, out: &mut Vec<u8>, a: u64, b: u64) {
        out.extend_from_slice(
            self.hash(tag::BLOCK, a, b).to_be_bytes().get(0..5).unwrap_or_default(),
        );
    }

    fn push_conversation_id(&self, out: &mut String, root_tag: u64, a: u64, b: u64) {
        out.clear();
        let _ = write!(
            out,
            "AAQkAG{:016x}=",
            self.hash(tag::GUID + 200, root_tag * 0x1_0000_0000 + a, b)
        );
    }

    /// The Message-ID of Sent Items message `(s, k)`.
    fn push_sent_message_id(&self, out: &mut String, sender: u64, index: u64) {
        out.clear();
        let _ = write!(out, "<{index:x}.{sender:x}.{:x}.s@{ORG_DOMAIN}>", self.seed);
    }

    /// The Message-ID of an Inbox message `(m, i)` written by a contact.
    fn push_inbox_message_id(&self, out: &mut String, mailbox: u64, index: u64) {
        out.clear();
        let domain = self.domain(self.hash(tag::INBOX, mailbox, index) >> 8);
        let _ =
            write!(out, "<{index:x}.{mailbox:x}.{:x}.i@customer{domain:04}.example>", self.seed);
    }

    /// Fills `out` with generated message `index` of `range`.
    pub(crate) fn fill_message(&self, range: &GeneratedRange, index: u64, out: &mut Message) {
        match range.source {
            Source::SentItems => {
                self.fill_sent(range.mailbox, index, out);
                out.received = out.sent.unwrap_or_default();
            }
            Source::Inbox | Source::Calendar => match self.inbox_kind(range.mailbox, index) {
                InboxKind::Copy { sender } => {
                    self.fill_sent(sender, index, out);
                    let hash = self.hash(tag::INBOX, range.mailbox, index);
                    out.received = out.sent.unwrap_or_default() + 7 + (hash % 50) as i64;
                }
                InboxKind::ContactReply => self.fill_contact_reply(range.mailbox, index, out),
                InboxKind::New => self.fill_inbox_new(range.mailbox, index, out),
            },
        }
        push_message_id(&mut out.id, range, index);
        out.is_draft = false;
    }

    /// The Message-ID of the parent of generated message `index` of `range`, written into `out`;
    /// false for a message that replies to nothing.
    pub(crate) fn parent_message_id(
        &self,
        range: &GeneratedRange,
        index: u64,
        out: &mut String,
    ) -> bool {
        let (mailbox, is_sent) = match range.source {
            Source::SentItems => (range.mailbox, true),
            Source::Inbox => match self.inbox_kind(range.mailbox, index) {
                InboxKind::Copy { sender } => (sender, true),
                InboxKind::ContactReply => {
                    self.push_sent_message_id(out, range.mailbox, index);
                    return true;
                }
                InboxKind::New => return false,
            },
            Source::Calendar => return false,
        };
        if is_sent && self.sent_kind(mailbox, index) == SentKind::Reply {
            self.push_inbox_message_id(out, mailbox, index);
            return true;
        }
        false
    }

    /// Sent Items message `(s, k)`, as any of its copies reads (the id is the caller's).
    fn fill_sent(&self, sender: u64, index: u64, out: &mut Message) {
        let hash = self.hash(tag::SENT, sender, index);
        let kind = self.sent_kind(sender, index);
        let time = self.sent_time(sender, index);
        out.sent = Some(time);
        push_org_user(address_slot(&mut out.from), sender);
        push_org_user(address_slot(&mut out.sender), sender);
        out.bcc.clear();
        out.kind = MessageKind::Message;
        self.push_sent_message_id(&mut out.internet_message_id, sender, index);
        match kind {
            SentKind::Reply => {
                let inbox_hash = self.hash(tag::INBOX, sender, index);
                let domain = self.domain(inbox_hash >> 8);
                only_address(&mut out.to, |first| {
                    push_contact(first, domain, (inbox_hash >> 16) % CONTACTS_PER_DOMAIN)
                });
                out.cc.clear();
                let root_time = self.inbox_new_time(sender, index);
                self.push_index_header(&mut out.conversation_index, 2, sender, index, root_time);
                self.push_index_block(&mut out.conversation_index, sender * 3 + 1, index);
                self.push_conversation_id(&mut out.conversation_id, 2, sender, index);
                out.subject.clear();
                let _ = write!(out.subject, "RE: Question {index}");
            }
            SentKind::WithColleague | SentKind::Outbound => {
                let domain = self.domain(hash >> 8);
                let first_contact = (hash >> 16) % CONTACTS_PER_DOMAIN;
                let two_contacts = kind == SentKind::Outbound && (hash >> 24).is_multiple_of(4);
                out.to.resize_with(if two_contacts { 2 } else { 1 }, EmailAddress::default);
                for (position, slot) in out.to.iter_mut().enumerate() {
                    push_contact(
                        slot,
                        domain,
                        (first_contact + position as u64) % CONTACTS_PER_DOMAIN,
                    );
                }
                match self
                    .partner(tag::PARTNER, sender, index)
                    .filter(|_| kind == SentKind::WithColleague)
                {
                    Some(partner) => {
                        only_address(&mut out.cc, |first| push_org_user(first, partner));
                        if (hash >> 32).is_multiple_of(25) {
                            out.kind = MessageKind::EventMessage;
                        }
                    }
                    None => out.cc.clear(),
                }
                self.push_index_header(&mut out.conversation_index, 1, sender, index, time);
                self.push_conversation_id(&mut out.conversation_id, 1, sender, index);
                out.subject.clear();
                let _ = write!(out.subject, "Proposal {index}");
            }
        }
    }

    /// The contact's reply to Sent Items message `(m, i)`.
    fn fill_contact_reply(&self, mailbox: u64, index: u64, out: &mut Message) {
        let sent_hash = self.hash(tag::SENT, mailbox, index);
        let parent_time = self.sent_time(mailbox, index);
        let time = parent_time + Self::reply_delay(self.hash(tag::INBOX, mailbox, index));
        out.sent = Some(time);
        out.received = time + 5;
        let domain = self.domain(sent_hash >> 8);
        push_contact(address_slot(&mut out.from), domain, (sent_hash >> 16) % CONTACTS_PER_DOMAIN);
        address_to_mailbox(out, mailbox);
        out.internet_message_id.clear();
        let _ = write!(
            out.internet_message_id,
            "<{index:x}.{mailbox:x}.{:x}.r@customer{domain:04}.example>",
            self.seed
        );
        self.push_index_header(&mut out.conversation_index, 1, mailbox, index, parent_time);
        self.push_index_block(&mut out.conversation_index, mailbox * 3 + 2, index);
        self.push_conversation_id(&mut out.conversation_id, 1, mailbox, index);
        out.subject.clear();
        let _ = write!(out.subject, "RE: Proposal {index}");
    }

    /// A new Inbox message `(m, i)` from a contact or a noreply sender.
    fn fill_inbox_new(&self, mailbox: u64, index: u64, out: &mut Message) {
        let hash = self.hash(tag::INBOX, mailbox, index);
        let time = self.inbox_new_time(mailbox, index);
        out.sent = Some(time);
        out.received = time + 5 + (hash % 50) as i64;
        let domain = self.domain(hash >> 8);
        if self.inbox_is_noreply(mailbox, index) {
            push_noreply(address_slot(&mut out.from), domain);
        } else {
            push_contact(address_slot(&mut out.from), domain, (hash >> 16) % CONTACTS_PER_DOMAIN);
        }
        address_to_mailbox(out, mailbox);
        self.push_inbox_message_id(&mut out.internet_message_id, mailbox, index);
        self.push_index_header(&mut out.conversation_index, 2, mailbox, index, time);
        self.push_conversation_id(&mut out.conversation_id, 2, mailbox, index);
        out.subject.clear();
        let _ = write!(out.subject, "Question {index}");
    }

    /// Fills `out` with generated event `index` of `range` (a calendar).
    pub(crate) fn fill_event(&self, range: &GeneratedRange, index: u64, out: &mut Event) {
        let holder = range.mailbox;
        let copy_of = (index % 2 == 1)
            .then(|| self.partner_inverse(tag::EVENT_PARTNER, holder, index - 1))
            .flatten();
        match copy_of {
            Some(organizer) => self.fill_own_event(organizer, index - 1, holder, out),
            None => self.fill_own_event(holder, index, holder, out),
        }
        out.id.clear();
        let _ = write!(out.id, "AAMkAE{holder:06x}V{index:08x}AAA=");
    }

    /// Event slot `index` of mailbox `owner`, as the calendar of `holder` shows it.
    fn fill_own_event(&self, owner: u64, index: u64, holder: u64, out: &mut Event) {
        let hash = self.hash(tag::EVENT, owner, index);
        let variant = hash % 40;
        let day = (i128::from(index) * i128::from(self.event_days)
            / i128::from(self.n_events.max(1))) as i64;
        let day_start = self.window_start.div_euclid(SECONDS_PER_DAY) * SECONDS_PER_DAY
            + (day + 1) * SECONDS_PER_DAY;
        let start =
            day_start + (8 + (hash >> 8) as i64 % 9) * 3600 + ((hash >> 12) % 2) as i64 * 1800;
        let minutes = if (hash >> 14).is_multiple_of(2) { 30 } else { 60 };
        let domain = self.domain(hash >> 16);
        let first_contact = (hash >> 24) % CONTACTS_PER_DOMAIN;
        let two_contacts = (hash >> 28).is_multiple_of(3);
        let partner = self
            .partner(tag::EVENT_PARTNER, owner, index)
            .filter(|_| index.is_multiple_of(2) && index + 1 < self.n_events);

        out.ical_uid.clear();
        let _ = write!(
            out.ical_uid,
            "040000008200E00074C5B7101A82E00800000000{:016X}{owner:08X}{index:08X}",
            self.seed
        );
        out.subject.clear();
        let _ = write!(out.subject, "Meeting {index}");
        out.event_type = EventType::SingleInstance;
        out.series_master_id = None;
        out.original_start = None;
        out.is_all_day = false;
        out.is_cancelled = false;
        out.start = start;
        out.end = start + minutes * 60;
        match variant {
            0..=3 => out.is_cancelled = true,
            4..=5 => {
                out.is_all_day = true;
                out.start = day_start;
                out.end = day_start + SECONDS_PER_DAY;
            }
            6 => out.end = start + 25 * 3600,
            11..=14 => {
                out.event_type = EventType::Occurrence;
                out.original_start = Some(start);
            }
            15 => {
                out.event_type = EventType::Exception;
                out.original_start = Some(start - SECONDS_PER_DAY);
            }
            _ => {}
        }
        if matches!(out.event_type, EventType::Occurrence | EventType::Exception) {
            let mut master = String::new();
            let _ = write!(master, "AAMkAE{holder:06x}M{:08x}AAA=", index / 8);
            out.series_master_id = Some(master);
        }

        let contact_organizes = matches!(variant, 7..=8);
        let n_contacts = if two_contacts { 2 } else { 1 };
        let n_attendees = n_contacts
            + usize::from(partner.is_some())
            + usize::from(contact_organizes)
            + usize::from(matches!(variant, 19..=20));
        out.attendees.resize_with(n_attendees, Attendee::default);
        let mut attendees = out.attendees.iter_mut();
        for position in 0..n_contacts {
            if let Some(attendee) = attendees.next() {
                push_contact(
                    &mut attendee.email,
                    domain,
                    (first_contact + position as u64) % CONTACTS_PER_DOMAIN,
                );
                attendee.kind = AttendeeType::Required;
                attendee.response = match (variant, position) {
                    (16..=18, 0) => ResponseType::Declined,
                    (_, 1) => ResponseType::TentativelyAccepted,
                    _ => ResponseType::Accepted,
                };
            }
        }
        if contact_organizes && let Some(attendee) = attendees.next() {
            push_org_user(&mut attendee.email, owner);
            attendee.kind = AttendeeType::Required;
            attendee.response = ResponseType::Accepted;
        }
        if let Some(partner) = partner
            && let Some(attendee) = attendees.next()
        {
            push_org_user(&mut attendee.email, partner);
            attendee.kind = AttendeeType::Optional;
            attendee.response = ResponseType::Accepted;
        }
        if matches!(variant, 19..=20)
            && let Some(attendee) = attendees.next()
        {
            attendee.email.name.clear();
            attendee.email.name.push_str("Room Rainier");
            attendee.email.address.clear();
            let _ = write!(attendee.email.address, "room-rainier@{ORG_DOMAIN}");
            attendee.kind = AttendeeType::Resource;
            attendee.response = ResponseType::Accepted;
        }
        let organizer = address_slot(&mut out.organizer);
        if contact_organizes {
            // Another contact of the same account than the attendees: an organizer is not
            // listed among the attendees.
            push_contact(
                organizer,
                domain,
                (first_contact + CONTACTS_PER_DOMAIN - 1) % CONTACTS_PER_DOMAIN,
            );
        } else {
            push_org_user(organizer, owner);
        }
        out.response = if holder == owner && !contact_organizes {
            ResponseType::Organizer
        } else {
            ResponseType::Accepted
        };
    }
}
