//! The HTTP side: [`TestServer`] binds a loopback port and serves the token endpoint and the Graph
//! endpoints with axum, keeping a request log, in-flight counters per mailbox and overall, and
//! the state of the faults.
//!
//! Every request goes through one handler: requests are logged and counted first, then the token
//! endpoint answers at once, while a Graph request waits out the configured latency, has its
//! token checked (401 `InvalidAuthenticationToken`), meets the faults that fire on it, and is
//! routed (module `graph`).

mod graph;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{Fault, ServerConfig};
use crate::dataset::{Dataset, DatasetError, Event, Message};
use crate::json::error_body;
use crate::odata::{parse_form, percent_decode};
use crate::token::{Authority, TokenProblem};

/// The largest token request body read.
const MAX_FORM_BYTES: usize = 64 << 10;

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path and query, percent-decoded (`+` in the query read as a space), e.g.
    /// `/v1.0/users/x/mailFolders/y/messages/delta?$select=id,from&$filter=receivedDateTime ge
    /// 2025-03-01T00:00:00Z`.
    pub path_and_query: String,
    /// The headers, names in lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    /// The mailbox of a `/users/{id}/...` request: the user's object id when `{id}` names a known
    /// user (by id, user principal name or address), else `{id}` in lowercase.
    pub mailbox: Option<String>,
    /// When the request arrived.
    pub started: Instant,
    /// When its response was handed to the connection; `None` while in flight or when the client
    /// went away first.
    pub finished: Option<Instant>,
    /// The response status; `None` like `finished`.
    pub status: Option<u16>,
}

impl RecordedRequest {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// Every value of header `name` (lowercase), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// True for a request to the token endpoint.
    pub fn is_token_request(&self) -> bool {
        self.path_and_query.contains("/oauth2/v2.0/token")
    }
}

/// A Graph-compatible server on loopback. Dropping it stops it.
pub struct TestServer {
    shared: Arc<Shared>,
    base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// What every request handler shares.
struct Shared {
    base_url: String,
    authority: Authority,
    dataset: RwLock<Dataset>,
    latency: Duration,
    timeout_delay: Duration,
    record_requests: bool,
    faults: Mutex<Vec<FaultState>>,
    log: Mutex<Vec<RecordedRequest>>,
    counters: Mutex<Counters>,
    /// Graph requests that came with a valid token, for `RevokeTokenOnce`.
    n_authorized: AtomicUsize,
    /// All Graph requests.
    n_graph_requests: AtomicUsize,
    revoked: Mutex<HashSet<String>>,
    /// Delta and paging tokens carry this; bumping it invalidates every token handed out.
    token_epoch: AtomicU64,
    clock: Clock,
}

/// Unix time from one reading of the system clock plus a monotonic clock.
struct Clock {
    origin_unix: i64,
    origin: Instant,
}

impl Clock {
    /// The test server stands in for Entra ID, whose tokens carry wall-clock times (`exp`, and a
    /// client assertion's `nbf`/`exp`): it reads the system clock once, at start.
    #[allow(clippy::disallowed_methods)]
    fn new() -> Clock {
        let origin_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs() as i64);
        Clock { origin_unix, origin: Instant::now() }
    }

    fn now(&self) -> i64 {
        self.origin_unix + self.origin.elapsed().as_secs() as i64
    }
}

#[derive(Clone, Debug)]
struct FaultState {
    fault: Fault,
    n_matched: usize,
    fired: bool,
}

#[derive(Debug, Default)]
struct Counters {
    in_flight: usize,
    max_in_flight: usize,
    per_mailbox: HashMap<String, usize>,
    max_per_mailbox: HashMap<String, usize>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TestServer {
    /// Starts a server on `127.0.0.1:0` (a free port).
    pub async fn start(config: ServerConfig) -> std::io::Result<TestServer> {
        TestServer::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a server on `address`.
    pub async fn start_on(
        address: SocketAddr,
        config: ServerConfig,
    ) -> std::io::Result<TestServer> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let local = listener.local_addr()?;
        let base_url = format!("http://{local}");
        let authority = Authority::new(
            &config.tenant_id,
            &config.client_id,
            &config.client_secret,
            config.assertion_public_key.as_deref(),
            &config.roles,
            config.token_lifetime,
        );
        let shared = Arc::new(Shared {
            base_url: base_url.clone(),
            authority,
            dataset: RwLock::new(config.dataset),
            latency: config.latency,
            timeout_delay: config.timeout_delay,
            record_requests: config.record_requests,
            faults: Mutex::new(
                config
                    .faults
                    .into_iter()
                    .map(|fault| FaultState { fault, n_matched: 0, fired: false })
                    .collect(),
            ),
            log: Mutex::new(Vec::new()),
            counters: Mutex::new(Counters::default()),
            n_authorized: AtomicUsize::new(0),
            n_graph_requests: AtomicUsize::new(0),
            revoked: Mutex::new(HashSet::new()),
            token_epoch: AtomicU64::new(1),
            clock: Clock::new(),
        });
        let router = Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = shutdown_signal.await;
            });
            if let Err(error) = serve.await {
                // Nothing can be returned from a background task; stderr is where a test's
                // output shows it.
                eprintln!("rapport-graph-testserver stopped: {error}");
            }
        });
        Ok(TestServer { shared, base_url, shutdown: Some(shutdown), task })
    }

    /// `http://127.0.0.1:PORT`: both the login endpoint and the Graph endpoint.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The requests so far, in arrival order (empty when `record_requests` is off).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the request log and the maxima of the in-flight counters (a test's second round
    /// starts from here).
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
        let mut counters = lock(&self.shared.counters);
        counters.max_in_flight = counters.in_flight;
        counters.max_per_mailbox = counters.per_mailbox.clone();
    }

    /// The most Graph requests ever in flight at once (token requests are not counted).
    pub fn max_in_flight(&self) -> usize {
        lock(&self.shared.counters).max_in_flight
    }

    /// The most requests ever in flight at once for one mailbox (the `{id}` of `/users/{id}/...`),
    /// over all mailboxes.
    pub fn max_in_flight_per_mailbox(&self) -> usize {
        lock(&self.shared.counters).max_per_mailbox.values().copied().max().unwrap_or(0)
    }

    /// The most requests ever in flight at once for the mailbox of `user` (id, user principal
    /// name or address).
    pub fn max_in_flight_for(&self, user: &str) -> usize {
        let key = self.shared.mailbox_key(user);
        lock(&self.shared.counters).max_per_mailbox.get(&key).copied().unwrap_or(0)
    }

    /// Graph requests in flight now.
    pub fn in_flight(&self) -> usize {
        lock(&self.shared.counters).in_flight
    }

    /// Graph (non-token) requests received so far, whatever their outcome.
    pub fn graph_request_count(&self) -> usize {
        self.shared.n_graph_requests.load(Ordering::Relaxed)
    }

    /// Adds a fault; its `nth` counts from the requests after this call.
    pub fn add_fault(&self, fault: Fault) {
        lock(&self.shared.faults).push(FaultState { fault, n_matched: 0, fired: false });
    }

    /// Invalidates every paging and delta token handed out so far: requests carrying one get 410
    /// `SyncStateNotFound`, and the client must start a new round.
    pub fn expire_delta_tokens(&self) {
        self.shared.token_epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `read` on the dataset as served now.
    pub fn with_dataset<R>(&self, read: impl FnOnce(&Dataset) -> R) -> R {
        read(&self.shared.dataset.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn with_dataset_mut<R>(&self, change: impl FnOnce(&mut Dataset) -> R) -> R {
        change(&mut self.shared.dataset.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// The id of `user`'s folder at `path` (see [`Dataset::folder_id`]).
    pub fn folder_id(&self, user: &str, path: &str) -> Option<String> {
        self.with_dataset(|dataset| dataset.folder_id(user, path))
    }

    /// Adds a message to a folder: the next delta round of that folder returns it.
    pub fn add_message(
        &self,
        user: &str,
        folder_id: &str,
        message: Message,
    ) -> Result<(), DatasetError> {
        self.with_dataset_mut(|dataset| dataset.add_message(user, folder_id, message))
    }

    /// Replaces the message with the same id: the next delta round returns it.
    pub fn update_message(
        &self,
        user: &str,
        folder_id: &str,
        message: Message,
    ) -> Result<(), DatasetError> {
        self.with_dataset_mut(|dataset| dataset.update_message(user, folder_id, message))
    }

    /// Deletes a message: the next delta round returns it as `@removed`.
    pub fn remove_message(
        &self,
        user: &str,
        folder_id: &str,
        message_id: &str,
    ) -> Result<(), DatasetError> {
        self.with_dataset_mut(|dataset| dataset.remove_message(user, folder_id, message_id))
    }

    /// Adds an event to `user`'s calendar.
    pub fn add_event(&self, user: &str, event: Event) -> Result<(), DatasetError> {
        self.with_dataset_mut(|dataset| dataset.add_event(user, event))
    }

    /// Replaces the event with the same id.
    pub fn update_event(&self, user: &str, event: Event) -> Result<(), DatasetError> {
        self.with_dataset_mut(|dataset| dataset.update_event(user, event))
    }

    /// Deletes an event: the next calendarView delta round returns it as `@removed`.
    pub fn remove_event(&self, user: &str, event_id: &str) -> Result<(), DatasetError> {
        self.with_dataset_mut(|dataset| dataset.remove_event(user, event_id))
    }

    /// Stops accepting connections and waits for the open ones to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.abort();
    }
}

impl Shared {
    /// The in-flight counter key of a user reference: the user's id, else the reference in
    /// lowercase.
    fn mailbox_key(&self, user: &str) -> String {
        let dataset = self.dataset.read().unwrap_or_else(PoisonError::into_inner);
        dataset
            .user_index(user)
            .and_then(|index| dataset.users.get(index))
            .map_or_else(|| user.to_ascii_lowercase(), |found| found.id.clone())
    }

    fn record(&self, request: RecordedRequest) -> Option<usize> {
        if !self.record_requests {
            return None;
        }
        let mut log = lock(&self.log);
        log.push(request);
        Some(log.len() - 1)
    }
}

/// Counts a Graph request in flight, and on drop (whether the response was sent or the client
/// went away) counts it out and completes its log entry.
struct InFlight {
    shared: Arc<Shared>,
    log_index: Option<usize>,
    mailbox: Option<String>,
    counted: bool,
    status: Option<u16>,
}

impl InFlight {
    fn enter(
        shared: &Arc<Shared>,
        log_index: Option<usize>,
        mailbox: Option<String>,
        counted: bool,
    ) -> InFlight {
        if counted {
            let mut counters = lock(&shared.counters);
            counters.in_flight += 1;
            counters.max_in_flight = counters.max_in_flight.max(counters.in_flight);
            if let Some(mailbox) = &mailbox {
                let current = {
                    let entry = counters.per_mailbox.entry(mailbox.clone()).or_insert(0);
                    *entry += 1;
                    *entry
                };
                let max = counters.max_per_mailbox.entry(mailbox.clone()).or_insert(0);
                *max = (*max).max(current);
            }
        }
        InFlight { shared: Arc::clone(shared), log_index, mailbox, counted, status: None }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.counted {
            let mut counters = lock(&self.shared.counters);
            counters.in_flight = counters.in_flight.saturating_sub(1);
            if let Some(mailbox) = &self.mailbox
                && let Some(current) = counters.per_mailbox.get_mut(mailbox)
            {
                *current = current.saturating_sub(1);
            }
        }
        if let Some(index) = self.log_index
            && let Some(entry) = lock(&self.shared.log).get_mut(index)
            && self.status.is_some()
        {
            entry.finished = Some(Instant::now());
            entry.status = self.status;
        }
    }
}

/// The one handler: see the module doc.
async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let mut path_and_query = percent_decode(&path, false);
    if !raw_query.is_empty() {
        path_and_query.push('?');
        path_and_query.push_str(&percent_decode(&raw_query, true));
    }
    let is_token = is_token_path(&path);
    let mailbox =
        if is_token { None } else { user_segment(&path).map(|user| shared.mailbox_key(&user)) };
    let log_index = shared.record(RecordedRequest {
        method: parts.method.to_string(),
        path_and_query,
        headers: header_list(&parts.headers),
        mailbox: mailbox.clone(),
        started: Instant::now(),
        finished: None,
        status: None,
    });
    let mut in_flight = InFlight::enter(&shared, log_index, mailbox, !is_token);
    let reply = if is_token {
        token_reply(&shared, &parts.method, &parts.headers, &path, body).await
    } else {
        shared.n_graph_requests.fetch_add(1, Ordering::Relaxed);
        graph::reply(&shared, &parts.method, &parts.headers, &path, &raw_query).await
    };
    in_flight.status = Some(reply.status);
    reply.into_response(&parts.headers)
}

/// A response before it is turned into HTTP.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: String) -> Reply {
        Reply { status, body, headers: Vec::new() }
    }

    pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply::json(status, error_body(code, message))
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    fn into_response(self, request_headers: &HeaderMap) -> Response {
        let mut builder = Response::builder()
            .status(StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header(
                "content-type",
                "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
            )
            .header("request-id", "9c1f2e3d-4b5a-4c6d-8e7f-0a1b2c3d4e5f");
        if let Some(client_request_id) = request_headers.get("client-request-id") {
            builder = builder.header("client-request-id", client_request_id);
        }
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        builder.body(Body::from(self.body)).unwrap_or_else(|_| {
            let mut response = Response::new(Body::from("{}"));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        })
    }
}

fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned())
        })
        .collect()
}

/// `/{tenant}/oauth2/v2.0/token`.
fn is_token_path(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(segments.as_slice(), [_, "oauth2", "v2.0", "token"])
}

/// The decoded `{id}` of `/v1.0/users/{id}/...`.
fn user_segment(path: &str) -> Option<String> {
    let mut segments = path.trim_start_matches('/').split('/');
    let _version = segments.next()?;
    if !segments.next()?.eq_ignore_ascii_case("users") {
        return None;
    }
    segments
        .next()
        .filter(|segment| !segment.is_empty())
        .map(|segment| percent_decode(segment, false))
}

async fn token_reply(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    path: &str,
    body: Body,
) -> Reply {
    if method != Method::POST {
        return Reply::json(
            405,
            crate::json::oauth_error_body(
                "invalid_request",
                900561,
                "The endpoint only accepts POST requests.",
            ),
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return Reply::json(
            400,
            crate::json::oauth_error_body(
                "invalid_request",
                900144,
                "The request body could not be read.",
            ),
        );
    };
    let form = parse_form(&bytes);
    let tenant =
        percent_decode(path.trim_start_matches('/').split('/').next().unwrap_or_default(), false);
    let mut endpoints = vec![format!("{}/{tenant}/oauth2/v2.0/token", shared.base_url)];
    if let Some(host) = headers.get("host").and_then(|host| host.to_str().ok()) {
        endpoints.push(format!("http://{host}/{tenant}/oauth2/v2.0/token"));
    }
    match shared.authority.issue(&tenant, &form, shared.clock.now(), &endpoints, &shared.base_url) {
        Ok(body) => Reply::json(200, body),
        Err(error) => Reply::json(error.status, error.body()),
    }
}

/// 401 `InvalidAuthenticationToken`, with the `WWW-Authenticate` challenge Graph sends.
pub(crate) fn unauthorized(problem: TokenProblem) -> Reply {
    Reply::error(401, "InvalidAuthenticationToken", problem.message()).with_header(
        "www-authenticate",
        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"".to_owned(),
    )
}
