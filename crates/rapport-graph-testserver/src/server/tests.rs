//! The server over real HTTP, with a minimal blocking HTTP/1.1 client (std sockets on the
//! blocking pool; the crate has no HTTP client dependency).

use std::io::{Read, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::config::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, Fault, ServerConfig,
};
use crate::dataset::{Dataset, EmailAddress, GenSpec, Message};
use crate::datetime::utc;
use crate::server::TestServer;
use crate::test_credentials::{CLIENT_PRIVATE_KEY_PKCS8_DER, CLIENT_PUBLIC_KEY_SPKI_DER};
use crate::token::tests::{good_header, sign};

const ADELE: &str = "adele@contoso.example";
const SELECT: &str = "$select=id,internetMessageId,conversationId,conversationIndex,sentDateTime,from,sender,toRecipients,ccRecipients,bccRecipients,isDraft";

/// A response as the minimal client read it.
#[derive(Debug)]
struct HttpReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpReply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The `id`s of the page's `value`, with `-` before removed ones.
    fn ids(&self) -> Vec<String> {
        self.values(|item| {
            let id = text(item, "id");
            if item.get("@removed").is_some() { format!("-{id}") } else { id }
        })
    }

    fn next_link(&self) -> Option<String> {
        self.json()["@odata.nextLink"].as_str().map(str::to_owned)
    }

    fn delta_link(&self) -> Option<String> {
        self.json()["@odata.deltaLink"].as_str().map(str::to_owned)
    }

    fn error_code(&self) -> String {
        text(&self.json()["error"], "code")
    }

    /// `read` of each item of the page's `value`.
    fn values<T>(&self, read: impl Fn(&Value) -> T) -> Vec<T> {
        self.json()["value"]
            .as_array()
            .map(|items| items.iter().map(&read).collect())
            .unwrap_or_default()
    }
}

/// Asserts that `reply` is a Graph error with `status` and `code`.
#[track_caller]
fn assert_error(reply: &HttpReply, status: u16, code: &str) {
    assert_eq!((reply.status, reply.error_code().as_str()), (status, code), "{}", reply.body);
}

/// The property names of a JSON object, in order.
fn keys(value: &Value) -> Vec<String> {
    value.as_object().map(|item| item.keys().cloned().collect()).unwrap_or_default()
}

/// A string property, or `""`.
fn text(item: &Value, name: &str) -> String {
    item[name].as_str().unwrap_or_default().to_owned()
}

/// Sends one request (`Connection: close`) and reads the whole response; `read_timeout` makes an
/// impatient client.
fn send_blocking(
    url: &str,
    method: &str,
    headers: &[(String, String)],
    body: &str,
    read_timeout: Option<Duration>,
) -> std::io::Result<HttpReply> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(read_timeout)?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, mut content) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut body = String::new();
    if headers.iter().any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"))
    {
        while let Some((size, rest)) = content.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            body.push_str(rest.get(..size).unwrap_or(rest));
            content = rest.get(size + 2..).unwrap_or_default();
        }
    } else {
        body.push_str(content);
    }
    Ok(HttpReply { status, headers, body })
}

async fn send(url: &str, method: &str, headers: Vec<(String, String)>, body: String) -> HttpReply {
    let url = url.to_owned();
    let method = method.to_owned();
    let result =
        tokio::task::spawn_blocking(move || send_blocking(&url, &method, &headers, &body, None))
            .await;
    match result {
        Ok(Ok(reply)) => reply,
        other => panic!("request failed: {other:?}"),
    }
}

fn headers(token: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut headers = vec![("Authorization".to_owned(), format!("Bearer {token}"))];
    headers.extend(extra.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())));
    headers
}

/// GET of a path (joined to the server's address) or of an absolute link.
async fn get(
    server: &TestServer,
    path_or_url: &str,
    token: &str,
    extra: &[(&str, &str)],
) -> HttpReply {
    let url = if path_or_url.starts_with("http://") {
        path_or_url.to_owned()
    } else {
        format!("{}{path_or_url}", server.base_url())
    };
    send(&url, "GET", headers(token, extra), String::new()).await
}

fn encode(value: &str) -> String {
    let mut out = String::new();
    crate::odata::percent_encode(value, &mut out);
    out
}

async fn token_request(server: &TestServer, tenant: &str, pairs: &[(&str, &str)]) -> HttpReply {
    let body: Vec<String> =
        pairs.iter().map(|(name, value)| format!("{name}={}", encode(value))).collect();
    let url = format!("{}/{tenant}/oauth2/v2.0/token", server.base_url());
    let headers = vec![("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
    send(&url, "POST", headers, body.join("&")).await
}

/// A client-credentials token request with `secret`.
async fn secret_token(server: &TestServer, secret: &str) -> HttpReply {
    let scope = format!("{}/.default", server.base_url());
    token_request(
        server,
        DEFAULT_TENANT_ID,
        &[
            ("client_id", DEFAULT_CLIENT_ID),
            ("scope", &scope),
            ("grant_type", "client_credentials"),
            ("client_secret", secret),
        ],
    )
    .await
}

async fn token(server: &TestServer) -> String {
    let reply = secret_token(server, DEFAULT_CLIENT_SECRET).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    text(&reply.json(), "access_token")
}

async fn start(config: ServerConfig) -> TestServer {
    match TestServer::start(config).await {
        Ok(server) => server,
        Err(error) => panic!("cannot start: {error}"),
    }
}

async fn small_server() -> (TestServer, String) {
    let server = start(ServerConfig::new(Dataset::small())).await;
    let token = token(&server).await;
    (server, token)
}

fn delta_path(user: &str, folder: &str) -> String {
    format!(
        "/v1.0/users/{user}/mailFolders/{folder}/messages/delta?{SELECT}&$filter=receivedDateTime+ge+2025-03-01T00:00:00Z"
    )
}

/// The first calendarView delta request of `user` over `[start, end)` (dates or instants as
/// Graph takes them).
fn calendar_path(user: &str, start: &str, end: &str) -> String {
    format!("/v1.0/users/{user}/calendarView/delta?startDateTime={start}&endDateTime={end}")
}

/// Follows a round from `first` to its deltaLink, sending `prefer` on every request; returns
/// the ids page by page and the deltaLink.
async fn round(
    server: &TestServer,
    token: &str,
    first: &str,
    prefer: &str,
) -> (Vec<Vec<String>>, String) {
    let mut pages = Vec::new();
    let mut url = first.to_owned();
    loop {
        let reply = get(server, &url, token, &[("Prefer", prefer)]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        pages.push(reply.ids());
        match (reply.next_link(), reply.delta_link()) {
            (Some(next), None) => url = next,
            (None, Some(delta)) => return (pages, delta),
            other => panic!("a page needs exactly one link: {other:?}"),
        }
    }
}

#[tokio::test]
async fn token_endpoint_and_token_checks() {
    let server = start(ServerConfig::new(Dataset::small())).await;
    let reply = secret_token(&server, DEFAULT_CLIENT_SECRET).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["token_type"], "Bearer");
    assert_eq!(reply.json()["expires_in"], 3599);
    let token = text(&reply.json(), "access_token");

    let user = get(
        &server,
        &format!("/v1.0/users/{ADELE}?$select=id,mail,userPrincipalName"),
        &token,
        &[],
    )
    .await;
    assert_eq!(user.status, 200);
    assert_eq!(
        user.json(),
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#users(id,mail,userPrincipalName)/$entity", server.base_url()),
            "mail": ADELE,
            "userPrincipalName": ADELE,
            "id": "5b1c7a3e-0001-4a6f-9d2e-00000000a001",
        })
    );

    let bad_secret = secret_token(&server, "nope").await;
    assert_eq!(bad_secret.status, 401);
    assert_eq!(bad_secret.json()["error"], "invalid_client");
    assert_eq!(bad_secret.json()["error_codes"], json!([7000215]));

    let missing = send(
        &format!("{}/v1.0/users/{ADELE}", server.base_url()),
        "GET",
        Vec::new(),
        String::new(),
    )
    .await;
    assert_error(&missing, 401, "InvalidAuthenticationToken");
    assert_eq!(missing.json()["error"]["message"], "Access token is empty.");
    assert!(missing.header("www-authenticate").is_some_and(|value| value.starts_with("Bearer ")));
    let forged =
        get(&server, &format!("/v1.0/users/{ADELE}"), "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", &[]).await;
    assert_error(&forged, 401, "InvalidAuthenticationToken");

    let get_on_token = send(
        &format!("{}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token", server.base_url()),
        "GET",
        Vec::new(),
        String::new(),
    )
    .await;
    assert_eq!(get_on_token.status, 405);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let mut config = ServerConfig::new(Dataset::small());
    config.token_lifetime = Duration::ZERO;
    let server = start(config).await;
    let reply = secret_token(&server, DEFAULT_CLIENT_SECRET).await;
    assert_eq!(reply.json()["expires_in"], 0);
    let token = text(&reply.json(), "access_token");
    let refused = get(&server, &format!("/v1.0/users/{ADELE}"), &token, &[]).await;
    assert_error(&refused, 401, "InvalidAuthenticationToken");
    assert_eq!(
        refused.json()["error"]["message"],
        "Lifetime validation failed, the token is expired."
    );
}

#[tokio::test]
async fn certificate_assertions_over_http() {
    let mut config = ServerConfig::new(Dataset::small());
    config.assertion_public_key = Some(CLIENT_PUBLIC_KEY_SPKI_DER.to_vec());
    let server = start(config).await;
    // The server's clock, read from a token it issued (the tests never read the system clock).
    let secret_token = token(&server).await;
    let payload = secret_token
        .split('.')
        .nth(1)
        .and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
        .unwrap_or_default();
    let now = serde_json::from_slice::<Value>(&payload).unwrap_or_default()["iat"]
        .as_i64()
        .unwrap_or_default();
    let audience = format!("{}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token", server.base_url());
    let scope = format!("{}/.default", server.base_url());
    let request = |assertion: String| {
        let scope = scope.clone();
        let server = &server;
        async move {
            token_request(
                server,
                DEFAULT_TENANT_ID,
                &[
                    ("client_id", DEFAULT_CLIENT_ID),
                    ("scope", &scope),
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                ],
            )
            .await
        }
    };
    let claims = json!({"aud": audience, "iss": DEFAULT_CLIENT_ID, "sub": DEFAULT_CLIENT_ID, "jti": "1", "nbf": now, "exp": now + 600});
    let accepted = request(sign(CLIENT_PRIVATE_KEY_PKCS8_DER, &good_header(), &claims)).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let token = text(&accepted.json(), "access_token");
    assert_eq!(get(&server, &format!("/v1.0/users/{ADELE}"), &token, &[]).await.status, 200);

    let other_key = request(sign(
        crate::test_credentials::OTHER_PRIVATE_KEY_PKCS8_DER,
        &good_header(),
        &claims,
    ))
    .await;
    assert_eq!((other_key.status, other_key.json()["error_codes"].clone()), (401, json!([700027])));
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 1);
    let expired = request(sign(CLIENT_PRIVATE_KEY_PKCS8_DER, &good_header(), &expired)).await;
    assert_eq!((expired.status, expired.json()["error_codes"].clone()), (401, json!([700024])));
}

#[tokio::test]
async fn paging_follows_maxpagesize_across_next_links() {
    let (server, token) = small_server().await;
    let first = delta_path(ADELE, "inbox");
    let (pages, delta) = round(&server, &token, &first, "odata.maxpagesize=2").await;
    assert_eq!(pages, [vec!["AAMkADaAI02AAA=", "AAMkADaAI07AAA="], vec!["AAMkADaAI14AAA="]]);
    assert!(delta.starts_with(&format!(
        "{}/v1.0/users/{ADELE}/mailFolders/inbox/messages/delta?$deltatoken=",
        server.base_url()
    )));
    // Without Prefer the page size is Graph's default of 10: one page.
    let (pages, _) = round(&server, &token, &first, "return=minimal").await;
    assert_eq!(pages.len(), 1);
    assert_eq!(pages.first().map(Vec::len), Some(3));
    // Two Prefer headers are read like one with both values.
    let reply = get(
        &server,
        &first,
        &token,
        &[("Prefer", "odata.maxpagesize=1"), ("Prefer", "outlook.timezone=\"UTC\"")],
    )
    .await;
    assert_eq!(reply.ids(), ["AAMkADaAI02AAA="]);
    assert_eq!(reply.header("preference-applied"), Some("odata.maxpagesize=1"));
    // The first page's nextLink carries the round: no need to send $select or $filter again.
    let next = reply.next_link().unwrap_or_default();
    assert!(!next.contains("$select") && next.contains("$skiptoken="));
    let second = get(&server, &next, &token, &[("Prefer", "odata.maxpagesize=1")]).await;
    assert_eq!(second.ids(), ["AAMkADaAI07AAA="]);
    assert_eq!(
        keys(&second.json()["value"][0]),
        [
            "@odata.type",
            "@odata.etag",
            "sentDateTime",
            "internetMessageId",
            "conversationId",
            "conversationIndex",
            "isDraft",
            "sender",
            "from",
            "toRecipients",
            "ccRecipients",
            "bccRecipients",
            "id"
        ]
    );
}

#[tokio::test]
async fn delta_round_two_returns_exactly_the_changes() {
    let (server, token) = small_server().await;
    let prefer = "odata.maxpagesize=2";
    let (_, delta) = round(&server, &token, &delta_path(ADELE, "inbox"), prefer).await;
    let Some(inbox) = server.folder_id(ADELE, "Inbox") else { panic!("no inbox") };

    // No change: an empty page and a deltaLink.
    let (pages, delta) = round(&server, &token, &delta, prefer).await;
    assert_eq!(pages, [Vec::<String>::new()]);

    let added = Message {
        id: "AAMkADaAI99AAA=".into(),
        internet_message_id: "<m99.nina@northwind.example>".into(),
        sent: Some(utc(2026, 2, 10, 8, 0, 0)),
        received: utc(2026, 2, 10, 8, 0, 4),
        from: Some(EmailAddress::new("Nina Patel", "nina@northwind.example")),
        to: vec![EmailAddress::new("Adele Vance", ADELE)],
        subject: "New".into(),
        ..Message::default()
    };
    assert_eq!(server.add_message(ADELE, &inbox, added.clone()), Ok(()));
    assert_eq!(server.remove_message(ADELE, &inbox, "AAMkADaAI07AAA="), Ok(()));
    let mut changed = added.clone();
    changed.cc.push(EmailAddress::new("Bianca Pisani", "bianca@contoso.example"));
    assert_eq!(server.update_message(ADELE, &inbox, changed), Ok(()));
    // A change in another folder does not show in this one.
    let Some(sent) = server.folder_id(ADELE, "Sent Items") else { panic!("no sent items") };
    assert_eq!(server.remove_message(ADELE, &sent, "AAMkADaAS11AAA="), Ok(()));

    let reply = get(&server, &delta, &token, &[("Prefer", "odata.maxpagesize=10")]).await;
    assert_eq!(reply.ids(), ["-AAMkADaAI07AAA=", "AAMkADaAI99AAA="]);
    let value = reply.json();
    assert_eq!(
        value["value"][0],
        json!({"@odata.type": "#microsoft.graph.message", "id": "AAMkADaAI07AAA=", "@removed": {"reason": "deleted"}})
    );
    // The changed message comes as it is now, with the first round's $select (no subject).
    assert_eq!(
        value["value"][1]["ccRecipients"][0]["emailAddress"]["address"],
        "bianca@contoso.example"
    );
    assert!(value["value"][1].get("subject").is_none());
    let delta = reply.delta_link().unwrap_or_default();

    // Paged change rounds, and nothing after.
    for number in 0..3 {
        let message = Message {
            id: format!("AAMkADaAN{number}AAA="),
            received: utc(2026, 2, 11, 0, 0, 0),
            ..Message::default()
        };
        assert_eq!(server.add_message(ADELE, &inbox, message), Ok(()));
    }
    let (pages, delta) = round(&server, &token, &delta, prefer).await;
    assert_eq!(pages, [vec!["AAMkADaAN0AAA=", "AAMkADaAN1AAA="], vec!["AAMkADaAN2AAA="]]);
    let (pages, _) = round(&server, &token, &delta, prefer).await;
    assert_eq!(pages, [Vec::<String>::new()]);

    // A token for one folder is refused on another.
    let token_part = delta.split("$deltatoken=").nth(1).unwrap_or_default();
    let elsewhere = get(
        &server,
        &format!(
            "/v1.0/users/{ADELE}/mailFolders/sentitems/messages/delta?$deltatoken={token_part}"
        ),
        &token,
        &[],
    )
    .await;
    assert_error(&elsewhere, 400, "ErrorInvalidUrlQuery");
    // Expired sync state: 410, and a new round works.
    server.expire_delta_tokens();
    let gone = get(&server, &delta, &token, &[]).await;
    assert_error(&gone, 410, "SyncStateNotFound");
    let (pages, _) =
        round(&server, &token, &delta_path(ADELE, "inbox"), "odata.maxpagesize=50").await;
    assert_eq!(
        pages,
        [vec![
            "AAMkADaAI02AAA=",
            "AAMkADaAI14AAA=",
            "AAMkADaAI99AAA=",
            "AAMkADaAN0AAA=",
            "AAMkADaAN1AAA=",
            "AAMkADaAN2AAA="
        ]]
    );
}

#[tokio::test]
async fn select_and_filter_are_honoured() {
    let (server, token) = small_server().await;
    let path = format!(
        "/v1.0/users/{ADELE}/mailFolders/sentitems/messages/delta?$select=internetMessageId,sentDateTime"
    );
    let reply = get(&server, &path, &token, &[]).await;
    let first = reply.json()["value"][0].clone();
    assert_eq!(
        keys(&first),
        ["@odata.type", "@odata.etag", "sentDateTime", "internetMessageId", "id"]
    );
    assert_eq!(first["internetMessageId"], "<m1.adele@contoso.example>");
    assert_eq!(first["sentDateTime"], "2025-06-02T09:00:00Z");

    for (query, code) in [
        ("$select=id,secrets", "RequestBroker--ParseUri"),
        ("$orderby=receivedDateTime", "ErrorInvalidUrlQuery"),
        ("$filter=isRead+eq+false", "ErrorInvalidUrlQueryFilter"),
    ] {
        let path = format!("/v1.0/users/{ADELE}/mailFolders/inbox/messages/delta?{query}");
        assert_error(&get(&server, &path, &token, &[]).await, 400, code);
    }

    // The archive folder holds one message before the window: the first round's $filter drops it.
    let Some(archive) = server.folder_id(ADELE, "Archive/Customers/Fabrikam") else {
        panic!("no archive folder")
    };
    let all = get(
        &server,
        &format!("/v1.0/users/{ADELE}/mailFolders/{archive}/messages/delta?$select=id"),
        &token,
        &[],
    )
    .await;
    assert_eq!(all.ids(), ["AAMkADaAA01AAA=", "AAMkADaAA10AAA="]);
    let (pages, _) =
        round(&server, &token, &delta_path(ADELE, &archive), "odata.maxpagesize=5").await;
    assert_eq!(pages, [vec!["AAMkADaAA01AAA="]]);
}

#[tokio::test]
async fn mail_folders_list_and_recurse() {
    let (server, token) = small_server().await;
    let base =
        format!("/v1.0/users/{ADELE}/mailFolders?$select=id,displayName,childFolderCount&$top=3");
    let first = get(&server, &base, &token, &[]).await;
    let names = |reply: &HttpReply| {
        reply.values(|item| {
            (text(item, "displayName"), item["childFolderCount"].as_u64().unwrap_or(99))
        })
    };
    assert_eq!(
        names(&first),
        [("Inbox".into(), 0), ("Sent Items".into(), 0), ("Drafts".into(), 0)]
    );
    let second = get(&server, &first.next_link().unwrap_or_default(), &token, &[]).await;
    assert_eq!(names(&second), [("Deleted Items".into(), 0), ("Archive".into(), 1)]);
    assert_eq!(second.next_link(), None);
    let archive = text(&second.json()["value"][1], "id");
    let children = get(&server, &format!("/v1.0/users/{ADELE}/mailFolders/{archive}/childFolders?$select=id,displayName,childFolderCount"), &token, &[]).await;
    assert_eq!(names(&children), [("Customers".into(), 1)]);
    let folder = get(&server, &format!("/v1.0/users/{ADELE}/mailFolders/Inbox"), &token, &[]).await;
    assert_eq!(folder.json()["totalItemCount"], 3);
    let missing = get(
        &server,
        &format!("/v1.0/users/{ADELE}/mailFolders/AAMkNOPE=/messages/delta"),
        &token,
        &[],
    )
    .await;
    assert_error(&missing, 404, "ErrorItemNotFound");
}

#[tokio::test]
async fn calendar_view_window_and_changes() {
    let (server, token) = small_server().await;
    let chen = "chen@contoso.example";
    let window = calendar_path(chen, "2025-03-01T00:00:00Z", "2026-03-01T00:00:00Z");
    let prefer = "odata.maxpagesize=2, outlook.timezone=\"UTC\"";
    let (pages, delta) = round(&server, &token, &window, prefer).await;
    assert_eq!(pages, [vec!["AAMkAEaC03AAA=", "AAMkAEaC06AAA="], vec!["AAMkAEaC07AAA="]]);
    let before = calendar_path(chen, "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z");
    let (pages, _) = round(&server, &token, &before, prefer).await;
    assert_eq!(pages, [vec!["AAMkAEaC10AAA="]]);
    let reply = get(&server, &window, &token, &[("Prefer", prefer)]).await;
    assert_eq!(
        reply.header("preference-applied"),
        Some("odata.maxpagesize=2, outlook.timezone=\"UTC\"")
    );
    let cancelled = reply.json()["value"][0].clone();
    assert_eq!(cancelled["isCancelled"], true);
    assert_eq!(
        cancelled["start"],
        json!({"dateTime": "2025-11-12T10:00:00.0000000", "timeZone": "UTC"})
    );

    // Bianca's series: occurrences and the exception, with seriesMasterId and originalStart.
    let bianca = calendar_path("bianca@contoso.example", "2025-10-01", "2025-11-01");
    let series = get(&server, &bianca, &token, &[]).await;
    let shape = series.values(|item| {
        (text(item, "type"), text(item, "originalStart"), text(&item["start"], "dateTime"))
    });
    assert_eq!(
        shape,
        [
            (
                "occurrence".into(),
                "2025-10-06T15:00:00Z".into(),
                "2025-10-06T15:00:00.0000000".into()
            ),
            (
                "occurrence".into(),
                "2025-10-13T15:00:00Z".into(),
                "2025-10-13T15:00:00.0000000".into()
            ),
            (
                "exception".into(),
                "2025-10-20T15:00:00Z".into(),
                "2025-10-21T16:00:00.0000000".into()
            ),
            (
                "occurrence".into(),
                "2025-10-27T15:00:00Z".into(),
                "2025-10-27T15:00:00.0000000".into()
            ),
        ]
    );
    assert_eq!(series.json()["value"][2]["seriesMasterId"], "AAMkAEaB2MAAA=");

    // Round two: a removed event, an event moved out of the window (removed from this view), and
    // a new one.
    assert_eq!(server.remove_event(chen, "AAMkAEaC06AAA="), Ok(()));
    let mut moved = server
        .with_dataset(|dataset| dataset.events(chen).unwrap_or_default())
        .into_iter()
        .find(|event| event.id == "AAMkAEaC07AAA=")
        .unwrap_or_default();
    moved.start = utc(2026, 4, 1, 10, 0, 0);
    moved.end = utc(2026, 4, 1, 11, 0, 0);
    assert_eq!(server.update_event(chen, moved), Ok(()));
    let mut new = server
        .with_dataset(|dataset| dataset.events(chen).unwrap_or_default())
        .into_iter()
        .next()
        .unwrap_or_default();
    new.id = "AAMkAEaC99AAA=".into();
    new.ical_uid = "NEW-UID".into();
    new.is_cancelled = false;
    assert_eq!(server.add_event(chen, new), Ok(()));
    let (pages, _) = round(&server, &token, &delta, prefer).await;
    assert_eq!(pages, [vec!["-AAMkAEaC06AAA=", "-AAMkAEaC07AAA="], vec!["AAMkAEaC99AAA="]]);

    let no_window =
        get(&server, &format!("/v1.0/users/{chen}/calendarView/delta"), &token, &[]).await;
    assert_error(&no_window, 400, "ErrorInvalidParameter");
}

#[tokio::test]
async fn groups_and_transitive_members() {
    let (server, token) = small_server().await;
    let by_mail = get(
        &server,
        "/v1.0/groups?$filter=mail+eq+'SALES@contoso.example'&$select=id,displayName,mail",
        &token,
        &[],
    )
    .await;
    assert_eq!(
        by_mail.json()["value"],
        json!([{"id": "7c2d9f10-0002-4b1e-8a3c-00000000b001", "displayName": "Sales Team", "mail": "sales@contoso.example"}])
    );
    let by_name = get(
        &server,
        &format!("/v1.0/groups?$filter={}", encode("displayName eq 'Customer Success'")),
        &token,
        &[],
    )
    .await;
    assert_eq!(by_name.ids(), ["7c2d9f10-0002-4b1e-8a3c-00000000b003"]);
    let none =
        get(&server, "/v1.0/groups?$filter=mail+eq+'nobody@contoso.example'", &token, &[]).await;
    assert_eq!((none.status, none.ids().len()), (200, 0));
    let group =
        get(&server, "/v1.0/groups/7c2d9f10-0002-4b1e-8a3c-00000000b002", &token, &[]).await;
    assert_eq!(group.json()["displayName"], "Sales Leads");
    let missing =
        get(&server, "/v1.0/groups/00000000-dead-beef-0000-000000000000", &token, &[]).await;
    assert_error(&missing, 404, "Request_ResourceNotFound");

    let members = |group: &str| {
        format!(
            "/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user?$select=id,mail,userPrincipalName&$top=2"
        )
    };
    let first = get(&server, &members("7c2d9f10-0002-4b1e-8a3c-00000000b001"), &token, &[]).await;
    assert_eq!(
        first.ids(),
        ["5b1c7a3e-0001-4a6f-9d2e-00000000a001", "5b1c7a3e-0001-4a6f-9d2e-00000000a002"]
    );
    assert_eq!(
        first.json()["value"][0],
        json!({"@odata.type": "#microsoft.graph.user", "mail": ADELE, "userPrincipalName": ADELE, "id": "5b1c7a3e-0001-4a6f-9d2e-00000000a001"})
    );
    let next = first.next_link().unwrap_or_default();
    assert!(next.contains("$select=id%2Cmail%2CuserPrincipalName") && next.contains("$top=2"));
    let second = get(&server, &next, &token, &[]).await;
    assert_eq!(second.ids(), ["5b1c7a3e-0001-4a6f-9d2e-00000000a003"]);
    assert_eq!(second.next_link(), None);
    // The distribution list: its users through a nested group, not its mail contact.
    let list = get(
        &server,
        &members("7c2d9f10-0002-4b1e-8a3c-00000000b003").replace("$top=2", "$top=999"),
        &token,
        &[],
    )
    .await;
    assert_eq!(
        list.ids(),
        [
            "5b1c7a3e-0001-4a6f-9d2e-00000000a004",
            "5b1c7a3e-0001-4a6f-9d2e-00000000a005",
            "5b1c7a3e-0001-4a6f-9d2e-00000000a003"
        ]
    );
    let everything = get(
        &server,
        "/v1.0/groups/7c2d9f10-0002-4b1e-8a3c-00000000b003/transitiveMembers",
        &token,
        &[],
    )
    .await;
    assert_eq!(
        everything.values(|item| text(item, "@odata.type")),
        [
            "#microsoft.graph.user",
            "#microsoft.graph.user",
            "#microsoft.graph.orgContact",
            "#microsoft.graph.group",
            "#microsoft.graph.user"
        ]
    );
    let direct =
        get(&server, "/v1.0/groups/7c2d9f10-0002-4b1e-8a3c-00000000b001/members", &token, &[])
            .await;
    assert_eq!(
        direct.ids(),
        [
            "5b1c7a3e-0001-4a6f-9d2e-00000000a001",
            "5b1c7a3e-0001-4a6f-9d2e-00000000a002",
            "7c2d9f10-0002-4b1e-8a3c-00000000b002"
        ]
    );

    let user =
        get(&server, "/v1.0/users/5B1C7A3E-0001-4A6F-9D2E-00000000A003?$select=mail", &token, &[])
            .await;
    assert_eq!(user.json()["mail"], "chen@contoso.example");
    let nobody = get(&server, "/v1.0/users/nobody@contoso.example", &token, &[]).await;
    assert_error(&nobody, 404, "Request_ResourceNotFound");
    let unknown_segment = get(&server, "/v1.0/me/messages", &token, &[]).await;
    assert_error(&unknown_segment, 400, "BadRequest");
}

#[tokio::test]
async fn faults_fire_as_asked() {
    let mut config = ServerConfig::new(Dataset::small());
    config.faults = vec![
        Fault::Throttle { path_contains: "/messages/delta".into(), nth: 2, retry_after_secs: 7 },
        Fault::Unavailable { path_contains: "calendarView".into(), nth: 1, retry_after_secs: None },
        Fault::Unavailable {
            path_contains: "calendarView".into(),
            nth: 2,
            retry_after_secs: Some(3),
        },
        Fault::MalformedJson { path_contains: "/groups".into(), nth: 1 },
        Fault::NoMailbox { user: "BIANCA@contoso.example".into() },
        Fault::AccessDenied { user: "5b1c7a3e-0001-4a6f-9d2e-00000000a003".into() },
    ];
    let server = start(config).await;
    let token = token(&server).await;
    let delta = delta_path(ADELE, "inbox");
    let statuses = [
        get(&server, &delta, &token, &[]).await,
        get(&server, &delta, &token, &[]).await,
        get(&server, &delta, &token, &[]).await,
    ];
    assert_eq!(statuses.iter().map(|reply| reply.status).collect::<Vec<_>>(), [200, 429, 200]);
    assert_eq!(statuses[1].header("retry-after"), Some("7"));
    assert_eq!(statuses[1].error_code(), "TooManyRequests");

    let calendar = calendar_path(ADELE, "2025-03-01", "2026-03-01");
    let first = get(&server, &calendar, &token, &[]).await;
    let second = get(&server, &calendar, &token, &[]).await;
    let third = get(&server, &calendar, &token, &[]).await;
    assert_eq!(
        (first.status, first.header("retry-after"), first.error_code()),
        (503, None, "ServiceNotAvailable".to_owned())
    );
    assert_eq!((second.status, second.header("retry-after")), (503, Some("3")));
    assert_eq!(third.status, 200);

    let broken =
        get(&server, "/v1.0/groups/7c2d9f10-0002-4b1e-8a3c-00000000b001", &token, &[]).await;
    assert_eq!(broken.status, 200);
    assert!(serde_json::from_str::<Value>(&broken.body).is_err());
    assert!(broken.body.starts_with("{\"@odata.context\""));
    let whole =
        get(&server, "/v1.0/groups/7c2d9f10-0002-4b1e-8a3c-00000000b001", &token, &[]).await;
    assert!(serde_json::from_str::<Value>(&whole.body).is_ok());

    for path in [
        "/v1.0/users/bianca@contoso.example/mailFolders".to_owned(),
        calendar_path("bianca@contoso.example", "2025-03-01", "2026-03-01"),
    ] {
        let reply = get(&server, &path, &token, &[]).await;
        assert_error(&reply, 404, "MailboxNotEnabledForRESTAPI");
    }
    assert_eq!(get(&server, "/v1.0/users/bianca@contoso.example", &token, &[]).await.status, 200);
    let denied = get(&server, "/v1.0/users/chen@contoso.example/mailFolders", &token, &[]).await;
    assert_error(&denied, 403, "ErrorAccessDenied");
    let emily = get(&server, "/v1.0/users/emily@contoso.example/mailFolders", &token, &[]).await;
    assert_error(&emily, 404, "MailboxNotEnabledForRESTAPI");
    let stranger =
        get(&server, "/v1.0/users/stranger@contoso.example/mailFolders", &token, &[]).await;
    assert_error(&stranger, 404, "ErrorInvalidUser");
}

#[tokio::test]
async fn revoked_token_needs_renewal() {
    let mut config = ServerConfig::new(Dataset::small());
    config.faults = vec![Fault::RevokeTokenOnce { nth_request: 2 }];
    let server = start(config).await;
    let first_token = token(&server).await;
    let path = format!("/v1.0/users/{ADELE}");
    assert_eq!(get(&server, &path, &first_token, &[]).await.status, 200);
    let revoked = get(&server, &path, &first_token, &[]).await;
    assert_error(&revoked, 401, "InvalidAuthenticationToken");
    assert_eq!(get(&server, &path, &first_token, &[]).await.status, 401);
    let second_token = token(&server).await;
    assert_eq!(get(&server, &path, &second_token, &[]).await.status, 200);
    assert_eq!(get(&server, &path, &second_token, &[]).await.status, 200);
}

#[tokio::test]
async fn timeout_fault_outlasts_the_client() {
    let mut config = ServerConfig::new(Dataset::small());
    config.timeout_delay = Duration::from_millis(600);
    config.faults = vec![Fault::Timeout { path_contains: "/mailFolders".into(), nth: 1 }];
    let server = start(config).await;
    let token = token(&server).await;
    let url = format!("{}/v1.0/users/{ADELE}/mailFolders", server.base_url());
    let request_headers = headers(&token, &[]);
    let impatient = {
        let (url, request_headers) = (url.clone(), request_headers.clone());
        tokio::task::spawn_blocking(move || {
            send_blocking(&url, "GET", &request_headers, "", Some(Duration::from_millis(150)))
        })
        .await
    };
    assert!(matches!(impatient, Ok(Err(_))), "{impatient:?}");
    // The fault fired once: the retry is answered at once.
    let started = Instant::now();
    let retry = get(&server, &url, &token, &[]).await;
    assert_eq!(retry.status, 200);
    assert!(started.elapsed() < Duration::from_millis(500));

    server.add_fault(Fault::Timeout { path_contains: "/mailFolders".into(), nth: 1 });
    let started = Instant::now();
    let patient = get(&server, &url, &token, &[]).await;
    assert_error(&patient, 504, "GatewayTimeout");
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[tokio::test]
async fn roles_are_checked() {
    let mut config = ServerConfig::new(Dataset::small());
    config.roles = vec!["User.ReadBasic.All".into()];
    let server = start(config).await;
    let token = token(&server).await;
    assert_eq!(get(&server, &format!("/v1.0/users/{ADELE}"), &token, &[]).await.status, 200);
    let mail = get(&server, &delta_path(ADELE, "inbox"), &token, &[]).await;
    assert_error(&mail, 403, "ErrorAccessDenied");
    let calendar =
        get(&server, &calendar_path(ADELE, "2025-03-01", "2026-03-01"), &token, &[]).await;
    assert_error(&calendar, 403, "ErrorAccessDenied");
    let groups = get(&server, "/v1.0/groups", &token, &[]).await;
    assert_error(&groups, 403, "Authorization_RequestDenied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_counters_and_request_log() {
    let mut config = ServerConfig::new(Dataset::small());
    config.latency = Duration::from_millis(400);
    let server = start(config).await;
    let token = token(&server).await;
    let paths = [
        format!("/v1.0/users/{ADELE}/mailFolders"),
        format!("/v1.0/users/{}/mailFolders", "ADELE@contoso.example"),
        "/v1.0/users/5b1c7a3e-0001-4a6f-9d2e-00000000a001/mailFolders/inbox".to_owned(),
        "/v1.0/users/bianca@contoso.example/mailFolders".to_owned(),
        "/v1.0/users/bianca@contoso.example/mailFolders".to_owned(),
        "/v1.0/groups".to_owned(),
    ];
    let started = Instant::now();
    let tasks: Vec<_> = paths
        .iter()
        .map(|path| {
            let url = format!("{}{path}", server.base_url());
            let request_headers = headers(&token, &[("Prefer", "odata.maxpagesize=5")]);
            tokio::task::spawn_blocking(move || {
                send_blocking(&url, "GET", &request_headers, "", None)
            })
        })
        .collect();
    for task in tasks {
        assert!(matches!(task.await, Ok(Ok(ref reply)) if reply.status == 200));
    }
    // Six requests of 400 ms each, all at once.
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert_eq!(server.max_in_flight(), 6);
    assert_eq!(server.max_in_flight_per_mailbox(), 3);
    assert_eq!(server.max_in_flight_for(ADELE), 3);
    assert_eq!(server.max_in_flight_for("bianca@contoso.example"), 2);
    assert_eq!(server.max_in_flight_for("chen@contoso.example"), 0);
    assert_eq!(server.in_flight(), 0);
    assert_eq!(server.graph_request_count(), 6);

    let log = server.requests();
    assert_eq!(log.len(), 7);
    assert!(
        log.first().is_some_and(|request| request.is_token_request() && request.method == "POST")
    );
    let graph: Vec<_> = log.iter().filter(|request| !request.is_token_request()).collect();
    assert!(graph.iter().all(|request| request.status == Some(200)));
    assert!(graph.iter().all(|request| request.header("prefer") == Some("odata.maxpagesize=5")));
    assert!(graph.iter().all(|request| {
        request.header("authorization").is_some_and(|value| value.starts_with("Bearer "))
    }));
    assert!(graph.iter().all(|request| request.finished.is_some_and(|finished| {
        finished.duration_since(request.started) >= Duration::from_millis(400)
    })));
    let adele_requests = graph
        .iter()
        .filter(|request| {
            request.mailbox.as_deref() == Some("5b1c7a3e-0001-4a6f-9d2e-00000000a001")
        })
        .count();
    assert_eq!(adele_requests, 3);
    assert_eq!(graph.iter().filter(|request| request.mailbox.is_none()).count(), 1);

    // Decoded path and query in the log.
    server.clear_requests();
    assert_eq!(server.max_in_flight(), 0);
    let _ = get(&server, &delta_path(ADELE, "inbox").replace("$select", "%24select"), &token, &[])
        .await;
    let log = server.requests();
    assert_eq!(
        log.first().map(|request| request.path_and_query.clone()),
        Some(format!(
            "/v1.0/users/{ADELE}/mailFolders/inbox/messages/delta?{SELECT}&$filter=receivedDateTime ge 2025-03-01T00:00:00Z"
        ))
    );
}

#[tokio::test]
async fn generated_folders_page_through() {
    let spec = GenSpec {
        mailboxes: 3,
        messages_per_mailbox: 500,
        events_per_mailbox: 40,
        external_domains: 5,
        seed: 5,
        window: (utc(2025, 3, 1, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0)),
    };
    let dataset = Dataset::generated(&spec);
    let user = "user0001@contoso.example";
    let expected: Vec<String> = dataset
        .messages(user, "inbox")
        .unwrap_or_default()
        .into_iter()
        .filter(|message| message.received >= spec.window.0)
        .map(|message| message.id)
        .collect();
    let expected_events = dataset.events(user).unwrap_or_default().len();
    let server = start(ServerConfig::new(dataset)).await;
    let token = token(&server).await;
    let (pages, delta) =
        round(&server, &token, &delta_path(user, "inbox"), "odata.maxpagesize=100").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [100, 100, expected.len() - 200]);
    assert_eq!(pages.concat(), expected);
    // Removing a generated message and adding one shows in round two.
    let Some(inbox) = server.folder_id(user, "Inbox") else { panic!("no inbox") };
    let Some(removed) = expected.get(17).cloned() else { panic!("too few messages") };
    assert_eq!(server.remove_message(user, &inbox, &removed), Ok(()));
    let (pages, _) = round(&server, &token, &delta, "odata.maxpagesize=100").await;
    assert_eq!(pages, [vec![format!("-{removed}")]]);
    let window = calendar_path(user, "2025-03-01T00:00:00Z", "2026-03-01T00:00:00Z");
    let (pages, _) = round(&server, &token, &window, "odata.maxpagesize=15").await;
    assert_eq!(pages.iter().map(Vec::len).sum::<usize>(), expected_events);
}
