//! Tests of query decoding, Prefer headers, filters and tokens.

use super::*;

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("a%20b+c%2Cd", true), "a b c,d");
    assert_eq!(percent_decode("a%20b+c", false), "a b+c");
    assert_eq!(percent_decode("100%", false), "100%");
    assert_eq!(percent_decode("%zz%4", false), "%zz%4");
    assert_eq!(percent_decode("%C3%A9", false), "é");
    assert_eq!(percent_decode("%FF", false), "\u{fffd}");
    let mut encoded = String::new();
    percent_encode("id,mail eq 'a@b'", &mut encoded);
    assert_eq!(encoded, "id%2Cmail%20eq%20%27a%40b%27");
    assert_eq!(percent_decode(&encoded, true), "id,mail eq 'a@b'");
}

#[test]
fn query_options_with_or_without_dollar() {
    let query = Query::parse(
        "%24select=id%2Cfrom&filter=receivedDateTime+ge+2025-03-01T00:00:00Z&$top=5&empty=&flag",
    );
    assert_eq!(query.get("$select"), Some("id,from"));
    assert_eq!(query.get("$SELECT"), Some("id,from"));
    assert_eq!(query.get("$filter"), Some("receivedDateTime ge 2025-03-01T00:00:00Z"));
    assert_eq!(query.get("top"), Some("5"));
    assert_eq!(query.get("empty"), Some(""));
    assert_eq!(query.get("flag"), Some(""));
    assert_eq!(query.get("$skiptoken"), None);
}

#[test]
fn prefer_headers_in_both_forms() {
    let separate = parse_prefer(["odata.maxpagesize=50", "outlook.timezone=\"UTC\""].into_iter());
    let joined = parse_prefer(["odata.maxpagesize=50, outlook.timezone=\"UTC\""].into_iter());
    let expect = Prefer { max_page_size: Some(50), time_zone: Some("UTC".into()) };
    assert_eq!(separate, expect);
    assert_eq!(joined, expect);
    assert_eq!(parse_prefer(["odata.maxpagesize=0"].into_iter()).max_page_size, None);
    assert_eq!(
        parse_prefer(["return=minimal", "odata.maxpagesize=x"].into_iter()),
        Prefer::default()
    );
}

#[test]
fn received_filter() {
    let march = crate::datetime::utc(2025, 3, 1, 0, 0, 0);
    assert_eq!(parse_received_filter("receivedDateTime ge 2025-03-01T00:00:00Z"), Some(march));
    assert_eq!(parse_received_filter("ReceivedDateTime GT 2025-03-01T00:00:00Z"), Some(march + 1));
    assert_eq!(parse_received_filter("receivedDateTime ge '2025-03-01T00:00:00Z'"), Some(march));
    assert_eq!(parse_received_filter("sentDateTime ge 2025-03-01T00:00:00Z"), None);
    assert_eq!(parse_received_filter("receivedDateTime le 2025-03-01T00:00:00Z"), None);
    assert_eq!(
        parse_received_filter("receivedDateTime ge 2025-03-01T00:00:00Z and isRead eq false"),
        None
    );
    assert_eq!(parse_received_filter("receivedDateTime ge soon"), None);
}

#[test]
fn eq_filter() {
    assert_eq!(
        parse_eq_filter("mail eq 'sales@contoso.example'"),
        Some(("mail".into(), "sales@contoso.example".into()))
    );
    assert_eq!(
        parse_eq_filter("displayName eq 'O''Brien team'"),
        Some(("displayName".into(), "O'Brien team".into()))
    );
    assert_eq!(parse_eq_filter("displayName  EQ  'x'"), Some(("displayName".into(), "x".into())));
    assert_eq!(parse_eq_filter("displayName eq 'a' or mail eq 'b'"), None);
    assert_eq!(parse_eq_filter("mail ne 'x'"), None);
    assert_eq!(parse_eq_filter("mail eq x"), None);
}

#[test]
fn tokens_round_trip_and_refuse_damage() {
    let token = encode_token(b'F', &[1, -2, i64::MAX, 0]);
    assert!(token.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
    assert_eq!(decode_token(&token, b'F', 4), Some(vec![1, -2, i64::MAX, 0]));
    assert_eq!(decode_token(&token, b'D', 4), None);
    assert_eq!(decode_token(&token, b'F', 3), None);
    let mut damaged = token.clone().into_bytes();
    damaged[5] = if damaged[5] == b'A' { b'B' } else { b'A' };
    assert_eq!(decode_token(&String::from_utf8(damaged).unwrap_or_default(), b'F', 4), None);
    assert_eq!(decode_token("not a token!", b'F', 4), None);
    assert_eq!(decode_token("", b'F', 0), None);
}
