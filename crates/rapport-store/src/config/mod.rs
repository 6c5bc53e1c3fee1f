//! What a user configures for an enrichment, and its validation.
//!
//! The configuration is stored as JSON in the `enrichments` table. Validation collects every
//! problem at once, each naming its field (`users[3]`, `groups["Sales"].members[0]`,
//! `weights.recency`, ...). It reads no files: the run checks that the files exist and that the
//! org users, with those of a users file, number 2 to 2,500.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{NaiveTime, Weekday};
use rapport_core::address;
use rapport_core::score::Weights;
use serde::{Deserialize, Serialize};

/// The output table name when none is given.
pub const DEFAULT_OUTPUT_TABLE: &str = "Office";
/// The contacts' email column when none is given.
pub const DEFAULT_CONTACT_EMAIL_COLUMN: &str = "Email";
/// The contacts' and the accounts' account id column when none is given.
pub const DEFAULT_ACCOUNT_ID_COLUMN: &str = "AccountId";
/// The most characters an enrichment name or an output table name may have.
pub const MAX_NAME_CHARS: usize = 100;
/// The fewest org users an enrichment may have (metrics.md §1).
pub const MIN_USERS: usize = 2;
/// The most org users an enrichment may have (metrics.md §1).
pub const MAX_USERS: usize = 2500;
/// The most times of day a schedule may have.
pub const MAX_TIMES_PER_DAY: usize = 4;

/// One enrichment as a user configures it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichmentConfig {
    /// The unique name (1 to 100 characters; compared without regard to ASCII case).
    pub name: String,
    /// The name of the output table (and of its companions `<name>_UserEntity`, ...): letters,
    /// digits, `_` and `-`.
    #[serde(default = "default_output_table")]
    pub output_table: String,
    /// Org user addresses, in any form [`address::normalize`] accepts.
    #[serde(default)]
    pub users: Vec<String>,
    /// Named groups of org user addresses.
    #[serde(default)]
    pub groups: Vec<UserGroup>,
    /// A users file as `rapport enrich --users` reads it, read again at every run.
    #[serde(default)]
    pub users_file: Option<PathBuf>,
    /// Where the accounts and contacts come from.
    pub customers: CustomerSource,
    /// The activity sources: files and folders.
    #[serde(default)]
    pub sources: Vec<PathBuf>,
    /// A Microsoft Graph configuration file (TOML, as `rapport enrich --graph-config` reads it):
    /// the users' mailboxes and calendars are then synced through Graph too, and `users` may
    /// name groups (`group:<id or name>`, or a group's address). Secrets stay in that file or in
    /// the environment, never in the database.
    #[serde(default)]
    pub graph_config: Option<PathBuf>,
    /// Score weights by feature name, as exact decimal text; empty means the defaults.
    #[serde(default)]
    pub weights: BTreeMap<String, String>,
    /// Whether addresses that are not contacts are matched to accounts by their domain.
    #[serde(default)]
    pub match_domains: bool,
    /// The IANA time zone periods are bucketed in; `None` is UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// When the enrichment refreshes.
    #[serde(default)]
    pub schedule: Schedule,
}

/// True for a `group:<id or display name>` line (any case).
fn is_group_line(line: &str) -> bool {
    line.trim().get(..6).is_some_and(|head| head.eq_ignore_ascii_case("group:"))
        && line.trim().len() > 6
}

/// A named group of org user addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserGroup {
    /// The group's name, unique within the enrichment.
    pub name: String,
    /// Its members' addresses.
    pub members: Vec<String>,
}

/// The customer data: a contacts file and, optionally, an accounts file, with their columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSource {
    /// The contacts CSV.
    pub contacts: PathBuf,
    /// The contacts' email column.
    #[serde(default = "default_contact_email_column")]
    pub contact_email_column: String,
    /// The contacts' account id column.
    #[serde(default = "default_account_id_column")]
    pub contact_account_column: String,
    /// The accounts CSV, if any.
    #[serde(default)]
    pub accounts: Option<PathBuf>,
    /// The accounts' id column.
    #[serde(default = "default_account_id_column")]
    pub account_id_column: String,
    /// The accounts' columns holding web domains.
    #[serde(default)]
    pub account_domains_columns: Vec<String>,
}

/// When an enrichment refreshes: never, daily or weekly, at up to four local times of day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Off, Daily or Weekly.
    #[serde(default)]
    pub frequency: Frequency,
    /// The day of a weekly schedule.
    #[serde(default = "default_weekday", with = "weekday_text")]
    pub weekday: Weekday,
    /// The local times of day (1 to 4).
    #[serde(default = "default_times", with = "times_text")]
    pub times: Vec<NaiveTime>,
    /// The IANA time zone the times of day are in.
    #[serde(default = "default_schedule_time_zone")]
    pub time_zone: String,
}

/// How often an enrichment refreshes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Frequency {
    /// Never on a schedule (only the first run after consent, and manual runs).
    #[serde(alias = "off")]
    Off,
    /// Every day at each time of day.
    #[serde(alias = "daily")]
    Daily,
    /// On one day of the week at each time of day.
    #[default]
    #[serde(alias = "weekly")]
    Weekly,
}

impl Frequency {
    /// `"Off"`, `"Daily"` or `"Weekly"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Off => "Off",
            Frequency::Daily => "Daily",
            Frequency::Weekly => "Weekly",
        }
    }
}

/// Weekly on Monday at 02:00 UTC.
impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            frequency: Frequency::default(),
            weekday: default_weekday(),
            times: default_times(),
            time_zone: default_schedule_time_zone(),
        }
    }
}

impl CustomerSource {
    /// A contacts file with the default columns and no accounts file.
    pub fn new(contacts: PathBuf) -> CustomerSource {
        CustomerSource {
            contacts,
            contact_email_column: default_contact_email_column(),
            contact_account_column: default_account_id_column(),
            accounts: None,
            account_id_column: default_account_id_column(),
            account_domains_columns: Vec::new(),
        }
    }
}

impl EnrichmentConfig {
    /// A configuration with the given name, contacts file and sources, and defaults elsewhere
    /// (no users yet, so it does not validate until some are added).
    pub fn new(name: &str, contacts: PathBuf, sources: Vec<PathBuf>) -> EnrichmentConfig {
        EnrichmentConfig {
            name: name.to_owned(),
            output_table: default_output_table(),
            users: Vec::new(),
            groups: Vec::new(),
            users_file: None,
            customers: CustomerSource::new(contacts),
            sources,
            graph_config: None,
            weights: BTreeMap::new(),
            match_domains: false,
            time_zone: None,
            schedule: Schedule::default(),
        }
    }

    /// Checks everything that can be checked without reading files; the error lists every
    /// problem, each starting with the field it is about.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        check_name(&self.name, &mut problems);
        check_output_table(&self.output_table, &mut problems);
        self.check_users(&mut problems);
        check_customers(&self.customers, self.match_domains, &mut problems);
        if self.sources.is_empty() && self.graph_config.is_none() {
            problems.push(
                "sources: no activity sources: give at least one file or folder, or a Graph \
                 configuration"
                    .into(),
            );
        }
        if let Some(path) = &self.graph_config {
            check_path("graph_config", path, &mut problems);
        }
        for (index, source) in self.sources.iter().enumerate() {
            check_path(&format!("sources[{index}]"), source, &mut problems);
        }
        check_weights(&self.weights, &mut problems);
        if let Some(zone) = &self.time_zone {
            check_time_zone("time_zone", zone, &mut problems);
        }
        check_schedule(&self.schedule, &mut problems);
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }

    /// The `users` lines as given (addresses and, with a Graph source, `group:` lines), then the
    /// members of the named groups: what the directory resolves when the enrichment reads Graph.
    pub fn user_lines(&self) -> Vec<String> {
        self.users
            .iter()
            .chain(self.groups.iter().flat_map(|group| &group.members))
            .map(|line| line.trim().to_owned())
            .filter(|line| !line.is_empty())
            .collect()
    }

    /// The org users listed directly and through groups: normalized, without duplicates, in the
    /// order first listed (users, then each group's members). Invalid addresses are left out.
    /// A users file is not read here.
    pub fn resolved_users(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut resolved = Vec::new();
        let listed = self.users.iter().chain(self.groups.iter().flat_map(|group| &group.members));
        for raw in listed {
            if let Some(normalized) = address::normalize(raw)
                && seen.insert(normalized.clone())
            {
                resolved.push(normalized);
            }
        }
        resolved
    }

    /// Per group, in order, its name and the number of its distinct valid member addresses.
    pub fn group_counts(&self) -> Vec<(String, usize)> {
        self.groups
            .iter()
            .map(|group| {
                let members: HashSet<String> =
                    group.members.iter().filter_map(|raw| address::normalize(raw)).collect();
                (group.name.clone(), members.len())
            })
            .collect()
    }

    /// Checks the listed users, the groups, the users file and the number of users.
    fn check_users(&self, problems: &mut Vec<String>) {
        for (index, raw) in self.users.iter().enumerate() {
            // With a Graph source, a line may name a group; the directory resolves it at the run.
            if self.graph_config.is_some() && is_group_line(raw) {
                continue;
            }
            if address::normalize(raw).is_none() {
                problems.push(format!("users[{index}]: {raw:?} is not an email address"));
            }
        }
        let mut group_names = HashSet::new();
        for (index, group) in self.groups.iter().enumerate() {
            let field = if group.name.trim().is_empty() {
                problems.push(format!("groups[{index}].name: a group needs a name"));
                format!("groups[{index}]")
            } else {
                format!("groups[{:?}]", group.name)
            };
            if !group.name.trim().is_empty() && !group_names.insert(group.name.as_str()) {
                problems.push(format!("{field}: two groups have this name"));
            }
            if group.members.is_empty() {
                problems.push(format!("{field}.members: the group has no members"));
            }
            for (member_index, raw) in group.members.iter().enumerate() {
                if address::normalize(raw).is_none() {
                    problems.push(format!(
                        "{field}.members[{member_index}]: {raw:?} is not an email address"
                    ));
                }
            }
        }
        if let Some(path) = &self.users_file {
            check_path("users_file", path, problems);
        }
        // A users file (or a group resolved through Graph) can only add users, so too many is
        // known now; too few only without one.
        let n_users = self.resolved_users().len();
        let more_may_come = self.users_file.is_some() || self.graph_config.is_some();
        if n_users > MAX_USERS || (!more_may_come && n_users < MIN_USERS) {
            let plural = if n_users == 1 { "" } else { "s" };
            problems.push(format!(
                "users: {n_users} org user{plural} after resolving groups and removing duplicates; \
                 {MIN_USERS} to {MAX_USERS} are needed"
            ));
        }
    }
}

/// Checks the enrichment's name.
fn check_name(name: &str, problems: &mut Vec<String>) {
    let n_chars = name.chars().count();
    if name.trim().is_empty() {
        problems.push("name: the enrichment needs a name".into());
    } else if n_chars > MAX_NAME_CHARS {
        problems.push(format!("name: {n_chars} characters; at most {MAX_NAME_CHARS} are allowed"));
    } else if name.trim() != name {
        problems.push(format!("name: {name:?} starts or ends with white space"));
    } else if name.chars().any(char::is_control) {
        problems.push(format!("name: {name:?} holds a control character"));
    }
}

/// Checks that the output table name can be a file name (as `rapport enrich` requires).
fn check_output_table(table: &str, problems: &mut Vec<String>) {
    let valid = table.len() <= MAX_NAME_CHARS && rapport_core::output::is_valid_table_name(table);
    if !valid {
        problems.push(format!(
            "output_table: {table:?}: use 1 to {MAX_NAME_CHARS} letters, digits, '_' and '-', \
             not starting with '-'"
        ));
    }
}

/// Checks the customer data source and its column mapping.
fn check_customers(customers: &CustomerSource, match_domains: bool, problems: &mut Vec<String>) {
    if customers.contacts.as_os_str().is_empty() {
        problems.push("customers.contacts: no contacts file".into());
    } else {
        check_path("customers.contacts", &customers.contacts, problems);
    }
    let columns = [
        ("customers.contact_email_column", &customers.contact_email_column),
        ("customers.contact_account_column", &customers.contact_account_column),
        ("customers.account_id_column", &customers.account_id_column),
    ];
    for (field, column) in columns {
        if column.trim().is_empty() {
            problems.push(format!("{field}: the column name is empty"));
        }
    }
    match &customers.accounts {
        Some(path) if path.as_os_str().is_empty() => {
            problems.push("customers.accounts: the path is empty".into());
        }
        Some(path) => check_path("customers.accounts", path, problems),
        None => {
            if !customers.account_domains_columns.is_empty() {
                problems.push(
                    "customers.account_domains_columns: domain columns need customers.accounts"
                        .into(),
                );
            }
        }
    }
    for (index, column) in customers.account_domains_columns.iter().enumerate() {
        if column.trim().is_empty() {
            problems.push(format!(
                "customers.account_domains_columns[{index}]: the column name is empty"
            ));
        }
    }
    // Domain matching without any account domains would silently match nothing.
    if match_domains && customers.account_domains_columns.is_empty() {
        problems.push(
            "match_domains: domain matching needs customers.accounts with at least one \
             customers.account_domains_columns"
                .into(),
        );
    }
}

/// Checks that a path is given and can be stored as text.
fn check_path(field: &str, path: &Path, problems: &mut Vec<String>) {
    if path.as_os_str().is_empty() {
        problems.push(format!("{field}: the path is empty"));
    } else if path.to_str().is_none() {
        problems.push(format!("{field}: {path:?} is not valid UTF-8"));
    }
}

/// Checks every weight as [`Weights::set`] and [`Weights::validate`] would.
fn check_weights(weights: &BTreeMap<String, String>, problems: &mut Vec<String>) {
    let mut parsed = Weights::default();
    let mut all_parsed = true;
    for (feature, text) in weights {
        if let Err(problem) = parsed.set(feature, text) {
            problems.push(format!("weights.{feature}: {problem}"));
            all_parsed = false;
        }
    }
    if !all_parsed {
        return;
    }
    let mut negative = false;
    for (index, feature) in Weights::FEATURES.iter().enumerate() {
        if parsed.get(index).units() < 0 {
            negative = true;
            problems
                .push(format!("weights.{feature}: the weight is negative ({})", parsed.get(index)));
        }
    }
    if !negative && let Err(problem) = parsed.validate() {
        problems.push(format!("weights: {problem}"));
    }
}

/// Checks that `zone` is an IANA time zone name.
fn check_time_zone(field: &str, zone: &str, problems: &mut Vec<String>) {
    if zone.parse::<chrono_tz::Tz>().is_err() {
        problems
            .push(format!("{field}: {zone:?} is not an IANA time zone name (like Europe/Berlin)"));
    }
}

/// Checks the schedule's times of day and time zone.
fn check_schedule(schedule: &Schedule, problems: &mut Vec<String>) {
    let n_times = schedule.times.len();
    if n_times == 0 || n_times > MAX_TIMES_PER_DAY {
        problems.push(format!(
            "schedule.times: {n_times} times of day; 1 to {MAX_TIMES_PER_DAY} are needed"
        ));
    }
    for (index, time) in schedule.times.iter().enumerate() {
        if schedule.times.get(..index).is_some_and(|before| before.contains(time)) {
            problems.push(format!("schedule.times[{index}]: {} is listed twice", time_text(*time)));
        }
    }
    check_time_zone("schedule.time_zone", &schedule.time_zone, problems);
}

/// A time of day as `HH:MM`, or `HH:MM:SS` when it has seconds.
fn time_text(time: NaiveTime) -> String {
    use chrono::Timelike as _;
    if time.second() == 0 && time.nanosecond() == 0 {
        time.format("%H:%M").to_string()
    } else {
        time.format("%H:%M:%S").to_string()
    }
}

fn default_output_table() -> String {
    DEFAULT_OUTPUT_TABLE.to_owned()
}

fn default_contact_email_column() -> String {
    DEFAULT_CONTACT_EMAIL_COLUMN.to_owned()
}

fn default_account_id_column() -> String {
    DEFAULT_ACCOUNT_ID_COLUMN.to_owned()
}

fn default_weekday() -> Weekday {
    Weekday::Mon
}

fn default_times() -> Vec<NaiveTime> {
    vec![NaiveTime::MIN + chrono::TimeDelta::hours(2)]
}

fn default_schedule_time_zone() -> String {
    "UTC".to_owned()
}

/// A weekday as its English name (`"Monday"`); any form chrono parses is read back.
mod weekday_text {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        weekday: &Weekday,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let name = match weekday {
            Weekday::Mon => "Monday",
            Weekday::Tue => "Tuesday",
            Weekday::Wed => "Wednesday",
            Weekday::Thu => "Thursday",
            Weekday::Fri => "Friday",
            Weekday::Sat => "Saturday",
            Weekday::Sun => "Sunday",
        };
        serializer.serialize_str(name)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Weekday, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.trim().parse().map_err(|_| {
            serde::de::Error::custom(format!("{text:?} is not a day of the week (like Monday)"))
        })
    }
}

/// Times of day as `"HH:MM"` (or `"HH:MM:SS"`) text.
mod times_text {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        times: &[NaiveTime],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(times.iter().map(|time| super::time_text(*time)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<NaiveTime>, D::Error> {
        let texts = Vec::<String>::deserialize(deserializer)?;
        texts
            .iter()
            .map(|text| {
                let text = text.trim();
                NaiveTime::parse_from_str(text, "%H:%M")
                    .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
                    .map_err(|_| {
                        serde::de::Error::custom(format!("{text:?} is not a time of day (HH:MM)"))
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
