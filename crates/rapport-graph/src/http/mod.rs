//! The one request executor every Graph call goes through.
//!
//! It enforces the two caps (a global semaphore of `max_concurrency` permits and one of
//! `max_concurrency_per_mailbox` per mailbox), sends `Prefer: odata.maxpagesize` on every paged
//! request, attaches a bearer token (renewed once on a 401), honours `Retry-After` on 429 and 503
//! by holding back every request of that mailbox until then, otherwise retries transient faults
//! with exponential backoff and jitter, times each attempt out, retries malformed JSON a bounded
//! number of times, and counts requests, throttled answers and retries.
//!
//! Permits are held only while a request is on the wire: waiting for a retry, for a token or for
//! the caller to take a page holds none.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use crate::GraphError;
use crate::auth::TokenCache;
use crate::config::GraphConfig;

#[cfg(test)]
mod tests;

/// How long one attempt may take, answer body included, when the caller does not say.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts per request (the first one included) before a transient fault becomes an error.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// Answers that are not the JSON expected before the request fails.
pub const DEFAULT_MAX_MALFORMED_ATTEMPTS: u32 = 3;
/// The first backoff delay; it doubles with each retry.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(500);
/// The longest backoff delay.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// The longest `Retry-After` the client waits out; a longer one fails the request.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Knobs of the executor that are not part of the configuration file.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// How long one attempt may take (connect, answer and body).
    pub request_timeout: Duration,
    /// Attempts per request before a transient fault (timeout, 429, 5xx, broken connection)
    /// becomes an error.
    pub max_attempts: u32,
    /// Answers that are not the JSON expected before the request fails.
    pub max_malformed_attempts: u32,
    /// The first backoff delay (doubled per retry, jittered).
    pub backoff_base: Duration,
    /// The longest backoff delay.
    pub backoff_max: Duration,
    /// The longest `Retry-After` waited out.
    pub max_retry_after: Duration,
    /// The wall clock, in Unix seconds: only client assertions need it (their `nbf` and `exp`).
    /// The binary passes its clock (clippy.toml keeps `SystemTime::now` at the edge).
    pub wall_clock: fn() -> i64,
}

impl ClientOptions {
    /// The defaults, with the given wall clock.
    pub fn new(wall_clock: fn() -> i64) -> ClientOptions {
        ClientOptions {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_malformed_attempts: DEFAULT_MAX_MALFORMED_ATTEMPTS,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_max: DEFAULT_BACKOFF_MAX,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            wall_clock,
        }
    }
}

/// The counters of one client, read at any time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Graph requests sent (every attempt).
    pub requests: u64,
    /// 429 and 503 answers.
    pub throttled: u64,
    /// Attempts after the first of a request.
    pub retries: u64,
    /// Token requests sent.
    pub token_requests: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    retries: AtomicU64,
    pub(crate) token_requests: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            token_requests: self.token_requests.load(Ordering::Relaxed),
        }
    }
}

/// The items of one page of a collection, and its `@odata.nextLink`.
pub(crate) type ItemsAndNext<T> = (Vec<T>, Option<String>);

/// What a request asks with `Prefer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prefer {
    /// Nothing: a single resource.
    Nothing,
    /// A page size: `odata.maxpagesize=N`.
    PageSize,
    /// A page size and UTC times (calendar): `odata.maxpagesize=N, outlook.timezone="UTC"`.
    PageSizeUtc,
}

/// The `Prefer` header value of a request; one header with comma-separated preferences (RFC 7240
/// allows both forms; one header survives any proxy or recorder that keeps one value per name).
pub(crate) fn prefer_header(prefer: Prefer, page_size: u32) -> Option<String> {
    match prefer {
        Prefer::Nothing => None,
        Prefer::PageSize => Some(format!("odata.maxpagesize={page_size}")),
        Prefer::PageSizeUtc => {
            Some(format!("odata.maxpagesize={page_size}, outlook.timezone=\"UTC\""))
        }
    }
}

/// One mailbox's (or the directory's) gate: its permits and the instant before which no request
/// of it may start (set by a `Retry-After`).
struct Gate {
    permits: Semaphore,
    not_before: Mutex<Option<Instant>>,
}

impl Gate {
    fn not_before(&self) -> Option<Instant> {
        self.not_before.lock().map_or(None, |guard| *guard)
    }

    fn hold_until(&self, instant: Instant) {
        if let Ok(mut guard) = self.not_before.lock()
            && guard.is_none_or(|current| current < instant)
        {
            *guard = Some(instant);
        }
    }
}

/// A cheap pseudo-random generator for jitter (SplitMix64 over an atomic counter, seeded from the
/// process's random hasher keys): jitter needs spread, not unpredictability.
pub(crate) struct Jitter {
    state: AtomicU64,
}

impl Jitter {
    pub(crate) fn new(seed: u64) -> Jitter {
        Jitter { state: AtomicU64::new(seed) }
    }

    fn from_entropy() -> Jitter {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x5EED);
        Jitter::new(hasher.finish())
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&self) -> u64 {
        let state = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }
}

/// The backoff before retry number `retry` (1 for the first retry): `base × 2^(retry−1)` capped at
/// `max`, then jittered into its upper half so that clients retrying together spread out.
pub(crate) fn backoff_delay(retry: u32, base: Duration, max: Duration, random: u64) -> Duration {
    let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
    let full = base.saturating_mul(factor).min(max);
    let half = full / 2;
    let half_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    let jitter = if half_nanos == 0 { 0 } else { random % (half_nanos + 1) };
    half + Duration::from_nanos(jitter)
}

/// Reads a `Retry-After` value: delay-seconds, or an HTTP date compared with the answer's `Date`.
pub(crate) fn parse_retry_after(value: &str, date: Option<&str>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let parse = |text: &str| {
        chrono::NaiveDateTime::parse_from_str(text.trim(), "%a, %d %b %Y %H:%M:%S GMT").ok()
    };
    let until = parse(value)?;
    let now = parse(date?)?;
    let seconds = (until - now).num_seconds().max(0);
    Some(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

/// Bytes kept as they are in both a path segment and a query value: RFC 3986 unreserved
/// characters plus the sub-delimiters and `@` that Graph ids and user principal names hold.
fn keep_anywhere(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'@'
                | b'!'
                | b'$'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b','
                | b':'
        )
}

/// Bytes kept as they are in a path segment: the shared set plus `;` and `=`.
fn keep_in_segment(byte: u8) -> bool {
    keep_anywhere(byte) || matches!(byte, b';' | b'=')
}

/// Bytes kept as they are in a query value: the shared set plus `/` and `?`, without `&`, `=`,
/// `+` and `;` which delimit or mean something else in a query.
fn keep_in_query(byte: u8) -> bool {
    keep_anywhere(byte) || matches!(byte, b'/' | b'?')
}

fn percent_encode(text: &str, keep: fn(u8) -> bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if keep(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    out
}

/// Percent-encodes one path segment (a user id, a UPN, a folder id).
pub(crate) fn encode_path_segment(segment: &str) -> String {
    percent_encode(segment, keep_in_segment)
}

/// Percent-encodes one query value (white space as `%20`, never `+`).
pub(crate) fn encode_query_value(value: &str) -> String {
    percent_encode(value, keep_in_query)
}

/// Encodes `application/x-www-form-urlencoded` pairs (the token request body).
pub(crate) fn encode_form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (index, (name, value)) in pairs.iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        out.push_str(&percent_encode(name, |byte| {
            byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'*')
        }));
        out.push('=');
        out.push_str(&percent_encode(value, |byte| {
            byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'*')
        }));
    }
    out
}

/// The path of a URL (no query): what error messages name.
pub(crate) fn resource_of(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    match without_query.find("://") {
        Some(scheme_end) => {
            let rest = without_query.get(scheme_end + 3..).unwrap_or_default();
            rest.find('/').and_then(|slash| rest.get(slash..)).unwrap_or("/").to_owned()
        }
        None => without_query.to_owned(),
    }
}

/// What to do with an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 2xx: read the body.
    Success,
    /// 401: renew the token and try again (once).
    RenewToken,
    /// 429 or 503: throttled; wait `Retry-After`, else back off.
    Throttled,
    /// 500, 502, 504: transient; back off and try again.
    Transient,
    /// Anything else: fail.
    Fail,
}

/// The verdict of an HTTP status.
pub(crate) fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Success,
        401 => Verdict::RenewToken,
        429 | 503 => Verdict::Throttled,
        500 | 502 | 504 => Verdict::Transient,
        _ => Verdict::Fail,
    }
}

/// A cancellation signal shared by every task of a client.
#[derive(Clone)]
pub(crate) struct Cancel {
    sender: Arc<watch::Sender<bool>>,
}

impl Cancel {
    fn new() -> Cancel {
        Cancel { sender: Arc::new(watch::channel(false).0) }
    }

    pub(crate) fn cancel(&self) {
        self.sender.send_replace(true);
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        *self.sender.borrow()
    }

    /// Resolves once cancelled.
    pub(crate) async fn cancelled(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives as long as `self`, so `wait_for` only returns once the flag is set.
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }

    /// Sleeps `duration`, or returns `Err(Cancelled)` as soon as the client is cancelled.
    pub(crate) async fn sleep(&self, duration: Duration) -> Result<(), GraphError> {
        tokio::select! {
            () = tokio::time::sleep(duration) => Ok(()),
            () = self.cancelled() => Err(GraphError::Cancelled),
        }
    }
}

/// A Microsoft Graph client: configuration, HTTP connection pool, token cache, caps and counters.
/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct GraphClient {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) config: GraphConfig,
    pub(crate) options: ClientOptions,
    pub(crate) http: reqwest::Client,
    pub(crate) tokens: TokenCache,
    pub(crate) counters: Counters,
    pub(crate) jitter: Jitter,
    pub(crate) cancel: Cancel,
    global: Semaphore,
    gates: Mutex<HashMap<String, Arc<Gate>>>,
    /// `scheme://host:port` of the Graph endpoint: links are followed only there.
    graph_origin: String,
}

/// `scheme://host:port` of a URL.
fn origin_of(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

impl GraphClient {
    /// A client for `config`. Installs ring as the process's TLS crypto provider if none is.
    pub fn new(config: GraphConfig, options: ClientOptions) -> Result<GraphClient, GraphError> {
        // Another part of the process may have installed a provider already: that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            // A redirect would carry the bearer token elsewhere; Graph does not redirect API calls.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.max_concurrency)
            .connect_timeout(options.request_timeout)
            .build()
            .map_err(|error| GraphError::Startup(error.to_string()))?;
        let graph_url = Url::parse(&config.graph_endpoint)
            .map_err(|error| GraphError::Startup(format!("graph endpoint: {error}")))?;
        let graph_origin = origin_of(&graph_url);
        Ok(GraphClient {
            inner: Arc::new(ClientInner {
                global: Semaphore::new(config.max_concurrency.max(1)),
                gates: Mutex::new(HashMap::new()),
                tokens: TokenCache::default(),
                counters: Counters::default(),
                jitter: Jitter::from_entropy(),
                cancel: Cancel::new(),
                graph_origin,
                http,
                config,
                options,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GraphConfig {
        &self.inner.config
    }

    /// The counters so far.
    pub fn counters(&self) -> CounterSnapshot {
        self.inner.counters.snapshot()
    }

    /// Stops every request of this client: waits end at once and requests return
    /// [`GraphError::Cancelled`].
    pub fn cancel(&self) {
        self.inner.cancel.cancel();
    }

    /// `{graph}/v1.0` followed by `path` (which starts with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/v1.0{path}", self.inner.config.graph_endpoint)
    }

    fn gate(&self, key: &str) -> Arc<Gate> {
        let per_mailbox = self.inner.config.max_concurrency_per_mailbox.max(1);
        let new_gate = || {
            Arc::new(Gate { permits: Semaphore::new(per_mailbox), not_before: Mutex::new(None) })
        };
        match self.inner.gates.lock() {
            Ok(mut gates) => match gates.get(key) {
                Some(gate) => Arc::clone(gate),
                None => Arc::clone(gates.entry(key.to_owned()).or_insert_with(new_gate)),
            },
            // A poisoned map only means another thread panicked while inserting: use a fresh
            // gate rather than fail (the cap is then not shared for this request).
            Err(_) => new_gate(),
        }
    }

    /// Checks that a link Graph handed out points at the Graph endpoint, so the token is never
    /// sent anywhere else.
    pub(crate) fn check_link(&self, link: &str) -> Result<(), GraphError> {
        let url = Url::parse(link)
            .map_err(|_| GraphError::ForeignLink { origin: "an unreadable URL".into() })?;
        let origin = origin_of(&url);
        if origin == self.inner.graph_origin {
            Ok(())
        } else {
            Err(GraphError::ForeignLink { origin })
        }
    }

    /// GETs `url` for the mailbox (or directory) `gate_key` and reads the answer with `read`.
    ///
    /// `read` returning an error means the body is not the JSON expected: the request is tried
    /// again up to `max_malformed_attempts` times, then fails with
    /// [`GraphError::MalformedJson`].
    pub(crate) async fn get<R>(
        &self,
        url: &str,
        gate_key: &str,
        prefer: Prefer,
        read: impl Fn(&[u8]) -> Result<R, serde_json::Error>,
    ) -> Result<R, GraphError> {
        let inner = &self.inner;
        let options = &inner.options;
        let gate = self.gate(gate_key);
        let prefer_value = prefer_header(prefer, inner.config.page_size);
        // Faulty attempts (timeouts, broken connections, 429/503, 5xx) are bounded by
        // `max_attempts`, malformed answers by `max_malformed_attempts`; a token renewal is
        // allowed once. Every send after the first counts as a retry.
        let mut faults: u32 = 0;
        let mut malformed: u32 = 0;
        let mut renewed = false;
        let mut first = true;
        loop {
            if inner.cancel.is_cancelled() {
                return Err(GraphError::Cancelled);
            }
            if !first {
                inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            first = false;
            let (outcome, generation) = {
                let _permits = self.acquire(&gate).await?;
                // The token is taken once the request may go, so a request that waited for its
                // turn goes with a token renewed meanwhile (after another request's 401).
                let (token, generation) = self.token().await?;
                inner.counters.requests.fetch_add(1, Ordering::Relaxed);
                let mut request = inner
                    .http
                    .get(url)
                    .bearer_auth(&*token)
                    .header(reqwest::header::ACCEPT, "application/json");
                if let Some(value) = &prefer_value {
                    request = request.header("Prefer", value);
                }
                let outcome = tokio::select! {
                    outcome = tokio::time::timeout(options.request_timeout, send(request)) => outcome,
                    () = inner.cancel.cancelled() => return Err(GraphError::Cancelled),
                };
                (outcome, generation)
            };
            let answer = match outcome {
                Err(_elapsed) => {
                    faults += 1;
                    if faults >= options.max_attempts {
                        return Err(GraphError::Timeout { resource: resource_of(url) });
                    }
                    self.back_off(faults).await?;
                    continue;
                }
                Ok(Err(error)) => {
                    faults += 1;
                    if faults >= options.max_attempts {
                        return Err(GraphError::Transport {
                            resource: resource_of(url),
                            message: error.to_string(),
                        });
                    }
                    self.back_off(faults).await?;
                    continue;
                }
                Ok(Ok(answer)) => answer,
            };
            match verdict(answer.status) {
                Verdict::Success => match read(&answer.body) {
                    Ok(value) => return Ok(value),
                    Err(_) => {
                        // A broken answer is not the server asking to slow down: try again at
                        // once, a bounded number of times.
                        malformed += 1;
                        if malformed >= options.max_malformed_attempts.max(1) {
                            return Err(GraphError::MalformedJson { resource: resource_of(url) });
                        }
                    }
                },
                Verdict::RenewToken if !renewed => {
                    renewed = true;
                    inner.tokens.invalidate(generation).await;
                }
                Verdict::Throttled => {
                    inner.counters.throttled.fetch_add(1, Ordering::Relaxed);
                    faults += 1;
                    if faults >= options.max_attempts {
                        return Err(status_error(&answer, url));
                    }
                    let retry_after = answer
                        .retry_after
                        .as_deref()
                        .and_then(|value| parse_retry_after(value, answer.date.as_deref()));
                    match retry_after {
                        Some(delay) if delay > options.max_retry_after => {
                            return Err(GraphError::RetryAfterTooLong {
                                seconds: delay.as_secs(),
                                resource: resource_of(url),
                            });
                        }
                        // Graph throttles per app and mailbox: hold back every request of the
                        // mailbox, not just this one. The wait itself happens in `acquire`.
                        Some(delay) => gate.hold_until(answer.received + delay),
                        None => self.back_off(faults).await?,
                    }
                }
                Verdict::Transient => {
                    faults += 1;
                    if faults >= options.max_attempts {
                        return Err(status_error(&answer, url));
                    }
                    self.back_off(faults).await?;
                }
                Verdict::RenewToken | Verdict::Fail => return Err(status_error(&answer, url)),
            }
        }
    }

    /// Every item of a paged collection for `gate_key`: GETs `first_url`, then each
    /// `@odata.nextLink` (checked to point at the Graph endpoint) until a page has none. `read`
    /// returns a page's items and its next link.
    pub(crate) async fn get_every_page<T>(
        &self,
        first_url: String,
        gate_key: &str,
        read: fn(&[u8]) -> Result<ItemsAndNext<T>, serde_json::Error>,
    ) -> Result<Vec<T>, GraphError> {
        let mut items = Vec::new();
        let mut next = Some(first_url);
        while let Some(url) = next.take() {
            let (page, next_link) = self.get(&url, gate_key, Prefer::PageSize, read).await?;
            items.extend(page);
            if let Some(link) = next_link {
                self.check_link(&link)?;
                next = Some(link);
            }
        }
        Ok(items)
    }

    /// The current token, fetched or renewed as needed.
    async fn token(&self) -> Result<(Arc<str>, u64), GraphError> {
        let inner = &self.inner;
        tokio::select! {
            token = inner.tokens.get(self) => token,
            () = inner.cancel.cancelled() => Err(GraphError::Cancelled),
        }
    }

    /// Waits out the gate's `Retry-After`, then takes a mailbox permit and a global permit (in
    /// that order, so a request waiting for its mailbox holds no global permit).
    async fn acquire<'gate>(&'gate self, gate: &'gate Gate) -> Result<Permits<'gate>, GraphError> {
        let inner = &self.inner;
        loop {
            if let Some(not_before) = gate.not_before()
                && Instant::now() < not_before
            {
                tokio::select! {
                    () = tokio::time::sleep_until(not_before) => {}
                    () = inner.cancel.cancelled() => return Err(GraphError::Cancelled),
                }
            }
            let mailbox = tokio::select! {
                permit = gate.permits.acquire() => permit.map_err(|_| GraphError::Cancelled)?,
                () = inner.cancel.cancelled() => return Err(GraphError::Cancelled),
            };
            // A 429 may have come in while this request waited for its permit.
            if gate.not_before().is_some_and(|not_before| Instant::now() < not_before) {
                drop(mailbox);
                continue;
            }
            let global = tokio::select! {
                permit = inner.global.acquire() => permit.map_err(|_| GraphError::Cancelled)?,
                () = inner.cancel.cancelled() => return Err(GraphError::Cancelled),
            };
            if gate.not_before().is_some_and(|not_before| Instant::now() < not_before) {
                drop(global);
                drop(mailbox);
                continue;
            }
            return Ok(Permits { _mailbox: mailbox, _global: global });
        }
    }

    /// Waits the jittered backoff before retry number `attempts`; `Cancelled` if the run is
    /// cancelled meanwhile.
    pub(crate) async fn back_off(&self, attempts: u32) -> Result<(), GraphError> {
        let options = &self.inner.options;
        let delay = backoff_delay(
            attempts,
            options.backoff_base,
            options.backoff_max,
            self.inner.jitter.next_u64(),
        );
        self.inner.cancel.sleep(delay).await
    }
}

struct Permits<'gate> {
    _mailbox: tokio::sync::SemaphorePermit<'gate>,
    _global: tokio::sync::SemaphorePermit<'gate>,
}

/// An answer read to its end.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    date: Option<String>,
    /// When the answer's head arrived: `Retry-After` counts from there.
    received: Instant,
    body: Vec<u8>,
}

async fn send(request: reqwest::RequestBuilder) -> Result<Answer, reqwest::Error> {
    let response = request.send().await?;
    let received = Instant::now();
    let status = response.status().as_u16();
    let header = |name: reqwest::header::HeaderName| {
        response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
    };
    let retry_after = header(reqwest::header::RETRY_AFTER);
    let date = header(reqwest::header::DATE);
    let body = response.bytes().await?.to_vec();
    Ok(Answer { status, retry_after, date, received, body })
}

fn status_error(answer: &Answer, url: &str) -> GraphError {
    let (code, message) = crate::wire::error_code_and_message(&answer.body);
    GraphError::Status { status: answer.status, code, message, resource: resource_of(url) }
}
