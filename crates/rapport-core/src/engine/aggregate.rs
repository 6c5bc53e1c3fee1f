//! [`Engine::finish`]: folds the copies into merged emails, applies the participation and
//! direction rules of §3, aggregates per account and period on integer ids, scores every
//! (level, period) group and fills the summary.
//!
//! Each counted (email or meeting, account) pair becomes one [`Activity`] that carries the
//! people who count for that account (org users and the account's own people), so the walk
//! over an account's activities reads one contiguous slice and never jumps back to the emails.
//! Distinct people per period are counted with "stamp" arrays indexed by address id: a person
//! is new in the current period when its slot does not hold the period's stamp. Walking each
//! account's activities in time order keeps one current period per level, so this needs no
//! hash sets and no sorting of (account, period, person) triples.

use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use super::*;
use crate::output;
use crate::period::{Period, SECONDS_PER_DAY};
use crate::score::{self, Scored};

/// The activity is a meeting (else an email).
const FLAG_MEETING: u8 = 1;
/// The activity counts *to* the account.
const FLAG_TO: u8 = 2;
/// The activity counts *from* the account.
const FLAG_FROM: u8 = 4;
/// The email is a reply from the account with a positive duration in `value`.
const FLAG_REPLY: u8 = 8;
/// The people did not fit inline and live in [`ActivityTable::spilled`].
const FLAG_SPILLED: u8 = 16;

/// People kept inside an activity; larger emails and meetings spill into a shared arena.
const INLINE_PEOPLE: usize = 6;

/// One email or meeting counted for one account.
#[derive(Clone, Copy, Debug)]
struct Activity {
    time: i64,
    /// Reply seconds (emails with `FLAG_REPLY`) or duration seconds (meetings).
    value: i64,
    account: u32,
    flags: u8,
    /// How many of `people` are used (when not spilled).
    n_people: u8,
    /// The participants who count for the account, or, with `FLAG_SPILLED`, the arena start
    /// (low and high 32 bits) and the count.
    people: [u32; INLINE_PEOPLE],
}

impl Activity {
    const EMPTY: Activity = Activity {
        time: 0,
        value: 0,
        account: 0,
        flags: 0,
        n_people: 0,
        people: [0; INLINE_PEOPLE],
    };
}

/// Every counted activity, with the arena for people lists that do not fit inline.
#[derive(Debug, Default)]
struct ActivityTable {
    activities: Vec<Activity>,
    spilled: Vec<u32>,
    /// Activities classified on a second thread, which follow `activities` until [`sort`]
    /// merges them in (copying them over first would touch tens of megabytes once more); their
    /// spilled people start at `later_spill_offset` in `spilled`.
    ///
    /// [`sort`]: ActivityTable::sort
    later: Vec<Activity>,
    later_spill_offset: u64,
}

impl ActivityTable {
    /// Adds `activity` with `people` (already filtered to those who count for its account).
    fn push(&mut self, mut activity: Activity, people: impl Iterator<Item = u32>) {
        let mut n_inline = 0;
        let mut spill_start: Option<usize> = None;
        for person in people {
            if spill_start.is_some() {
                self.spilled.push(person);
            } else if let Some(slot) = activity.people.get_mut(n_inline) {
                *slot = person;
                n_inline += 1;
            } else {
                spill_start = Some(self.spilled.len());
                self.spilled.extend_from_slice(&activity.people);
                self.spilled.push(person);
            }
        }
        match spill_start {
            None => activity.n_people = n_inline as u8,
            Some(start) => {
                let count = u32::try_from(self.spilled.len() - start).unwrap_or(u32::MAX);
                activity.flags |= FLAG_SPILLED;
                activity.people = spilled_people(start as u64, count);
            }
        }
        self.activities.push(activity);
    }

    /// The people of `activity`.
    fn people<'a>(&'a self, activity: &'a Activity) -> &'a [u32] {
        if activity.flags & FLAG_SPILLED == 0 {
            return activity.people.get(..usize::from(activity.n_people)).unwrap_or_default();
        }
        let [low, high, count, ..] = activity.people;
        let start = usize::try_from(u64::from(low) | (u64::from(high) << 32)).unwrap_or(usize::MAX);
        self.spilled.get(start..start.saturating_add(count as usize)).unwrap_or_default()
    }

    /// Orders the activities by account (a counting sort: account ids are dense), then each
    /// account's by time, and returns where each account's slice starts (plus the end). With at
    /// least `min_parallel_work` activities the accounts are split in two halves of about equal
    /// activity counts, each placed and sorted by its own thread: the result is the same.
    fn sort(&mut self, n_accounts: usize, min_parallel_work: usize) -> Vec<usize> {
        let parts =
            [(self.activities.as_slice(), 0), (self.later.as_slice(), self.later_spill_offset)];
        let all = parts.iter().flat_map(|(activities, _)| activities.iter());
        let starts = key_starts(all, n_accounts, |activity| activity.account as usize);
        let n_sorted = starts.last().copied().unwrap_or(0);
        let mut sorted = vec![Activity::EMPTY; n_sorted];
        if n_sorted < min_parallel_work {
            place_accounts(&parts, &starts, 0..n_accounts, &mut sorted);
        } else {
            let middle = middle_key(&starts);
            let (left, right) =
                sorted.split_at_mut(starts.get(middle).copied().unwrap_or(n_sorted));
            let (starts, parts) = (&starts, &parts);
            join(
                || place_accounts(parts, starts, 0..middle, left),
                || place_accounts(parts, starts, middle..n_accounts, right),
            );
        }
        self.activities = sorted;
        self.later = Vec::new();
        self.later_spill_offset = 0;
        starts
    }
}

/// Copies the activities of `accounts` into `out`, which begins where the first of them goes
/// (`starts` as [`key_starts`] gives it for all accounts): grouped by account, in input order,
/// then each account's ordered by time. Activities of other accounts are passed over.
fn place_accounts(
    parts: &[(&[Activity], u64)],
    starts: &[usize],
    accounts: Range<usize>,
    out: &mut [Activity],
) {
    let account_starts = starts.get(accounts.start..=accounts.end).unwrap_or_default();
    let base = account_starts.first().copied().unwrap_or(0);
    let mut cursor: Vec<usize> =
        account_starts.iter().map(|start| start.saturating_sub(base)).collect();
    // The last cursor is the end of `out`: no account maps to it.
    cursor.pop();
    for (activities, spill_offset) in parts {
        for activity in *activities {
            let position = (activity.account as usize)
                .checked_sub(accounts.start)
                .and_then(|offset| cursor.get_mut(offset));
            if let Some(position) = position {
                if let Some(slot) = out.get_mut(*position) {
                    *slot = moved_spill(*activity, *spill_offset);
                }
                *position += 1;
            }
        }
    }
    for window in account_starts.windows(2) {
        if let [start, end] = window
            && let Some(slice) = out.get_mut(start.saturating_sub(base)..end.saturating_sub(base))
        {
            slice.sort_unstable_by_key(|activity| (activity.time, activity.flags));
        }
    }
}

/// The `people` of a spilled activity: where its people start in the arena (low and high 32
/// bits) and how many there are.
fn spilled_people(start: u64, count: u32) -> [u32; INLINE_PEOPLE] {
    [start as u32, (start >> 32) as u32, count, 0, 0, 0]
}

/// `activity` with its spilled people (if any) found `offset` further on in the arena.
fn moved_spill(mut activity: Activity, offset: u64) -> Activity {
    if offset != 0 && activity.flags & FLAG_SPILLED != 0 {
        let [low, high, count, ..] = activity.people;
        let start = (u64::from(low) | (u64::from(high) << 32)).saturating_add(offset);
        activity.people = spilled_people(start, count);
    }
    activity
}

/// Where each key's run starts when `items` are ordered by a dense key below `n_keys` (plus the
/// end). Items whose key is out of range are left out.
fn key_starts<'a, T: 'a>(
    items: impl IntoIterator<Item = &'a T>,
    n_keys: usize,
    key_of: impl Fn(&T) -> usize,
) -> Vec<usize> {
    let mut starts = vec![0usize; n_keys + 1];
    for item in items {
        let key = key_of(item);
        if key < n_keys
            && let Some(count) = starts.get_mut(key + 1)
        {
            *count += 1;
        }
    }
    for key in 0..n_keys {
        let before = starts.get(key).copied().unwrap_or(0);
        if let Some(slot) = starts.get_mut(key + 1) {
            *slot += before;
        }
    }
    starts
}

/// Orders `items` by a dense key below `n_keys` (a stable counting sort) and returns them with
/// where each key's run starts (plus the end). Items whose key is out of range are dropped.
fn counting_sort<T: Copy>(
    items: &[T],
    n_keys: usize,
    key_of: impl Fn(&T) -> usize,
) -> (Vec<T>, Vec<usize>) {
    let starts = key_starts(items, n_keys, &key_of);
    let mut cursor = starts.clone();
    // Every slot below the end is overwritten; the copy only gives the vector its length.
    let mut sorted = items.to_vec();
    for item in items {
        let key = key_of(item);
        if key < n_keys
            && let Some(position) = cursor.get_mut(key)
        {
            if let Some(slot) = sorted.get_mut(*position) {
                *slot = *item;
            }
            *position += 1;
        }
    }
    sorted.truncate(starts.get(n_keys).copied().unwrap_or(0));
    (sorted, starts)
}

/// The key that splits runs (`starts` as [`key_starts`] gives it) into two parts of about equal
/// size: keys below it make the first part, the others the second.
fn middle_key(starts: &[usize]) -> usize {
    let n_keys = starts.len().saturating_sub(1);
    let half = starts.last().copied().unwrap_or(0) / 2;
    starts.partition_point(|start| *start < half).min(n_keys)
}

/// Runs `left` here and `right` on a second thread, and returns both results. When no thread
/// can be started (or `left` is done before the thread has begun), `right` runs here as well.
fn join<Left, Right: Send + Default>(
    left: impl FnOnce() -> Left,
    right: impl FnOnce() -> Right + Send,
) -> (Left, Right) {
    let task = Mutex::new(Some(right));
    // Whoever takes the task first runs it; the lock is not held while it runs.
    let run_task = || {
        let taken = task.lock().unwrap_or_else(PoisonError::into_inner).take();
        taken.map(|right| right())
    };
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().spawn_scoped(scope, run_task).ok();
        let left = left();
        let here = run_task();
        let there = thread.and_then(|thread| {
            thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        // The task ran exactly once, here or there: the default is never used.
        (left, here.or(there).unwrap_or_default())
    })
}

/// One email after merging its copies.
#[derive(Clone, Copy, Debug)]
struct MergedEmail {
    sent: i64,
    sender: u32,
    parent_id: u32,
    automated: bool,
    first_copy: u32,
    n_copies: u32,
    /// Where the recipients are: the first copy's own list in the mail state's arena (an email
    /// of one copy, nearly all of them), or, with `merged_recipients`, the union of its
    /// copies' lists in the merge's arena.
    recipients_start: usize,
    recipients_len: u32,
    merged_recipients: bool,
}

/// Per-period sums of one account at one level.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    emails_to: u64,
    emails_from: u64,
    meetings_to: u64,
    meetings_from: u64,
    org_people_emails: u64,
    account_people_emails: u64,
    org_people_meetings: u64,
    account_people_meetings: u64,
    breadth: u64,
    meeting_seconds: i128,
    n_meetings: u64,
    reply_seconds: i128,
    n_replies: u64,
}

/// The current period of one level while an account's activities are walked.
#[derive(Clone, Copy, Debug, Default)]
struct LevelState {
    active: bool,
    period_index: usize,
    /// The clipped end of the current period: later activities belong to another one.
    period_end: i64,
    stamp: u32,
    counts: Counts,
}

/// "Last seen in period" stamps of one level, per address id.
#[derive(Clone, Debug)]
struct Stamps {
    next: u32,
    email_people: Vec<u32>,
    meeting_people: Vec<u32>,
    any_people: Vec<u32>,
}

impl Stamps {
    fn new(n_addresses: usize) -> Stamps {
        Stamps {
            next: 0,
            email_people: vec![0; n_addresses],
            meeting_people: vec![0; n_addresses],
            any_people: vec![0; n_addresses],
        }
    }

    /// A stamp no slot holds yet. On the (theoretical) wrap the slots are cleared: the level's
    /// only live stamp is the one being replaced, so nothing is lost.
    fn fresh(&mut self) -> u32 {
        if self.next == u32::MAX {
            self.email_people.fill(0);
            self.meeting_people.fill(0);
            self.any_people.fill(0);
            self.next = 0;
        }
        self.next += 1;
        self.next
    }
}

/// Marks `slot` with `stamp`; true when it did not hold it yet (first sighting in the period).
fn first_sighting(slots: &mut [u32], person: u32, stamp: u32) -> bool {
    match slots.get_mut(person as usize) {
        Some(slot) if *slot != stamp => {
            *slot = stamp;
            true
        }
        _ => false,
    }
}

/// A row before scoring.
struct BuiltRow {
    row: Row,
    features: [i64; 5],
    group: usize,
}

/// What the participation rules give: the counted activities and the summary figures.
#[derive(Debug, Default)]
struct Classified {
    table: ActivityTable,
    emails_processed: u64,
    emails_counted: u64,
    meetings_processed: u64,
    meetings_counted: u64,
    earliest_processed: Option<i64>,
    users_processed: u64,
}

/// Below this much work (activities to sort or walk, rows to score) a part of [`finish`] stays
/// on the calling thread: a second thread costs more to start than it would save.
pub(super) const MIN_PARALLEL_WORK: usize = 20_000;

/// [`Engine::finish_keeping_mail`]: two threads where the work is big enough and two cores exist.
pub(super) fn finish(engine: Engine) -> (Enrichment, MailState) {
    // On one core a second thread would only add switching.
    let two_cores = std::thread::available_parallelism().is_ok_and(|cores| cores.get() >= 2);
    finish_with(engine, if two_cores { MIN_PARALLEL_WORK } else { usize::MAX })
}

/// [`finish`], running the parts that split naturally (sorting the activities, building the
/// rows, scoring them) on two threads when they have at least `min_parallel_work` items
/// (`usize::MAX`: never). The result is the same either way.
pub(super) fn finish_with(mut engine: Engine, min_parallel_work: usize) -> (Enrichment, MailState) {
    let periods = Periods::new(engine.window, engine.options.zone);
    let mail = std::mem::take(&mut engine.mail);
    // Addresses are classified now, not when interned: the kept mail state does not depend on
    // the customer data or the org users of the run. Per address id: an account index,
    // `CLASS_ORG` or `CLASS_OUTSIDE`.
    let address_class: Vec<u32> = (0..mail.addresses.len() as u32)
        .map(|id| match engine.identity.classify(mail.addresses.text(id)) {
            AddressClass::Org => CLASS_ORG,
            AddressClass::Account(index) => index,
            AddressClass::Outside => CLASS_OUTSIDE,
        })
        .collect();
    let prepared = mail.prepare(engine.window);
    let emails_seen = prepared.emails_seen;
    let mut skipped_emails = prepared.skipped;
    let (emails, email_recipients, message_group) =
        merge_copies(&mut skipped_emails, prepared, &mail);
    let merged = MergedMail {
        emails: &emails,
        email_recipients: &email_recipients,
        copy_recipients: &mail.copy_recipients,
        message_group: &message_group,
    };
    let mut classified = classify(
        &mut engine,
        &address_class,
        &mut skipped_emails,
        merged,
        &mail.addresses,
        min_parallel_work,
    );
    // The merged emails are no longer needed: every activity carries its people.
    drop((emails, email_recipients, message_group));
    let account_ids = engine.identity.account_ids();
    let starts = classified.table.sort(account_ids.len(), min_parallel_work);
    let n_groups = 1 + periods.months().len() + periods.weeks().len();
    let n_activities = classified.table.activities.len();
    let rows_of = |built: &mut Vec<BuiltRow>, accounts: Range<usize>| {
        let table = &classified.table;
        build_rows(built, table, &starts, accounts, account_ids, &periods, &address_class);
    };
    let n_accounts = starts.len().saturating_sub(1);
    // An account has at most one row per group, and an activity opens at most one row per level.
    let active_accounts =
        starts.windows(2).filter(|window| window.first() != window.last()).count();
    let most_rows = active_accounts.saturating_mul(n_groups).min(n_activities.saturating_mul(3));
    let mut built: Vec<BuiltRow> = Vec::new();
    if n_activities < min_parallel_work {
        built.reserve(most_rows);
        rows_of(&mut built, 0..n_accounts);
    } else {
        // Accounts are independent: each half walks its own, with its own stamps, and the rows
        // are put back together in account order; with room for every row, the later half's
        // rows are copied once and the vector is never moved.
        let middle = middle_key(&starts);
        let ((), later) = join(
            || {
                built.reserve(most_rows);
                rows_of(&mut built, 0..middle);
            },
            || {
                let mut later = Vec::new();
                rows_of(&mut later, middle..n_accounts);
                later
            },
        );
        built.extend(later);
    }
    let scores = score_rows(&mut built, n_groups, &engine.options.weights, min_parallel_work);
    let rows: Vec<Row> = built.into_iter().map(|built_row| built_row.row).collect();

    let accounts_enriched = rows.iter().filter(|row| row.level == Level::Year).count() as u64;
    let mut skipped = skipped_emails;
    skipped.merge(&engine.skipped_meetings);
    skipped.add_n(SkipReason::AmbiguousContact, engine.identity.ambiguous_contacts());
    let days_covered = classified.earliest_processed.map_or(0, |earliest| {
        engine.window.end.saturating_sub(earliest).div_euclid(SECONDS_PER_DAY).max(0) as u64
    });
    let summary = Summary {
        accounts_enriched,
        accounts_total: engine.identity.accounts_total(),
        users_selected: engine.users.len() as u64,
        users_processed: classified.users_processed,
        emails_processed: classified.emails_processed,
        meetings_processed: classified.meetings_processed,
        emails_counted: classified.emails_counted,
        meetings_counted: classified.meetings_counted,
        days_covered,
        window_start: periods.date_of(engine.window.start),
        window_end: periods.date_of(engine.window.end),
        skipped,
        files_ignored: 0,
        emails_seen,
        skipped_emails,
        skipped_meetings: engine.skipped_meetings,
    };
    let weights = engine.options.weights;
    (Enrichment { rows, scores, weights, users: engine.users, summary }, mail)
}

/// The merged emails with their recipient arena and the email of each message id: what
/// [`classify_emails`] reads (parents are looked up across all of them).
#[derive(Clone, Copy)]
struct MergedMail<'a> {
    emails: &'a [MergedEmail],
    email_recipients: &'a [u32],
    /// The mail state's recipient lists, where an email of one copy finds its recipients.
    copy_recipients: &'a [u32],
    message_group: &'a [u32],
}

/// What classifying a run of emails gives; two parts add up to what one pass over both gives.
struct EmailPart {
    classified: Classified,
    skipped: SkipCounts,
    processed_users: Vec<bool>,
}

impl EmailPart {
    fn new(n_addresses: usize, expected_activities: usize) -> EmailPart {
        let mut classified = Classified::default();
        classified.table.activities.reserve(expected_activities);
        EmailPart {
            classified,
            skipped: SkipCounts::default(),
            processed_users: vec![false; n_addresses],
        }
    }

    /// Adds `later` (the part of the emails after this one's): its activities follow, their
    /// spilled people moved to after this part's.
    fn append(&mut self, mut later: EmailPart) {
        let table = &mut self.classified.table;
        table.later_spill_offset = table.spilled.len() as u64;
        table.spilled.extend_from_slice(&later.classified.table.spilled);
        table.later = std::mem::take(&mut later.classified.table.activities);
        let (mine, theirs) = (&mut self.classified, &later.classified);
        mine.emails_processed += theirs.emails_processed;
        mine.emails_counted += theirs.emails_counted;
        mine.earliest_processed = match (mine.earliest_processed, theirs.earliest_processed) {
            (Some(left), Some(right)) => Some(left.min(right)),
            (left, right) => left.or(right),
        };
        self.skipped.merge(&later.skipped);
        for (slot, theirs) in self.processed_users.iter_mut().zip(&later.processed_users) {
            *slot |= *theirs;
        }
    }
}

/// Applies §3 to every merged email and meeting: `no_org_participant`, processed,
/// `automated`, and the accounts each one counts to or from (with reply durations). With at
/// least `min_parallel_work` emails, the two halves of the emails are classified on two threads
/// and put back together in order: the result is the same.
fn classify(
    engine: &mut Engine,
    address_class: &[u32],
    skipped_emails: &mut SkipCounts,
    mail: MergedMail<'_>,
    addresses: &Interner,
    min_parallel_work: usize,
) -> Classified {
    let class_of = |id: u32| address_class.get(id as usize).copied().unwrap_or(CLASS_OUTSIDE);
    let n_emails = mail.emails.len();
    // Most emails and meetings count for one account; a few for several. Room for an eighth
    // more keeps the table (tens of megabytes) from doubling into fresh memory as it fills.
    let expected = n_emails.saturating_add(engine.meetings.len());
    let expected = expected.saturating_add(expected / 8);
    let n_addresses = address_class.len();
    let mut part = EmailPart::new(n_addresses, expected);
    if n_emails < min_parallel_work {
        classify_emails(&mut part, mail, 0..n_emails, address_class);
    } else {
        let middle = n_emails / 2;
        let ((), later) = join(
            || classify_emails(&mut part, mail, 0..middle, address_class),
            || {
                let mut later = EmailPart::new(n_addresses, (n_emails - middle) * 9 / 8);
                classify_emails(&mut later, mail, middle..n_emails, address_class);
                Some(later)
            },
        );
        if let Some(later) = later {
            part.append(later);
        }
    }
    let EmailPart { mut classified, skipped, mut processed_users } = part;
    skipped_emails.merge(&skipped);
    let mut mark_processed = |participants: &mut dyn Iterator<Item = u32>| {
        mark_org_users(&mut processed_users, address_class, participants);
    };
    let mut accounts: Vec<u32> = Vec::new();

    for meeting in &engine.meetings {
        let organizer_class = class_of(meeting.organizer);
        let org_participant = meeting.participants.iter().any(|id| class_of(*id) == CLASS_ORG);
        if organizer_class != CLASS_ORG && !org_participant {
            engine.skipped_meetings.add(SkipReason::NoOrgParticipant);
            continue;
        }
        classified.meetings_processed += 1;
        classified.earliest_processed = Some(
            classified
                .earliest_processed
                .map_or(meeting.start, |earliest| earliest.min(meeting.start)),
        );
        let participants =
            || std::iter::once(meeting.organizer).chain(meeting.participants.iter().copied());
        mark_processed(&mut participants());
        let duration = meeting.end.saturating_sub(meeting.start);
        let mut counted = false;
        if organizer_class == CLASS_ORG {
            accounts.clear();
            accounts.extend(
                meeting
                    .participants
                    .iter()
                    .map(|id| class_of(*id))
                    .filter(|class| *class < CLASS_OUTSIDE),
            );
            accounts.sort_unstable();
            accounts.dedup();
            for account in &accounts {
                let activity = Activity {
                    time: meeting.start,
                    value: duration,
                    account: *account,
                    flags: FLAG_MEETING | FLAG_TO,
                    ..Activity::EMPTY
                };
                classified.table.push(
                    activity,
                    participants().filter(|id| counts_for(class_of(*id), *account)),
                );
                counted = true;
            }
        } else if organizer_class < CLASS_OUTSIDE && org_participant {
            let account = organizer_class;
            let activity = Activity {
                time: meeting.start,
                value: duration,
                account,
                flags: FLAG_MEETING | FLAG_FROM,
                ..Activity::EMPTY
            };
            classified
                .table
                .push(activity, participants().filter(|id| counts_for(class_of(*id), account)));
            counted = true;
        }
        classified.meetings_counted += u64::from(counted);
    }
    classified.users_processed =
        processed_users.iter().filter(|processed| **processed).count() as u64;
    // §6: an org user whose mailbox was read successfully is processed too.
    let mut read_only: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for address in &engine.users_read {
        let is_participant = addresses
            .get(address)
            .is_some_and(|id| processed_users.get(id as usize).copied().unwrap_or(false));
        if engine.identity.is_org(address) && !is_participant {
            read_only.insert(address);
        }
    }
    classified.users_processed += read_only.len() as u64;
    classified
}

/// Classifies the emails `range` of `mail` into `part` (§3; see [`classify`]).
fn classify_emails(
    part: &mut EmailPart,
    mail: MergedMail<'_>,
    range: Range<usize>,
    address_class: &[u32],
) {
    let MergedMail { emails, email_recipients, copy_recipients, message_group } = mail;
    let class_of = |id: u32| address_class.get(id as usize).copied().unwrap_or(CLASS_OUTSIDE);
    let recipients_of = |email: &MergedEmail| -> &[u32] {
        let arena = if email.merged_recipients { email_recipients } else { copy_recipients };
        arena
            .get(email.recipients_start..email.recipients_start + email.recipients_len as usize)
            .unwrap_or_default()
    };
    let EmailPart { classified, skipped: skipped_emails, processed_users } = part;
    let mut mark_processed = |participants: &mut dyn Iterator<Item = u32>| {
        mark_org_users(processed_users, address_class, participants);
    };
    let mut accounts: Vec<u32> = Vec::new();
    for email in emails.get(range).unwrap_or_default() {
        let recipients = recipients_of(email);
        let sender_class = class_of(email.sender);
        let org_recipient = recipients.iter().any(|id| class_of(*id) == CLASS_ORG);
        if sender_class != CLASS_ORG && !org_recipient {
            skipped_emails.add(SkipReason::NoOrgParticipant);
            continue;
        }
        classified.emails_processed += 1;
        classified.earliest_processed = Some(
            classified.earliest_processed.map_or(email.sent, |earliest| earliest.min(email.sent)),
        );
        mark_processed(&mut std::iter::once(email.sender).chain(recipients.iter().copied()));
        if email.automated {
            skipped_emails.add(SkipReason::Automated);
            continue;
        }
        let participants = || std::iter::once(email.sender).chain(recipients.iter().copied());
        let mut counted = false;
        if sender_class == CLASS_ORG {
            accounts.clear();
            accounts.extend(
                recipients.iter().map(|id| class_of(*id)).filter(|class| *class < CLASS_OUTSIDE),
            );
            accounts.sort_unstable();
            accounts.dedup();
            for account in &accounts {
                let activity = Activity {
                    time: email.sent,
                    account: *account,
                    flags: FLAG_TO,
                    ..Activity::EMPTY
                };
                classified.table.push(
                    activity,
                    participants().filter(|id| counts_for(class_of(*id), *account)),
                );
                counted = true;
            }
        }
        if sender_class < CLASS_OUTSIDE && org_recipient {
            let account = sender_class;
            let mut activity =
                Activity { time: email.sent, account, flags: FLAG_FROM, ..Activity::EMPTY };
            // The parent is looked up under every Message-ID of its merged email and must be an
            // email counted to this account; durations ≤ 0 are ignored.
            let parent = message_group
                .get(email.parent_id as usize)
                .and_then(|group| emails.get(*group as usize));
            if let Some(parent) = parent
                && !parent.automated
                && class_of(parent.sender) == CLASS_ORG
                && recipients_of(parent).iter().any(|id| class_of(*id) == account)
            {
                let duration = email.sent.saturating_sub(parent.sent);
                if duration > 0 {
                    activity.flags |= FLAG_REPLY;
                    activity.value = duration;
                }
            }
            classified
                .table
                .push(activity, participants().filter(|id| counts_for(class_of(*id), account)));
            counted = true;
        }
        classified.emails_counted += u64::from(counted);
    }
}

/// Marks the org users among `participants` as processed (§6).
fn mark_org_users(
    processed_users: &mut [bool],
    address_class: &[u32],
    participants: &mut dyn Iterator<Item = u32>,
) {
    for id in participants {
        if address_class.get(id as usize) == Some(&CLASS_ORG)
            && let Some(slot) = processed_users.get_mut(id as usize)
        {
            *slot = true;
        }
    }
}

/// True when a participant of this class counts among the people of `account`: an org user
/// or one of the account's own people.
fn counts_for(class: u32, account: u32) -> bool {
    class == CLASS_ORG || class == account
}

/// Walks the activities of each of `accounts` in time order and adds its Year, Month and Week
/// rows to `built`, in account order.
fn build_rows(
    built: &mut Vec<BuiltRow>,
    table: &ActivityTable,
    starts: &[usize],
    accounts: Range<usize>,
    account_ids: &[String],
    periods: &Periods,
    address_class: &[u32],
) {
    let n_addresses = address_class.len();
    let mut stamps = [Stamps::new(n_addresses), Stamps::new(n_addresses), Stamps::new(n_addresses)];
    let group_offsets = [0, 1, 1 + periods.months().len()];
    let mut built_by_level: [Vec<BuiltRow>; 3] = [Vec::new(), Vec::new(), Vec::new()];

    for account_index in accounts {
        let Some(account_activities) = starts
            .get(account_index)
            .zip(starts.get(account_index + 1))
            .and_then(|(start, end)| table.activities.get(*start..*end))
        else {
            continue;
        };
        let Some(first) = account_activities.first() else { continue };
        let account_id = account_ids.get(account_index).map_or("", String::as_str);
        let engagement_start_date = periods.date_of(first.time);
        let mut latest_email: Option<i64> = None;
        let mut latest_meeting: Option<i64> = None;
        let mut states = [LevelState::default(); 3];
        let emit = |state: &LevelState,
                    level_number: usize,
                    latest_email: Option<i64>,
                    latest_meeting: Option<i64>|
         -> Option<BuiltRow> {
            let level = Level::ALL.get(level_number).copied()?;
            let period = periods.of_level(level).get(state.period_index)?;
            Some(build_row(
                account_id,
                engagement_start_date,
                period,
                &state.counts,
                latest_email,
                latest_meeting,
                group_offsets.get(level_number).copied().unwrap_or(0) + state.period_index,
            ))
        };
        for activity in account_activities {
            let people = table.people(activity);
            for (level_number, level) in Level::ALL.iter().enumerate() {
                let (Some(state), Some(level_stamps), Some(level_rows)) = (
                    states.get_mut(level_number),
                    stamps.get_mut(level_number),
                    built_by_level.get_mut(level_number),
                ) else {
                    continue;
                };
                // Activities come in time order, so one still before the current period's end
                // is in that period.
                if !state.active || activity.time >= state.period_end {
                    let Some(period_index) = periods.index_of(*level, activity.time) else {
                        continue;
                    };
                    if state.active {
                        level_rows.extend(emit(state, level_number, latest_email, latest_meeting));
                    }
                    *state = LevelState {
                        active: true,
                        period_index,
                        period_end: periods
                            .of_level(*level)
                            .get(period_index)
                            .map_or(i64::MIN, |period| period.end),
                        stamp: level_stamps.fresh(),
                        counts: Counts::default(),
                    };
                }
                accumulate(
                    &mut state.counts,
                    state.stamp,
                    level_stamps,
                    activity,
                    people,
                    address_class,
                );
            }
            if activity.flags & FLAG_MEETING != 0 {
                latest_meeting = Some(activity.time);
            } else {
                latest_email = Some(activity.time);
            }
        }
        for (level_number, state) in states.iter().enumerate() {
            if state.active
                && let Some(level_rows) = built_by_level.get_mut(level_number)
            {
                level_rows.extend(emit(state, level_number, latest_email, latest_meeting));
            }
        }
        for level_rows in &mut built_by_level {
            built.append(level_rows);
        }
    }
}

/// Folds the copies of each email (§3, §8 order of operations): the union of the recipients,
/// the earliest sent time, the first parent id and the first sender found in input order, and
/// automated when any copy is. Counts each copy merged into an earlier one as `duplicate`.
/// Returns the merged emails (in order of their first copy), the recipient arena of those with
/// several copies (the others keep their copy's list), and the merged email of every message id
/// (`NONE` when no copy carried it).
fn merge_copies(
    skipped_emails: &mut SkipCounts,
    prepared: mail::Prepared,
    mail: &MailState,
) -> (Vec<MergedEmail>, Vec<u32>, Vec<u32>) {
    let mail::Prepared { copies: order, mut copy_parent, .. } = prepared;
    let copies = &mail.copies;
    let copy_at =
        |position: u32| order.get(position as usize).and_then(|index| copies.get(*index as usize));
    let copy_recipients = &mail.copy_recipients;
    let recipients_of = |copy: &CopyRecord| -> &[u32] {
        copy_recipients
            .get(copy.recipients_start..copy.recipients_start + copy.recipients_len as usize)
            .unwrap_or_default()
    };
    let mut email_of_copy: Vec<u32> = vec![NONE; order.len()];
    let mut next_copy: Vec<u32> = vec![NONE; order.len()];
    // At most one email per copy: room for all of them, so the tables never move while they
    // grow (capacity that is not written costs no memory).
    let mut last_copy: Vec<u32> = Vec::with_capacity(order.len());
    let mut emails: Vec<MergedEmail> = Vec::with_capacity(order.len());
    let mut message_group: Vec<u32> = vec![NONE; mail.message_ids.len()];
    for (copy_index, copy) in
        order.iter().filter_map(|index| copies.get(*index as usize)).enumerate()
    {
        let root = mail::find(&mut copy_parent, copy_index as u32);
        let known = email_of_copy.get(root as usize).copied().unwrap_or(NONE);
        let email_index = if root as usize == copy_index || known == NONE {
            let email_index = emails.len() as u32;
            emails.push(MergedEmail {
                sent: copy.sent,
                sender: copy.sender,
                parent_id: copy.parent_id,
                automated: copy.automated,
                first_copy: copy_index as u32,
                n_copies: 1,
                recipients_start: copy.recipients_start,
                recipients_len: copy.recipients_len,
                merged_recipients: false,
            });
            last_copy.push(copy_index as u32);
            email_index
        } else {
            skipped_emails.add(SkipReason::Duplicate);
            if let Some(email) = emails.get_mut(known as usize) {
                email.sent = email.sent.min(copy.sent);
                if email.sender == NONE {
                    email.sender = copy.sender;
                }
                if email.parent_id == NONE {
                    email.parent_id = copy.parent_id;
                }
                email.automated |= copy.automated;
                email.n_copies += 1;
            }
            if let Some(last) = last_copy.get_mut(known as usize) {
                if let Some(link) = next_copy.get_mut(*last as usize) {
                    *link = copy_index as u32;
                }
                *last = copy_index as u32;
            }
            known
        };
        if let Some(slot) = email_of_copy.get_mut(copy_index) {
            *slot = email_index;
        }
        if let Some(slot) = message_group.get_mut(copy.message_id as usize) {
            *slot = email_index;
        }
    }

    // Only emails of several copies need a list of their own: the union of their copies'.
    let mut email_recipients: Vec<u32> = Vec::new();
    let mut union: Vec<u32> = Vec::new();
    for email in emails.iter_mut().filter(|email| email.n_copies > 1) {
        union.clear();
        let mut copy_index = email.first_copy;
        while let Some(copy) = copy_at(copy_index) {
            union.extend_from_slice(recipients_of(copy));
            copy_index = next_copy.get(copy_index as usize).copied().unwrap_or(NONE);
        }
        union.sort_unstable();
        union.dedup();
        email.recipients_start = email_recipients.len();
        email.recipients_len = union.len() as u32;
        email.merged_recipients = true;
        email_recipients.extend_from_slice(&union);
    }
    (emails, email_recipients, message_group)
}

/// Adds one activity (and its people of the account and of the org) to a period's sums.
fn accumulate(
    counts: &mut Counts,
    stamp: u32,
    stamps: &mut Stamps,
    activity: &Activity,
    people: &[u32],
    address_class: &[u32],
) {
    let is_meeting = activity.flags & FLAG_MEETING != 0;
    let to = activity.flags & FLAG_TO != 0;
    let from = activity.flags & FLAG_FROM != 0;
    if is_meeting {
        counts.meetings_to += u64::from(to);
        counts.meetings_from += u64::from(from);
        counts.meeting_seconds += i128::from(activity.value);
        counts.n_meetings += 1;
    } else {
        counts.emails_to += u64::from(to);
        counts.emails_from += u64::from(from);
        if activity.flags & FLAG_REPLY != 0 {
            counts.reply_seconds += i128::from(activity.value);
            counts.n_replies += 1;
        }
    }
    for person in people {
        // The people here are org users and the account's own people.
        let is_org = address_class.get(*person as usize) == Some(&CLASS_ORG);
        if is_meeting {
            if first_sighting(&mut stamps.meeting_people, *person, stamp) {
                if is_org {
                    counts.org_people_meetings += 1;
                } else {
                    counts.account_people_meetings += 1;
                }
            }
        } else if first_sighting(&mut stamps.email_people, *person, stamp) {
            if is_org {
                counts.org_people_emails += 1;
            } else {
                counts.account_people_emails += 1;
            }
        }
        if first_sighting(&mut stamps.any_people, *person, stamp) {
            counts.breadth += 1;
        }
    }
}

/// Turns one period's sums into a row and its feature values (§4, §5).
fn build_row(
    account_id: &str,
    engagement_start_date: NaiveDate,
    period: &Period,
    counts: &Counts,
    latest_email: Option<i64>,
    latest_meeting: Option<i64>,
    group: usize,
) -> BuiltRow {
    let reference = period.end;
    let days_since = |latest: Option<i64>| {
        latest.map(|latest| reference.saturating_sub(latest).div_euclid(SECONDS_PER_DAY))
    };
    let days_since_last_email = days_since(latest_email);
    let days_since_last_meeting = days_since(latest_meeting);
    let average = |sum: i128, count: u64, unit_seconds: i128| {
        if count == 0 {
            None
        } else {
            Decimal::ratio_half_up(sum, unit_seconds * i128::from(count), 2)
        }
    };
    let row = Row {
        account_id: account_id.to_string(),
        engagement_score: 0,
        n_emails_to_account: counts.emails_to,
        n_emails_from_account: counts.emails_from,
        n_meetings_from_account: counts.meetings_from,
        n_meetings_to_account: counts.meetings_to,
        n_org_people_meetings: counts.org_people_meetings,
        n_org_people_emails: counts.org_people_emails,
        n_account_people_meetings: counts.account_people_meetings,
        n_account_people_emails: counts.account_people_emails,
        engagement_start_date,
        days_since_last_email,
        days_since_last_meeting,
        average_meeting_minutes: average(counts.meeting_seconds, counts.n_meetings, 60),
        average_reply_hours: average(counts.reply_seconds, counts.n_replies, 3_600),
        aggregation_start_date: period.start_date,
        level: period.level,
    };
    // A row has at least one activity, so it always has a latest email or meeting.
    let days_since_last_activity = output::days_since_last_activity(&row).unwrap_or(0);
    let features = [
        (counts.emails_to + counts.emails_from) as i64,
        (counts.meetings_to + counts.meetings_from) as i64,
        counts.breadth as i64,
        -days_since_last_activity,
        (counts.emails_from + counts.meetings_from) as i64,
    ];
    BuiltRow { row, features, group }
}

/// Scores every (level, period) group and returns one explanation per row, in row order. With
/// at least `min_parallel_work` rows, two threads share the groups.
fn score_rows(
    built: &mut [BuiltRow],
    n_groups: usize,
    weights: &Weights,
    min_parallel_work: usize,
) -> Vec<RowScore> {
    let row_indices: Vec<usize> = (0..built.len()).collect();
    let (order, group_starts) = counting_sort(&row_indices, n_groups, |row_index| {
        built.get(*row_index).map_or(n_groups, |built_row| built_row.group)
    });
    let built_rows: &[BuiltRow] = built;
    // The scores of the rows of `groups`, in `order`.
    let score_groups = |groups: Range<usize>| -> Vec<Scored> {
        let first = group_starts.get(groups.start).copied().unwrap_or(0);
        let end = group_starts.get(groups.end).copied().unwrap_or(first);
        let mut scores: Vec<Scored> = Vec::with_capacity(end.saturating_sub(first));
        let mut values: Vec<[i64; 5]> = Vec::new();
        for group in groups {
            let start = group_starts.get(group).copied().unwrap_or(0);
            let end = group_starts.get(group + 1).copied().unwrap_or(start);
            let members = order.get(start..end).unwrap_or_default();
            values.clear();
            values.extend(
                members
                    .iter()
                    .filter_map(|row_index| built_rows.get(*row_index))
                    .map(|built_row| built_row.features),
            );
            scores.extend(score::score_group(&values, weights));
        }
        scores
    };
    // Both halves' scores together follow `order`.
    let (scores, later_scores) = if built.len() >= min_parallel_work {
        let middle = middle_key(&group_starts);
        join(|| score_groups(0..middle), || score_groups(middle..n_groups))
    } else {
        (score_groups(0..n_groups), Vec::new())
    };
    let mut scored = vec![Scored { score: 0, beaten: [0; 5], compared: 0 }; built.len()];
    for (row_index, result) in order.iter().zip(scores.into_iter().chain(later_scores)) {
        if let Some(slot) = scored.get_mut(*row_index) {
            *slot = result;
        }
    }
    // The explanations stay on this thread: they are mostly memory to fill, and two halves
    // would have to be copied into one vector again, which costs what the second thread saves.
    built
        .iter_mut()
        .zip(scored)
        .map(|(built_row, scored)| {
            built_row.row.engagement_score = scored.score;
            RowScore {
                values: built_row.features,
                beaten: scored.beaten,
                compared: scored.compared,
            }
        })
        .collect()
}
