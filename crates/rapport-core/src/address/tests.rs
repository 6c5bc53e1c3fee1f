//! Tests of address normalization and address-list parsing.

use super::{domain, normalize, parse_list};

fn check_normalize(raw: &str, expect: Option<&str>) {
    assert_eq!(normalize(raw).as_deref(), expect, "normalize({raw:?})");
}

fn check_list(value: &[u8], expect: &[&str]) {
    let mut out = Vec::new();
    parse_list(value, &mut out);
    assert_eq!(out, expect, "parse_list({:?})", String::from_utf8_lossy(value));
}

#[test]
fn normalize_spec_examples() {
    check_normalize("Alice@Contoso.COM", Some("alice@contoso.com"));
    check_normalize("'alice@contoso.com'", Some("alice@contoso.com"));
    check_normalize("\"Alice\" <alice@contoso.com>", Some("alice@contoso.com"));
}

#[test]
fn normalize_trims_each_end_independently() {
    check_normalize("  alice@contoso.com\t", Some("alice@contoso.com"));
    check_normalize("\"'alice@contoso.com", Some("alice@contoso.com"));
    check_normalize("alice@contoso.com' ", Some("alice@contoso.com"));
    check_normalize("< 'Bob@X.org' >", Some("bob@x.org"));
}

#[test]
fn normalize_last_angle_pair_wins() {
    check_normalize("a@x.org <b@y.org>", Some("b@y.org"));
    check_normalize("<a@x.org> <b@y.org>", Some("b@y.org"));
    check_normalize("Bob <bob@y.org", Some("bob@y.org"));
    check_normalize("\"a@b.c\" <d@e.f>", Some("d@e.f"));
}

#[test]
fn normalize_removes_comments() {
    check_normalize("alice@contoso.com (Alice Smith)", Some("alice@contoso.com"));
    check_normalize("(boss) alice@contoso.com", Some("alice@contoso.com"));
    check_normalize("alice(nested (comment))@contoso.com", Some("alice@contoso.com"));
}

#[test]
fn normalize_rejects_non_addresses() {
    check_normalize("", None);
    check_normalize("   ", None);
    check_normalize("alice", None);
    check_normalize("@contoso.com", None);
    check_normalize("alice@", None);
    check_normalize("a@b@c", None);
    check_normalize("alice smith@contoso.com", None);
    check_normalize("Alice <>", None);
    check_normalize("a@x.org, b@y.org", None);
    check_normalize("undisclosed-recipients:;", None);
    check_normalize("a\u{1}b@x.org", None);
    check_normalize("a\u{7f}b@x.org", None);
    check_normalize("a)b@x.org", None);
}

#[test]
fn normalize_keeps_other_printable_bytes() {
    check_normalize("a:b@x.org", Some("a:b@x.org"));
    check_normalize("o'brien@x.org", Some("o'brien@x.org"));
    check_normalize("a@[10.0.0.1]", Some("a@[10.0.0.1]"));
}

#[test]
fn normalize_lowercases_non_ascii() {
    check_normalize("JÖRG@Müller.DE", Some("jörg@müller.de"));
}

#[test]
fn list_plain_and_display_names() {
    check_list(b"a@x.org", &["a@x.org"]);
    check_list(b"A@X.org, b@Y.org", &["a@x.org", "b@y.org"]);
    check_list(b"Alice <alice@x.org>, \"Bob\" <BOB@y.org>", &["alice@x.org", "bob@y.org"]);
    check_list(b"", &[]);
    check_list(b" , ,, ", &[]);
}

#[test]
fn list_quoted_display_names_with_specials() {
    check_list(
        b"\"Smith, John <boss@evil.org>\" <john@x.org>, \"a@b.c\" <d@e.f>",
        &["john@x.org", "d@e.f"],
    );
    check_list(b"\"Quote \\\" inside, still\" <q@x.org>", &["q@x.org"]);
}

#[test]
fn list_unquoted_comma_in_display_name_drops_only_the_name() {
    check_list(b"Smith, John <john@x.org>", &["john@x.org"]);
}

#[test]
fn list_group_syntax() {
    check_list(b"undisclosed-recipients:;", &[]);
    check_list(b"Undisclosed recipients: ;", &[]);
    check_list(b"Team: a@x.org, B <b@x.org>; c@y.org", &["a@x.org", "b@x.org", "c@y.org"]);
    check_list(b"Empty:;, d@y.org", &["d@y.org"]);
}

#[test]
fn list_comments() {
    check_list(b"a@x.org (Alice, from <there>), b@y.org", &["a@x.org", "b@y.org"]);
    check_list(b"(lead) <c@z.org> (trail)", &["c@z.org"]);
    check_list(b"d(inner)@z.org", &["d@z.org"]);
    check_list(b"(unclosed a@x.org", &[]);
}

#[test]
fn list_folded_values() {
    check_list(
        b" Alice <a@x.org>,\r\n\tBob\r\n <b@y.org>,\n c@z.org\r\n",
        &["a@x.org", "b@y.org", "c@z.org"],
    );
}

#[test]
fn list_encoded_words_and_8bit() {
    check_list(b"=?utf-8?Q?J=C3=B6rg?= <joerg@x.org>", &["joerg@x.org"]);
    check_list(b"J\xf6rg M\xfcller <JM@x.org>, \xff\xfe", &["jm@x.org"]);
    check_list(b"\xe9t\xe9@x.org", &["\u{fffd}t\u{fffd}@x.org"]);
}

#[test]
fn list_missing_commas_between_angle_entries() {
    check_list(b"<a@x.org> <b@y.org>", &["a@x.org", "b@y.org"]);
    check_list(b"Alice <a@x.org> Bob <b@y.org>", &["a@x.org", "b@y.org"]);
}

#[test]
fn list_obsolete_route_and_domain_literal() {
    check_list(b"<@relay1.org,@relay2.org:a@x.org>", &["a@x.org"]);
    check_list(b"a@[192.168.0.1], b@y.org", &["a@[192.168.0.1]", "b@y.org"]);
}

#[test]
fn list_skips_invalid_entries() {
    check_list(
        b"john smith, <>, a@b@c, @x.org, y@, 'q@x.org', e-mail <.jane@enron.com>",
        &["q@x.org", ".jane@enron.com"],
    );
    check_list(b"<unclosed@x.org", &["unclosed@x.org"]);
}

#[test]
fn domain_is_the_part_after_at() {
    assert_eq!(domain("alice@contoso.com"), "contoso.com");
    assert_eq!(domain("alice@"), "");
    assert_eq!(domain("alice"), "");
}
