use std::time::Duration;

use super::*;

#[test]
fn path_segments_and_query_values_are_encoded() {
    assert_eq!(encode_path_segment("adele.vance@contoso.com"), "adele.vance@contoso.com");
    assert_eq!(encode_path_segment("AAMkAD/x+y=="), "AAMkAD%2Fx%2By==");
    assert_eq!(encode_path_segment("o'brien#1 ä"), "o'brien%231%20%C3%A4");
    assert_eq!(
        encode_query_value("receivedDateTime ge 2025-01-01T00:00:00Z"),
        "receivedDateTime%20ge%202025-01-01T00:00:00Z"
    );
    assert_eq!(encode_query_value("mail eq 'a&b=c+d;e'"), "mail%20eq%20'a%26b%3Dc%2Bd%3Be'");
    assert_eq!(
        encode_form(&[
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_secret", "a b&c=~")
        ]),
        "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&client_secret=a%20b%26c%3D%7E"
    );
}

#[test]
fn resource_is_the_path_without_query() {
    assert_eq!(
        resource_of(
            "https://graph.microsoft.com/v1.0/users/u1/mailFolders/f1/messages/delta?$skiptoken=abc"
        ),
        "/v1.0/users/u1/mailFolders/f1/messages/delta"
    );
    assert_eq!(resource_of("http://127.0.0.1:8080"), "/");
    assert_eq!(resource_of("/v1.0/groups?$filter=x"), "/v1.0/groups");
}

#[test]
fn prefer_headers() {
    assert_eq!(prefer_header(Prefer::Nothing, 100), None);
    assert_eq!(prefer_header(Prefer::PageSize, 100).as_deref(), Some("odata.maxpagesize=100"));
    assert_eq!(
        prefer_header(Prefer::PageSizeUtc, 7).as_deref(),
        Some("odata.maxpagesize=7, outlook.timezone=\"UTC\"")
    );
}

#[test]
fn statuses_have_verdicts() {
    let verdicts: Vec<(u16, Verdict)> =
        [200, 204, 400, 401, 403, 404, 410, 429, 500, 502, 503, 504]
            .iter()
            .map(|s| (*s, verdict(*s)))
            .collect();
    assert_eq!(
        verdicts,
        [
            (200, Verdict::Success),
            (204, Verdict::Success),
            (400, Verdict::Fail),
            (401, Verdict::RenewToken),
            (403, Verdict::Fail),
            (404, Verdict::Fail),
            (410, Verdict::Fail),
            (429, Verdict::Throttled),
            (500, Verdict::Transient),
            (502, Verdict::Transient),
            (503, Verdict::Throttled),
            (504, Verdict::Transient),
        ]
    );
}

#[test]
fn retry_after_seconds_or_date() {
    assert_eq!(parse_retry_after("7", None), Some(Duration::from_secs(7)));
    assert_eq!(parse_retry_after(" 0 ", None), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", Some("Wed, 21 Oct 2015 07:28:00 GMT")),
        Some(Duration::from_secs(30))
    );
    // A date in the past means "now".
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", Some("Wed, 21 Oct 2015 07:29:00 GMT")),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", None), None);
    assert_eq!(parse_retry_after("-3", None), None);
    assert_eq!(parse_retry_after("soon", None), None);
}

#[test]
fn backoff_doubles_within_bounds_with_jitter() {
    let base = Duration::from_millis(500);
    let max = Duration::from_secs(60);
    // No randomness: the lower half-bound.
    let lows: Vec<Duration> = (1..=9).map(|retry| backoff_delay(retry, base, max, 0)).collect();
    assert_eq!(
        lows,
        [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000].map(Duration::from_millis)
    );
    // Full randomness: the upper bound.
    let full = |retry| backoff_delay(retry, base, max, u64::MAX - 1);
    assert!(full(1) <= Duration::from_millis(500));
    assert!(full(1) >= Duration::from_millis(250));
    assert_eq!(backoff_delay(40, base, max, 0), Duration::from_secs(30));
    let jitter = Jitter::new(42);
    let delays: Vec<Duration> =
        (0..200).map(|_| backoff_delay(3, base, max, jitter.next_u64())).collect();
    assert!(
        delays.iter().all(
            |delay| (Duration::from_millis(1000)..=Duration::from_millis(2000)).contains(delay)
        )
    );
    let distinct: std::collections::HashSet<&Duration> = delays.iter().collect();
    assert!(distinct.len() > 150, "jitter spreads: {}", distinct.len());
}

#[test]
fn jitter_is_deterministic_per_seed() {
    let first: Vec<u64> = {
        let jitter = Jitter::new(7);
        (0..4).map(|_| jitter.next_u64()).collect()
    };
    let again: Vec<u64> = {
        let jitter = Jitter::new(7);
        (0..4).map(|_| jitter.next_u64()).collect()
    };
    assert_eq!(first, again);
    assert_eq!(first.len(), first.iter().collect::<std::collections::HashSet<_>>().len());
}

#[test]
fn links_must_point_at_the_graph_endpoint() {
    let config = crate::GraphConfig::from_toml_str(
        "tenant_id = \"t\"\nclient_id = \"c\"\nclient_secret = \"s\"\ngraph_endpoint = \"http://127.0.0.1:4000\"\n",
        &|_| None,
    )
    .expect("valid");
    let client = GraphClient::new(config, ClientOptions::new(|| 0)).expect("client");
    assert!(
        client.check_link("http://127.0.0.1:4000/v1.0/users/u/messages/delta?$skiptoken=1").is_ok()
    );
    let refused = |link: &str| client.check_link(link).map_err(|error| error.to_string()).err();
    assert_eq!(
        refused("http://127.0.0.1:4001/v1.0/x"),
        Some("a link from graph points outside the graph endpoint: http://127.0.0.1:4001".into())
    );
    assert_eq!(
        refused("https://evil.example/v1.0/x"),
        Some(
            "a link from graph points outside the graph endpoint: https://evil.example:443".into()
        )
    );
    assert_eq!(client.url("/users/u"), "http://127.0.0.1:4000/v1.0/users/u");
}
