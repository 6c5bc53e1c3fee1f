//! Tests of the Graph client against the in-process Graph-compatible test server
//! (`rapport-graph-testserver`): authentication, directory, delta sync, faults and caps, each
//! asserted on the client's results and on the requests the server recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rapport_graph::auth::PermissionReport;
use rapport_graph::directory::{DirectoryError, DirectoryResolution};
use rapport_graph::mail::{MailItem, link_replies};
use rapport_graph::sync::{
    Cursor, FailureKind, SyncEvent, SyncReport, SyncRequest, SyncState, sync,
};
use rapport_graph::{ClientOptions, GraphClient, GraphConfig, GraphError};
use rapport_graph_testserver::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, Dataset, Fault, RecordedRequest,
    ServerConfig, TestServer, twelve_months_before, utc,
};

const ADELE: &str = "5b1c7a3e-0001-4a6f-9d2e-00000000a001";
const BIANCA: &str = "5b1c7a3e-0001-4a6f-9d2e-00000000a002";
const CHEN: &str = "5b1c7a3e-0001-4a6f-9d2e-00000000a003";
const DIEGO: &str = "5b1c7a3e-0001-4a6f-9d2e-00000000a004";
const EMILY: &str = "5b1c7a3e-0001-4a6f-9d2e-00000000a005";
const SALES_LEADS: &str = "7c2d9f10-0002-4b1e-8a3c-00000000b002";

/// The as-of instant of the small dataset and its window start.
fn window() -> (i64, i64) {
    let as_of = utc(2026, 3, 1, 0, 0, 0);
    (twelve_months_before(as_of), as_of)
}

#[allow(clippy::disallowed_methods)] // Client assertions carry real nbf/exp the server checks.
fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// A running test server and the runtime that drives it.
struct Harness {
    server: TestServer,
    _runtime: tokio::runtime::Runtime,
}

impl Harness {
    fn start(config: ServerConfig) -> Harness {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        let server = runtime.block_on(TestServer::start(config)).expect("server starts");
        Harness { server, _runtime: runtime }
    }

    fn small() -> Harness {
        Harness::start(ServerConfig::new(Dataset::small()))
    }

    /// A client configuration for this server with a client secret, plus `extra` TOML lines.
    fn config(&self, extra: &str) -> GraphConfig {
        let base = self.server.base_url();
        let text = format!(
            "tenant_id = \"{DEFAULT_TENANT_ID}\"\nclient_id = \"{DEFAULT_CLIENT_ID}\"\nclient_secret = \"{DEFAULT_CLIENT_SECRET}\"\nlogin_endpoint = \"{base}\"\ngraph_endpoint = \"{base}\"\n{extra}"
        );
        GraphConfig::from_toml_str(&text, &|_| None).expect("valid config")
    }

    fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }
}

fn options() -> ClientOptions {
    let mut options = ClientOptions::new(wall_clock);
    options.request_timeout = Duration::from_secs(5);
    options.backoff_base = Duration::from_millis(20);
    options.backoff_max = Duration::from_millis(200);
    options.max_attempts = 5;
    options
}

fn request(mailboxes: &[&str]) -> SyncRequest {
    let (window_start, window_end) = window();
    SyncRequest {
        mailboxes: mailboxes.iter().map(|mailbox| (*mailbox).to_owned()).collect(),
        window_start,
        window_end,
        mail: true,
        calendar: true,
    }
}

/// Runs a sync and collects its events; with `stop_after`, the consumer stops taking events
/// after that many pages and raises the cancel flag.
fn run_sync(
    config: GraphConfig,
    options: ClientOptions,
    request: &SyncRequest,
    state: &SyncState,
    stop_after: Option<usize>,
) -> (Vec<SyncEvent>, SyncReport) {
    let (sender, receiver) = std::sync::mpsc::sync_channel(4);
    let cancel = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let cancel = &cancel;
        let consumer = scope.spawn(move || {
            let mut events = Vec::new();
            let mut pages = 0;
            for event in receiver {
                if matches!(event, SyncEvent::MailPage(_) | SyncEvent::CalendarPage(_)) {
                    pages += 1;
                }
                events.push(event);
                if stop_after.is_some_and(|limit| pages >= limit) {
                    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                    break;
                }
            }
            events
        });
        let report = sync(config, options, request, state, sender, cancel).expect("sync runs");
        (consumer.join().expect("consumer"), report)
    })
}

fn apply_all(state: &mut SyncState, events: &[SyncEvent]) {
    for event in events {
        state.apply(event);
    }
}

/// Every message and event copy the events leave in a store: messages keyed by (mailbox,
/// folder id, graph id), events by (mailbox, graph id).
#[derive(Default, Debug, PartialEq)]
struct Store {
    messages: BTreeMap<(String, String, String), MailItem>,
    events: BTreeMap<(String, String), rapport_graph::calendar::CalendarItem>,
}

impl Store {
    fn apply(&mut self, events: &[SyncEvent]) {
        for event in events {
            match event {
                SyncEvent::MailPage(page) => {
                    let folder = (page.mailbox.clone(), page.folder.id.clone());
                    if page.reset {
                        self.messages.retain(|(mailbox, folder_id, _), _| {
                            (mailbox, folder_id) != (&folder.0, &folder.1)
                        });
                    }
                    for id in &page.removed {
                        self.messages.remove(&(folder.0.clone(), folder.1.clone(), id.clone()));
                    }
                    for item in &page.upserted {
                        self.messages.insert(
                            (folder.0.clone(), folder.1.clone(), item.graph_id.clone()),
                            item.clone(),
                        );
                    }
                }
                SyncEvent::CalendarPage(page) => {
                    if page.reset {
                        self.events.retain(|(mailbox, _), _| mailbox != &page.mailbox);
                    }
                    for id in &page.removed {
                        self.events.remove(&(page.mailbox.clone(), id.clone()));
                    }
                    for item in &page.upserted {
                        self.events
                            .insert((page.mailbox.clone(), item.graph_id.clone()), item.clone());
                    }
                }
                SyncEvent::FolderGone { mailbox, folder_id } => {
                    self.messages.retain(|(stored_mailbox, stored_folder, _), _| {
                        (stored_mailbox, stored_folder) != (mailbox, folder_id)
                    });
                }
                SyncEvent::MailboxRead { .. } | SyncEvent::MailboxFailed(_) => {}
            }
        }
    }

    fn has_message(&self, mailbox: &str, graph_id: &str) -> bool {
        self.messages
            .keys()
            .any(|(stored_mailbox, _, id)| stored_mailbox == mailbox && id == graph_id)
    }
}

fn pages(events: &[SyncEvent]) -> usize {
    events
        .iter()
        .filter(|event| matches!(event, SyncEvent::MailPage(_) | SyncEvent::CalendarPage(_)))
        .count()
}

const SMALL_MAILBOXES: [&str; 4] = [ADELE, BIANCA, CHEN, DIEGO];

#[test]
fn secret_token_grants_the_needed_roles() {
    let harness = Harness::small();
    let client = GraphClient::new(harness.config(""), options()).expect("client");
    let report =
        rapport_graph::sync::block_on(client.check_permissions()).expect("runtime").expect("token");
    assert_eq!(
        report,
        PermissionReport {
            granted: vec![
                "Mail.ReadBasic.All".into(),
                "Calendars.ReadBasic.All".into(),
                "User.Read.All".into(),
                "GroupMember.Read.All".into()
            ],
            missing: vec![],
            body_exposing: vec![],
        }
    );
    let token_requests: Vec<RecordedRequest> =
        harness.requests().into_iter().filter(RecordedRequest::is_token_request).collect();
    assert_eq!(token_requests.len(), 1);
    assert_eq!(token_requests[0].method, "POST");
    assert_eq!(token_requests[0].path_and_query, format!("/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"));
}

#[test]
fn missing_and_broader_roles_are_reported() {
    let mut config = ServerConfig::new(Dataset::small());
    config.roles = vec!["Mail.Read".into(), "User.ReadBasic.All".into()];
    let harness = Harness::start(config);
    let client = GraphClient::new(harness.config(""), options()).expect("client");
    let report =
        rapport_graph::sync::block_on(client.check_permissions()).expect("runtime").expect("token");
    assert_eq!(report.missing, ["Calendars.ReadBasic.All", "GroupMember.Read.All"]);
    assert_eq!(report.body_exposing, ["Mail.Read"]);
    assert!(!report.passed());
}

#[test]
fn a_wrong_secret_is_a_token_error() {
    let harness = Harness::small();
    let base = harness.server.base_url();
    let text = format!(
        "tenant_id = \"{DEFAULT_TENANT_ID}\"\nclient_id = \"{DEFAULT_CLIENT_ID}\"\nclient_secret = \"wrong\"\nlogin_endpoint = \"{base}\"\ngraph_endpoint = \"{base}\"\n"
    );
    let config = GraphConfig::from_toml_str(&text, &|_| None).expect("valid");
    let client = GraphClient::new(config, options()).expect("client");
    let error = rapport_graph::sync::block_on(client.check_permissions())
        .expect("runtime")
        .expect_err("refused");
    match &error {
        GraphError::Token { status, code, description } => {
            assert_eq!((*status, code.as_str()), (401, "invalid_client"), "{description}");
            assert!(description.starts_with("AADSTS7000215"), "{description}");
        }
        other => panic!("expected a token error, got {other:?}"),
    }
    assert!(!error.to_string().contains("wrong"));
}

fn certificate_config(harness: &Harness, pem: &str) -> GraphConfig {
    let base = harness.server.base_url();
    let path = format!("{}/test_data/{pem}", env!("CARGO_MANIFEST_DIR"));
    let text = format!(
        "tenant_id = \"{DEFAULT_TENANT_ID}\"\nclient_id = \"{DEFAULT_CLIENT_ID}\"\ncertificate_path = \"{path}\"\nlogin_endpoint = \"{base}\"\ngraph_endpoint = \"{base}\"\n"
    );
    GraphConfig::from_toml_str(&text, &|_| None).expect("valid")
}

#[test]
fn certificate_assertion_is_accepted() {
    for (public_key, pem) in [
        ("assertion_public_spki.der", "assertion_pkcs8.pem"),
        ("assertion_public_pkcs1.der", "assertion_pkcs1.pem"),
    ] {
        let mut config = ServerConfig::new(Dataset::small());
        config.assertion_public_key = Some(
            std::fs::read(format!("{}/test_data/{public_key}", env!("CARGO_MANIFEST_DIR")))
                .expect("public key"),
        );
        let harness = Harness::start(config);
        let client =
            GraphClient::new(certificate_config(&harness, pem), options()).expect("client");
        let report = rapport_graph::sync::block_on(client.check_permissions())
            .expect("runtime")
            .expect("token from the assertion");
        assert!(report.passed(), "{report:?}");
    }
    // A server that knows another key refuses the assertion.
    let mut config = ServerConfig::new(Dataset::small());
    config.assertion_public_key =
        Some(rapport_graph_testserver::test_credentials::CLIENT_PUBLIC_KEY_SPKI_DER.to_vec());
    let harness = Harness::start(config);
    let client = GraphClient::new(certificate_config(&harness, "assertion_pkcs8.pem"), options())
        .expect("client");
    let error = rapport_graph::sync::block_on(client.check_permissions())
        .expect("runtime")
        .expect_err("refused");
    assert!(matches!(error, GraphError::Token { status: 400 | 401, .. }), "{error:?}");
}

fn resolve(harness: &Harness, lines: &[&str]) -> Result<DirectoryResolution, DirectoryError> {
    let client = GraphClient::new(harness.config(""), options()).expect("client");
    let lines: Vec<String> = lines.iter().map(|line| (*line).to_owned()).collect();
    rapport_graph::sync::block_on(client.resolve_org_users(&lines)).expect("runtime")
}

#[test]
fn users_and_groups_resolve_in_order_without_repeats() {
    let harness = Harness::small();
    let resolution = resolve(
        &harness,
        &[
            "Bianca.Pisani <BIANCA@contoso.example>",
            "group:Sales Team",
            "cs@contoso.example",
            &format!("group:{SALES_LEADS}"),
        ],
    )
    .expect("resolves");
    let users: Vec<(&str, Option<&str>)> = resolution
        .users
        .iter()
        .map(|user| (user.email.as_str(), user.directory_id.as_deref()))
        .collect();
    assert_eq!(
        users,
        [
            ("bianca@contoso.example", Some(BIANCA)),
            ("adele@contoso.example", Some(ADELE)),
            ("chen@contoso.example", Some(CHEN)),
            ("diego@contoso.example", Some(DIEGO)),
            ("emily@contoso.example", Some(EMILY)),
        ]
    );
    let groups: Vec<(&str, &str, usize, usize)> = resolution
        .groups
        .iter()
        .map(|group| (group.line.as_str(), group.display_name.as_str(), group.members, group.added))
        .collect();
    assert_eq!(
        groups,
        [
            ("group:Sales Team", "Sales Team", 3, 2),
            ("cs@contoso.example", "Customer Success", 3, 2),
            (&format!("group:{SALES_LEADS}") as &str, "Sales Leads", 1, 0),
        ]
    );
    assert_eq!(resolution.skipped_without_address, 0);
    let paths: Vec<String> = harness
        .requests()
        .into_iter()
        .filter(|request| !request.is_token_request())
        .map(|request| request.path_and_query)
        .collect();
    assert!(paths.contains(
        &"/v1.0/users/bianca@contoso.example?$select=id,mail,userPrincipalName".to_owned()
    ));
    assert!(paths.contains(
        &"/v1.0/groups?$filter=displayName eq 'Sales Team'&$select=id,displayName,mail".to_owned()
    ));
    assert!(paths.iter().any(|path| path.starts_with(
        "/v1.0/groups/7c2d9f10-0002-4b1e-8a3c-00000000b001/transitiveMembers/microsoft.graph.user?$select=id,mail,userPrincipalName&$top=999"
    )));
}

#[test]
fn unknown_lines_are_named_all_at_once() {
    let harness = Harness::small();
    let error = resolve(
        &harness,
        &[
            "adele@contoso.example",
            "nobody@contoso.example",
            "group:No Such Team",
            "not an address",
        ],
    )
    .expect_err("unknown lines");
    assert_eq!(
        error.to_string(),
        "users line \"nobody@contoso.example\": no user or group has this address\n\
         users line \"group:No Such Team\": no group has this display name\n\
         users line \"not an address\": not an address, user principal name or group:<id or name>"
    );
}

/// The first sync of the small dataset, for the tests that compare with it.
fn first_sync(harness: &Harness, extra: &str) -> (Vec<SyncEvent>, SyncReport) {
    run_sync(
        harness.config(extra),
        options(),
        &request(&SMALL_MAILBOXES),
        &SyncState::default(),
        None,
    )
}

#[test]
fn a_full_sync_reads_every_mailbox() {
    let harness = Harness::small();
    let (events, report) = first_sync(&harness, "");
    assert_eq!(report.mailboxes_selected, 4);
    assert_eq!(report.mailboxes_read, 4);
    assert_eq!(report.mailboxes_failed, 0);
    assert!(!report.cancelled);
    let mut store = Store::default();
    store.apply(&events);
    // 21 copies: the draft is dropped (its id comes as removed) and the copy received before the
    // window is filtered out by Graph ($filter=receivedDateTime ge W).
    assert_eq!((report.messages, report.removed, report.events), (19, 1, 14));
    assert_eq!(store.messages.len(), 19);
    assert_eq!(store.events.len(), 14);
    assert_eq!(report.pages, 23);
    let mut messages: Vec<MailItem> = store.messages.values().cloned().collect();
    link_replies(&mut messages);
    let parents: BTreeSet<(String, String)> = messages
        .iter()
        .filter_map(|item| Some((item.email.message_id.clone()?, item.email.parent_id.clone()?)))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("m2.ana@fabrikam.example", "m1.adele@contoso.example"),
        ("m15.adele@contoso.example", "m2.ana@fabrikam.example"),
        ("m4.nina@northwind.example", "m3.bianca@contoso.example"),
        ("m6.chen@contoso.example", "m5.tom@tailspin.example"),
        ("m13.diego@contoso.example", "m12.li@adatum.example"),
    ]
    .iter()
    .map(|(reply, parent)| ((*reply).to_owned(), (*parent).to_owned()))
    .collect();
    assert_eq!(parents, expected);
    let automated: Vec<&str> = messages
        .iter()
        .filter(|item| item.email.automated)
        .filter_map(|item| item.email.message_id.as_deref())
        .collect();
    assert_eq!(automated, ["m8.diego@contoso.example"]);
    // Meetings: declined attendees and rooms are not participants; status and all-day as given.
    let meeting = |uid_suffix: &str| -> Vec<&rapport_core::model::MeetingCopy> {
        store
            .events
            .values()
            .map(|item| &item.meeting)
            .filter(|meeting| {
                meeting.key.as_ref().is_some_and(|(uid, _)| uid.ends_with(uid_suffix))
            })
            .collect()
    };
    let declined = meeting("1000000066");
    assert_eq!(declined.len(), 1);
    assert_eq!(declined[0].participants, ["li@adatum.example"]);
    let with_room = meeting("1000000077");
    assert_eq!(with_room.len(), 2);
    assert!(
        with_room
            .iter()
            .all(|copy| copy.participants == ["li@adatum.example", "chen@contoso.example"])
    );
    let cancelled = meeting("1000000033");
    assert_eq!(
        cancelled.iter().map(|copy| (copy.cancelled, copy.all_day)).collect::<Vec<_>>(),
        [(true, false)]
    );
    let all_day = meeting("1000000044");
    assert_eq!(
        all_day
            .iter()
            .map(|copy| (copy.cancelled, copy.all_day, copy.end - copy.start))
            .collect::<Vec<_>>(),
        [(false, true, 86_400)]
    );
    let exception: Vec<&rapport_graph::calendar::CalendarItem> = store
        .events
        .values()
        .filter(|item| item.kind == rapport_graph::calendar::EventKind::Exception)
        .collect();
    assert_eq!(exception.len(), 1);
    assert_eq!(
        (
            exception[0].meeting.key.as_ref().map(|(_, instant)| *instant),
            exception[0].meeting.start
        ),
        (Some(1_760_972_400), 1_761_062_400)
    );
    // Every mailbox's checkpoint is a delta link.
    let mut state = SyncState::default();
    apply_all(&mut state, &events);
    assert_eq!(state.mailboxes.len(), 4);
    for (mailbox, mailbox_state) in &state.mailboxes {
        assert!(
            mailbox_state.folders.values().all(|cursor| matches!(cursor, Cursor::Delta(_))),
            "{mailbox}"
        );
        let calendar = mailbox_state.calendar.as_ref().expect("calendar cursor");
        assert_eq!((calendar.window_start, calendar.window_end), window());
        assert!(matches!(calendar.cursor, Cursor::Delta(_)));
    }
    assert_eq!(report.pages as usize, pages(&events));
}

#[test]
fn every_request_asks_select_and_page_size() {
    let harness = Harness::small();
    let (_events, _report) = first_sync(&harness, "page_size = 2\n");
    let requests: Vec<RecordedRequest> =
        harness.requests().into_iter().filter(|request| !request.is_token_request()).collect();
    let message_delta: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|request| request.path_and_query.contains("/messages/delta"))
        .collect();
    let calendar_delta: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|request| request.path_and_query.contains("/calendarView/delta"))
        .collect();
    assert!(message_delta.len() > SMALL_MAILBOXES.len(), "{}", message_delta.len());
    assert!(calendar_delta.len() > SMALL_MAILBOXES.len(), "{}", calendar_delta.len());
    for request in &message_delta {
        let prefer: Vec<&str> = request.header_values("prefer").collect();
        assert_eq!(prefer, ["odata.maxpagesize=2"], "{}", request.path_and_query);
        let first_round = !request.path_and_query.contains("$skiptoken")
            && !request.path_and_query.contains("$deltatoken");
        if first_round {
            assert!(request.path_and_query.ends_with(
                "/messages/delta?$select=id,internetMessageId,conversationId,conversationIndex,sentDateTime,from,sender,toRecipients,ccRecipients,bccRecipients,isDraft&$filter=receivedDateTime ge 2025-03-01T00:00:00Z"
            ), "{}", request.path_and_query);
        }
    }
    for request in &calendar_delta {
        let prefer: Vec<&str> = request.header_values("prefer").collect();
        assert_eq!(
            prefer,
            ["odata.maxpagesize=2, outlook.timezone=\"UTC\""],
            "{}",
            request.path_and_query
        );
        if !request.path_and_query.contains("token") {
            assert!(request.path_and_query.ends_with(
                "/calendarView/delta?startDateTime=2025-03-01T00:00:00Z&endDateTime=2026-03-01T00:00:00Z"
            ), "{}", request.path_and_query);
        }
    }
    let folder_listings: Vec<&RecordedRequest> =
        requests.iter().filter(|request| request.path_and_query.contains("Folders?")).collect();
    assert!(folder_listings.len() >= SMALL_MAILBOXES.len());
    for request in &folder_listings {
        assert!(
            request.path_and_query.contains("?$select=id,displayName,childFolderCount&$top=250")
                || request.path_and_query.contains("$skiptoken"),
            "{}",
            request.path_and_query
        );
        let prefer: Vec<&str> = request.header_values("prefer").collect();
        assert_eq!(prefer, ["odata.maxpagesize=2"], "{}", request.path_and_query);
    }
    for request in &requests {
        assert!(request.header("authorization").is_some_and(|value| value.starts_with("Bearer ")));
    }
}

#[test]
fn the_second_round_returns_only_changes() {
    let harness = Harness::small();
    let (events, _report) = first_sync(&harness, "");
    let mut state = SyncState::default();
    apply_all(&mut state, &events);
    let mut store = Store::default();
    store.apply(&events);
    let inbox = harness.server.folder_id(BIANCA, "Inbox").expect("inbox");
    let existing = harness.server.with_dataset(|dataset| {
        dataset.messages(BIANCA, &inbox).expect("messages").into_iter().next().expect("one message")
    });
    let mut added = existing.clone();
    added.id = "new-message-1".into();
    added.internet_message_id = "<new-1@fabrikam.example>".into();
    added.received = utc(2026, 2, 20, 10, 0, 0);
    added.sent = Some(utc(2026, 2, 20, 9, 59, 0));
    harness.server.add_message(BIANCA, &inbox, added).expect("added");
    harness.server.remove_message(BIANCA, &inbox, &existing.id).expect("removed");
    harness.server.clear_requests();
    let (events, report) =
        run_sync(harness.config(""), options(), &request(&SMALL_MAILBOXES), &state, None);
    let mut upserted: Vec<(String, String)> = Vec::new();
    let mut removed: Vec<(String, String)> = Vec::new();
    for event in &events {
        if let SyncEvent::MailPage(page) = event {
            assert!(!page.reset);
            upserted.extend(
                page.upserted.iter().map(|item| (page.mailbox.clone(), item.graph_id.clone())),
            );
            removed.extend(page.removed.iter().map(|id| (page.mailbox.clone(), id.clone())));
        }
    }
    assert_eq!(upserted, [(BIANCA.to_owned(), "new-message-1".to_owned())]);
    assert_eq!(removed, [(BIANCA.to_owned(), existing.id.clone())]);
    assert_eq!(report.messages, 1);
    // Every message delta request of the second round followed a stored delta link.
    let delta_requests: Vec<String> = harness
        .requests()
        .into_iter()
        .filter(|request| request.path_and_query.contains("/messages/delta"))
        .map(|request| request.path_and_query)
        .collect();
    assert!(!delta_requests.is_empty());
    assert!(delta_requests.iter().all(|path| path.contains("$deltatoken")), "{delta_requests:?}");
    store.apply(&events);
    assert!(store.has_message(BIANCA, "new-message-1"));
    assert!(!store.has_message(BIANCA, &existing.id));
}

#[test]
fn an_interrupted_sync_resumes_from_its_checkpoints() {
    let harness = Harness::small();
    let (full_events, _) = first_sync(&harness, "page_size = 2\n");
    let mut full = Store::default();
    full.apply(&full_events);

    let fresh = Harness::small();
    let config =
        || fresh.config("page_size = 2\nmax_concurrency = 1\nmax_concurrency_per_mailbox = 1\n");
    let (first_events, first_report) =
        run_sync(config(), options(), &request(&SMALL_MAILBOXES), &SyncState::default(), Some(5));
    assert!(first_report.cancelled);
    assert_eq!(pages(&first_events), 5);
    let mut state = SyncState::default();
    apply_all(&mut state, &first_events);
    let mut store = Store::default();
    store.apply(&first_events);
    // Where the stored pages were read from: per stream, its first round and the next links of
    // every stored page but its last (whose next link is the checkpoint, still to be read).
    let base = fresh.server.base_url();
    let mut stored_sources: BTreeSet<String> = BTreeSet::new();
    let mut last_link: BTreeMap<String, Option<String>> = BTreeMap::new();
    for event in &first_events {
        let (stream, first_round, cursor) = match event {
            SyncEvent::MailPage(page) => (
                format!("{}/{}", page.mailbox, page.folder.id),
                format!(
                    "/v1.0/users/{}/mailFolders/{}/messages/delta?$select=",
                    page.mailbox, page.folder.id
                ),
                page.cursor.clone(),
            ),
            SyncEvent::CalendarPage(page) => (
                format!("{}/calendar", page.mailbox),
                format!("/v1.0/users/{}/calendarView/delta?startDateTime=", page.mailbox),
                page.cursor.as_ref().map(|cursor| cursor.cursor.clone()),
            ),
            _ => continue,
        };
        match last_link.get(&stream) {
            None => {
                stored_sources.insert(first_round);
            }
            Some(Some(previous)) => {
                stored_sources.insert(previous.strip_prefix(&base).unwrap_or(previous).to_owned());
            }
            Some(None) => {}
        }
        let next = match cursor {
            Some(Cursor::Next(link)) => Some(link),
            _ => None,
        };
        last_link.insert(stream, next);
    }
    assert!(stored_sources.len() >= 5, "{stored_sources:?}");
    fresh.server.clear_requests();
    let (second_events, second_report) =
        run_sync(config(), options(), &request(&SMALL_MAILBOXES), &state, None);
    assert!(!second_report.cancelled);
    assert_eq!(second_report.mailboxes_read, 4);
    store.apply(&second_events);
    assert_eq!(store, full);
    let read_again: Vec<String> = fresh
        .requests()
        .into_iter()
        .map(|request| request.path_and_query)
        .filter(|path| {
            stored_sources.iter().any(|source| {
                if source.ends_with('=') {
                    path.starts_with(source.as_str())
                } else {
                    path == source
                }
            })
        })
        .collect();
    assert_eq!(read_again, Vec::<String>::new());
}

#[test]
fn a_mailbox_without_mailbox_fails_and_the_others_are_read() {
    let harness = Harness::small();
    let mut mailboxes = SMALL_MAILBOXES.to_vec();
    mailboxes.insert(1, EMILY);
    let (events, report) =
        run_sync(harness.config(""), options(), &request(&mailboxes), &SyncState::default(), None);
    assert_eq!(report.mailboxes_selected, 5);
    assert_eq!(report.mailboxes_read, 4);
    assert_eq!(report.mailboxes_failed, 1);
    assert_eq!(report.failed_by_kind, [(FailureKind::NoMailbox, 1)]);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].mailbox, EMILY);
    assert!(
        report.failures[0].message.contains("MailboxNotEnabledForRESTAPI"),
        "{}",
        report.failures[0].message
    );
    let failed: Vec<&str> = events
        .iter()
        .filter_map(|event| match event {
            SyncEvent::MailboxFailed(failure) => Some(failure.mailbox.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [EMILY]);
    let read: BTreeSet<&str> = events
        .iter()
        .filter_map(|event| match event {
            SyncEvent::MailboxRead { mailbox } => Some(mailbox.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(read, SMALL_MAILBOXES.iter().copied().collect());
}

#[test]
fn access_denied_is_reported() {
    let mut config = ServerConfig::new(Dataset::small());
    config.faults = vec![Fault::AccessDenied { user: "chen@contoso.example".into() }];
    let harness = Harness::start(config);
    let (_events, report) = first_sync(&harness, "");
    assert_eq!(report.mailboxes_read, 3);
    assert_eq!(report.failed_by_kind, [(FailureKind::AccessDenied, 1)]);
    assert_eq!(report.failures[0].mailbox, CHEN);
}

#[test]
fn retry_after_holds_back_the_mailbox() {
    let mut config = ServerConfig::new(Dataset::small());
    config.faults = vec![Fault::Throttle {
        path_contains: format!("/users/{ADELE}/mailFolders"),
        nth: 1,
        retry_after_secs: 2,
    }];
    let harness = Harness::start(config);
    let (_events, report) = first_sync(&harness, "");
    assert_eq!(report.mailboxes_read, 4);
    assert_eq!(report.throttled, 1);
    let requests = harness.requests();
    let throttled = requests.iter().find(|request| request.status == Some(429)).expect("one 429");
    let throttled_at = throttled.finished.expect("answered");
    let hold = Duration::from_millis(1950);
    // The throttled request is not retried before its Retry-After...
    let retries: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|request| request.path_and_query == throttled.path_and_query)
        .filter(|request| request.started > throttled.started)
        .collect();
    assert_eq!(retries.len(), 1);
    assert!(retries[0].started >= throttled_at + hold);
    // ...and no other request of that mailbox starts meanwhile, once the client has the 429
    // (a request already on its way when the answer left the server may arrive just after it).
    let too_early: Vec<&str> = requests
        .iter()
        .filter(|request| request.mailbox.as_deref() == Some(ADELE))
        .filter(|request| request.started > throttled_at + Duration::from_millis(100))
        .filter(|request| request.started < throttled_at + hold)
        .map(|request| request.path_and_query.as_str())
        .collect();
    assert_eq!(too_early, Vec::<&str>::new());
}

#[test]
fn unavailable_without_retry_after_backs_off() {
    let mut config = ServerConfig::new(Dataset::small());
    config.faults = vec![
        Fault::Unavailable {
            path_contains: "/calendarView/delta".into(),
            nth: 1,
            retry_after_secs: None,
        },
        Fault::Unavailable {
            path_contains: "/calendarView/delta".into(),
            nth: 2,
            retry_after_secs: None,
        },
    ];
    let harness = Harness::start(config);
    let (_events, report) = first_sync(&harness, "");
    assert_eq!(report.mailboxes_read, 4);
    assert_eq!(report.throttled, 2);
    assert!(report.retries >= 2, "{report:?}");
}

#[test]
fn requests_stay_within_the_caps() {
    let mut config = ServerConfig::new(Dataset::small());
    config.latency = Duration::from_millis(60);
    let harness = Harness::start(config);
    let (_events, report) = first_sync(
        &harness,
        "page_size = 1\nmax_concurrency = 3\nmax_concurrency_per_mailbox = 2\n",
    );
    assert_eq!(report.mailboxes_read, 4);
    assert_eq!(harness.server.max_in_flight(), 3);
    assert_eq!(harness.server.max_in_flight_per_mailbox(), 2);
}

#[test]
fn a_token_is_renewed_before_it_expires() {
    let mut config = ServerConfig::new(Dataset::small());
    config.token_lifetime = Duration::from_secs(2);
    config.latency = Duration::from_millis(100);
    let harness = Harness::start(config);
    let (_events, report) = first_sync(
        &harness,
        "page_size = 1\nmax_concurrency = 2\nmax_concurrency_per_mailbox = 1\n",
    );
    assert_eq!(report.mailboxes_read, 4);
    let requests = harness.requests();
    assert!(requests.iter().all(|request| request.status != Some(401)));
    let tokens = requests.iter().filter(|request| request.is_token_request()).count();
    assert!(tokens >= 2, "{tokens} token requests");
    assert_eq!(report.token_requests as usize, tokens);
}

#[test]
fn a_revoked_token_is_renewed_once() {
    let mut config = ServerConfig::new(Dataset::small());
    config.faults = vec![Fault::RevokeTokenOnce { nth_request: 3 }];
    let harness = Harness::start(config);
    let (_events, report) = first_sync(&harness, "max_concurrency = 1\n");
    assert_eq!(report.mailboxes_read, 4);
    let requests = harness.requests();
    assert_eq!(requests.iter().filter(|request| request.is_token_request()).count(), 2);
    assert_eq!(requests.iter().filter(|request| request.status == Some(401)).count(), 1);
}

#[test]
fn a_page_that_times_out_is_retried() {
    let mut config = ServerConfig::new(Dataset::small());
    config.timeout_delay = Duration::from_secs(30);
    config.faults =
        vec![Fault::Timeout { path_contains: format!("/users/{DIEGO}/calendarView"), nth: 1 }];
    let harness = Harness::start(config);
    let mut options = options();
    options.request_timeout = Duration::from_millis(700);
    let started = std::time::Instant::now();
    let (_events, report) = run_sync(
        harness.config(""),
        options,
        &request(&SMALL_MAILBOXES),
        &SyncState::default(),
        None,
    );
    assert_eq!(report.mailboxes_read, 4);
    assert!(report.retries >= 1);
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn malformed_json_is_retried_then_fails_the_mailbox() {
    let mut config = ServerConfig::new(Dataset::small());
    config.faults = vec![Fault::MalformedJson { path_contains: "/messages/delta".into(), nth: 1 }];
    let harness = Harness::start(config);
    let (_events, report) = first_sync(&harness, "");
    assert_eq!(report.mailboxes_read, 4);
    assert_eq!(report.retries, 1);

    let mut config = ServerConfig::new(Dataset::small());
    let path = format!("/users/{CHEN}/calendarView");
    config.faults =
        (1..=3).map(|nth| Fault::MalformedJson { path_contains: path.clone(), nth }).collect();
    let harness = Harness::start(config);
    let (_events, report) = first_sync(&harness, "");
    assert_eq!(report.mailboxes_read, 3);
    assert_eq!(report.failed_by_kind, [(FailureKind::Faulty, 1)]);
    assert_eq!(report.failures[0].mailbox, CHEN);
    assert_eq!(
        report.failures[0].message,
        format!("graph answered malformed json for /v1.0/users/{CHEN}/calendarView/delta")
    );
}

#[test]
fn a_moved_window_starts_a_new_calendar_round() {
    let harness = Harness::small();
    let (events, _report) = first_sync(&harness, "");
    let mut state = SyncState::default();
    apply_all(&mut state, &events);
    harness.server.clear_requests();
    let mut moved = request(&[ADELE]);
    moved.window_end = utc(2026, 3, 2, 0, 0, 0);
    moved.window_start = twelve_months_before(moved.window_end);
    moved.mail = false;
    let (events, report) = run_sync(harness.config(""), options(), &moved, &state, None);
    assert_eq!(report.mailboxes_read, 1);
    let calendar_pages: Vec<&rapport_graph::sync::CalendarPageEvent> = events
        .iter()
        .filter_map(|event| match event {
            SyncEvent::CalendarPage(page) => Some(page),
            _ => None,
        })
        .collect();
    assert!(calendar_pages.first().is_some_and(|page| page.reset));
    assert!(calendar_pages.iter().skip(1).all(|page| !page.reset));
    let last = calendar_pages.last().and_then(|page| page.cursor.as_ref()).expect("cursor");
    assert_eq!((last.window_start, last.window_end), (moved.window_start, moved.window_end));
    let first_request = harness
        .requests()
        .into_iter()
        .find(|request| request.path_and_query.contains("/calendarView/delta"))
        .expect("calendar request");
    assert_eq!(
        first_request.path_and_query,
        format!(
            "/v1.0/users/{ADELE}/calendarView/delta?startDateTime=2025-03-02T00:00:00Z&endDateTime=2026-03-02T00:00:00Z"
        )
    );
}

#[test]
fn the_cancel_flag_stops_the_sync_within_a_second() {
    let (window_start, window_end) = window();
    let spec = rapport_graph_testserver::GenSpec {
        mailboxes: 12,
        messages_per_mailbox: 2_000,
        events_per_mailbox: 50,
        external_domains: 5,
        seed: 7,
        window: (window_start, window_end),
    };
    let mut config = ServerConfig::new(Dataset::generated(&spec));
    config.latency = Duration::from_millis(200);
    config.record_requests = false;
    let harness = Harness::start(config);
    let mailboxes: Vec<String> = harness
        .server
        .with_dataset(|dataset| dataset.users().iter().map(|user| user.id.clone()).collect());
    let request = SyncRequest { mailboxes, window_start, window_end, mail: true, calendar: true };
    let (sender, receiver) = std::sync::mpsc::sync_channel(4);
    let cancel = AtomicBool::new(false);
    let (report, cancelled_for) = std::thread::scope(|scope| {
        let consumer = scope.spawn(move || receiver.into_iter().count());
        let cancel = &cancel;
        let flagged = scope.spawn(move || {
            std::thread::sleep(Duration::from_millis(800));
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            std::time::Instant::now()
        });
        let report = sync(
            harness.config("page_size = 10\n"),
            options(),
            &request,
            &SyncState::default(),
            sender,
            cancel,
        )
        .expect("sync runs");
        let returned = std::time::Instant::now();
        let flagged_at = flagged.join().expect("flag");
        assert!(consumer.join().expect("consumer") > 0);
        (report, returned.saturating_duration_since(flagged_at))
    });
    assert!(report.cancelled);
    assert!(report.mailboxes_read < 12, "{report:?}");
    assert_eq!(report.mailboxes_failed, 0);
    assert!(cancelled_for < Duration::from_secs(1), "{cancelled_for:?}");
}
