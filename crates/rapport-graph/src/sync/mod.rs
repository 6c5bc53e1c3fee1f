//! The sync: every selected mailbox's mail folders (message delta) and calendar (calendarView
//! delta), read concurrently within the caps, streamed page by page to the caller with the cursor
//! that page reaches, so the caller stores items and cursor together and an interrupted sync
//! resumes from its last stored page.
//!
//! Memory is bounded by pages in flight: a stream takes a page slot (twice `max_concurrency`
//! slots overall) before each request and the slot is freed only when the caller's bounded
//! channel has taken the page. A mailbox that fails (no mailbox, access denied, repeated faults)
//! is reported with its reason and the others go on.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

use rapport_core::model::{SkipCounts, UnixSeconds};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::calendar::{CalendarItem, read_event_page};
use crate::config::GraphConfig;
use crate::http::{ClientOptions, GraphClient, Prefer};
use crate::mail::{MailFolder, MailItem, read_message_page};
use crate::{DeltaPage, GraphError};

#[cfg(test)]
mod tests;

/// Where a folder's or a calendar's delta sync stands.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "link", rename_all = "snake_case")]
pub enum Cursor {
    /// A round is under way: its next page.
    Next(String),
    /// The last round finished: the link that starts the next one (changes only).
    Delta(String),
}

/// A calendar's cursor and the window `[start, end)` its round was created with (calendarView
/// delta tokens are bound to it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CalendarCursor {
    /// `W` of the round.
    pub window_start: UnixSeconds,
    /// `T` of the round.
    pub window_end: UnixSeconds,
    /// Where the round stands.
    pub cursor: Cursor,
}

/// One mailbox's checkpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MailboxState {
    /// Per mail folder id.
    #[serde(default)]
    pub folders: BTreeMap<String, Cursor>,
    /// The calendar's.
    #[serde(default)]
    pub calendar: Option<CalendarCursor>,
}

/// Every mailbox's checkpoints: what the caller stores between runs (it holds links, which
/// name mailbox ids, and no activity).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncState {
    /// Per mailbox id.
    #[serde(default)]
    pub mailboxes: BTreeMap<String, MailboxState>,
}

impl SyncState {
    /// Records the checkpoint an event reaches (call it once the event's items are stored).
    pub fn apply(&mut self, event: &SyncEvent) {
        match event {
            SyncEvent::MailPage(page) => {
                let folders = &mut self.mailboxes.entry(page.mailbox.clone()).or_default().folders;
                match &page.cursor {
                    Some(cursor) => {
                        folders.insert(page.folder.id.clone(), cursor.clone());
                    }
                    None => {
                        folders.remove(&page.folder.id);
                    }
                }
            }
            SyncEvent::CalendarPage(page) => {
                self.mailboxes.entry(page.mailbox.clone()).or_default().calendar =
                    page.cursor.clone();
            }
            SyncEvent::FolderGone { mailbox, folder_id } => {
                if let Some(state) = self.mailboxes.get_mut(mailbox) {
                    state.folders.remove(folder_id);
                }
            }
            SyncEvent::MailboxRead { .. } | SyncEvent::MailboxFailed(_) => {}
        }
    }
}

/// What to sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRequest {
    /// Mailbox ids (Entra object ids, or user principal names), in the order to start them.
    pub mailboxes: Vec<String>,
    /// `W`: the first round of a folder reads messages received at or after it.
    pub window_start: UnixSeconds,
    /// `T`: the calendar round covers `[W, T)`.
    pub window_end: UnixSeconds,
    /// Read mail folders.
    pub mail: bool,
    /// Read calendars.
    pub calendar: bool,
}

/// One page of a folder's message delta.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailPageEvent {
    /// The mailbox id.
    pub mailbox: String,
    /// The folder.
    pub folder: MailFolder,
    /// True on the first page of a full round: what was stored for this folder is to be replaced
    /// by this round's pages.
    pub reset: bool,
    /// New or changed messages (drafts excluded).
    pub upserted: Vec<MailItem>,
    /// Graph ids of messages to forget.
    pub removed: Vec<String>,
    /// Items that could not be used.
    pub skipped: SkipCounts,
    /// The folder's checkpoint after this page; `None` when a round ended without a delta link
    /// (the next run starts a full round).
    pub cursor: Option<Cursor>,
}

/// One page of a calendar's calendarView delta.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarPageEvent {
    /// The mailbox id.
    pub mailbox: String,
    /// True on the first page of a full round (new window, or lost delta state): what was stored
    /// for this calendar is to be replaced by this round's pages.
    pub reset: bool,
    /// New or changed occurrences.
    pub upserted: Vec<CalendarItem>,
    /// Graph ids of events to forget.
    pub removed: Vec<String>,
    /// Items that could not be used.
    pub skipped: SkipCounts,
    /// The calendar's checkpoint after this page; `None` when a round ended without a delta link.
    pub cursor: Option<CalendarCursor>,
}

/// Why a mailbox could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// 404: no mailbox (no licence, `MailboxNotEnabledForRESTAPI`, unknown user).
    NoMailbox,
    /// 403: access denied (an application access policy, or a missing permission).
    AccessDenied,
    /// 401 after a renewed token, or no token at all.
    Unauthorized,
    /// Still throttled after the bounded retries.
    Throttled,
    /// Repeated faults: timeouts, broken connections, 5xx, malformed JSON.
    Faulty,
    /// Anything else Graph refused.
    Other,
}

impl FailureKind {
    /// Every kind, in report order.
    pub const ALL: [FailureKind; 6] = [
        FailureKind::NoMailbox,
        FailureKind::AccessDenied,
        FailureKind::Unauthorized,
        FailureKind::Throttled,
        FailureKind::Faulty,
        FailureKind::Other,
    ];

    /// A short key for summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::NoMailbox => "no_mailbox",
            FailureKind::AccessDenied => "access_denied",
            FailureKind::Unauthorized => "unauthorized",
            FailureKind::Throttled => "throttled",
            FailureKind::Faulty => "faulty",
            FailureKind::Other => "other",
        }
    }

    /// The kind of a request error.
    pub fn of(error: &GraphError) -> FailureKind {
        match error {
            GraphError::Status { status: 404, .. } => FailureKind::NoMailbox,
            GraphError::Status { status: 403, .. } => FailureKind::AccessDenied,
            GraphError::Status { status: 401, .. } | GraphError::Token { .. } => {
                FailureKind::Unauthorized
            }
            GraphError::Status { status: 429 | 503, .. } | GraphError::RetryAfterTooLong { .. } => {
                FailureKind::Throttled
            }
            GraphError::Status { status: 500..=599, .. }
            | GraphError::Timeout { .. }
            | GraphError::Transport { .. }
            | GraphError::MalformedJson { .. } => FailureKind::Faulty,
            _ => FailureKind::Other,
        }
    }
}

/// A mailbox that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxFailure {
    /// The mailbox id.
    pub mailbox: String,
    /// Why, in one word.
    pub kind: FailureKind,
    /// Why, as Graph said it (names the mailbox, never a figure).
    pub message: String,
}

/// What the sync streams to its caller, in order per folder and per calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncEvent {
    /// A page of a folder.
    MailPage(MailPageEvent),
    /// A page of a calendar.
    CalendarPage(CalendarPageEvent),
    /// A folder with a stored cursor no longer exists: forget its messages and cursor.
    FolderGone {
        /// The mailbox id.
        mailbox: String,
        /// The folder id.
        folder_id: String,
    },
    /// Every folder and the calendar of the mailbox were read to the end of their round.
    MailboxRead {
        /// The mailbox id.
        mailbox: String,
    },
    /// The mailbox could not be read; pages sent before stay valid.
    MailboxFailed(MailboxFailure),
}

/// The run summary of a sync: counts only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Mailboxes asked for (each once).
    pub mailboxes_selected: usize,
    /// Mailboxes read to the end.
    pub mailboxes_read: usize,
    /// Mailboxes that failed.
    pub mailboxes_failed: usize,
    /// Failed mailboxes per kind, in [`FailureKind::ALL`] order, kinds with none left out.
    pub failed_by_kind: Vec<(FailureKind, usize)>,
    /// The failures, for the warning lines ("mailbox x could not be read: ...").
    pub failures: Vec<MailboxFailure>,
    /// Delta pages read (message and calendar pages; folder listings are requests, not pages).
    pub pages: u64,
    /// Graph requests sent.
    pub requests: u64,
    /// 429 and 503 answers.
    pub throttled: u64,
    /// Retried attempts.
    pub retries: u64,
    /// Token requests.
    pub token_requests: u64,
    /// Messages received (new or changed).
    pub messages: u64,
    /// Event occurrences received (new or changed).
    pub events: u64,
    /// Ids received as removed.
    pub removed: u64,
    /// True when the run was cancelled before its end.
    pub cancelled: bool,
}

/// An event on its way to the caller, with the page slot it holds until the caller takes it.
struct Delivery {
    event: SyncEvent,
    _slot: Option<OwnedSemaphorePermit>,
}

/// Shared by the tasks of one run.
struct RunContext {
    client: GraphClient,
    request: SyncRequest,
    state: SyncState,
    deliveries: mpsc::Sender<Delivery>,
    page_slots: Arc<Semaphore>,
    pages: AtomicU64,
    messages: AtomicU64,
    events: AtomicU64,
    removed: AtomicU64,
}

/// How long the forwarding loop waits for an event before it looks at the cancel flag again.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// Runs `future` to completion on a new multi-threaded runtime (for blocking callers).
pub fn block_on<F: Future>(future: F) -> Result<F::Output, GraphError> {
    let runtime = runtime()?;
    Ok(runtime.block_on(future))
}

fn runtime() -> Result<tokio::runtime::Runtime, GraphError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| GraphError::Startup(format!("cannot start the async runtime: {error}")))
}

/// Syncs the mailboxes of `request` from `state`, sending each page to `events`, and returns the
/// run summary. Blocks; runs its own async runtime. Setting `cancel` stops the sync within a
/// second (the pages already sent stay valid; the report says `cancelled`).
///
/// Fails as a whole only when no token can be had; a mailbox that fails is reported in
/// [`SyncEvent::MailboxFailed`] and the report.
pub fn sync(
    config: GraphConfig,
    options: ClientOptions,
    request: &SyncRequest,
    state: &SyncState,
    events: SyncSender<SyncEvent>,
    cancel: &AtomicBool,
) -> Result<SyncReport, GraphError> {
    let client = GraphClient::new(config, options)?;
    client.sync_blocking(request, state, events, cancel)
}

impl GraphClient {
    /// [`sync`] with this client: the report's request counts are the difference of the
    /// client's counters over the run. A cancelled run leaves the client cancelled, which is why
    /// [`sync`] builds a new client for each run.
    fn sync_blocking(
        &self,
        request: &SyncRequest,
        state: &SyncState,
        events: SyncSender<SyncEvent>,
        cancel: &AtomicBool,
    ) -> Result<SyncReport, GraphError> {
        let runtime = runtime()?;
        let before = self.counters();
        // A credential problem is one error, not one failure per mailbox.
        runtime.block_on(self.inner.tokens.get(self))?;
        let slots = self.config().max_concurrency.max(1) * 2;
        let (sender, mut receiver) = mpsc::channel::<Delivery>(slots);
        let context = Arc::new(RunContext {
            client: self.clone(),
            request: request.clone(),
            state: state.clone(),
            deliveries: sender,
            page_slots: Arc::new(Semaphore::new(slots)),
            pages: AtomicU64::new(0),
            messages: AtomicU64::new(0),
            events: AtomicU64::new(0),
            removed: AtomicU64::new(0),
        });
        let run = runtime.spawn(run_all(Arc::clone(&context)));
        let mut cancelled = false;
        let mut caller_gone = false;
        loop {
            if !cancelled && cancel.load(Ordering::Relaxed) {
                cancelled = true;
                self.cancel();
            }
            let next = runtime
                .block_on(async { tokio::time::timeout(CANCEL_POLL, receiver.recv()).await });
            match next {
                // The context keeps a sender alive, so the channel never closes by itself: the
                // run is over when its task is done and nothing is left to forward.
                Err(_timeout) if run.is_finished() && receiver.is_empty() => break,
                Err(_timeout) => {}
                Ok(None) => break,
                Ok(Some(delivery)) => {
                    if caller_gone || cancelled {
                        continue;
                    }
                    let mut event = delivery.event;
                    loop {
                        match events.try_send(event) {
                            Ok(()) => break,
                            Err(TrySendError::Disconnected(_)) => {
                                caller_gone = true;
                                self.cancel();
                                break;
                            }
                            Err(TrySendError::Full(returned)) => {
                                if cancel.load(Ordering::Relaxed) {
                                    cancelled = true;
                                    self.cancel();
                                    break;
                                }
                                event = returned;
                                std::thread::sleep(Duration::from_millis(2));
                            }
                        }
                    }
                }
            }
        }
        let outcome =
            runtime.block_on(async { tokio::time::timeout(Duration::from_millis(500), run).await });
        runtime.shutdown_timeout(Duration::from_millis(100));
        let mut report = match outcome {
            Ok(Ok(report)) => report,
            // The run did not wind down in time after a cancel: the counts below still hold.
            _ => SyncReport {
                mailboxes_selected: request.mailboxes.iter().collect::<HashSet<_>>().len(),
                ..SyncReport::default()
            },
        };
        let after = self.counters();
        report.pages = context.pages.load(Ordering::Relaxed);
        report.requests = after.requests.saturating_sub(before.requests);
        report.throttled = after.throttled.saturating_sub(before.throttled);
        report.retries = after.retries.saturating_sub(before.retries);
        report.token_requests = after.token_requests.saturating_sub(before.token_requests);
        report.messages = context.messages.load(Ordering::Relaxed);
        report.events = context.events.load(Ordering::Relaxed);
        report.removed = context.removed.load(Ordering::Relaxed);
        report.cancelled = cancelled || caller_gone;
        Ok(report)
    }
}

/// Every mailbox at once (the caps keep the requests in line); returns the per-mailbox part of
/// the report.
async fn run_all(context: Arc<RunContext>) -> SyncReport {
    let mut report = SyncReport::default();
    let mut tasks = tokio::task::JoinSet::new();
    let mut started: HashSet<&str> = HashSet::new();
    for mailbox in &context.request.mailboxes {
        // A mailbox named twice is read once.
        if !started.insert(mailbox.as_str()) {
            continue;
        }
        let context = Arc::clone(&context);
        let mailbox = mailbox.clone();
        tasks.spawn(async move {
            let outcome = sync_mailbox(&context, &mailbox).await;
            (mailbox, outcome)
        });
    }
    report.mailboxes_selected = started.len();
    let mut failures: Vec<MailboxFailure> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((mailbox, outcome)) = joined else {
            continue;
        };
        match outcome {
            Ok(()) => {
                report.mailboxes_read += 1;
                deliver(&context, SyncEvent::MailboxRead { mailbox }, None).await;
            }
            Err(GraphError::Cancelled) => {}
            Err(error) => {
                let failure = MailboxFailure {
                    kind: FailureKind::of(&error),
                    message: error.to_string(),
                    mailbox,
                };
                failures.push(failure.clone());
                deliver(&context, SyncEvent::MailboxFailed(failure), None).await;
            }
        }
    }
    // Reported in request order, whatever order the mailboxes finished in.
    let order: BTreeMap<&str, usize> = context
        .request
        .mailboxes
        .iter()
        .enumerate()
        .rev()
        .map(|(position, mailbox)| (mailbox.as_str(), position))
        .collect();
    failures
        .sort_by_key(|failure| order.get(failure.mailbox.as_str()).copied().unwrap_or(usize::MAX));
    report.mailboxes_failed = failures.len();
    report.failed_by_kind = FailureKind::ALL
        .iter()
        .map(|kind| (*kind, failures.iter().filter(|failure| failure.kind == *kind).count()))
        .filter(|(_, count)| *count > 0)
        .collect();
    report.failures = failures;
    report
}

async fn deliver(context: &RunContext, event: SyncEvent, slot: Option<OwnedSemaphorePermit>) {
    // The forwarding loop only stops receiving once every task is done, so a send fails only
    // when the run is being torn down.
    let _ = context.deliveries.send(Delivery { event, _slot: slot }).await;
}

/// What one task of a mailbox reads.
enum Stream {
    Folder(MailFolder, Option<Cursor>),
    Calendar(Option<CalendarCursor>),
}

/// Reads one mailbox: its calendar and every folder, at most `max_concurrency_per_mailbox`
/// streams at once; the first error stops the others.
async fn sync_mailbox(context: &Arc<RunContext>, mailbox: &str) -> Result<(), GraphError> {
    let client = &context.client;
    let stored = context.state.mailboxes.get(mailbox).cloned().unwrap_or_default();
    let streams_allowed =
        Arc::new(Semaphore::new(client.config().max_concurrency_per_mailbox.max(1)));
    let mut tasks: tokio::task::JoinSet<Result<(), GraphError>> = tokio::task::JoinSet::new();
    let spawn = |tasks: &mut tokio::task::JoinSet<Result<(), GraphError>>, stream: Stream| {
        let context = Arc::clone(context);
        let mailbox = mailbox.to_owned();
        let streams_allowed = Arc::clone(&streams_allowed);
        tasks.spawn(async move {
            let _stream_permit = tokio::select! {
                permit = streams_allowed.acquire_owned() => permit.map_err(|_| GraphError::Cancelled)?,
                () = context.client.inner.cancel.cancelled() => return Err(GraphError::Cancelled),
            };
            match stream {
                Stream::Folder(folder, cursor) => sync_folder(&context, &mailbox, folder, cursor).await,
                Stream::Calendar(cursor) => sync_calendar(&context, &mailbox, cursor).await,
            }
        });
    };
    if context.request.calendar {
        spawn(&mut tasks, Stream::Calendar(stored.calendar.clone()));
    }
    if context.request.mail {
        let folders = match client.list_mail_folders(mailbox).await {
            Ok(folders) => folders,
            Err(error) => {
                tasks.abort_all();
                return Err(error);
            }
        };
        let listed: HashSet<&str> = folders.iter().map(|folder| folder.id.as_str()).collect();
        for folder_id in stored.folders.keys() {
            if !listed.contains(folder_id.as_str()) {
                let event = SyncEvent::FolderGone {
                    mailbox: mailbox.to_owned(),
                    folder_id: folder_id.clone(),
                };
                deliver(context, event, None).await;
            }
        }
        for folder in folders {
            let cursor = stored.folders.get(&folder.id).cloned();
            spawn(&mut tasks, Stream::Folder(folder, cursor));
        }
    }
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined.unwrap_or(Err(GraphError::Cancelled));
        if let Err(error) = outcome {
            tasks.abort_all();
            return Err(error);
        }
    }
    Ok(())
}

/// A page slot, or `Cancelled`.
async fn page_slot(context: &RunContext) -> Result<OwnedSemaphorePermit, GraphError> {
    tokio::select! {
        permit = Arc::clone(&context.page_slots).acquire_owned() => permit.map_err(|_| GraphError::Cancelled),
        () = context.client.inner.cancel.cancelled() => Err(GraphError::Cancelled),
    }
}

/// The cursor a page reaches: its next link, else its delta link, each checked to point at
/// the Graph endpoint.
fn next_cursor(
    client: &GraphClient,
    next_link: Option<String>,
    delta_link: Option<String>,
) -> Result<Option<Cursor>, GraphError> {
    match (next_link, delta_link) {
        (Some(link), _) => {
            client.check_link(&link)?;
            Ok(Some(Cursor::Next(link)))
        }
        (None, Some(link)) => {
            client.check_link(&link)?;
            Ok(Some(Cursor::Delta(link)))
        }
        (None, None) => Ok(None),
    }
}

/// True when Graph says a delta token can no longer be used: the round starts over.
fn is_sync_state_lost(error: &GraphError) -> bool {
    error.status() == Some(410)
        || error.code().is_some_and(|code| {
            code.eq_ignore_ascii_case("syncStateNotFound")
                || code.eq_ignore_ascii_case("resyncRequired")
                || code.eq_ignore_ascii_case("SyncStateInvalid")
        })
}

/// One folder's round: from its cursor (a nextLink resumes, a deltaLink starts a changes-only
/// round), else a full first round bounded to the window.
async fn sync_folder(
    context: &RunContext,
    mailbox: &str,
    folder: MailFolder,
    cursor: Option<Cursor>,
) -> Result<(), GraphError> {
    let client = &context.client;
    let stored = cursor.map(|(Cursor::Next(link) | Cursor::Delta(link))| link);
    let first_url = || {
        client.url(&crate::mail::first_round_path(
            mailbox,
            &folder.id,
            context.request.window_start,
        ))
    };
    let round = sync_round(
        context,
        mailbox,
        Prefer::PageSize,
        read_message_page,
        stored,
        first_url,
        |page, reset, cursor| {
            context.messages.fetch_add(page.upserted.len() as u64, Ordering::Relaxed);
            SyncEvent::MailPage(MailPageEvent {
                mailbox: mailbox.to_owned(),
                folder: folder.clone(),
                reset,
                upserted: page.upserted,
                removed: page.removed,
                skipped: page.skipped,
                cursor,
            })
        },
    )
    .await;
    match round {
        Err(error) if error.status() == Some(404) && error.code() == Some("ErrorItemNotFound") => {
            // The folder went away between the listing and its delta request.
            let event =
                SyncEvent::FolderGone { mailbox: mailbox.to_owned(), folder_id: folder.id.clone() };
            deliver(context, event, None).await;
            Ok(())
        }
        round => round,
    }
}

/// Hands a page to the forwarding loop; `Cancelled` if the run is being cancelled meanwhile.
async fn send_page(
    context: &RunContext,
    event: SyncEvent,
    slot: OwnedSemaphorePermit,
) -> Result<(), GraphError> {
    tokio::select! {
        () = deliver(context, event, Some(slot)) => Ok(()),
        () = context.client.inner.cancel.cancelled() => Err(GraphError::Cancelled),
    }
}

/// The calendar's round: a stored cursor of the same window resumes (nextLink) or reads changes
/// (deltaLink); a new window, or none, starts a full round over `[W, T)`.
async fn sync_calendar(
    context: &RunContext,
    mailbox: &str,
    cursor: Option<CalendarCursor>,
) -> Result<(), GraphError> {
    let client = &context.client;
    let window_start = context.request.window_start;
    let window_end = context.request.window_end;
    let stored = match cursor {
        Some(CalendarCursor {
            window_start: start,
            window_end: end,
            cursor: Cursor::Next(link) | Cursor::Delta(link),
        }) if start == window_start && end == window_end => Some(link),
        _ => None,
    };
    let first_url =
        || client.url(&crate::calendar::first_round_path(mailbox, window_start, window_end));
    sync_round(
        context,
        mailbox,
        Prefer::PageSizeUtc,
        read_event_page,
        stored,
        first_url,
        |page, reset, cursor| {
            context.events.fetch_add(page.upserted.len() as u64, Ordering::Relaxed);
            SyncEvent::CalendarPage(CalendarPageEvent {
                mailbox: mailbox.to_owned(),
                reset,
                upserted: page.upserted,
                removed: page.removed,
                skipped: page.skipped,
                cursor: cursor.map(|cursor| CalendarCursor { window_start, window_end, cursor }),
            })
        },
    )
    .await
}

/// Reads one stream's round page by page, from the `stored` link when it points at the Graph
/// endpoint (the stream goes on), else from `first_url` (the stream starts over, `reset`). A
/// lost sync state starts the round over once. `to_event` counts a page's upserted items and
/// makes its event from the page, whether it resets the stream, and the cursor it reaches.
async fn sync_round<Item>(
    context: &RunContext,
    mailbox: &str,
    prefer: Prefer,
    read: fn(&[u8]) -> Result<DeltaPage<Item>, serde_json::Error>,
    stored: Option<String>,
    first_url: impl Fn() -> String,
    mut to_event: impl FnMut(DeltaPage<Item>, bool, Option<Cursor>) -> SyncEvent,
) -> Result<(), GraphError> {
    let client = &context.client;
    let (mut url, mut reset) = match stored {
        Some(link) if client.check_link(&link).is_ok() => (link, false),
        _ => (first_url(), true),
    };
    let mut restarted = false;
    loop {
        let slot = page_slot(context).await?;
        let mut page = match client.get(&url, mailbox, prefer, read).await {
            Ok(page) => page,
            Err(error) if is_sync_state_lost(&error) && !restarted => {
                restarted = true;
                url = first_url();
                reset = true;
                continue;
            }
            Err(error) => return Err(error),
        };
        let cursor = next_cursor(client, page.next_link.take(), page.delta_link.take())?;
        context.pages.fetch_add(1, Ordering::Relaxed);
        context.removed.fetch_add(page.removed.len() as u64, Ordering::Relaxed);
        let next = match &cursor {
            Some(Cursor::Next(link)) => Some(link.clone()),
            _ => None,
        };
        send_page(context, to_event(page, reset, cursor), slot).await?;
        reset = false;
        match next {
            Some(link) => url = link,
            None => return Ok(()),
        }
    }
}
