//! The Microsoft Graph source on the command line: `rapport graph consent-url|check`, and the
//! activity `rapport enrich --graph-config` reads (org users resolved through the directory,
//! every mailbox's mail folders and calendar synced over the window).
//!
//! The sync streams pages; this module keeps each folder's and calendar's items in arrival order,
//! honours `@removed`, links replies through `conversationIndex` over all mailboxes, and hands the
//! engine the activity in a fixed order (mailboxes as the users resolved, folders by path,
//! items as Graph listed them), so the same tenant gives the same tables at every run.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use anyhow::{Context as _, Result, anyhow, bail};
use rapport_core::model::{MailRecord, MeetingCopy, OrgUser, SkipCounts, SkipReason};
use rapport_core::period::Window;
use rapport_graph::auth::{self, NEEDED_PERMISSIONS};
use rapport_graph::calendar::CalendarItem;
use rapport_graph::directory::{self, GroupExpansion};
use rapport_graph::mail::{self, MailItem};
use rapport_graph::sync::{self, SyncEvent, SyncReport, SyncRequest, SyncState};
use rapport_graph::{ClientOptions, GraphConfig};

use crate::cli::{GraphArgs, GraphCommand};
use crate::config;

/// Loads the Graph configuration file; every problem is named with its field.
pub(crate) fn load_config(path: &Path) -> Result<GraphConfig> {
    GraphConfig::load(path, &config::env_var).map_err(|error| anyhow!("{error}"))
}

fn client_options() -> ClientOptions {
    ClientOptions::new(config::now)
}

/// `rapport graph ...`.
pub(crate) fn run(args: &GraphArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match &args.command {
        GraphCommand::ConsentUrl(consent) => {
            let graph = load_config(&consent.graph_config)?;
            let url = match &consent.redirect_uri {
                Some(redirect) => {
                    rapport_graph::config::consent_url_with_redirect(&graph, redirect)
                }
                None => rapport_graph::consent_url(&graph),
            };
            writeln!(out, "{url}")?;
        }
        GraphCommand::Check(check) => {
            let graph = load_config(&check.graph_config)?;
            let report = auth::check_permissions(graph, client_options())
                .map_err(|error| anyhow!("could not get a token: {error}"))?;
            for need in &NEEDED_PERMISSIONS {
                let granted_by = need
                    .satisfied_by
                    .iter()
                    .find(|role| report.granted.iter().any(|granted| granted == *role));
                match granted_by {
                    Some(role) if *role == need.name => {
                        writeln!(out, "ok       {} ({})", need.name, need.why)?;
                    }
                    Some(role) => {
                        writeln!(out, "ok       {} (through {role}; {})", need.name, need.why)?;
                    }
                    None => writeln!(out, "MISSING  {} ({})", need.name, need.why)?,
                }
            }
            for role in &report.body_exposing {
                writeln!(
                    out,
                    "warning  {role} is granted: it exposes bodies, and rapport does not need it"
                )?;
            }
            if !report.passed() {
                bail!(
                    "the app lacks {}: grant {} as application permissions and consent again \
                     (rapport graph consent-url)",
                    report.missing.join(", "),
                    if report.missing.len() == 1 { "it" } else { "them" }
                );
            }
            writeln!(out, "all needed permissions are granted")?;
        }
    }
    Ok(())
}

/// The permission check behind an enrichment's consent: a token is got and its roles checked.
/// Returns the line to record; fails, naming what is missing, when a needed permission is not
/// granted.
pub(crate) fn check_for_consent(path: &Path) -> Result<String> {
    let graph = load_config(path)?;
    let report = auth::check_permissions(graph, client_options())
        .map_err(|error| anyhow!("Microsoft Graph check failed: could not get a token: {error}"))?;
    if !report.passed() {
        bail!(
            "Microsoft Graph check failed: the app lacks {} (rapport graph check --graph-config {}); \
             consent was not recorded",
            report.missing.join(", "),
            path.display()
        );
    }
    Ok(format!(
        "Microsoft Graph check passed: {} granted{}",
        NEEDED_PERMISSIONS.iter().map(|need| need.name).collect::<Vec<_>>().join(", "),
        if report.body_exposing.is_empty() {
            String::new()
        } else {
            format!(
                " (also {}, which exposes bodies: more than needed)",
                report.body_exposing.join(", ")
            )
        }
    ))
}

/// The lines of a users file as the directory reads them: addresses, user principal names and
/// `group:<id or name>` lines. Empty lines and `#` comments are skipped; of a CSV, the first
/// column is taken and a header row (`Email`) skipped.
pub(crate) fn user_lines(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the users file {}", path.display()))?;
    let mut lines = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.split(',').next().unwrap_or_default().trim().trim_matches('"');
        // A header row is the first line that holds anything.
        if lines.is_empty() && first.eq_ignore_ascii_case("email") {
            continue;
        }
        lines.push(first.to_owned());
    }
    Ok(lines)
}

/// The mailbox id of an org user: its Entra object id (the directory gives one to every user it
/// resolves), else its address.
fn mailbox_of(user: &OrgUser) -> &str {
    user.directory_id.as_deref().unwrap_or(user.email.as_str())
}

/// A sync of every user's mail folders and calendar over `window`.
fn sync_request(users: &[OrgUser], window: Window) -> SyncRequest {
    SyncRequest {
        mailboxes: users.iter().map(|user| mailbox_of(user).to_owned()).collect(),
        window_start: window.start,
        window_end: window.end,
        mail: true,
        calendar: true,
    }
}

/// What a Graph source gave for one run.
pub(crate) struct GraphActivity {
    /// The org users, resolved through the directory (with their Entra object ids).
    pub(crate) users: Vec<OrgUser>,
    /// How each group line was expanded.
    pub(crate) groups: Vec<GroupExpansion>,
    /// Every mail record, in the fixed order of the module documentation.
    pub(crate) mail: Vec<MailRecord>,
    /// Every meeting occurrence copy, likewise.
    pub(crate) meetings: Vec<MeetingCopy>,
    /// Calendar items that could not be used.
    pub(crate) meeting_skips: SkipCounts,
    /// The sync's counts.
    pub(crate) report: SyncReport,
}

/// Resolves `users_file` through the directory and syncs every user's mailbox over `window`.
/// A mailbox that fails is reported in the activity's report (and on stderr unless `quiet`);
/// a configuration, directory or token problem is an error before anything is read.
pub(crate) fn read_activity(
    graph: GraphConfig,
    users_file: &Path,
    window: Window,
    cancel: &AtomicBool,
    quiet: bool,
) -> Result<GraphActivity> {
    let lines = user_lines(users_file)?;
    let resolution = directory::resolve_org_users(graph.clone(), client_options(), &lines)
        .map_err(|error| anyhow!("{}: {error}", users_file.display()))?;
    if !quiet {
        for group in &resolution.groups {
            eprintln!(
                "rapport: {:?} is group {:?}: {} users ({} not named before)",
                group.line, group.display_name, group.members, group.added
            );
        }
        if resolution.skipped_without_address > 0 {
            eprintln!(
                "rapport: {} directory users without a mail address or user principal name were skipped",
                resolution.skipped_without_address
            );
        }
    }
    let request = sync_request(&resolution.users, window);
    let mut collected = Collected::default();
    let report = std::thread::scope(|scope| -> Result<SyncReport> {
        // A few pages wait at most: memory stays bounded by the pages in flight.
        let (sender, receiver) = mpsc::sync_channel::<SyncEvent>(16);
        let syncing = scope.spawn(|| {
            sync::sync(graph, client_options(), &request, &SyncState::default(), sender, cancel)
        });
        for event in receiver {
            collected.take(event);
        }
        match syncing.join() {
            Ok(report) => report.map_err(|error| anyhow!("{error}")),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })?;
    if report.cancelled {
        return Err(rapport_ingest::error::Error::Cancelled.into());
    }
    if !quiet {
        for failure in &report.failures {
            eprintln!(
                "rapport: warning: mailbox {} could not be read ({}): {}",
                failure.mailbox,
                failure.kind.as_str(),
                failure.message
            );
        }
    }
    let order: HashMap<&str, usize> =
        request.mailboxes.iter().enumerate().map(|(index, id)| (id.as_str(), index)).collect();
    let (mail, meetings, meeting_skips) = collected.into_activity(&order);
    Ok(GraphActivity {
        users: resolution.users,
        groups: resolution.groups,
        mail,
        meetings,
        meeting_skips,
        report,
    })
}

/// Items of one folder or calendar in arrival order, `@removed` applied.
struct Items<T> {
    items: Vec<Option<T>>,
    position_by_id: HashMap<String, usize>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items { items: Vec::new(), position_by_id: HashMap::new() }
    }
}

impl<T> Items<T> {
    fn upsert(&mut self, id: String, item: T) {
        match self.position_by_id.get(&id) {
            Some(position) => {
                if let Some(slot) = self.items.get_mut(*position) {
                    *slot = Some(item);
                }
            }
            None => {
                self.position_by_id.insert(id, self.items.len());
                self.items.push(Some(item));
            }
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(position) = self.position_by_id.remove(id)
            && let Some(slot) = self.items.get_mut(position)
        {
            *slot = None;
        }
    }

    /// Applies one delta page: a reset round starts afresh, then removals, then upserts.
    fn apply_page(
        &mut self,
        reset: bool,
        removed: &[String],
        upserted: Vec<T>,
        graph_id: impl Fn(&T) -> String,
    ) {
        if reset {
            *self = Items::default();
        }
        for id in removed {
            self.remove(id);
        }
        for item in upserted {
            self.upsert(graph_id(&item), item);
        }
    }

    fn into_items(self) -> impl Iterator<Item = T> {
        self.items.into_iter().flatten()
    }
}

/// What the sync sent, per mailbox.
#[derive(Default)]
struct Collected {
    /// (mailbox id, folder path, folder id) → its messages.
    folders: BTreeMap<(String, String, String), Items<MailItem>>,
    /// Mailbox id → its calendar's occurrences.
    calendars: BTreeMap<String, Items<CalendarItem>>,
    mail_skips: SkipCounts,
    meeting_skips: SkipCounts,
}

impl Collected {
    fn take(&mut self, event: SyncEvent) {
        match event {
            SyncEvent::MailPage(page) => {
                let key = (page.mailbox, page.folder.path, page.folder.id);
                let folder = self.folders.entry(key).or_default();
                folder.apply_page(page.reset, &page.removed, page.upserted, |item| {
                    item.graph_id.clone()
                });
                self.mail_skips.merge(&page.skipped);
            }
            SyncEvent::CalendarPage(page) => {
                let calendar = self.calendars.entry(page.mailbox).or_default();
                calendar.apply_page(page.reset, &page.removed, page.upserted, |item| {
                    item.graph_id.clone()
                });
                self.meeting_skips.merge(&page.skipped);
            }
            SyncEvent::FolderGone { mailbox, folder_id } => {
                self.folders.retain(|(held_mailbox, _, held_folder), _| {
                    !(*held_mailbox == mailbox && *held_folder == folder_id)
                });
            }
            SyncEvent::MailboxRead { .. } | SyncEvent::MailboxFailed(_) => {}
        }
    }

    /// The activity in the fixed order: mailboxes by `order`, folders by path then id.
    fn into_activity(
        self,
        order: &HashMap<&str, usize>,
    ) -> (Vec<MailRecord>, Vec<MeetingCopy>, SkipCounts) {
        let rank = |mailbox: &str| order.get(mailbox).copied().unwrap_or(usize::MAX);
        let mut folders: Vec<_> = self.folders.into_iter().collect();
        folders.sort_by(|((left, left_path, left_id), _), ((right, right_path, right_id), _)| {
            (rank(left), left_path, left_id).cmp(&(rank(right), right_path, right_id))
        });
        let mut items: Vec<MailItem> =
            folders.into_iter().flat_map(|(_, folder)| folder.into_items()).collect();
        mail::link_replies(&mut items);
        let mut records: Vec<MailRecord> =
            Vec::with_capacity(items.len() + self.mail_skips.total() as usize);
        records.extend(items.into_iter().map(|item| MailRecord::Email(item.email)));
        // Items Graph gave without an id: unreadable messages, as a file's would be.
        records.extend(
            (0..self.mail_skips.get(SkipReason::Unparseable)).map(|_| MailRecord::Unparseable),
        );
        let mut calendars: Vec<_> = self.calendars.into_iter().collect();
        calendars.sort_by_key(|(mailbox, _)| rank(mailbox));
        let meetings = calendars
            .into_iter()
            .flat_map(|(_, calendar)| calendar.into_items())
            .map(|item| item.meeting)
            .collect();
        (records, meetings, self.meeting_skips)
    }
}

/// Resolves the users lines through the directory (groups expanded); every line that names
/// nothing is reported at once.
pub(crate) fn resolve_users(graph: GraphConfig, lines: &[String]) -> Result<Vec<OrgUser>> {
    let resolution = directory::resolve_org_users(graph, client_options(), lines)
        .map_err(|error| anyhow!("{error}"))?;
    Ok(resolution.users)
}

/// The addresses of the users whose mailbox the sync read to the end (§6 counts them as
/// processed): every selected user but those whose mailbox failed. None when it was cancelled.
pub(crate) fn users_read(users: &[OrgUser], report: &SyncReport) -> Vec<String> {
    if report.cancelled {
        return Vec::new();
    }
    let failed: std::collections::HashSet<&str> =
        report.failures.iter().map(|failure| failure.mailbox.as_str()).collect();
    users
        .iter()
        .filter(|user| !failed.contains(mailbox_of(user)))
        .map(|user| user.email.clone())
        .collect()
}

/// The Graph part of `summary.json`: counts only, no mailbox named.
pub(crate) fn summary_json(activity: &GraphActivity) -> serde_json::Value {
    let mut summary = report_json(&activity.report);
    if let Some(object) = summary.as_object_mut() {
        object.insert("groups_expanded".into(), activity.groups.len().into());
    }
    summary
}

/// The counts of a sync report, as `summary.json` shows them.
pub(crate) fn report_json(report: &SyncReport) -> serde_json::Value {
    let failed: serde_json::Map<String, serde_json::Value> = report
        .failed_by_kind
        .iter()
        .map(|(kind, count)| (kind.as_str().to_owned(), serde_json::Value::from(*count)))
        .collect();
    serde_json::json!({
        "mailboxes_selected": report.mailboxes_selected,
        "mailboxes_read": report.mailboxes_read,
        "mailboxes_failed": report.mailboxes_failed,
        "mailboxes_failed_by_reason": failed,
        "pages": report.pages,
        "requests": report.requests,
        "throttled_responses": report.throttled,
        "retries": report.retries,
        "token_requests": report.token_requests,
        "messages_received": report.messages,
        "events_received": report.events,
    })
}

/// What a stored enrichment's Graph sync did in one run.
pub(crate) struct StoredSync {
    /// The sync's counts.
    pub(crate) report: SyncReport,
    /// Items of this run's pages that could not be used (items without an id, events without a
    /// start): counted for this run.
    pub(crate) mail_skips: SkipCounts,
    pub(crate) meeting_skips: SkipCounts,
}

/// Syncs a stored enrichment's mailboxes from its kept checkpoints: each page is pseudonymised
/// (and cleared of erased addresses) and kept with the checkpoint that follows it, so a sync
/// cut short resumes there. `on_page` sees the running page count.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sync_into_store(
    store: &rapport_store::Store,
    enrichment: rapport_store::EnrichmentId,
    graph: GraphConfig,
    users: &[OrgUser],
    window: Window,
    pseudonymizer: &rapport_store::pseudonym::Pseudonymizer,
    erased: &rapport_store::erasure::ErasedAddresses,
    cancel: &AtomicBool,
    on_page: &mut dyn FnMut(u64),
) -> Result<StoredSync> {
    use rapport_store::ledger::graph::{CALENDAR, GraphPage, GraphRecord};
    let mut state: SyncState = match store.graph_state(enrichment)? {
        // Checkpoints that do not read start full rounds (nothing is lost: items are re-read).
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => SyncState::default(),
    };
    let request = sync_request(users, window);
    let mut cache = rapport_store::pseudonym::PseudonymCache::default();
    let mut mail_skips = SkipCounts::default();
    let mut meeting_skips = SkipCounts::default();
    let mut n_pages = 0;
    let start_state = state.clone();
    let report = std::thread::scope(|scope| -> Result<SyncReport> {
        let (sender, receiver) = mpsc::sync_channel::<SyncEvent>(16);
        let syncing = scope
            .spawn(|| sync::sync(graph, client_options(), &request, &start_state, sender, cancel));
        let mut kept = Ok(());
        for event in receiver {
            if kept.is_err() {
                continue;
            }
            state.apply(&event);
            let page = match event {
                SyncEvent::MailPage(page) => {
                    mail_skips.merge(&page.skipped);
                    let upserted = page
                        .upserted
                        .into_iter()
                        .map(|item| {
                            let mut record = MailRecord::Email(item.email);
                            pseudonymizer.mail_record(&mut record, &mut cache);
                            erased.mail_record(&mut record);
                            let (link_key, parent_link_key) =
                                link_keys(pseudonymizer, &item.conversation_index);
                            (item.graph_id, GraphRecord::Mail { record, link_key, parent_link_key })
                        })
                        .collect();
                    GraphPage {
                        mailbox: page.mailbox,
                        container: page.folder.id,
                        reset: page.reset,
                        upserted,
                        removed: page.removed,
                        state: String::new(),
                    }
                }
                SyncEvent::CalendarPage(page) => {
                    meeting_skips.merge(&page.skipped);
                    let upserted = page
                        .upserted
                        .into_iter()
                        .map(|item| {
                            let mut copy = item.meeting;
                            pseudonymizer.meeting_copy(&mut copy, &mut cache);
                            erased.meeting_copy(&mut copy);
                            (item.graph_id, GraphRecord::Meeting(copy))
                        })
                        .collect();
                    GraphPage {
                        mailbox: page.mailbox,
                        container: CALENDAR.to_owned(),
                        reset: page.reset,
                        upserted,
                        removed: page.removed,
                        state: String::new(),
                    }
                }
                SyncEvent::FolderGone { mailbox, folder_id } => {
                    GraphPage { mailbox, container: folder_id, reset: true, ..GraphPage::default() }
                }
                SyncEvent::MailboxRead { .. } | SyncEvent::MailboxFailed(_) => continue,
            };
            let page =
                GraphPage { state: serde_json::to_string(&state).unwrap_or_default(), ..page };
            kept = store.apply_graph_page(enrichment, &page).map_err(anyhow::Error::from);
            if kept.is_ok() {
                n_pages += 1;
                on_page(n_pages);
            }
        }
        let report = match syncing.join() {
            Ok(report) => report.map_err(|error| anyhow!("{error}")),
            Err(panic) => std::panic::resume_unwind(panic),
        };
        kept?;
        report
    })?;
    if report.cancelled {
        return Err(rapport_ingest::error::Error::Cancelled.into());
    }
    Ok(StoredSync { report, mail_skips, meeting_skips })
}

/// Pseudonyms of a message's `conversationIndex` and of its parent's (the index minus its last
/// five bytes, for a reply: longer than the 22-byte header).
fn link_keys(
    pseudonymizer: &rapport_store::pseudonym::Pseudonymizer,
    index: &[u8],
) -> (Option<String>, Option<String>) {
    let key = |bytes: &[u8]| {
        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        pseudonymizer.message_id(&format!("conversationIndex:{hex}"))
    };
    if index.is_empty() {
        return (None, None);
    }
    let parent = (index.len() > mail::CONVERSATION_INDEX_HEADER)
        .then(|| index.get(..index.len() - mail::CONVERSATION_INDEX_CHILD))
        .flatten()
        .map(key);
    (Some(key(index)), parent)
}

/// The kept Graph activity of a stored enrichment, in the fixed order (mailboxes as `users`
/// resolved, then containers, items as first kept), replies linked through the kept
/// `conversationIndex` pseudonyms as `mail::link_replies` links them.
pub(crate) fn stored_activity(
    store: &rapport_store::Store,
    enrichment: rapport_store::EnrichmentId,
    users: &[OrgUser],
) -> Result<(Vec<MailRecord>, Vec<MeetingCopy>, u64)> {
    use rapport_store::ledger::graph::GraphRecord;
    let (mut items, damaged) = store.graph_items(enrichment)?;
    let rank: HashMap<&str, usize> =
        users.iter().enumerate().map(|(index, user)| (mailbox_of(user), index)).collect();
    // Mailboxes no longer selected are left out; the sort is stable, so each container keeps its
    // order.
    items.retain(|item| rank.contains_key(item.mailbox.as_str()));
    items.sort_by_key(|item| rank.get(item.mailbox.as_str()).copied().unwrap_or(usize::MAX));
    let mut mail = Vec::new();
    let mut links = Vec::new();
    let mut meetings = Vec::new();
    for item in items {
        match item.record {
            GraphRecord::Mail { record, link_key, parent_link_key } => {
                links.push((link_key, parent_link_key));
                mail.push(record);
            }
            GraphRecord::Meeting(copy) => meetings.push(copy),
        }
    }
    let mut parent_of_key: HashMap<String, String> = HashMap::new();
    for (record, (link_key, _)) in mail.iter().zip(&links) {
        if let (MailRecord::Email(copy), Some(key)) = (record, link_key)
            && let Some(id) = &copy.message_id
        {
            parent_of_key.entry(key.clone()).or_insert_with(|| id.clone());
        }
    }
    for (record, (_, parent_key)) in mail.iter_mut().zip(&links) {
        if let (MailRecord::Email(copy), Some(key)) = (record, parent_key)
            && copy.parent_id.is_none()
        {
            copy.parent_id = parent_of_key.get(key).cloned();
        }
    }
    Ok((mail, meetings, damaged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_lines_take_addresses_groups_and_the_first_csv_column() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("users.csv");
        std::fs::write(
            &path,
            "\n# org users\nEmail,DirectoryId\nann@contoso.example,1\n\"group:All Staff\"\n  bob@contoso.example  \n",
        )
        .expect("users");
        assert_eq!(
            user_lines(&path).expect("lines"),
            ["ann@contoso.example", "group:All Staff", "bob@contoso.example"]
        );
        assert!(user_lines(&folder.path().join("missing.txt")).is_err());
    }
}
