//! Tests of RFC 5322 date-time parsing, including the obsolete forms of metrics.md §8.

use super::{parse_received, parse_rfc5322};

/// 2000-12-18T03:33:00Z.
const BASE: i64 = 977_110_380;

fn check(value: &str, expect: Option<i64>) {
    assert_eq!(parse_rfc5322(value.as_bytes()), expect, "parse_rfc5322({value:?})");
}

#[test]
fn standard_forms() {
    check("Mon, 18 Dec 2000 03:33:00 +0000", Some(BASE));
    check("Mon, 18 Dec 2000 03:33:00 -0800", Some(BASE + 8 * 3600));
    check("Mon, 18 Dec 2000 05:03:00 +0130", Some(BASE));
    check("18 Dec 2000 03:33:00 +0000", Some(BASE));
    check("Thu, 1 Jan 1970 00:00:00 +0000", Some(0));
    check("Wed, 31 Dec 1969 23:59:59 +0000", Some(-1));
    check("Tue, 29 Feb 2000 12:00:00 +0000", Some(951_825_600));
    check("Sat, 1 Jan 2000 00:00:00 +0000", Some(946_684_800));
}

#[test]
fn enron_form_with_zone_comment() {
    check("Mon, 18 Dec 2000 03:33:00 -0800 (PST)", Some(BASE + 8 * 3600));
}

#[test]
fn missing_seconds_and_leap_second() {
    check("Mon, 18 Dec 2000 03:33 +0000", Some(BASE));
    check("18 Dec 2000 03:33:60 +0000", Some(BASE + 60));
}

#[test]
fn extra_white_space_comments_and_folding() {
    check("  Mon ,  18   Dec\r\n 2000   03 : 33 : 00   +0000  ", Some(BASE));
    check("(sent) Mon, (day) 18 Dec (nested (c)) 2000 03:33:00 +0000 (UTC)", Some(BASE));
    check("Mon,18 Dec 2000 03:33:00 +0000", Some(BASE));
}

#[test]
fn two_and_three_digit_years() {
    check("18 Dec 00 03:33:00 +0000", Some(BASE));
    check("1 Jan 68 00:00:00 +0000", Some(3_092_601_600));
    check("1 Jan 69 00:00:00 +0000", Some(-31_536_000));
    check("1 Jan 99 00:00:00 +0000", Some(915_148_800));
    check("18 Dec 100 03:33:00 +0000", Some(BASE));
    // Four digits are taken as written, zero-padded or not (found by fuzzing).
    check("Wed, 17 May 0020 19:18:39 -0400", Some(-61_524_146_481));
    check("1 Jan 0000 00:00:00 +0000", Some(-62_167_219_200));
    check("1 Jan 5 00:00:00 +0000", None);
    check("1 Jan 20000 00:00:00 +0000", None);
}

#[test]
fn obsolete_zone_names() {
    for (zone, hours) in [
        ("UT", 0),
        ("GMT", 0),
        ("EST", -5),
        ("EDT", -4),
        ("CST", -6),
        ("CDT", -5),
        ("MST", -7),
        ("MDT", -6),
        ("PST", -8),
        ("PDT", -7),
        ("pst", -8),
    ] {
        check(&format!("Mon, 18 Dec 2000 03:33:00 {zone}"), Some(BASE - hours * 3600));
    }
}

#[test]
fn military_unknown_missing_and_negative_zero_zones_are_utc() {
    for zone in ["Z", "A", "M", "N", "Y", "z", "CET", "UTC", "-0000", "+0000", ""] {
        check(&format!("Mon, 18 Dec 2000 03:33:00 {zone}"), Some(BASE));
    }
    check("Mon, 18 Dec 2000 03:33:00 +9999", Some(BASE));
}

#[test]
fn colon_in_numeric_zone() {
    check("Mon, 18 Dec 2000 04:33:00 +01:00", Some(BASE));
}

#[test]
fn missing_or_wrong_weekday_is_ignored() {
    check("Fri, 18 Dec 2000 03:33:00 +0000", Some(BASE));
    check("Thurs, 18 Dec 2000 03:33:00 +0000", Some(BASE));
    check("Monday, 18 Dec 2000 03:33:00 +0000", Some(BASE));
    check("Monday 18 Dec 2000 03:33:00 +0000", Some(BASE));
    check(", 18 Dec 2000 03:33:00 +0000", Some(BASE));
}

#[test]
fn month_names_in_any_case() {
    check("18 dec 2000 03:33:00 +0000", Some(BASE));
    check("18 DECEMBER 2000 03:33:00 +0000", Some(BASE));
    check("18 Decem 2000 03:33:00 +0000", None);
}

#[test]
fn other_forms_are_unparseable() {
    for value in [
        "",
        "   ",
        "Whenever",
        "2000-12-18T03:33:00Z",
        "Mon Dec 18 03:33:00 2000",
        "Dec 18 2000 03:33:00 +0000",
        "12/18/2000 03:33:00",
        "18 Dec 2000",
        "18 Dec 2000 03",
        "18 Dec 2000 03:",
        "18 Dec 2000 24:00:00 +0000",
        "18 Dec 2000 03:60:00 +0000",
        "18 Dec 2000 03:33:61 +0000",
        "31 Nov 2000 03:33:00 +0000",
        "29 Feb 1900 03:33:00 +0000",
        "0 Dec 2000 03:33:00 +0000",
        "18 Foo 2000 03:33:00 +0000",
        "180 Dec 2000 03:33:00 +0000",
    ] {
        check(value, None);
    }
}

#[test]
fn eight_bit_garbage_never_panics() {
    check("\u{ff}\u{fe}(((", None);
    assert_eq!(parse_rfc5322(b"\xff\xfe 18 Dec 2000 03:33:00"), None);
    assert_eq!(parse_rfc5322(b"18 Dec 2000 03:33:00 +0000 \xff"), Some(BASE));
    assert_eq!(parse_rfc5322(b"(unclosed comment 18 Dec 2000 03:33:00"), None);
}

#[test]
fn received_takes_the_instant_after_the_last_semicolon() {
    assert_eq!(
        parse_received(b"from a.example (a [10.0.0.1]) by b.example; id 1;\r\n Mon, 18 Dec 2000 03:33:00 -0800"),
        Some(BASE + 8 * 3600)
    );
    assert_eq!(parse_received(b"from a by b; garbage"), None);
    assert_eq!(parse_received(b"from a by b 18 Dec 2000 03:33:00 +0000"), None);
}
