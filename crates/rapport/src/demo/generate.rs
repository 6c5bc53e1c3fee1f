//! The demo corpus generator: an invented organization, its customers and a year of their mail and
//! meetings, written as the input files `rapport enrich` reads.
//!
//! The corpus comes from a fixed seed, a SplitMix64 generator and integer arithmetic only (no
//! floating point, no hash-map iteration), so one `as_of` always gives the same bytes on any
//! machine. The people and companies are invented and every domain is reserved by RFC 2606
//! (`.example`, `.test`): no real company, person or mail provider appears.
//!
//! It aims to look like real exports — folded headers, encoded display names, obsolete date forms,
//! automated and bulk mail, one message stored in two places, recurring series with exceptions,
//! Windows time-zone names — and to stay small enough to write in well under a second. It is not a
//! test oracle: it writes inputs, never the figures they should give.
//!
//! Layout of the target folder:
//! - `users.csv` (`Email,DirectoryId`), `accounts.csv` (`AccountId,Name,Domains`) and
//!   `contacts.csv` (`Email,AccountId,Name`);
//! - `mail/archive.mbox`: the org's mail journal, exported [`ARCHIVE_CUT_DAYS`] days before `as_of`
//!   (mboxrd, LF line ends), including a few weeks before the window and a few broken messages;
//! - `mail/Inbox/{cur,new,tmp}`: the journal mailbox as a live Maildir holding the last
//!   [`INBOX_DAYS`] days, so most of it repeats messages of the archive;
//! - `calendar/meetings.ics`: one calendar export with single meetings, recurring series and
//!   updated versions of some events (CRLF, folded at 75 octets).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Months, NaiveDate};
use rapport_ingest::date::days_from_civil;

/// Paths of the files [`generate`] wrote, to be passed on as the inputs of an enrichment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DemoFiles {
    /// The org users: `users.csv` with `Email,DirectoryId`.
    pub(crate) users: PathBuf,
    /// The contacts: `contacts.csv` with `Email,AccountId,Name`.
    pub(crate) contacts: PathBuf,
    /// The accounts: `accounts.csv` with `AccountId,Name,Domains`.
    pub(crate) accounts: PathBuf,
    /// The activity sources in reading order: the mbox archive, the Maildir, the calendar file.
    pub(crate) sources: Vec<PathBuf>,
}

/// Writes the demo corpus for the as-of date `as_of` into `dir` and returns where its files are.
///
/// The same `as_of` always gives the same bytes. Files of an earlier run in `dir` are replaced;
/// in the Maildir only messages this generator wrote (their names hold `.rapport-demo`) are
/// removed, so a stale run never leaks into a new one. Fails with `InvalidInput` for an `as_of`
/// outside the years 1971–9998, and with the underlying error when a file cannot be written.
pub(crate) fn generate(dir: &Path, as_of: NaiveDate) -> io::Result<DemoFiles> {
    let corpus = Corpus::build(as_of)?;
    let mail_dir = dir.join("mail");
    let inbox_dir = mail_dir.join("Inbox");
    let calendar_dir = dir.join("calendar");
    let files = DemoFiles {
        users: dir.join("users.csv"),
        contacts: dir.join("contacts.csv"),
        accounts: dir.join("accounts.csv"),
        sources: vec![
            mail_dir.join("archive.mbox"),
            inbox_dir.clone(),
            calendar_dir.join("meetings.ics"),
        ],
    };
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(inbox_dir.join(sub))?;
    }
    fs::create_dir_all(&calendar_dir)?;
    fs::write(&files.users, corpus.users_csv())?;
    fs::write(&files.accounts, corpus.accounts_csv())?;
    fs::write(&files.contacts, corpus.contacts_csv())?;
    fs::write(mail_dir.join("archive.mbox"), corpus.mbox())?;
    write_maildir(&inbox_dir, &corpus)?;
    fs::write(calendar_dir.join("meetings.ics"), corpus.calendar())?;
    Ok(files)
}

/// The archive was exported this many days before `as_of`; later mail is only in the Maildir.
const ARCHIVE_CUT_DAYS: i64 = 3;
/// The Maildir holds the mail of this many days before `as_of`.
const INBOX_DAYS: i64 = 10;
/// Maildir messages younger than this many days are unread (`new/`).
const UNREAD_DAYS: i64 = 1;
/// Marks the Maildir files this generator owns, so a re-run removes only those.
const MAILDIR_MARK: &str = ".rapport-demo";

const ORG_DOMAIN: &str = "northwind-demo.example";
/// Private mail addresses (recruiters, friends, freelancers): in no account's domain list.
const PRIVATE_DOMAIN: &str = "mail.example";
/// The seed spells "RAPPORT!" so that every as-of date has the same people and companies.
const SEED: u64 = 0x5241_5050_4f52_5421;

const N_ORG_USERS: usize = 40;
const N_ACCOUNTS: usize = 300;
/// Accounts with any activity; the rest of the customer data stays silent all year.
const N_ACTIVE_ACCOUNTS: usize = 258;
const N_ACCOUNT_THREADS: usize = 8_200;
const N_PRE_WINDOW_THREADS: usize = 90;
const N_INTERNAL_THREADS: usize = 550;
const N_PRIVATE_THREADS: usize = 260;
const N_DISTRIBUTION_LIST_MAILS: usize = 80;
const N_NOTIFICATIONS: usize = 420;
const N_NEWSLETTERS: usize = 180;
const N_INTERNAL_AUTOMATED: usize = 120;
const N_INVITATION_MAILS: usize = 150;
/// Maildir copies whose Message-ID the export rewrote (they merge by sender, time and recipients).
const N_REWRITTEN_COPIES: usize = 5;
/// The chance, in percent, that a conversation gets one more reply.
const REPLY_PERCENT: u64 = 52;
const MAX_THREAD_LENGTH: usize = 10;

const N_SINGLE_MEETINGS: usize = 1_460;
const N_SERIES: usize = 20;
/// Single meetings that appear a second time as a later version (higher `SEQUENCE`).
const N_UPDATED_MEETINGS: usize = 15;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
const MINUTE: i64 = 60;
/// Days from 0001-01-01 (day 1 in chrono's count) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// Reply delays in minutes at the quantiles 0, 1/16, …, 1 of a log-normal law with a median of
/// 2.5 hours and σ = 1.7, clamped to one minute and nine days. Interpolating in this table gives
/// minutes-to-days delays without floating point, which could differ between platforms.
const REPLY_DELAY_MINUTES: [i64; 17] =
    [1, 11, 21, 33, 48, 65, 87, 115, 150, 196, 258, 344, 472, 678, 1_060, 2_036, 12_960];

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast and good enough for invented data.
struct Rng {
    state: u64,
}

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (0 when `n` is 0), by Lemire's multiply-shift; the bias is negligible.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A value in `low..=high` (`low` when the range is empty).
    fn between(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        low + self.below((high - low + 1) as u64) as i64
    }

    fn percent(&mut self, chance: u64) -> bool {
        self.below(100) < chance
    }

    /// One item of a constant, non-empty table.
    fn pick<T: Copy, const N: usize>(&mut self, items: &[T; N]) -> T {
        items[self.index(N)]
    }

    /// One item of a slice, `None` when it is empty.
    fn choose(&mut self, items: &[usize]) -> Option<usize> {
        items.get(self.index(items.len())).copied()
    }

    /// An item of a slice, skewed towards its start (the minimum of two draws), so that the first
    /// contacts of an account write most of its mail.
    fn choose_skewed(&mut self, items: &[usize]) -> Option<usize> {
        let first = self.index(items.len());
        let second = self.index(items.len());
        items.get(first.min(second)).copied()
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for position in (1..items.len()).rev() {
            let other = self.index(position + 1);
            items.swap(position, other);
        }
    }

    /// `count` distinct items of `pool` (all of them when it is smaller), in random order.
    fn choose_distinct(&mut self, pool: &[usize], count: usize, out: &mut Vec<usize>) {
        let mut rest: Vec<usize> = pool.to_vec();
        let count = count.min(rest.len());
        for position in 0..count {
            let other = position + self.index(rest.len() - position);
            rest.swap(position, other);
        }
        out.extend(rest.iter().take(count));
    }

    /// A random delay for a reply: minutes to days, log-normal-ish.
    fn reply_delay_seconds(&mut self) -> i64 {
        const STEPS: i64 = 1_024;
        let position = self.below(16 * STEPS as u64) as i64;
        let bucket = (position / STEPS) as usize;
        let fraction = position % STEPS;
        let low = REPLY_DELAY_MINUTES.get(bucket).copied().unwrap_or(1);
        let high = REPLY_DELAY_MINUTES.get(bucket + 1).copied().unwrap_or(low);
        low * MINUTE + (high - low) * MINUTE * fraction / STEPS + self.between(0, 59)
    }
}

// Calendar arithmetic on days since 1970-01-01 (Howard Hinnant's algorithms; days_from_civil is
// shared with the date parser): integer-only and much faster than formatting through chrono for
// twenty thousand messages.

/// `(year, month 1–12, day 1–31)` of a day number.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
fn weekday(days: i64) -> i64 {
    (days + 3).rem_euclid(7)
}

fn last_sunday(year: i64, month: i64) -> i64 {
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    let last_day = days_from_civil(next_year, next_month, 1) - 1;
    last_day - (weekday(last_day) + 1) % 7
}

fn nth_sunday(year: i64, month: i64, n: i64) -> i64 {
    let first_day = days_from_civil(year, month, 1);
    first_day + (6 - weekday(first_day)) + 7 * (n - 1)
}

const WEEKDAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTH_NAMES: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn weekday_name(days: i64) -> &'static str {
    WEEKDAY_NAMES.get(weekday(days) as usize).copied().unwrap_or("Mon")
}

fn month_name(month: i64) -> &'static str {
    MONTH_NAMES.get((month - 1) as usize).copied().unwrap_or("Jan")
}

/// Where a person works; only the rules the corpus needs (EU and US daylight saving time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Zone {
    /// Mail relays stamp `Received` fields in UTC.
    Utc,
    Berlin,
    Paris,
    London,
    NewYork,
    Chicago,
    LosAngeles,
    Tokyo,
    Kolkata,
    Singapore,
}

impl Zone {
    fn standard_minutes(self) -> i64 {
        match self {
            Zone::Berlin | Zone::Paris => 60,
            Zone::Utc | Zone::London => 0,
            Zone::NewYork => -300,
            Zone::Chicago => -360,
            Zone::LosAngeles => -480,
            Zone::Tokyo => 540,
            Zone::Kolkata => 330,
            Zone::Singapore => 480,
        }
    }

    fn is_daylight_saving(self, utc: i64) -> bool {
        let (year, _, _) = civil_from_days(utc.div_euclid(DAY));
        match self {
            // The EU switches at 01:00 UTC on the last Sundays of March and October.
            Zone::Berlin | Zone::Paris | Zone::London => {
                let start = last_sunday(year, 3) * DAY + HOUR;
                let end = last_sunday(year, 10) * DAY + HOUR;
                (start..end).contains(&utc)
            }
            // The US switches at 02:00 local time on the second Sunday of March and the first of
            // November.
            Zone::NewYork | Zone::Chicago | Zone::LosAngeles => {
                let standard = self.standard_minutes() * MINUTE;
                let start = nth_sunday(year, 3, 2) * DAY + 2 * HOUR - standard;
                let end = nth_sunday(year, 11, 1) * DAY + 2 * HOUR - (standard + HOUR);
                (start..end).contains(&utc)
            }
            Zone::Utc | Zone::Tokyo | Zone::Kolkata | Zone::Singapore => false,
        }
    }

    fn offset_minutes(self, utc: i64) -> i64 {
        self.standard_minutes() + if self.is_daylight_saving(utc) { 60 } else { 0 }
    }

    /// The UTC instant of a local wall-clock time. Exact away from the switch nights, which is
    /// where business hours lie.
    fn local_to_utc(self, local: i64) -> i64 {
        let guess = local - self.standard_minutes() * MINUTE;
        local - self.offset_minutes(guess) * MINUTE
    }

    fn abbreviation(self, daylight_saving: bool) -> &'static str {
        match (self, daylight_saving) {
            (Zone::Utc, _) => "UTC",
            (Zone::Berlin | Zone::Paris, false) => "CET",
            (Zone::Berlin | Zone::Paris, true) => "CEST",
            (Zone::London, false) => "GMT",
            (Zone::London, true) => "BST",
            (Zone::NewYork, false) => "EST",
            (Zone::NewYork, true) => "EDT",
            (Zone::Chicago, false) => "CST",
            (Zone::Chicago, true) => "CDT",
            (Zone::LosAngeles, false) => "PST",
            (Zone::LosAngeles, true) => "PDT",
            (Zone::Tokyo, _) => "JST",
            (Zone::Kolkata, _) => "IST",
            (Zone::Singapore, _) => "+08",
        }
    }

    /// The obsolete RFC 5322 zone name for this offset, when there is one.
    fn obsolete_name(self, daylight_saving: bool) -> Option<&'static str> {
        match self {
            Zone::NewYork | Zone::Chicago | Zone::LosAngeles => {
                Some(self.abbreviation(daylight_saving))
            }
            Zone::London if !daylight_saving => Some("GMT"),
            _ => None,
        }
    }

    /// The legal-form suffixes of company names registered here.
    fn legal_suffixes(self) -> &'static [&'static str] {
        match self {
            Zone::Utc | Zone::Berlin => &[" GmbH", " AG", " GmbH & Co. KG"],
            Zone::Paris => &[" SAS", " SA"],
            Zone::London => &[" Ltd", " plc"],
            Zone::NewYork | Zone::Chicago | Zone::LosAngeles => &[", Inc.", " LLC", " Corp."],
            Zone::Tokyo => &[" K.K."],
            Zone::Kolkata => &[" Pvt. Ltd."],
            Zone::Singapore => &[" Pte. Ltd."],
        }
    }

    fn country_code(self) -> &'static str {
        match self {
            Zone::Utc | Zone::Berlin => "de",
            Zone::Paris => "fr",
            Zone::London => "uk",
            Zone::NewYork | Zone::Chicago | Zone::LosAngeles => "us",
            Zone::Tokyo => "jp",
            Zone::Kolkata => "in",
            Zone::Singapore => "sg",
        }
    }
}

/// Account regions and their weights in percent.
const ACCOUNT_ZONES: [(Zone, u64); 9] = [
    (Zone::Berlin, 30),
    (Zone::NewYork, 15),
    (Zone::London, 12),
    (Zone::Paris, 10),
    (Zone::LosAngeles, 10),
    (Zone::Chicago, 8),
    (Zone::Tokyo, 5),
    (Zone::Kolkata, 5),
    (Zone::Singapore, 5),
];

/// How a mail client writes the `Date` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DateStyle {
    /// `Tue, 4 Jun 2024 09:32:11 +0200`
    Standard,
    /// `Tue, 4 Jun 2024 09:32:11 +0200 (CEST)`
    Comment,
    /// `04 Jun 2024 09:32:11 +0200`
    NoWeekday,
    /// `Tue, 4 Jun 2024 03:32:11 EDT` (obsolete zone names where the zone has one)
    ObsoleteName,
    /// `Tue, 4 Jun 2024 09:32 +0200`
    NoSeconds,
    /// `Tue, 4 Jun 24 09:32:11 +0200` (obsolete two-digit year, for 2000–2068 only)
    TwoDigitYear,
}

/// The mail client a person uses: decides the Message-ID form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    Exchange,
    WebMail,
    Desktop,
    Unix,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PersonKind {
    Org,
    Contact,
    Other,
    Room,
}

/// Anyone who sends or receives mail or attends a meeting.
#[derive(Clone, Debug)]
struct Person {
    /// The display name, possibly non-ASCII; empty for bare addresses.
    display: String,
    /// The lowercase address.
    email: String,
    zone: Zone,
    kind: PersonKind,
    /// Writes the display name in quotes even when it does not need them.
    quote_display: bool,
    /// Writes the address with capitals (`Anna.Berg@Fenmere.example`), as some directories do.
    capitalized: bool,
    date_style: DateStyle,
    client: Client,
}

/// Org users by what they do; the indices point into the people list.
#[derive(Default)]
struct OrgRoles {
    /// Account owners.
    sales: Vec<usize>,
    /// Customer success and solution engineers: the colleagues on account mail.
    specialists: Vec<usize>,
    /// Everyone else: internal mail and meetings.
    staff: Vec<usize>,
}

/// Special addresses the corpus uses; indices into the people list.
struct Others {
    private_people: Vec<usize>,
    newsletters: Vec<usize>,
    internal_robot: usize,
    mailer_daemon: usize,
    distribution_lists: Vec<usize>,
    rooms_berlin: Vec<usize>,
    room_new_york: usize,
    room_london: usize,
}

struct AccountInfo {
    account_id: String,
    name: String,
    /// The cleaned domains, primary first.
    domains: Vec<String>,
    /// The `Domains` cell as the customer data writes it (URLs, hosts, case).
    domains_cell: String,
    zone: Zone,
    /// Contacts (person indices) and whether `contacts.csv` lists them.
    contacts: Vec<(usize, bool)>,
    /// Every contact's person index, for picking.
    contact_people: Vec<usize>,
    /// A notification sender of the account's own systems.
    robot: usize,
    owner: usize,
    colleagues: Vec<usize>,
    /// Activity weight (Zipf-like by rank); 0 for silent accounts.
    weight: u64,
    /// First and last day (days since 1970) with activity.
    first_day: i64,
    last_day: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MailKind {
    Conversation,
    /// `Auto-Submitted: auto-generated` (system notifications).
    AutoGenerated,
    /// Out-of-office replies (`Auto-Submitted: auto-replied`).
    AutoReplied,
    /// Billing runs and the like: `Precedence: bulk` only.
    BulkOnly,
    /// Newsletters: `List-Id`, `List-Unsubscribe` and `Precedence: bulk`.
    Newsletter,
    Bounce,
    /// A meeting request as a top-level `text/calendar` message (web mail style).
    CalendarRequest,
    /// A meeting request with `Content-Class: urn:content-classes:calendarmessage` (Exchange).
    CalendarClass,
    /// A `Date` header no parser can read and no `Received` field.
    BrokenDate,
    /// Text without any header field after the mbox separator.
    NoHeaders,
}

struct Message {
    /// Sent instant, Unix seconds.
    sent: i64,
    /// Generation order: a stable tie-break and the source of unique ids.
    order: u32,
    message_id: String,
    from: usize,
    to: Vec<usize>,
    cc: Vec<usize>,
    subject: String,
    /// The parent's Message-ID, without angle brackets.
    in_reply_to: Option<String>,
    /// `<id> <id> …`, oldest first; empty when not a reply.
    references: String,
    kind: MailKind,
    body: &'static str,
    /// The Message-ID of the Maildir copy when the export rewrote it.
    rewritten_id: Option<String>,
}

/// How a calendar writes an event's times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeForm {
    Utc,
    Iana(&'static str),
    /// An Outlook-style Windows zone name in quotes, with no VTIMEZONE in the file.
    Windows(&'static str),
}

#[derive(Clone, Debug)]
struct Attendee {
    person: usize,
    partstat: &'static str,
    optional: bool,
}

#[derive(Clone, Debug)]
struct Meeting {
    uid: String,
    sequence: u32,
    stamp: i64,
    form: TimeForm,
    zone: Zone,
    /// Local wall-clock times in `zone` (Unix seconds as if the zone were UTC).
    start_local: i64,
    end_local: i64,
    /// `DTSTART;VALUE=DATE` (or, in Outlook style, midnight plus `X-MICROSOFT-CDO-ALLDAYEVENT`).
    all_day: bool,
    organizer: usize,
    attendees: Vec<Attendee>,
    room: Option<usize>,
    cancelled: bool,
    summary: &'static str,
    location: &'static str,
    rrule: Option<String>,
    /// Local start times of removed occurrences.
    exdates: Vec<i64>,
    /// Writes the EXDATE as a DATE value.
    exdate_as_date: bool,
    /// The local start time of the occurrence this override replaces.
    recurrence_id: Option<i64>,
}

/// The whole corpus in memory, before it is written.
struct Corpus {
    as_of_day: i64,
    people: Vec<Person>,
    directory_ids: Vec<String>,
    accounts: Vec<AccountInfo>,
    /// Sorted by sent time, then generation order.
    messages: Vec<Message>,
    /// Written first: series masters, each followed by its overrides.
    series: Vec<Meeting>,
    /// Written next, sorted by start.
    singles: Vec<Meeting>,
    /// Later versions of some singles, written last as an update would append them.
    updates: Vec<Meeting>,
}

/// Given names: (display, ASCII for addresses). Combined at random, so every person is invented.
const GIVEN_NAMES: [(&str, &str); 48] = [
    ("Anna", "anna"),
    ("Jörg", "joerg"),
    ("Lena", "lena"),
    ("Malte", "malte"),
    ("Sofia", "sofia"),
    ("Tobias", "tobias"),
    ("Priya", "priya"),
    ("Kenji", "kenji"),
    ("Amara", "amara"),
    ("Lucas", "lucas"),
    ("Chloé", "chloe"),
    ("Mateo", "mateo"),
    ("Ingrid", "ingrid"),
    ("Omar", "omar"),
    ("Hannah", "hannah"),
    ("Yusuf", "yusuf"),
    ("Elena", "elena"),
    ("Noah", "noah"),
    ("Freya", "freya"),
    ("Rafael", "rafael"),
    ("Mei", "mei"),
    ("Jonas", "jonas"),
    ("Aisha", "aisha"),
    ("Felix", "felix"),
    ("Zoë", "zoe"),
    ("Nikolai", "nikolai"),
    ("Grace", "grace"),
    ("Tomás", "tomas"),
    ("Leila", "leila"),
    ("Henrik", "henrik"),
    ("Carmen", "carmen"),
    ("Samuel", "samuel"),
    ("Ines", "ines"),
    ("Arjun", "arjun"),
    ("Nora", "nora"),
    ("Emil", "emil"),
    ("Julia", "julia"),
    ("David", "david"),
    ("Sana", "sana"),
    ("Oskar", "oskar"),
    ("Maya", "maya"),
    ("Ben", "ben"),
    ("Clara", "clara"),
    ("Leon", "leon"),
    ("Yuki", "yuki"),
    ("Fatima", "fatima"),
    ("Paul", "paul"),
    ("Ruth", "ruth"),
];

/// Family names: (display, ASCII for addresses).
const FAMILY_NAMES: [(&str, &str); 50] = [
    ("Albrecht", "albrecht"),
    ("Brandt", "brandt"),
    ("Castillo", "castillo"),
    ("Dahl", "dahl"),
    ("Eriksen", "eriksen"),
    ("Fischer", "fischer"),
    ("Göransson", "goeransson"),
    ("Hartmann", "hartmann"),
    ("Ivanova", "ivanova"),
    ("Jansen", "jansen"),
    ("Kowalski", "kowalski"),
    ("Lindqvist", "lindqvist"),
    ("Moreau", "moreau"),
    ("Nakamura", "nakamura"),
    ("Okafor", "okafor"),
    ("Petrović", "petrovic"),
    ("Quinn", "quinn"),
    ("Rahman", "rahman"),
    ("Schäfer", "schaefer"),
    ("Tanaka", "tanaka"),
    ("Urban", "urban"),
    ("Vogel", "vogel"),
    ("Weber", "weber"),
    ("Yilmaz", "yilmaz"),
    ("Zimmermann", "zimmermann"),
    ("Adeyemi", "adeyemi"),
    ("Bauer", "bauer"),
    ("Costa", "costa"),
    ("Dubois", "dubois"),
    ("Engel", "engel"),
    ("Falk", "falk"),
    ("Grünewald", "gruenewald"),
    ("Haas", "haas"),
    ("Iyer", "iyer"),
    ("Keller", "keller"),
    ("Lund", "lund"),
    ("Meyer-Ross", "meyer-ross"),
    ("Nowak", "nowak"),
    ("O'Neill", "oneill"),
    ("Park", "park"),
    ("Reyes", "reyes"),
    ("Sato", "sato"),
    ("Thorsen", "thorsen"),
    ("Varga", "varga"),
    ("Winter", "winter"),
    ("Young", "young"),
    ("Ziegler", "ziegler"),
    ("Ahmadi", "ahmadi"),
    ("Berg", "berg"),
    ("Chen", "chen"),
];

/// Invented company names are one of these followed by one of [`NAME_ENDINGS`].
const NAME_STARTS: [&str; 24] = [
    "Bram", "Cal", "Dor", "Fen", "Gal", "Hal", "Jor", "Kel", "Lun", "Mor", "Nor", "Pell", "Quen",
    "Ros", "Sal", "Tor", "Vel", "Wyn", "Zar", "Bel", "Cor", "Dun", "Ell", "Fal",
];
const NAME_ENDINGS: [&str; 16] = [
    "wick", "ford", "holt", "mere", "vane", "dale", "rith", "mont", "stead", "brook", "gard",
    "lind", "vik", "tonn", "sey", "marsh",
];
const INDUSTRIES: [&str; 30] = [
    "Analytics",
    "Logistics",
    "Robotics",
    "Foods",
    "Labs",
    "Systems",
    "Health",
    "Energy",
    "Freight",
    "Textiles",
    "Media",
    "Biotech",
    "Capital",
    "Components",
    "Dynamics",
    "Engineering",
    "Outfitters",
    "Pharma",
    "Retail",
    "Software",
    "Instruments",
    "Materials",
    "Networks",
    "Optics",
    "Packaging",
    "Precision",
    "Studios",
    "Telecom",
    "Ventures",
    "Works",
];

const SUBJECTS: [&str; 24] = [
    "Quarterly review",
    "Next steps",
    "Proposal follow-up",
    "Renewal timeline",
    "Onboarding plan",
    "Invoice question",
    "Pilot results",
    "Contract draft",
    "Workshop agenda",
    "Support ticket update",
    "Roadmap session",
    "Pricing options",
    "Kick-off call",
    "Introduction",
    "Meeting notes",
    "Training dates",
    "Integration questions",
    "Security questionnaire",
    "Reference call",
    "Project status",
    "Order confirmation details",
    "Feedback on the latest release",
    "Planning for the next phase and open questions from both teams",
    "Travel arrangements",
];
const INTERNAL_SUBJECTS: [&str; 8] = [
    "Pipeline review",
    "Team offsite",
    "Account plan draft",
    "Forecast numbers",
    "Hiring update",
    "Lunch on Friday?",
    "Slides for the board",
    "Expense report",
];
const PRIVATE_SUBJECTS: [&str; 5] =
    ["Catching up", "Opportunity you may like", "Weekend plans", "Your application", "Hello"];
const NOTIFICATION_SUBJECTS: [&str; 6] = [
    "Your ticket has been updated",
    "Weekly usage report",
    "Password expiry notice",
    "New document shared with you",
    "Invoice available",
    "Maintenance window announcement",
];
const NEWSLETTER_SUBJECTS: [&str; 4] =
    ["This week in the industry", "Event highlights", "Market briefing", "Webinar invitation"];
const INTERNAL_NOTIFICATION_SUBJECTS: [&str; 4] =
    ["Your mailbox is almost full", "Scheduled maintenance", "Expense approved", "Badge renewal"];
/// Bodies are one generic line: the engine never reads them, and no real content is invented.
const BODIES: [&str; 12] = [
    "Thanks, see you then.",
    "Following up on our last conversation.",
    "Please find the details as discussed.",
    "Looking forward to hearing from you.",
    "Confirming the next steps.",
    "Quick update from our side.",
    "Sounds good, thank you.",
    "Happy to set up a call next week.",
    "Adding my colleague for visibility.",
    "Could you check the attached summary?",
    "Noted, we will get back to you shortly.",
    // Needs mboxrd quoting (`>From `) and starts right after the blank line that ends the
    // header: a reader that forgets the quoting would split the message here.
    "From our side, all set.",
];
const AUTOMATED_BODY: &str = "This message was generated automatically.";
const MEETING_SUMMARIES: [&str; 10] = [
    "Account sync",
    "Quarterly business review",
    "Product demo",
    "Workshop",
    "Intro call",
    "Renewal discussion",
    "Technical deep dive",
    "Onboarding session",
    "Status call",
    "Escalation review",
];
const INTERNAL_SUMMARIES: [&str; 5] =
    ["Weekly team sync", "Pipeline review", "1:1", "Planning", "Retrospective"];
const MEETING_LOCATIONS: [&str; 4] = ["Video call", "Video call", "Customer site", "Phone"];
const PARTSTATS: [&str; 20] = [
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "ACCEPTED",
    "TENTATIVE",
    "TENTATIVE",
    "NEEDS-ACTION",
    "NEEDS-ACTION",
    "DECLINED",
];
const MEETING_MINUTES: [i64; 10] = [15, 30, 30, 30, 45, 60, 60, 60, 90, 120];
const MEETING_START_MINUTES: [i64; 6] = [0, 0, 0, 30, 30, 15];

/// Builds the corpus; the fields are disjoint so that the generator can be borrowed mutably
/// while the tables are read.
struct Builder {
    rng: Rng,
    window_start_day: i64,
    as_of_day: i64,
    people: Vec<Person>,
    directory_ids: Vec<String>,
    roles: OrgRoles,
    accounts: Vec<AccountInfo>,
    /// Cumulative activity weights of the active accounts: (running total, account index).
    cumulative_weights: Vec<(u64, usize)>,
    messages: Vec<Message>,
    /// Calendar components made so far: part of every UID, so no two events share one by chance.
    n_events: usize,
}

impl Corpus {
    fn build(as_of: NaiveDate) -> io::Result<Corpus> {
        if !(1971..=9998).contains(&as_of.year()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the demo as-of date {as_of} must lie in the years 1971 to 9998"),
            ));
        }
        // W = T − 12 calendar months, day clamped (metrics.md §1); chrono clamps the same way.
        let window_start = as_of.checked_sub_months(Months::new(12)).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("no window for {as_of}"))
        })?;
        let mut builder = Builder {
            rng: Rng::new(SEED),
            window_start_day: i64::from(window_start.num_days_from_ce()) - UNIX_EPOCH_DAYS_FROM_CE,
            as_of_day: i64::from(as_of.num_days_from_ce()) - UNIX_EPOCH_DAYS_FROM_CE,
            people: Vec::with_capacity(2_000),
            directory_ids: Vec::with_capacity(N_ORG_USERS),
            roles: OrgRoles::default(),
            accounts: Vec::with_capacity(N_ACCOUNTS),
            cumulative_weights: Vec::with_capacity(N_ACTIVE_ACCOUNTS),
            messages: Vec::with_capacity(24_000),
            n_events: 0,
        };
        builder.add_org_users();
        let others = builder.add_others();
        builder.add_accounts();
        builder.add_mail(&others);
        let (series, singles, updates) = builder.add_meetings(&others);
        let mut messages = builder.messages;
        messages.sort_by_key(|message| (message.sent, message.order));
        mark_rewritten_copies(&mut builder.rng, &mut messages, builder.as_of_day);
        Ok(Corpus {
            as_of_day: builder.as_of_day,
            people: builder.people,
            directory_ids: builder.directory_ids,
            accounts: builder.accounts,
            messages,
            series,
            singles,
            updates,
        })
    }
}

impl Builder {
    /// A person with a random mail client, date style and display-name habit.
    fn person(&mut self, display: String, email: String, zone: Zone, kind: PersonKind) -> usize {
        let date_style = match self.rng.below(100) {
            0..70 => DateStyle::Standard,
            70..80 => DateStyle::Comment,
            80..88 => DateStyle::NoWeekday,
            88..94 => DateStyle::ObsoleteName,
            94..98 => DateStyle::NoSeconds,
            _ => DateStyle::TwoDigitYear,
        };
        let client = match kind {
            PersonKind::Org => {
                if self.rng.percent(85) {
                    Client::Exchange
                } else {
                    Client::Desktop
                }
            }
            _ => self.rng.pick(&[Client::Exchange, Client::WebMail, Client::Desktop, Client::Unix]),
        };
        let person = Person {
            display,
            email,
            zone,
            kind,
            quote_display: self.rng.percent(30),
            capitalized: kind != PersonKind::Room && self.rng.percent(4),
            date_style,
            client,
        };
        self.people.push(person);
        self.people.len() - 1
    }

    /// A random invented name: (display, given name ASCII, family name ASCII).
    fn name(&mut self) -> (String, &'static str, &'static str) {
        let (given, given_ascii) = self.rng.pick(&GIVEN_NAMES);
        let (family, family_ascii) = self.rng.pick(&FAMILY_NAMES);
        (format!("{given} {family}"), given_ascii, family_ascii)
    }

    fn add_org_users(&mut self) {
        let mut used: Vec<String> = Vec::with_capacity(N_ORG_USERS);
        while used.len() < N_ORG_USERS {
            let (given, given_ascii) = self.rng.pick(&GIVEN_NAMES);
            let (family, family_ascii) = self.rng.pick(&FAMILY_NAMES);
            let local = format!("{given_ascii}.{family_ascii}");
            if used.contains(&local) {
                continue;
            }
            let position = used.len();
            used.push(local.clone());
            // Most of the org sits in Berlin, with an office in New York and one in London.
            let zone = match position % 10 {
                0..7 => Zone::Berlin,
                7 | 8 => Zone::NewYork,
                _ => Zone::London,
            };
            // Exchange directories often show "Family, Given"; the comma needs quotes in mail.
            let display = if self.rng.percent(40) {
                format!("{family}, {given}")
            } else {
                format!("{given} {family}")
            };
            let index =
                self.person(display, format!("{local}@{ORG_DOMAIN}"), zone, PersonKind::Org);
            let directory_id = self.uuid();
            self.directory_ids.push(directory_id);
            match position {
                0..14 => self.roles.sales.push(index),
                14..28 => self.roles.specialists.push(index),
                _ => self.roles.staff.push(index),
            }
        }
    }

    /// A random version-4 UUID, lowercase, as directories show object ids.
    fn uuid(&mut self) -> String {
        let high = self.rng.next_u64();
        let low = self.rng.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            high >> 32,
            (high >> 16) & 0xffff,
            high & 0x0fff,
            ((low >> 48) & 0x3fff) | 0x8000,
            low & 0xffff_ffff_ffff
        )
    }

    fn add_others(&mut self) -> Others {
        let mut private_people = Vec::with_capacity(30);
        for _ in 0..30 {
            let (display, given, family) = self.name();
            let number = self.rng.between(1, 99);
            let email = format!("{given}.{family}{number}@{PRIVATE_DOMAIN}");
            let zone = self.rng.pick(&[Zone::Berlin, Zone::London, Zone::NewYork]);
            private_people.push(self.person(display, email, zone, PersonKind::Other));
        }
        let mut newsletters = Vec::with_capacity(3);
        for (display, email) in [
            ("Industry Digest", "news@industry-digest.example"),
            ("Conference Weekly", "events@conference-weekly.test"),
            ("Market Briefing", "updates@market-briefing.example"),
        ] {
            newsletters.push(self.person(
                display.into(),
                email.into(),
                Zone::London,
                PersonKind::Other,
            ));
        }
        let internal_robot = self.person(
            "IT Service Desk".into(),
            format!("no-reply@{ORG_DOMAIN}"),
            Zone::Berlin,
            PersonKind::Other,
        );
        let mailer_daemon = self.person(
            "Mail Delivery System".into(),
            format!("mailer-daemon@{ORG_DOMAIN}"),
            Zone::Berlin,
            PersonKind::Other,
        );
        // Distribution lists of the org that are not users: naming one does not make a mail
        // an org user's (metrics.md §8, Further details).
        let mut distribution_lists = Vec::with_capacity(2);
        for (display, local) in [("Sales Team", "sales-team"), ("Info", "info")] {
            distribution_lists.push(self.person(
                display.into(),
                format!("{local}@{ORG_DOMAIN}"),
                Zone::Berlin,
                PersonKind::Other,
            ));
        }
        let room = |builder: &mut Builder, name: &str, zone: Zone| {
            let email = format!("room.{}@{ORG_DOMAIN}", name.to_ascii_lowercase());
            builder.person(format!("Room {name}"), email, zone, PersonKind::Room)
        };
        let rooms_berlin =
            vec![room(self, "Elbe", Zone::Berlin), room(self, "Spree", Zone::Berlin)];
        let room_new_york = room(self, "Hudson", Zone::NewYork);
        let room_london = room(self, "Thames", Zone::London);
        Others {
            private_people,
            newsletters,
            internal_robot,
            mailer_daemon,
            distribution_lists,
            rooms_berlin,
            room_new_york,
            room_london,
        }
    }

    fn account_zone(&mut self) -> Zone {
        let mut roll = self.rng.below(100);
        for (zone, weight) in ACCOUNT_ZONES {
            if roll < weight {
                return zone;
            }
            roll -= weight;
        }
        Zone::Berlin
    }

    fn add_accounts(&mut self) {
        // Unique company stems: a shuffled sample of every start × ending combination.
        let mut stems: Vec<usize> = (0..NAME_STARTS.len() * NAME_ENDINGS.len()).collect();
        self.rng.shuffle(&mut stems);
        for (position, stem_index) in stems.iter().take(N_ACCOUNTS).enumerate() {
            let start = NAME_STARTS.get(stem_index / NAME_ENDINGS.len()).copied().unwrap_or("Bram");
            let ending =
                NAME_ENDINGS.get(stem_index % NAME_ENDINGS.len()).copied().unwrap_or("wick");
            let stem = format!("{start}{ending}");
            let industry = self.rng.pick(&INDUSTRIES);
            let zone = self.account_zone();
            let suffixes = zone.legal_suffixes();
            let suffix = suffixes.get(self.rng.index(suffixes.len())).copied().unwrap_or("");
            let name = format!("{stem} {industry}{suffix}");
            let slug = stem.to_ascii_lowercase();
            let primary = if self.rng.percent(50) {
                format!("{slug}-{}.example", industry.to_ascii_lowercase())
            } else {
                format!("{slug}.example")
            };
            let mut domains = vec![primary];
            if self.rng.percent(35) {
                let second = match self.rng.below(3) {
                    0 => format!("{slug}.test"),
                    1 => format!("{slug}-{}.example", zone.country_code()),
                    _ => format!("{slug}group.example"),
                };
                domains.push(second);
            }
            let owner = self.rng.choose(&self.roles.sales).unwrap_or(0);
            let mut colleagues = Vec::with_capacity(2);
            let n_colleagues = 1 + self.rng.index(2);
            self.rng.choose_distinct(&self.roles.specialists, n_colleagues, &mut colleagues);
            let robot_local = self.rng.pick(&["noreply", "no-reply", "notifications", "billing"]);
            let robot_domain = domains.first().cloned().unwrap_or_default();
            let robot = self.person(
                String::new(),
                format!("{robot_local}@{robot_domain}"),
                zone,
                PersonKind::Other,
            );
            self.accounts.push(AccountInfo {
                account_id: format!("ACC-{:04}", position + 1),
                name,
                domains,
                domains_cell: String::new(),
                zone,
                contacts: Vec::new(),
                contact_people: Vec::new(),
                robot,
                owner,
                colleagues,
                weight: 0,
                first_day: 0,
                last_day: 0,
            });
        }
        // A subsidiary lists its parent's domain too: that domain then matches neither.
        if let Some(parent_domain) = self.accounts.get(10).and_then(|a| a.domains.first()).cloned()
            && let Some(subsidiary) = self.accounts.get_mut(11)
        {
            subsidiary.domains.truncate(1);
            subsidiary.domains.push(parent_domain);
        }
        for account_index in 0..self.accounts.len() {
            self.add_contacts(account_index);
            let cell = self.domains_cell(account_index);
            if let Some(account) = self.accounts.get_mut(account_index) {
                account.domains_cell = cell;
            }
        }
        self.add_freelancer();
        self.rank_accounts();
    }

    /// The `Domains` cell: plain domains mostly, some as URLs, hosts or in capitals, which the
    /// customer-data reader cleans.
    fn domains_cell(&mut self, account_index: usize) -> String {
        let Some(account) = self.accounts.get(account_index) else { return String::new() };
        let mut cell = String::new();
        for (position, domain) in account.domains.iter().enumerate() {
            if position > 0 {
                cell.push(';');
            }
            match self.rng.below(100) {
                0..70 => cell.push_str(domain),
                70..85 => {
                    cell.push_str("https://www.");
                    cell.push_str(domain);
                    cell.push('/');
                }
                85..93 => {
                    cell.push_str("www.");
                    cell.push_str(domain);
                }
                93..97 => {
                    cell.push_str("http://");
                    cell.push_str(domain);
                    cell.push_str("/about");
                }
                _ => {
                    let mut capital = true;
                    for character in domain.chars() {
                        if capital {
                            cell.push(character.to_ascii_uppercase());
                        } else {
                            cell.push(character);
                        }
                        capital = character == '.' || character == '-';
                    }
                }
            }
        }
        cell
    }

    fn add_contacts(&mut self, account_index: usize) {
        let Some(account) = self.accounts.get(account_index) else { return };
        let zone = account.zone;
        let primary = account.domains.first().cloned().unwrap_or_default();
        // The subsidiary's second domain is shared, so nobody writes from it.
        let second = if account_index == 11 { None } else { account.domains.get(1).cloned() };
        // Each company has its own address convention.
        let convention = self.rng.below(6);
        let n_contacts = 2 + self.rng.index(7);
        let mut used_locals: Vec<String> = Vec::with_capacity(n_contacts);
        let mut contacts = Vec::with_capacity(n_contacts);
        while contacts.len() < n_contacts {
            let (given, given_ascii) = self.rng.pick(&GIVEN_NAMES);
            let (family, family_ascii) = self.rng.pick(&FAMILY_NAMES);
            let initial = given_ascii.get(..1).unwrap_or("x");
            let mut local = match convention {
                0 => format!("{given_ascii}.{family_ascii}"),
                1 => format!("{initial}.{family_ascii}"),
                2 => format!("{initial}{family_ascii}"),
                3 => format!("{given_ascii}_{family_ascii}"),
                4 => given_ascii.to_owned(),
                _ => format!("{family_ascii}.{given_ascii}"),
            };
            if used_locals.contains(&local) {
                local.push_str(&format!("{}", used_locals.len() + 1));
            }
            used_locals.push(local.clone());
            let roll = self.rng.below(100);
            let listed = roll < 85;
            let domain = match (&second, roll) {
                // A few listed contacts write from a private address: only the contact list
                // ties them to the account.
                (_, 0..3) => PRIVATE_DOMAIN.to_owned(),
                (Some(second), 3..20) => second.clone(),
                _ => primary.clone(),
            };
            let display = format!("{given} {family}");
            let index =
                self.person(display, format!("{local}@{domain}"), zone, PersonKind::Contact);
            contacts.push((index, listed));
        }
        if let Some(account) = self.accounts.get_mut(account_index) {
            account.contact_people = contacts.iter().map(|&(index, _)| index).collect();
            account.contacts = contacts;
        }
    }

    /// A freelancer listed as a contact of two accounts: the ambiguous address of the summary.
    fn add_freelancer(&mut self) {
        let (display, given, family) = self.name();
        let email = format!("{given}.{family}.consulting@{PRIVATE_DOMAIN}");
        let index = self.person(display, email, Zone::Berlin, PersonKind::Contact);
        for account_index in [4, 41] {
            if let Some(account) = self.accounts.get_mut(account_index) {
                account.contacts.push((index, true));
                account.contact_people.push(index);
            }
        }
    }

    /// Zipf-like activity: the account of rank r weighs 1/(r + 4); the top of the ranking stays
    /// busy all year while part of the tail starts late or goes quiet months before `as_of`.
    fn rank_accounts(&mut self) {
        let mut ranking: Vec<usize> = (0..self.accounts.len()).collect();
        self.rng.shuffle(&mut ranking);
        // The freelancer's two accounts must be active to show the ambiguous count.
        for must_be_active in [4, 41] {
            if let Some(position) = ranking.iter().position(|&index| index == must_be_active) {
                ranking.swap(position, 5 + must_be_active % 20);
            }
        }
        let span_days = self.as_of_day - self.window_start_day;
        let mut total = 0;
        for (rank, &account_index) in ranking.iter().enumerate().take(N_ACTIVE_ACCOUNTS) {
            let rank = rank as i64;
            let first_day = if rank < 10 || self.rng.percent(75) {
                self.window_start_day
            } else {
                self.window_start_day + self.rng.between(0, span_days * 3 / 4)
            };
            let last_day = if rank < 20 || self.rng.percent(55) {
                self.as_of_day - 1
            } else {
                let earliest = first_day + 30;
                let latest = self.as_of_day - 15;
                if earliest < latest {
                    self.rng.between(earliest, latest)
                } else {
                    self.as_of_day - 1
                }
            };
            let weight = 1_000_000 / (rank as u64 + 4);
            if let Some(account) = self.accounts.get_mut(account_index) {
                account.weight = weight;
                account.first_day = first_day;
                account.last_day = last_day;
            }
            total += weight;
            self.cumulative_weights.push((total, account_index));
        }
    }

    /// An active account, drawn by activity weight.
    fn pick_account(&mut self) -> usize {
        let total = self.cumulative_weights.last().map_or(0, |&(total, _)| total);
        let roll = self.rng.below(total);
        let position = self.cumulative_weights.partition_point(|&(running, _)| running <= roll);
        self.cumulative_weights.get(position).map_or(0, |&(_, index)| index)
    }

    /// A day of the account's active span, mostly on a weekday.
    fn pick_account_day(&mut self, account_index: usize) -> i64 {
        let (first_day, last_day) = self
            .accounts
            .get(account_index)
            .map_or((self.window_start_day, self.as_of_day - 1), |a| (a.first_day, a.last_day));
        let day = self.rng.between(first_day, last_day);
        self.weekday_shift(day, first_day, last_day)
    }

    /// A window day, mostly on a weekday.
    fn pick_window_day(&mut self) -> i64 {
        let day = self.rng.between(self.window_start_day, self.as_of_day - 1);
        self.weekday_shift(day, self.window_start_day, self.as_of_day - 1)
    }

    /// Moves most weekend days to the Friday before or the Monday after, inside the bounds.
    fn weekday_shift(&mut self, day: i64, first_day: i64, last_day: i64) -> i64 {
        let shifted = match weekday(day) {
            5 if self.rng.percent(85) => day - 1,
            6 if self.rng.percent(85) => day + 1,
            _ => day,
        };
        shifted.clamp(first_day, last_day.max(first_day))
    }

    /// A business-hours instant on `day` in the zone of `person`.
    fn business_instant(&mut self, person: usize, day: i64) -> i64 {
        let zone = self.people.get(person).map_or(Zone::Berlin, |p| p.zone);
        let local = day * DAY
            + self.rng.between(8, 17) * HOUR
            + self.rng.between(0, 59) * MINUTE
            + self.rng.between(0, 59);
        zone.local_to_utc(local)
    }

    fn is_org(&self, person: usize) -> bool {
        self.people.get(person).is_some_and(|p| p.kind == PersonKind::Org)
    }
}

impl Builder {
    /// Every kind of mail of the year, in no particular order (the corpus sorts it).
    fn add_mail(&mut self, others: &Others) {
        for _ in 0..N_ACCOUNT_THREADS {
            let account_index = self.pick_account();
            let day = self.pick_account_day(account_index);
            self.account_thread(account_index, day, others);
        }
        // The archive reaches back a few weeks before the window: `outside_window` in the
        // summary, and some replies inside the window whose parent is not.
        for _ in 0..N_PRE_WINDOW_THREADS {
            let account_index = self.pick_account();
            let day = self.window_start_day - self.rng.between(1, 30);
            self.account_thread(account_index, day, others);
        }
        for _ in 0..N_INTERNAL_THREADS {
            self.internal_thread();
        }
        for _ in 0..N_PRIVATE_THREADS {
            self.private_thread(others);
        }
        for _ in 0..N_DISTRIBUTION_LIST_MAILS {
            self.distribution_list_mail(others);
        }
        for _ in 0..N_NOTIFICATIONS {
            self.notification();
        }
        for _ in 0..N_NEWSLETTERS {
            self.newsletter(others);
        }
        for _ in 0..N_INTERNAL_AUTOMATED {
            self.internal_automated(others);
        }
        for _ in 0..N_INVITATION_MAILS {
            self.invitation_mail();
        }
        self.broken_mail();
    }

    /// A conversation between org users and contacts of one account.
    fn account_thread(&mut self, account_index: usize, day: i64, others: &Others) {
        let Some(account) = self.accounts.get(account_index) else { return };
        let org_primary = if self.rng.percent(75) {
            account.owner
        } else {
            self.rng.choose(&account.colleagues).unwrap_or(account.owner)
        };
        let Some(contact) = self.rng.choose_skewed(&account.contact_people) else { return };
        let mut contacts = vec![contact];
        if self.rng.percent(20)
            && let Some(second) = self.rng.choose(&account.contact_people)
            && second != contact
        {
            contacts.push(second);
        }
        let mut cc = Vec::new();
        if self.rng.percent(25)
            && let Some(colleague) = self.rng.choose(&account.colleagues)
            && colleague != org_primary
        {
            cc.push(colleague);
        }
        if self.rng.percent(10)
            && let Some(other) = self.rng.choose(&account.contact_people)
            && !contacts.contains(&other)
        {
            cc.push(other);
        }
        if self.rng.percent(3)
            && let Some(list) = self.rng.choose(&others.distribution_lists)
        {
            cc.push(list);
        }
        let subject = self.rng.pick(&SUBJECTS);
        if self.rng.percent(60) {
            let sent = self.business_instant(org_primary, day);
            self.thread(sent, org_primary, contacts, cc, subject);
        } else {
            let mut to = vec![org_primary];
            // Contacts often write to two people of the org at once.
            if self.rng.percent(15)
                && let Some(colleague) =
                    self.accounts.get(account_index).and_then(|a| a.colleagues.first())
                && *colleague != org_primary
            {
                to.push(*colleague);
            }
            cc.extend(contacts.iter().skip(1));
            let sent = self.business_instant(contact, day);
            self.thread(sent, contact, to, cc, subject);
        }
    }

    /// Writes a thread: each reply goes back to the previous sender after a random delay,
    /// so the direction alternates. Mail that would be sent at or after `as_of` is not written.
    fn thread(
        &mut self,
        first_sent: i64,
        first_from: usize,
        first_to: Vec<usize>,
        first_cc: Vec<usize>,
        subject: &'static str,
    ) {
        let limit = self.as_of_day * DAY;
        let (mut sent, mut from, mut to, mut cc) = (first_sent, first_from, first_to, first_cc);
        let mut references = String::new();
        let mut parent: Option<String> = None;
        for position in 0..MAX_THREAD_LENGTH {
            if sent >= limit {
                break;
            }
            let message_id = self.message_id(from);
            let subject_text =
                if position == 0 { subject.to_owned() } else { self.reply_subject(from, subject) };
            let body = self.rng.pick(&BODIES);
            let first_recipient = to.first().copied();
            self.push_message(Message {
                sent,
                order: 0,
                message_id: message_id.clone(),
                from,
                to: to.clone(),
                cc: cc.clone(),
                subject: subject_text,
                in_reply_to: parent.clone(),
                references: references.clone(),
                kind: MailKind::Conversation,
                body,
                rewritten_id: None,
            });
            // Out-of-office replies from contacts: automated, never counted.
            if let Some(recipient) = first_recipient
                && self.is_org(from)
                && !self.is_org(recipient)
                && self.rng.percent(3)
            {
                let auto_sent = sent + self.rng.between(20, 240);
                if auto_sent < limit {
                    let auto_id = self.message_id(recipient);
                    self.push_message(Message {
                        sent: auto_sent,
                        order: 0,
                        message_id: auto_id,
                        from: recipient,
                        to: vec![from],
                        cc: Vec::new(),
                        subject: format!("Automatic reply: {subject}"),
                        in_reply_to: Some(message_id.clone()),
                        references: String::new(),
                        kind: MailKind::AutoReplied,
                        body: AUTOMATED_BODY,
                        rewritten_id: None,
                    });
                }
            }
            if position + 1 >= MAX_THREAD_LENGTH || !self.rng.percent(REPLY_PERCENT) {
                break;
            }
            let Some(replier) = first_recipient else { break };
            if !references.is_empty() {
                references.push(' ');
            }
            references.push('<');
            references.push_str(&message_id);
            references.push('>');
            parent = Some(message_id);
            sent += self.rng.reply_delay_seconds();
            let mut reply_to = vec![from];
            if self.rng.percent(60) {
                reply_to.extend(to.iter().skip(1));
            } else {
                cc.clear();
            }
            from = replier;
            to = reply_to;
        }
    }

    fn push_message(&mut self, mut message: Message) {
        message.order = self.messages.len() as u32;
        self.messages.push(message);
    }

    /// `Re: `, or `AW: ` from German clients.
    fn reply_subject(&mut self, from: usize, subject: &str) -> String {
        let german = self.people.get(from).is_some_and(|p| p.zone == Zone::Berlin);
        if german && self.rng.percent(30) {
            format!("AW: {subject}")
        } else {
            format!("Re: {subject}")
        }
    }

    /// A unique Message-ID (without brackets) in the style of the sender's mail client.
    fn message_id(&mut self, from: usize) -> String {
        let serial = self.messages.len() + 1;
        let random = self.rng.next_u64();
        let (client, domain) = self.people.get(from).map_or((Client::Unix, ORG_DOMAIN), |p| {
            (p.client, p.email.rsplit('@').next().unwrap_or(ORG_DOMAIN))
        });
        match client {
            Client::Exchange => format!("{random:016X}{serial:06X}@exchange.{domain}"),
            Client::WebMail => {
                let mut id = String::with_capacity(48);
                id.push_str("CA+");
                let mut value = random;
                for _ in 0..12 {
                    let digit = (value % 36) as u32;
                    id.push(char::from_digit(digit, 36).unwrap_or('x'));
                    value /= 36;
                }
                id.push_str(&format!("{serial:x}@mail.{domain}"));
                id
            }
            Client::Desktop => format!(
                "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}@{domain}",
                random >> 32,
                (random >> 16) & 0xffff,
                random & 0xffff,
                serial & 0xffff,
                serial
            ),
            Client::Unix => format!("{serial:x}.{random:x}@{domain}"),
        }
    }

    fn internal_thread(&mut self) {
        let n_org = self.roles.sales.len() + self.roles.specialists.len() + self.roles.staff.len();
        let from = self.rng.index(n_org);
        let mut to = Vec::with_capacity(3);
        let wanted = 1 + self.rng.index(3);
        while to.len() < wanted {
            let other = self.rng.index(n_org);
            if other != from && !to.contains(&other) {
                to.push(other);
            }
        }
        let day = self.pick_window_day();
        let sent = self.business_instant(from, day);
        let subject = self.rng.pick(&INTERNAL_SUBJECTS);
        self.thread(sent, from, to, Vec::new(), subject);
    }

    /// Mail with private addresses that belong to no account.
    fn private_thread(&mut self, others: &Others) {
        let n_org = self.roles.sales.len() + self.roles.specialists.len() + self.roles.staff.len();
        let org_user = self.rng.index(n_org);
        let Some(outsider) = self.rng.choose(&others.private_people) else { return };
        let day = self.pick_window_day();
        let subject = self.rng.pick(&PRIVATE_SUBJECTS);
        if self.rng.percent(50) {
            let sent = self.business_instant(org_user, day);
            self.thread(sent, org_user, vec![outsider], Vec::new(), subject);
        } else {
            let sent = self.business_instant(outsider, day);
            self.thread(sent, outsider, vec![org_user], Vec::new(), subject);
        }
    }

    /// A contact writes to a distribution list only: no org user takes part.
    fn distribution_list_mail(&mut self, others: &Others) {
        let account_index = self.pick_account();
        let Some(from) =
            self.accounts.get(account_index).and_then(|a| a.contact_people.first().copied())
        else {
            return;
        };
        let Some(list) = self.rng.choose(&others.distribution_lists) else { return };
        let day = self.pick_account_day(account_index);
        let sent = self.business_instant(from, day);
        let subject = self.rng.pick(&SUBJECTS);
        self.single(sent, from, vec![list], subject.to_owned(), MailKind::Conversation);
    }

    /// A one-off message that starts no thread.
    fn single(&mut self, sent: i64, from: usize, to: Vec<usize>, subject: String, kind: MailKind) {
        if sent >= self.as_of_day * DAY {
            return;
        }
        let message_id = self.message_id(from);
        let body = match kind {
            MailKind::Conversation | MailKind::BrokenDate => self.rng.pick(&BODIES),
            _ => AUTOMATED_BODY,
        };
        self.push_message(Message {
            sent,
            order: 0,
            message_id,
            from,
            to,
            cc: Vec::new(),
            subject,
            in_reply_to: None,
            references: String::new(),
            kind,
            body,
            rewritten_id: None,
        });
    }

    /// The account's systems notify the owner.
    fn notification(&mut self) {
        let account_index = self.pick_account();
        let Some((robot, owner)) = self.accounts.get(account_index).map(|a| (a.robot, a.owner))
        else {
            return;
        };
        let day = self.pick_account_day(account_index);
        let sent = self.business_instant(robot, day);
        // A `noreply` sender is automated by its name alone; the others say so in a header.
        let local = self.people.get(robot).map_or("", |p| p.email.split('@').next().unwrap_or(""));
        let kind = match local {
            "billing" => MailKind::BulkOnly,
            "notifications" => MailKind::AutoGenerated,
            _ if self.rng.percent(50) => MailKind::AutoGenerated,
            _ => MailKind::Conversation,
        };
        let subject = self.rng.pick(&NOTIFICATION_SUBJECTS).to_owned();
        self.single(sent, robot, vec![owner], subject, kind);
    }

    fn newsletter(&mut self, others: &Others) {
        let Some(from) = self.rng.choose(&others.newsletters) else { return };
        let n_org = self.roles.sales.len() + self.roles.specialists.len() + self.roles.staff.len();
        let to = self.rng.index(n_org);
        let day = self.pick_window_day();
        let sent = day * DAY + 6 * HOUR + self.rng.between(0, 3_599);
        let subject = self.rng.pick(&NEWSLETTER_SUBJECTS).to_owned();
        self.single(sent, from, vec![to], subject, MailKind::Newsletter);
    }

    fn internal_automated(&mut self, others: &Others) {
        let n_org = self.roles.sales.len() + self.roles.specialists.len() + self.roles.staff.len();
        let to = self.rng.index(n_org);
        let day = self.pick_window_day();
        let sent = self.business_instant(to, day);
        if self.rng.percent(70) {
            let subject = self.rng.pick(&INTERNAL_NOTIFICATION_SUBJECTS).to_owned();
            self.single(sent, others.internal_robot, vec![to], subject, MailKind::AutoGenerated);
        } else {
            let subject = format!("Undeliverable: {}", self.rng.pick(&SUBJECTS));
            self.single(sent, others.mailer_daemon, vec![to], subject, MailKind::Bounce);
        }
    }

    /// Meeting requests sent as mail: processed, never counted (the calendar counts them).
    fn invitation_mail(&mut self) {
        let account_index = self.pick_account();
        let Some(account) = self.accounts.get(account_index) else { return };
        let owner = account.owner;
        let Some(contact) = self.rng.choose(&account.contact_people) else { return };
        let day = self.pick_account_day(account_index);
        let summary = self.rng.pick(&MEETING_SUMMARIES);
        let subject = format!("Invitation: {summary}");
        if self.rng.percent(50) {
            let sent = self.business_instant(owner, day);
            self.single(sent, owner, vec![contact], subject, MailKind::CalendarClass);
        } else {
            let sent = self.business_instant(contact, day);
            self.single(sent, contact, vec![owner], subject, MailKind::CalendarRequest);
        }
    }

    /// Two messages without a readable date and one without any header field.
    fn broken_mail(&mut self) {
        let middle = (self.window_start_day + self.as_of_day) / 2;
        for offset in [0, 40] {
            let Some(account) = self
                .accounts
                .get(self.cumulative_weights.get(offset).map_or(0, |&(_, index)| index))
            else {
                continue;
            };
            let (owner, contact) =
                (account.owner, account.contact_people.first().copied().unwrap_or(0));
            let sent = (middle + offset as i64) * DAY + 10 * HOUR;
            self.single(sent, contact, vec![owner], "Status".into(), MailKind::BrokenDate);
        }
        let sent = (middle + 7) * DAY + 12 * HOUR;
        self.single(sent, 0, Vec::new(), String::new(), MailKind::NoHeaders);
    }
}

/// Chooses the Maildir copies whose Message-ID the export rewrote.
fn mark_rewritten_copies(rng: &mut Rng, messages: &mut [Message], as_of_day: i64) {
    let archived_before = (as_of_day - ARCHIVE_CUT_DAYS) * DAY;
    let inbox_from = (as_of_day - INBOX_DAYS) * DAY;
    let candidates: Vec<usize> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            m.kind == MailKind::Conversation && (inbox_from..archived_before).contains(&m.sent)
        })
        .map(|(index, _)| index)
        .collect();
    let mut chosen = Vec::with_capacity(N_REWRITTEN_COPIES);
    rng.choose_distinct(&candidates, N_REWRITTEN_COPIES, &mut chosen);
    for (number, index) in chosen.into_iter().enumerate() {
        if let Some(message) = messages.get_mut(index) {
            message.rewritten_id =
                Some(format!("export-{:04}.{}@journal.{ORG_DOMAIN}", number + 1, message.order));
        }
    }
}

/// Rooms of an office, by the organizer's zone.
fn rooms_for(zone: Zone, others: &Others) -> Vec<usize> {
    match zone {
        Zone::NewYork => vec![others.room_new_york],
        Zone::London => vec![others.room_london],
        _ => others.rooms_berlin.clone(),
    }
}

impl Builder {
    /// Returns the recurring series (masters with their overrides), the single meetings sorted by
    /// start, and the later versions of some singles.
    fn add_meetings(&mut self, others: &Others) -> (Vec<Meeting>, Vec<Meeting>, Vec<Meeting>) {
        let mut series = Vec::with_capacity(N_SERIES * 2);
        for series_index in 0..N_SERIES {
            self.add_series(series_index, others, &mut series);
        }
        let mut singles = Vec::with_capacity(N_SINGLE_MEETINGS);
        for _ in 0..N_SINGLE_MEETINGS {
            let meeting = match self.rng.below(100) {
                0..77 => self.account_meeting(others),
                77..90 => self.internal_meeting(others),
                90..94 => self.focus_time(),
                94..97 => self.all_day_event(),
                _ => self.long_workshop(),
            };
            singles.push(meeting);
        }
        singles.sort_by(|a, b| {
            let a_start = a.zone.local_to_utc(a.start_local);
            let b_start = b.zone.local_to_utc(b.start_local);
            (a_start, &a.uid).cmp(&(b_start, &b.uid))
        });
        let limit = self.as_of_day * DAY;
        let candidates: Vec<usize> = singles
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                !m.cancelled
                    && !m.all_day
                    && m.rrule.is_none()
                    && m.zone.local_to_utc(m.start_local) < limit - 7 * DAY
            })
            .map(|(index, _)| index)
            .collect();
        let mut chosen = Vec::with_capacity(N_UPDATED_MEETINGS);
        self.rng.choose_distinct(&candidates, N_UPDATED_MEETINGS, &mut chosen);
        chosen.sort_unstable();
        let mut updates = Vec::with_capacity(N_UPDATED_MEETINGS);
        for index in chosen {
            let Some(original) = singles.get(index) else { continue };
            // The organizer moved the meeting by an hour: a new SEQUENCE and a later DTSTAMP win.
            let mut update = original.clone();
            update.sequence += 1;
            update.stamp = (update.stamp + DAY).min(limit - HOUR);
            update.start_local += HOUR;
            update.end_local += HOUR;
            updates.push(update);
        }
        (series, singles, updates)
    }

    fn time_form(&mut self, organizer: usize) -> (TimeForm, Zone) {
        let zone = self.people.get(organizer).map_or(Zone::Berlin, |p| p.zone);
        let roll = self.rng.below(100);
        let form = match zone {
            Zone::Berlin if roll < 62 => TimeForm::Iana("Europe/Berlin"),
            Zone::Berlin if roll < 68 => TimeForm::Windows("W. Europe Standard Time"),
            Zone::NewYork if roll < 60 => TimeForm::Iana("America/New_York"),
            Zone::NewYork if roll < 67 => TimeForm::Windows("Eastern Standard Time"),
            _ => TimeForm::Utc,
        };
        (form, zone)
    }

    /// A unique UID: Exchange's long hex form for org organizers, a host-style one otherwise.
    fn uid(&mut self, organizer: usize) -> String {
        self.n_events += 1;
        let serial = self.n_events;
        let random = self.rng.next_u64();
        let Some(person) = self.people.get(organizer) else {
            return format!("{random:x}-{serial}@{ORG_DOMAIN}");
        };
        if person.kind == PersonKind::Org && person.client == Client::Exchange {
            format!(
                "040000008200E00074C5B7101A82E00800000000{random:016X}000000000000000010000000{serial:08X}"
            )
        } else {
            let domain = person.email.rsplit('@').next().unwrap_or(ORG_DOMAIN);
            format!("{random:016x}{serial:04x}@calendar.{domain}")
        }
    }

    fn attendee(&mut self, person: usize) -> Attendee {
        Attendee { person, partstat: self.rng.pick(&PARTSTATS), optional: self.rng.percent(10) }
    }

    /// The DTSTAMP: when the organizer created the event, before its start and before `as_of`.
    fn stamp_before(&mut self, start_utc: i64) -> i64 {
        let created = start_utc - self.rng.between(HOUR, 20 * DAY);
        created.min(self.as_of_day * DAY - 2 * HOUR)
    }

    /// The org and account participants of an account meeting: (org people, contacts).
    fn account_people(&mut self, account_index: usize) -> (Vec<usize>, Vec<usize>) {
        let Some(account) = self.accounts.get(account_index) else {
            return (Vec::new(), Vec::new());
        };
        let mut org = vec![if self.rng.percent(70) {
            account.owner
        } else {
            self.rng.choose(&account.colleagues).unwrap_or(account.owner)
        }];
        let n_more = self.rng.index(3);
        for _ in 0..n_more {
            if let Some(colleague) = self.rng.choose(&account.colleagues)
                && !org.contains(&colleague)
            {
                org.push(colleague);
            }
        }
        let mut contacts = Vec::with_capacity(4);
        let n_contacts = 1 + self.rng.index(4);
        self.rng.choose_distinct(&account.contact_people, n_contacts, &mut contacts);
        (org, contacts)
    }

    fn account_meeting(&mut self, others: &Others) -> Meeting {
        let account_index = self.pick_account();
        let (org, contacts) = self.account_people(account_index);
        let mut day = self.pick_account_day(account_index);
        // A few meetings are already scheduled after `as_of`: ignored as future meetings.
        if self.rng.percent(3) {
            day = self.as_of_day + self.rng.between(1, 30);
        }
        let account_organizes = self.rng.percent(35);
        let organizer = if account_organizes { contacts.first().copied() } else { None }
            .unwrap_or_else(|| org.first().copied().unwrap_or(0));
        let mut attendees = Vec::with_capacity(org.len() + contacts.len() + 1);
        if self.rng.percent(50) {
            attendees.push(Attendee { person: organizer, partstat: "ACCEPTED", optional: false });
        }
        for &person in org.iter().chain(contacts.iter()) {
            if person != organizer {
                let attendee = self.attendee(person);
                attendees.push(attendee);
            }
        }
        let (form, zone) = self.time_form(organizer);
        let room = if !account_organizes && self.rng.percent(30) {
            self.rng.choose(&rooms_for(zone, others))
        } else {
            None
        };
        let start_local = day * DAY
            + self.rng.between(8, 17) * HOUR
            + self.rng.pick(&MEETING_START_MINUTES) * MINUTE;
        let end_local = start_local + self.rng.pick(&MEETING_MINUTES) * MINUTE;
        let stamp = self.stamp_before(zone.local_to_utc(start_local));
        Meeting {
            uid: self.uid(organizer),
            sequence: 0,
            stamp,
            form,
            zone,
            start_local,
            end_local,
            all_day: false,
            organizer,
            attendees,
            room,
            cancelled: self.rng.percent(3),
            summary: self.rng.pick(&MEETING_SUMMARIES),
            location: if room.is_some() { "" } else { self.rng.pick(&MEETING_LOCATIONS) },
            rrule: None,
            exdates: Vec::new(),
            exdate_as_date: false,
            recurrence_id: None,
        }
    }

    fn org_user(&mut self) -> usize {
        let n_org = self.roles.sales.len() + self.roles.specialists.len() + self.roles.staff.len();
        self.rng.index(n_org)
    }

    fn internal_meeting(&mut self, others: &Others) -> Meeting {
        let organizer = self.org_user();
        let mut attendees = Vec::with_capacity(5);
        let wanted = 1 + self.rng.index(4);
        let mut guard = 0;
        while attendees.len() < wanted && guard < 20 {
            guard += 1;
            let person = self.org_user();
            if person != organizer && !attendees.iter().any(|a: &Attendee| a.person == person) {
                let attendee = self.attendee(person);
                attendees.push(attendee);
            }
        }
        let day = self.pick_window_day();
        let (form, zone) = self.time_form(organizer);
        let room =
            if self.rng.percent(40) { self.rng.choose(&rooms_for(zone, others)) } else { None };
        let start_local = day * DAY
            + self.rng.between(8, 17) * HOUR
            + self.rng.pick(&MEETING_START_MINUTES) * MINUTE;
        let end_local = start_local + self.rng.pick(&MEETING_MINUTES) * MINUTE;
        let stamp = self.stamp_before(zone.local_to_utc(start_local));
        Meeting {
            uid: self.uid(organizer),
            sequence: 0,
            stamp,
            form,
            zone,
            start_local,
            end_local,
            all_day: false,
            organizer,
            attendees,
            room,
            cancelled: self.rng.percent(2),
            summary: self.rng.pick(&INTERNAL_SUMMARIES),
            location: "",
            rrule: None,
            exdates: Vec::new(),
            exdate_as_date: false,
            recurrence_id: None,
        }
    }

    /// Blocked time with nobody invited: not a meeting.
    fn focus_time(&mut self) -> Meeting {
        let organizer = self.org_user();
        let day = self.pick_window_day();
        let (form, zone) = self.time_form(organizer);
        let start_local = day * DAY + self.rng.between(8, 15) * HOUR;
        let stamp = self.stamp_before(zone.local_to_utc(start_local));
        Meeting {
            uid: self.uid(organizer),
            sequence: 0,
            stamp,
            form,
            zone,
            start_local,
            end_local: start_local + 2 * HOUR,
            all_day: false,
            organizer,
            attendees: Vec::new(),
            room: None,
            cancelled: false,
            summary: "Focus time",
            location: "",
            rrule: None,
            exdates: Vec::new(),
            exdate_as_date: false,
            recurrence_id: None,
        }
    }

    /// A trade fair or offsite with an account, all day: not a meeting.
    fn all_day_event(&mut self) -> Meeting {
        let mut meeting = self.account_meeting_shell();
        let day = meeting.start_local.div_euclid(DAY);
        meeting.all_day = true;
        meeting.start_local = day * DAY;
        meeting.end_local = (day + 1 + self.rng.between(0, 1)) * DAY;
        meeting.summary = "Customer offsite";
        meeting.room = None;
        meeting
    }

    /// A two-day workshop written with times: 24 hours or longer, so not a meeting.
    fn long_workshop(&mut self) -> Meeting {
        let mut meeting = self.account_meeting_shell();
        let day = meeting.start_local.div_euclid(DAY);
        meeting.start_local = day * DAY + 9 * HOUR;
        meeting.end_local = (day + 1) * DAY + 17 * HOUR;
        meeting.summary = "Two-day workshop";
        meeting
    }

    /// An org-organized, confirmed account meeting in the window, to be reshaped.
    fn account_meeting_shell(&mut self) -> Meeting {
        let account_index = self.pick_account();
        let (org, contacts) = self.account_people(account_index);
        let organizer = org.first().copied().unwrap_or(0);
        let mut attendees = Vec::with_capacity(org.len() + contacts.len());
        for &person in org.iter().skip(1).chain(contacts.iter()) {
            let attendee = self.attendee(person);
            attendees.push(attendee);
        }
        let day = self.pick_account_day(account_index);
        let (form, zone) = self.time_form(organizer);
        let start_local = day * DAY + 10 * HOUR;
        let stamp = self.stamp_before(zone.local_to_utc(start_local));
        Meeting {
            uid: self.uid(organizer),
            sequence: 0,
            stamp,
            form,
            zone,
            start_local,
            end_local: start_local + HOUR,
            all_day: false,
            organizer,
            attendees,
            room: None,
            cancelled: false,
            summary: "",
            location: "Customer site",
            rrule: None,
            exdates: Vec::new(),
            exdate_as_date: false,
            recurrence_id: None,
        }
    }

    /// A weekly or bi-weekly series: with the top accounts for the first fourteen, internal for
    /// the rest. Some end early, some have an EXDATE, some a moved or cancelled occurrence.
    fn add_series(&mut self, series_index: usize, others: &Others, out: &mut Vec<Meeting>) {
        let account_index = self.cumulative_weights.get(series_index).map(|&(_, index)| index);
        let (organizer, mut attendees, summary) = match account_index {
            Some(account_index) if series_index < 14 => {
                let (org, contacts) = self.account_people(account_index);
                // Three series are run by the account.
                let organizer =
                    if series_index % 5 == 2 { contacts.first().copied() } else { None }
                        .unwrap_or_else(|| org.first().copied().unwrap_or(0));
                let mut attendees = Vec::new();
                for &person in org.iter().chain(contacts.iter()) {
                    if person != organizer {
                        let attendee = Attendee { person, partstat: "ACCEPTED", optional: false };
                        attendees.push(attendee);
                    }
                }
                (
                    organizer,
                    attendees,
                    if series_index.is_multiple_of(2) { "Account sync" } else { "Status call" },
                )
            }
            _ => {
                let organizer = self.org_user();
                let mut attendees = Vec::new();
                for _ in 0..4 {
                    let person = self.org_user();
                    if person != organizer
                        && !attendees.iter().any(|a: &Attendee| a.person == person)
                    {
                        attendees.push(Attendee { person, partstat: "ACCEPTED", optional: false });
                    }
                }
                (organizer, attendees, "Weekly team sync")
            }
        };
        if let Some(first) = attendees.first_mut()
            && series_index % 4 == 1
        {
            first.partstat = "DECLINED";
        }
        let zone = self.people.get(organizer).map_or(Zone::Berlin, |p| p.zone);
        // Series always carry a zone: Outlook writes a Windows name for two of them.
        let form = match (zone, series_index) {
            (Zone::NewYork, 3 | 11) => TimeForm::Windows("Eastern Standard Time"),
            (Zone::NewYork, _) => TimeForm::Iana("America/New_York"),
            (_, 3 | 11) => TimeForm::Windows("W. Europe Standard Time"),
            _ => TimeForm::Iana("Europe/Berlin"),
        };
        let zone = if zone == Zone::NewYork { Zone::NewYork } else { Zone::Berlin };
        let interval = if self.rng.percent(40) { 2 } else { 1 };
        let step_days = 7 * interval;
        let mut first_day = self.window_start_day - 120 + self.rng.between(0, 200);
        first_day += (self.rng.between(0, 4) - weekday(first_day)).rem_euclid(7);
        let hour = self.rng.between(9, 16);
        let start_local = first_day * DAY + hour * HOUR;
        let by_day = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
            .get(weekday(first_day) as usize)
            .copied()
            .unwrap_or("MO");
        let mut rrule = format!("FREQ=WEEKLY;INTERVAL={interval};BYDAY={by_day}");
        if interval == 1 {
            rrule = format!("FREQ=WEEKLY;BYDAY={by_day}");
        }
        // The last occurrence index: series end by UNTIL, by COUNT or not at all.
        let last_index = match series_index % 6 {
            1 | 4 => {
                let until_day =
                    (self.as_of_day - 20 - self.rng.between(0, 150)).max(first_day + 4 * step_days);
                let (year, month, day) = civil_from_days(until_day);
                rrule.push_str(&format!(";UNTIL={year:04}{month:02}{day:02}T235959Z"));
                (until_day - first_day) / step_days
            }
            5 => {
                let count = 10 + self.rng.between(0, 20);
                rrule.push_str(&format!(";COUNT={count}"));
                count - 1
            }
            _ => i64::MAX / (2 * DAY),
        };
        let window_first = ((self.window_start_day + 14 - first_day) / step_days).max(1);
        let window_last = ((self.as_of_day - 7 - first_day) / step_days).min(last_index);
        let room =
            if self.rng.percent(50) { self.rng.choose(&rooms_for(zone, others)) } else { None };
        let stamp = self.stamp_before(zone.local_to_utc(start_local));
        let uid = self.uid(organizer);
        let mut master = Meeting {
            uid,
            sequence: 0,
            stamp,
            form,
            zone,
            start_local,
            end_local: start_local
                + (if series_index.is_multiple_of(3) { 30 } else { 60 }) * MINUTE,
            all_day: false,
            organizer,
            attendees: std::mem::take(&mut attendees),
            room,
            cancelled: false,
            summary,
            location: "",
            rrule: Some(rrule),
            exdates: Vec::new(),
            exdate_as_date: false,
            recurrence_id: None,
        };
        if window_first > window_last {
            out.push(master);
            return;
        }
        if series_index.is_multiple_of(3) {
            let occurrence = self.rng.between(window_first, window_last);
            master.exdates.push(start_local + occurrence * step_days * DAY);
            master.exdate_as_date = series_index == 9;
        }
        let override_of = if series_index % 4 == 2 || series_index == 7 {
            let occurrence = self.rng.between(window_first, window_last);
            let original = start_local + occurrence * step_days * DAY;
            // Never override an occurrence the EXDATE already removed.
            if master.exdates.contains(&original) { None } else { Some(original) }
        } else {
            None
        };
        let mut override_meeting = override_of.map(|original| {
            let mut moved = master.clone();
            moved.rrule = None;
            moved.exdates.clear();
            moved.exdate_as_date = false;
            moved.recurrence_id = Some(original);
            moved.sequence = 1;
            // The organizer changed the occurrence a few days ahead of it.
            let changed = zone.local_to_utc(original) - 4 * DAY;
            moved.stamp = changed.max(master.stamp + DAY).min(self.as_of_day * DAY - HOUR);
            // Series 7's override cancels its occurrence; the others move it by two hours.
            if series_index == 7 {
                moved.cancelled = true;
                moved.start_local = original;
            } else {
                moved.start_local = original + 2 * HOUR;
            }
            moved.end_local = moved.start_local + (master.end_local - master.start_local);
            moved
        });
        out.push(master);
        if let Some(moved) = override_meeting.take() {
            out.push(moved);
        }
    }
}

/// Appends a CSV field with minimal quoting.
fn push_csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Appends `value` in decimal, zero-padded to `width` digits.
fn push_padded(out: &mut String, value: i64, width: usize) {
    let text = value.to_string();
    for _ in text.len()..width {
        out.push('0');
    }
    out.push_str(&text);
}

/// Appends an address, with capitals for people whose directory writes them so.
fn push_address(out: &mut String, person: &Person) {
    if !person.capitalized {
        out.push_str(&person.email);
        return;
    }
    let mut capital = true;
    for character in person.email.chars() {
        out.push(if capital { character.to_ascii_uppercase() } else { character });
        capital = matches!(character, '.' | '@' | '-');
    }
}

/// Appends `text` as one RFC 2047 `Q` encoded word.
fn push_encoded_word(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push_str("=?UTF-8?Q?");
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => out.push(char::from(byte)),
            b' ' => out.push('_'),
            _ => {
                out.push('=');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0x0f)]));
            }
        }
    }
    out.push_str("?=");
}

/// Appends a mailbox: `Name <addr>`, `"Family, Given" <addr>`, an encoded word, or a bare address.
fn push_mailbox(out: &mut String, person: &Person) {
    if person.display.is_empty() {
        push_address(out, person);
        return;
    }
    if !person.display.is_ascii() {
        push_encoded_word(out, &person.display);
    } else if person.quote_display || person.display.contains([',', '.', '(', ')', '"']) {
        out.push('"');
        out.push_str(&person.display);
        out.push('"');
    } else {
        out.push_str(&person.display);
    }
    out.push_str(" <");
    push_address(out, person);
    out.push('>');
}

/// Appends an address-list header, folded before a mailbox that would pass 78 characters.
fn push_address_header(
    out: &mut String,
    name: &str,
    people: &[Person],
    indices: &[usize],
    scratch: &mut String,
) {
    out.push_str(name);
    out.push_str(": ");
    let mut line_length = name.len() + 2;
    for (position, &index) in indices.iter().enumerate() {
        let Some(person) = people.get(index) else { continue };
        scratch.clear();
        push_mailbox(scratch, person);
        if position > 0 {
            if line_length + 2 + scratch.len() > 78 {
                out.push_str(",\n ");
                line_length = 1;
            } else {
                out.push_str(", ");
                line_length += 2;
            }
        }
        out.push_str(scratch);
        line_length += scratch.len();
    }
    out.push('\n');
}

/// Appends an RFC 5322 date of `utc` as seen in `zone`, in one of the styles clients write.
fn push_mail_date(out: &mut String, utc: i64, zone: Zone, style: DateStyle) {
    let daylight_saving = zone.is_daylight_saving(utc);
    let offset = zone.offset_minutes(utc);
    let local = utc + offset * MINUTE;
    let days = local.div_euclid(DAY);
    let seconds = local.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    let obsolete = zone.obsolete_name(daylight_saving);
    let style = match style {
        DateStyle::ObsoleteName if obsolete.is_none() => DateStyle::Standard,
        DateStyle::TwoDigitYear if !(2000..=2068).contains(&year) => DateStyle::Standard,
        other => other,
    };
    if style != DateStyle::NoWeekday {
        out.push_str(weekday_name(days));
        out.push_str(", ");
        push_padded(out, day, 1);
    } else {
        push_padded(out, day, 2);
    }
    out.push(' ');
    out.push_str(month_name(month));
    out.push(' ');
    if style == DateStyle::TwoDigitYear {
        push_padded(out, year % 100, 2);
    } else {
        push_padded(out, year, 4);
    }
    out.push(' ');
    push_padded(out, seconds / HOUR, 2);
    out.push(':');
    push_padded(out, seconds % HOUR / MINUTE, 2);
    if style != DateStyle::NoSeconds {
        out.push(':');
        push_padded(out, seconds % MINUTE, 2);
    }
    out.push(' ');
    if let (DateStyle::ObsoleteName, Some(name)) = (style, obsolete) {
        out.push_str(name);
        return;
    }
    out.push(if offset < 0 { '-' } else { '+' });
    push_padded(out, offset.abs() / 60, 2);
    push_padded(out, offset.abs() % 60, 2);
    if style == DateStyle::Comment {
        out.push_str(" (");
        out.push_str(zone.abbreviation(daylight_saving));
        out.push(')');
    }
}

/// Appends the asctime form of an mbox `From ` line: `Tue May  4 07:32:11 2024` (UTC).
fn push_asctime(out: &mut String, utc: i64) {
    let days = utc.div_euclid(DAY);
    let seconds = utc.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    out.push_str(weekday_name(days));
    out.push(' ');
    out.push_str(month_name(month));
    out.push(' ');
    if day < 10 {
        out.push(' ');
    }
    push_padded(out, day, 1);
    out.push(' ');
    push_padded(out, seconds / HOUR, 2);
    out.push(':');
    push_padded(out, seconds % HOUR / MINUTE, 2);
    out.push(':');
    push_padded(out, seconds % MINUTE, 2);
    out.push(' ');
    push_padded(out, year, 4);
}

/// Appends the body line, quoted the mboxrd way when it reads `>*From `.
fn push_body_line(out: &mut String, line: &str) {
    if line.trim_start_matches('>').starts_with("From ") {
        out.push('>');
    }
    out.push_str(line);
    out.push('\n');
}

impl Corpus {
    fn org_users(&self) -> impl Iterator<Item = &Person> {
        self.people.iter().filter(|person| person.kind == PersonKind::Org)
    }

    fn users_csv(&self) -> String {
        let mut out = String::from("Email,DirectoryId\n");
        for (person, directory_id) in self.org_users().zip(self.directory_ids.iter()) {
            out.push_str(&person.email);
            out.push(',');
            out.push_str(directory_id);
            out.push('\n');
        }
        out
    }

    fn accounts_csv(&self) -> String {
        let mut out = String::from("AccountId,Name,Domains\n");
        for account in &self.accounts {
            out.push_str(&account.account_id);
            out.push(',');
            push_csv_field(&mut out, &account.name);
            out.push(',');
            push_csv_field(&mut out, &account.domains_cell);
            out.push('\n');
        }
        out
    }

    fn contacts_csv(&self) -> String {
        let mut out = String::from("Email,AccountId,Name\n");
        for (account_position, account) in self.accounts.iter().enumerate() {
            for (contact_position, &(index, listed)) in account.contacts.iter().enumerate() {
                let Some(person) = self.people.get(index).filter(|_| listed) else { continue };
                // Now and then a CRM export writes the address in capitals or as `Name <addr>`.
                match (account_position * 7 + contact_position) % 97 {
                    17 => {
                        let mut cell = String::new();
                        cell.push_str(&person.display);
                        cell.push_str(" <");
                        cell.push_str(&person.email);
                        cell.push('>');
                        push_csv_field(&mut out, &cell);
                    }
                    53 => out.push_str(&person.email.to_ascii_uppercase()),
                    _ => out.push_str(&person.email),
                }
                out.push(',');
                out.push_str(&account.account_id);
                out.push(',');
                push_csv_field(&mut out, &person.display);
                out.push('\n');
            }
        }
        out
    }

    /// Appends one message as a file holds it (headers, blank line, body); `inbox` adds the
    /// delivery headers of the journal mailbox and uses the rewritten Message-ID if any.
    fn push_message(&self, out: &mut String, message: &Message, inbox: bool, scratch: &mut String) {
        if message.kind == MailKind::NoHeaders {
            out.push_str("Mail folder export continued on the next volume\n\nPart 2 of 2\n");
            return;
        }
        let Some(sender) = self.people.get(message.from) else { return };
        if inbox {
            out.push_str("Return-Path: <");
            out.push_str(&sender.email);
            out.push_str(">\nDelivered-To: journal@");
            out.push_str(ORG_DOMAIN);
            out.push('\n');
        }
        if message.kind != MailKind::BrokenDate {
            let sender_domain = sender.email.rsplit('@').next().unwrap_or(ORG_DOMAIN);
            out.push_str("Received: from mail.");
            out.push_str(sender_domain);
            out.push_str(" (mail.");
            out.push_str(sender_domain);
            out.push_str(" [192.0.2.");
            push_padded(out, i64::from(message.order % 254 + 1), 1);
            out.push_str("])\n\tby mx1.");
            out.push_str(ORG_DOMAIN);
            out.push_str(" with ESMTPS id ");
            out.push_str(&format!("{:08X}", message.order.wrapping_mul(2_654_435_761)));
            out.push_str(";\n\t");
            push_mail_date(
                out,
                message.sent + 2 + i64::from(message.order % 40),
                Zone::Utc,
                DateStyle::Standard,
            );
            out.push('\n');
        }
        out.push_str("From: ");
        push_mailbox(out, sender);
        out.push('\n');
        if !message.to.is_empty() {
            push_address_header(out, "To", &self.people, &message.to, scratch);
        }
        if !message.cc.is_empty() {
            push_address_header(out, "Cc", &self.people, &message.cc, scratch);
        }
        out.push_str("Subject: ");
        out.push_str(&message.subject);
        out.push_str("\nDate: ");
        if message.kind == MailKind::BrokenDate {
            out.push_str("sometime on Tuesday afternoon");
        } else {
            push_mail_date(out, message.sent, sender.zone, sender.date_style);
        }
        out.push_str("\nMessage-ID: <");
        match (&message.rewritten_id, inbox) {
            (Some(rewritten), true) => out.push_str(rewritten),
            _ => out.push_str(&message.message_id),
        }
        out.push_str(">\n");
        if let Some(parent) = &message.in_reply_to {
            out.push_str("In-Reply-To: <");
            out.push_str(parent);
            out.push_str(">\n");
        }
        if !message.references.is_empty() {
            // One id per line, folded the way most clients write long References.
            out.push_str("References:");
            for (position, reference) in message.references.split(' ').enumerate() {
                out.push_str(if position == 0 { " " } else { "\n " });
                out.push_str(reference);
            }
            out.push('\n');
        }
        out.push_str("MIME-Version: 1.0\n");
        match message.kind {
            MailKind::AutoGenerated => out.push_str("Auto-Submitted: auto-generated\n"),
            MailKind::AutoReplied | MailKind::Bounce => {
                out.push_str("Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n")
            }
            MailKind::BulkOnly => out.push_str("Precedence: bulk\n"),
            MailKind::Newsletter => {
                let domain = sender.email.rsplit('@').next().unwrap_or(ORG_DOMAIN);
                out.push_str(&format!(
                    "List-Id: {} <list.{domain}>\nList-Unsubscribe: <mailto:unsubscribe@{domain}?subject=unsubscribe>,\n <https://{domain}/unsubscribe>\nPrecedence: bulk\n",
                    sender.display
                ));
            }
            _ => {}
        }
        match message.kind {
            MailKind::CalendarRequest => {
                out.push_str("Content-Type: text/calendar; charset=\"UTF-8\"; method=REQUEST\n\n");
                out.push_str("Invitation details are in the calendar.\n");
            }
            MailKind::CalendarClass => {
                out.push_str("Content-Class: urn:content-classes:calendarmessage\n");
                out.push_str("Content-Type: multipart/alternative;\n\tboundary=\"_000_demo_\"\n\n");
                out.push_str("--_000_demo_\nContent-Type: text/plain; charset=\"utf-8\"\n\n");
                out.push_str("Invitation details are in the calendar.\n--_000_demo_--\n");
            }
            _ => {
                out.push_str("Content-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: 7bit\n\n");
                push_body_line(out, message.body);
            }
        }
    }

    /// The journal archive: every message sent before the export, oldest first (mboxrd).
    fn mbox(&self) -> String {
        let mut out = String::with_capacity(self.messages.len() * 900);
        let mut scratch = String::with_capacity(128);
        let cut = (self.as_of_day - ARCHIVE_CUT_DAYS) * DAY;
        for message in self.messages.iter().filter(|m| m.sent < cut) {
            out.push_str("From ");
            match self.people.get(message.from) {
                Some(person) if message.kind != MailKind::NoHeaders => out.push_str(&person.email),
                _ => out.push_str("MAILER-DAEMON"),
            }
            out.push(' ');
            push_asctime(&mut out, message.sent);
            out.push('\n');
            self.push_message(&mut out, message, false, &mut scratch);
            // The empty line that ends each message and lets the next `From ` start one.
            out.push('\n');
        }
        out
    }

    /// Whether a message is in the Maildir (the last days' mail, without the broken ones).
    fn in_inbox(&self, message: &Message) -> bool {
        message.sent >= (self.as_of_day - INBOX_DAYS) * DAY
            && !matches!(message.kind, MailKind::BrokenDate | MailKind::NoHeaders)
    }
}

/// Writes the Maildir messages, after removing the ones an earlier run left.
fn write_maildir(inbox_dir: &Path, corpus: &Corpus) -> io::Result<()> {
    for sub in ["cur", "new"] {
        for entry in fs::read_dir(inbox_dir.join(sub))? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().contains(MAILDIR_MARK)
                && entry.file_type()?.is_file()
            {
                fs::remove_file(entry.path())?;
            }
        }
    }
    let unread_from = (corpus.as_of_day - UNREAD_DAYS) * DAY;
    let mut text = String::with_capacity(2_048);
    let mut scratch = String::with_capacity(128);
    for message in corpus.messages.iter().filter(|m| corpus.in_inbox(m)) {
        text.clear();
        corpus.push_message(&mut text, message, true, &mut scratch);
        // Maildir names: delivery time, a unique part and the host, then the flags for `cur`.
        let path = if message.sent >= unread_from {
            inbox_dir
                .join("new")
                .join(format!("{}.M{}P4242{MAILDIR_MARK}", message.sent, message.order))
        } else {
            let name = format!(
                "{}.M{}P4242{MAILDIR_MARK},S={}:2,S",
                message.sent,
                message.order,
                text.len()
            );
            inbox_dir.join("cur").join(name)
        };
        fs::write(path, text.as_bytes())?;
    }
    Ok(())
}

/// The VTIMEZONE blocks of the two IANA zones the calendar names; Windows names get none, as in
/// Outlook's exports.
const VTIMEZONES: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
END:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n\
DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n\
TZNAME:EDT\r\nDTSTART:19700308T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT\r\n\
BEGIN:STANDARD\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST\r\nDTSTART:19701101T020000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

/// Appends a content line, folded at 75 octets (RFC 5545 §3.1) on a character boundary.
fn push_ics_line(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = 75;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push_str(head);
        out.push_str("\r\n ");
        rest = tail;
        // The space that starts a continuation line counts towards its 75 octets.
        limit = 74;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

/// Appends `YYYYMMDD`.
fn push_ics_date(out: &mut String, days: i64) {
    let (year, month, day) = civil_from_days(days);
    push_padded(out, year, 4);
    push_padded(out, month, 2);
    push_padded(out, day, 2);
}

/// Appends `YYYYMMDDTHHMMSS` of a wall-clock time in seconds.
fn push_ics_date_time(out: &mut String, seconds: i64) {
    push_ics_date(out, seconds.div_euclid(DAY));
    let time = seconds.rem_euclid(DAY);
    out.push('T');
    push_padded(out, time / HOUR, 2);
    push_padded(out, time % HOUR / MINUTE, 2);
    push_padded(out, time % MINUTE, 2);
}

/// Builds `NAME;params:value` for a time property of `meeting` at local time `local`.
fn push_time_property(
    line: &mut String,
    name: &str,
    meeting: &Meeting,
    local: i64,
    date_only: bool,
) {
    line.push_str(name);
    if date_only {
        line.push_str(";VALUE=DATE:");
        push_ics_date(line, local.div_euclid(DAY));
        return;
    }
    match meeting.form {
        TimeForm::Utc => {
            line.push(':');
            push_ics_date_time(line, meeting.zone.local_to_utc(local));
            line.push('Z');
        }
        TimeForm::Iana(tzid) => {
            line.push_str(";TZID=");
            line.push_str(tzid);
            line.push(':');
            push_ics_date_time(line, local);
        }
        TimeForm::Windows(tzid) => {
            line.push_str(";TZID=\"");
            line.push_str(tzid);
            line.push_str("\":");
            push_ics_date_time(line, local);
        }
    }
}

/// Appends a `CN` parameter, quoted when the name holds a character that needs it.
fn push_common_name(line: &mut String, display: &str) {
    line.push_str(";CN=");
    if display.contains([',', ';', ':']) {
        line.push('"');
        line.push_str(display);
        line.push('"');
    } else {
        line.push_str(display);
    }
}

impl Corpus {
    fn calendar(&self) -> String {
        let n_events = self.series.len() + self.singles.len() + self.updates.len();
        let mut out = String::with_capacity(n_events * 900 + VTIMEZONES.len() + 256);
        out.push_str("BEGIN:VCALENDAR\r\nPRODID:-//Northwind Demo//rapport demo corpus//EN\r\nVERSION:2.0\r\n");
        out.push_str(
            "CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:Northwind shared calendar\r\n",
        );
        out.push_str(VTIMEZONES);
        let mut line = String::with_capacity(256);
        for meeting in self.series.iter().chain(self.singles.iter()).chain(self.updates.iter()) {
            self.push_event(&mut out, &mut line, meeting);
        }
        out.push_str("END:VCALENDAR\r\n");
        out
    }

    fn push_event(&self, out: &mut String, line: &mut String, meeting: &Meeting) {
        out.push_str("BEGIN:VEVENT\r\n");
        line.clear();
        line.push_str("UID:");
        line.push_str(&meeting.uid);
        push_ics_line(out, line);
        line.clear();
        line.push_str("SEQUENCE:");
        push_padded(line, i64::from(meeting.sequence), 1);
        push_ics_line(out, line);
        line.clear();
        line.push_str("DTSTAMP:");
        push_ics_date_time(line, meeting.stamp);
        line.push('Z');
        push_ics_line(out, line);
        // Outlook writes all-day events as midnight to midnight in its zone plus a flag.
        let outlook_all_day = meeting.all_day && matches!(meeting.form, TimeForm::Windows(_));
        let date_only = meeting.all_day && !outlook_all_day;
        line.clear();
        push_time_property(line, "DTSTART", meeting, meeting.start_local, date_only);
        push_ics_line(out, line);
        line.clear();
        push_time_property(line, "DTEND", meeting, meeting.end_local, date_only);
        push_ics_line(out, line);
        if outlook_all_day {
            out.push_str("X-MICROSOFT-CDO-ALLDAYEVENT:TRUE\r\n");
        }
        if let Some(rrule) = &meeting.rrule {
            line.clear();
            line.push_str("RRULE:");
            line.push_str(rrule);
            push_ics_line(out, line);
        }
        for &exdate in &meeting.exdates {
            line.clear();
            push_time_property(line, "EXDATE", meeting, exdate, meeting.exdate_as_date);
            push_ics_line(out, line);
        }
        if let Some(original) = meeting.recurrence_id {
            line.clear();
            push_time_property(line, "RECURRENCE-ID", meeting, original, false);
            push_ics_line(out, line);
        }
        line.clear();
        line.push_str("SUMMARY:");
        line.push_str(meeting.summary);
        push_ics_line(out, line);
        if !meeting.location.is_empty() {
            line.clear();
            line.push_str("LOCATION:");
            line.push_str(meeting.location);
            push_ics_line(out, line);
        }
        out.push_str(if meeting.cancelled {
            "STATUS:CANCELLED\r\n"
        } else {
            "STATUS:CONFIRMED\r\n"
        });
        if let Some(organizer) = self.people.get(meeting.organizer) {
            line.clear();
            line.push_str("ORGANIZER");
            push_common_name(line, &organizer.display);
            line.push_str(":mailto:");
            push_address(line, organizer);
            push_ics_line(out, line);
        }
        for attendee in &meeting.attendees {
            let Some(person) = self.people.get(attendee.person) else { continue };
            line.clear();
            line.push_str("ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=");
            line.push_str(if attendee.optional { "OPT-PARTICIPANT" } else { "REQ-PARTICIPANT" });
            line.push_str(";PARTSTAT=");
            line.push_str(attendee.partstat);
            if attendee.partstat == "NEEDS-ACTION" {
                line.push_str(";RSVP=TRUE");
            }
            push_common_name(line, &person.display);
            line.push_str(":mailto:");
            push_address(line, person);
            push_ics_line(out, line);
        }
        if let Some(room) = meeting.room.and_then(|index| self.people.get(index)) {
            line.clear();
            line.push_str("ATTENDEE;CUTYPE=ROOM;ROLE=NON-PARTICIPANT;PARTSTAT=ACCEPTED");
            push_common_name(line, &room.display);
            line.push_str(":mailto:");
            line.push_str(&room.email);
            push_ics_line(out, line);
        }
        out.push_str("TRANSP:OPAQUE\r\nEND:VEVENT\r\n");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fs;
    use std::path::{Path, PathBuf};

    use chrono::NaiveDate;

    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test dates are valid")
    }

    /// Every file under `dir`, by path relative to it.
    fn read_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in fs::read_dir(dir).expect("readable folder") {
                let path = entry.expect("readable entry").path();
                if path.is_dir() {
                    walk(root, &path, files);
                } else {
                    let relative = path.strip_prefix(root).expect("below root").to_path_buf();
                    files.insert(relative, fs::read(&path).expect("readable file"));
                }
            }
        }
        let mut files = BTreeMap::new();
        walk(dir, dir, &mut files);
        files
    }

    /// Messages in an mbox: `From ` lines at the start of the file or after an empty line.
    fn count_mbox_separators(text: &str) -> usize {
        let mut count = 0;
        let mut previous_empty = true;
        for line in text.split('\n') {
            if previous_empty && line.starts_with("From ") {
                count += 1;
            }
            previous_empty = line.is_empty();
        }
        count
    }

    #[test]
    fn the_same_as_of_gives_the_same_bytes() {
        let first = tempfile::tempdir().expect("temp dir");
        let second = tempfile::tempdir().expect("temp dir");
        generate(first.path(), date("2024-07-01")).expect("first run");
        generate(second.path(), date("2024-07-01")).expect("second run");
        let first_files = read_tree(first.path());
        let second_files = read_tree(second.path());
        assert_eq!(first_files.len(), 5 + 474);
        assert!(first_files == second_files, "two runs differ");

        // A run for another date, then one for the first date again, gives the first bytes:
        // the stale Maildir messages of the other date are gone.
        generate(second.path(), date("2024-03-15")).expect("other date");
        assert!(read_tree(second.path()) != first_files);
        generate(second.path(), date("2024-07-01")).expect("third run");
        assert!(read_tree(second.path()) == first_files, "a re-run left stale files");
    }

    #[test]
    fn files_exist_and_hold_the_expected_counts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = generate(dir.path(), date("2024-07-01")).expect("demo corpus");
        let corpus = Corpus::build(date("2024-07-01")).expect("corpus");
        assert_eq!(files.users, dir.path().join("users.csv"));
        assert_eq!(files.sources.len(), 3);
        for path in
            [&files.users, &files.contacts, &files.accounts].into_iter().chain(&files.sources)
        {
            assert!(path.exists(), "{} is missing", path.display());
        }

        let mbox = fs::read_to_string(&files.sources[0]).expect("mbox");
        let cut = (corpus.as_of_day - ARCHIVE_CUT_DAYS) * DAY;
        let archived = corpus.messages.iter().filter(|m| m.sent < cut).count();
        assert_eq!(count_mbox_separators(&mbox), archived);
        assert_eq!(archived, 19_981);
        assert_eq!(mbox.matches("\nMessage-ID: <").count(), 19_980, "all but the headerless one");
        assert!(mbox.starts_with("From "));
        assert!(!mbox.contains('\r'));

        let maildir_count =
            |sub: &str| fs::read_dir(files.sources[1].join(sub)).expect("maildir").count();
        assert_eq!(maildir_count("cur"), 414);
        assert_eq!(maildir_count("new"), 60);
        assert_eq!(maildir_count("tmp"), 0);
        assert_eq!(corpus.messages.iter().filter(|m| corpus.in_inbox(m)).count(), 474);

        let calendar = fs::read_to_string(&files.sources[2]).expect("calendar");
        let n_events = corpus.series.len() + corpus.singles.len() + corpus.updates.len();
        assert_eq!(calendar.matches("BEGIN:VEVENT\r\n").count(), n_events);
        assert_eq!(calendar.matches("END:VEVENT\r\n").count(), n_events);
        assert_eq!(n_events, 1_501);
        assert_eq!(corpus.singles.len(), N_SINGLE_MEETINGS);
        assert_eq!(corpus.updates.len(), N_UPDATED_MEETINGS);

        let users = fs::read_to_string(&files.users).expect("users");
        assert_eq!(users.lines().next(), Some("Email,DirectoryId"));
        assert_eq!(users.lines().count(), 1 + N_ORG_USERS);
        let accounts = fs::read_to_string(&files.accounts).expect("accounts");
        assert_eq!(accounts.lines().next(), Some("AccountId,Name,Domains"));
        assert_eq!(accounts.lines().count(), 1 + N_ACCOUNTS);
        assert!(accounts.contains("\nACC-0001,") && accounts.contains("\nACC-0300,"));
        assert!(accounts.contains("https://www."), "some domains are URLs");
    }

    #[test]
    fn contacts_are_mostly_listed_and_one_is_ambiguous() {
        let corpus = Corpus::build(date("2024-07-01")).expect("corpus");
        let csv = corpus.contacts_csv();
        let mut accounts_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in csv.lines().skip(1) {
            let mut cells = line.rsplitn(3, ',');
            let _name = cells.next();
            let account_id = cells.next().expect("account id").to_owned();
            let email_cell = cells.next().expect("email").to_ascii_lowercase();
            let email =
                email_cell.rsplit('<').next().unwrap_or("").trim_end_matches('>').to_owned();
            accounts_of.entry(email).or_default().push(account_id);
        }
        let ambiguous: Vec<&String> =
            accounts_of.iter().filter(|(_, ids)| ids.len() > 1).map(|(email, _)| email).collect();
        assert_eq!(ambiguous.len(), 1, "{ambiguous:?}");
        assert!(ambiguous[0].ends_with(".consulting@mail.example"));

        let n_contacts: usize = corpus.accounts.iter().map(|a| a.contacts.len()).sum();
        let n_listed: usize = corpus
            .accounts
            .iter()
            .map(|a| a.contacts.iter().filter(|(_, listed)| *listed).count())
            .sum();
        assert_eq!(csv.lines().count(), 1 + n_listed);
        assert_eq!((n_contacts, n_listed), (1_555, 1_316));
        for account in &corpus.accounts {
            // 2–8 contacts, plus the freelancer at two accounts.
            assert!((2..=9).contains(&account.contacts.len()), "{}", account.account_id);
        }
    }

    #[test]
    fn every_domain_is_reserved_for_examples() {
        let dir = tempfile::tempdir().expect("temp dir");
        generate(dir.path(), date("2024-07-01")).expect("demo corpus");
        let mut n_addresses = 0;
        for (path, bytes) in read_tree(dir.path()) {
            // Unfold calendar lines first: a fold may split an address.
            let text = String::from_utf8(bytes).expect("utf-8").replace("\r\n ", "");
            for (position, _) in text.match_indices('@') {
                let domain: String = text[position + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
                    .collect::<String>()
                    .to_ascii_lowercase();
                let domain = domain.trim_end_matches('.');
                n_addresses += 1;
                assert!(
                    domain.ends_with(".example") || domain.ends_with(".test"),
                    "{domain:?} in {}",
                    path.display()
                );
            }
        }
        assert!(n_addresses > 50_000);
    }

    #[test]
    fn mail_has_the_promised_mix() {
        let corpus = Corpus::build(date("2024-07-01")).expect("corpus");
        let count = |kind: MailKind| corpus.messages.iter().filter(|m| m.kind == kind).count();
        let n_messages = corpus.messages.len();
        let n_replies = corpus
            .messages
            .iter()
            .filter(|m| m.kind == MailKind::Conversation && m.in_reply_to.is_some())
            .count();
        let n_automated = n_messages
            - count(MailKind::Conversation)
            - count(MailKind::BrokenDate)
            - count(MailKind::NoHeaders);
        let window_start = corpus.as_of_day * DAY - 366 * DAY;
        let before_window = corpus.messages.iter().filter(|m| m.sent < window_start).count();
        let internal = corpus
            .messages
            .iter()
            .filter(|m| {
                m.kind == MailKind::Conversation
                    && corpus.people.get(m.from).is_some_and(|p| p.kind == PersonKind::Org)
                    && m.to
                        .iter()
                        .chain(&m.cc)
                        .all(|&r| corpus.people.get(r).is_some_and(|p| p.kind == PersonKind::Org))
            })
            .count();
        assert_eq!(
            [n_messages, n_replies, n_automated, before_window, internal],
            [20_139, 9_777, 1_082, 189, 1_153]
        );
        assert_eq!((count(MailKind::BrokenDate), count(MailKind::NoHeaders)), (2, 1));
        assert!(corpus.messages.iter().all(|m| m.sent < corpus.as_of_day * DAY));
        assert!(corpus.messages.windows(2).all(|pair| pair[0].sent <= pair[1].sent));
        let rewritten = corpus.messages.iter().filter(|m| m.rewritten_id.is_some()).count();
        assert_eq!(rewritten, N_REWRITTEN_COPIES);

        // Zipf-like: the busiest account has far more mail than the median active one, and part
        // of the tail went quiet at least two months before as-of.
        let mut last_days: Vec<i64> =
            corpus.accounts.iter().filter(|a| a.weight > 0).map(|a| a.last_day).collect();
        last_days.sort_unstable();
        let quiet = last_days.iter().filter(|&&day| day < corpus.as_of_day - 60).count();
        assert_eq!((last_days.len(), quiet), (N_ACTIVE_ACCOUNTS, 72));
    }

    #[test]
    fn calendar_has_the_promised_features() {
        let corpus = Corpus::build(date("2024-07-01")).expect("corpus");
        let calendar = corpus.calendar();
        for line in calendar.split_terminator("\r\n") {
            assert!(line.len() <= 75, "{line:?}");
            assert!(!line.contains('\n') && !line.contains('\r'));
        }
        assert!(calendar.ends_with("END:VCALENDAR\r\n"));
        let unfolded = calendar.replace("\r\n ", "");
        let count = |needle: &str| unfolded.matches(needle).count();
        assert_eq!(count("\r\nRRULE:FREQ=WEEKLY"), N_SERIES);
        assert_eq!(count("\r\nSEQUENCE:1\r\n"), N_UPDATED_MEETINGS + count("\r\nRECURRENCE-ID"));
        assert_eq!(count("TZID:W. Europe"), 0, "Windows names come without VTIMEZONE");
        let features = [
            count("\r\nRECURRENCE-ID"),
            count("\r\nEXDATE"),
            count("\r\nEXDATE;VALUE=DATE:"),
            count("TZID=\"W. Europe Standard Time\":"),
            count("TZID=\"Eastern Standard Time\":"),
            count("TZID=Europe/Berlin:"),
            count("TZID=America/New_York:"),
            count("\r\nDTSTART:"),
            count("\r\nSTATUS:CANCELLED"),
            count("PARTSTAT=DECLINED"),
            count("CUTYPE=ROOM"),
            count("\r\nDTSTART;VALUE=DATE:"),
            count("X-MICROSOFT-CDO-ALLDAYEVENT:TRUE"),
            count("SUMMARY:Focus time"),
            count("SUMMARY:Two-day workshop"),
        ];
        assert_eq!(features, [6, 7, 1, 117, 40, 1_242, 241, 660, 37, 216, 343, 31, 2, 65, 45]);
        // Unfolding restores the long lines intact, including non-ASCII names split at a fold.
        assert!(
            unfolded.contains(
                ";CN=\"Göransson, Freya\":mailto:freya.goeransson@northwind-demo.example"
            )
        );
    }

    #[test]
    fn leap_day_and_out_of_range_dates() {
        let corpus = Corpus::build(date("2024-02-29")).expect("leap day");
        assert_eq!(corpus.as_of_day, days_from_civil(2024, 2, 29));
        let window_start = days_from_civil(2023, 2, 28) * DAY;
        let in_window = corpus.messages.iter().filter(|m| m.sent >= window_start).count();
        assert!(in_window > 15_000);
        for as_of in ["1970-12-31", "9999-01-01"] {
            let error = Corpus::build(date(as_of)).err().expect("out of range");
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        }
        assert!(Corpus::build(date("1971-01-01")).is_ok());
    }

    #[test]
    fn civil_days_agree_with_chrono() {
        let epoch = date("1970-01-01");
        for days in (-800_000..3_000_000).step_by(997).chain(19_700..19_800) {
            let expected = epoch + chrono::Duration::days(days);
            let (year, month, day) = civil_from_days(days);
            assert_eq!(
                (year, month, day),
                (
                    i64::from(expected.year()),
                    i64::from(expected.month()),
                    i64::from(expected.day())
                )
            );
            assert_eq!(days_from_civil(year, month, day), days);
            assert_eq!(weekday(days), i64::from(expected.weekday().num_days_from_monday()));
        }
    }

    #[test]
    fn zones_switch_at_the_right_instants() {
        let at = |year, month, day, hour, minute| {
            (days_from_civil(year, month, day) * DAY) + hour * HOUR + minute * MINUTE
        };
        assert_eq!(Zone::Berlin.offset_minutes(at(2024, 3, 31, 0, 59)), 60);
        assert_eq!(Zone::Berlin.offset_minutes(at(2024, 3, 31, 1, 0)), 120);
        assert_eq!(Zone::Berlin.offset_minutes(at(2024, 10, 27, 0, 59)), 120);
        assert_eq!(Zone::Berlin.offset_minutes(at(2024, 10, 27, 1, 0)), 60);
        assert_eq!(Zone::London.offset_minutes(at(2024, 7, 1, 12, 0)), 60);
        assert_eq!(Zone::NewYork.offset_minutes(at(2024, 3, 10, 6, 59)), -300);
        assert_eq!(Zone::NewYork.offset_minutes(at(2024, 3, 10, 7, 0)), -240);
        assert_eq!(Zone::NewYork.offset_minutes(at(2024, 11, 3, 5, 59)), -240);
        assert_eq!(Zone::NewYork.offset_minutes(at(2024, 11, 3, 6, 0)), -300);
        assert_eq!(Zone::LosAngeles.offset_minutes(at(2024, 3, 10, 10, 0)), -420);
        assert_eq!(Zone::Kolkata.offset_minutes(at(2024, 7, 1, 0, 0)), 330);
        assert_eq!(Zone::Berlin.local_to_utc(at(2024, 7, 1, 9, 30)), at(2024, 7, 1, 7, 30));
        assert_eq!(Zone::NewYork.local_to_utc(at(2024, 1, 15, 9, 0)), at(2024, 1, 15, 14, 0));
    }

    #[test]
    fn mail_dates_in_every_style() {
        // 2024-06-04 07:32:11 UTC, a Tuesday.
        let utc = days_from_civil(2024, 6, 4) * DAY + 7 * HOUR + 32 * MINUTE + 11;
        let check = |zone, style, expect: &str| {
            let mut out = String::new();
            push_mail_date(&mut out, utc, zone, style);
            assert_eq!(out, expect);
        };
        check(Zone::Berlin, DateStyle::Standard, "Tue, 4 Jun 2024 09:32:11 +0200");
        check(Zone::Berlin, DateStyle::Comment, "Tue, 4 Jun 2024 09:32:11 +0200 (CEST)");
        check(Zone::Berlin, DateStyle::NoWeekday, "04 Jun 2024 09:32:11 +0200");
        check(Zone::Berlin, DateStyle::ObsoleteName, "Tue, 4 Jun 2024 09:32:11 +0200");
        check(Zone::NewYork, DateStyle::ObsoleteName, "Tue, 4 Jun 2024 03:32:11 EDT");
        check(Zone::NewYork, DateStyle::NoSeconds, "Tue, 4 Jun 2024 03:32 -0400");
        check(Zone::Kolkata, DateStyle::TwoDigitYear, "Tue, 4 Jun 24 13:02:11 +0530");
        check(Zone::Utc, DateStyle::Standard, "Tue, 4 Jun 2024 07:32:11 +0000");
        // Across midnight into the next local day.
        check(Zone::Tokyo, DateStyle::Standard, "Tue, 4 Jun 2024 16:32:11 +0900");
        check(Zone::LosAngeles, DateStyle::Comment, "Tue, 4 Jun 2024 00:32:11 -0700 (PDT)");
        let mut out = String::new();
        push_asctime(&mut out, utc);
        assert_eq!(out, "Tue Jun  4 07:32:11 2024");
    }

    #[test]
    fn mailboxes_and_bodies_are_written_as_clients_write_them() {
        let person = |display: &str, email: &str, quote_display, capitalized| Person {
            display: display.into(),
            email: email.into(),
            zone: Zone::Berlin,
            kind: PersonKind::Contact,
            quote_display,
            capitalized,
            date_style: DateStyle::Standard,
            client: Client::Unix,
        };
        let check = |person: Person, expect: &str| {
            let mut out = String::new();
            push_mailbox(&mut out, &person);
            assert_eq!(out, expect);
        };
        check(
            person("Anna Berg", "anna.berg@a.example", false, false),
            "Anna Berg <anna.berg@a.example>",
        );
        check(
            person("Anna Berg", "anna.berg@a.example", true, false),
            "\"Anna Berg\" <anna.berg@a.example>",
        );
        check(
            person("Berg, Anna", "anna.berg@a.example", false, false),
            "\"Berg, Anna\" <anna.berg@a.example>",
        );
        check(
            person("Jörg Schäfer", "joerg@a.example", false, false),
            "=?UTF-8?Q?J=C3=B6rg_Sch=C3=A4fer?= <joerg@a.example>",
        );
        check(person("", "noreply@a-b.example", false, true), "Noreply@A-B.Example");

        let mut body = String::new();
        push_body_line(&mut body, "From our side, all set.");
        push_body_line(&mut body, ">From the archive");
        push_body_line(&mut body, "Thanks");
        assert_eq!(body, ">From our side, all set.\n>>From the archive\nThanks\n");

        let mut out = String::new();
        push_csv_field(&mut out, "Fenmere Analytics, Inc.");
        push_csv_field(&mut out, " plain");
        push_csv_field(&mut out, "say \"hi\"");
        assert_eq!(out, "\"Fenmere Analytics, Inc.\" plain\"say \"\"hi\"\"\"");
    }

    #[test]
    fn long_calendar_lines_fold_on_character_boundaries() {
        let line = format!("ATTENDEE;CN={}:mailto:x@y.example", "ä".repeat(60));
        let mut out = String::new();
        push_ics_line(&mut out, &line);
        let parts: Vec<&str> = out.split_terminator("\r\n").collect();
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|part| part.len() <= 75));
        assert!(parts[1].starts_with(' ') && parts[2].starts_with(' '));
        assert_eq!(out.replace("\r\n ", ""), format!("{line}\r\n"));
    }

    #[test]
    fn reply_delays_run_from_minutes_to_days() {
        let mut rng = Rng::new(7);
        let mut delays: Vec<i64> = (0..16_000).map(|_| rng.reply_delay_seconds()).collect();
        delays.sort_unstable();
        assert!(delays[0] >= MINUTE);
        assert!(delays[delays.len() - 1] <= 12_960 * MINUTE + 59);
        let median_minutes = delays[delays.len() / 2] / MINUTE;
        assert!((130..=170).contains(&median_minutes), "{median_minutes}");
        let over_a_day = delays.iter().filter(|&&delay| delay > DAY).count();
        assert!((1_000..=2_000).contains(&over_a_day), "{over_a_day}");
    }
}
