//! Tests of the Windows zone tables and name matching.

use std::collections::HashSet;

use chrono_tz::Tz;

use super::*;

#[test]
fn every_iana_target_is_known_to_chrono_tz() {
    for (windows_id, iana) in WINDOWS_TO_IANA.iter().chain(LEGACY_NAMES) {
        assert!(iana.parse::<Tz>().is_ok(), "{windows_id} -> {iana}");
    }
}

#[test]
fn every_display_place_names_a_known_windows_id() {
    for (place, windows_id) in DISPLAY_PLACES {
        assert!(iana_for_windows_id(windows_id).is_some(), "{place} -> {windows_id}");
    }
}

#[test]
fn windows_ids_and_places_are_unique_after_normalizing() {
    let mut seen = HashSet::new();
    for (windows_id, _) in WINDOWS_TO_IANA {
        assert!(seen.insert(normalize(windows_id)), "{windows_id}");
    }
    let mut places = HashSet::new();
    for (place, _) in DISPLAY_PLACES {
        assert!(places.insert(normalize(place)), "{place}");
    }
    assert!(WINDOWS_TO_IANA.len() >= 135, "{}", WINDOWS_TO_IANA.len());
    assert!(DISPLAY_PLACES.len() >= 140, "{}", DISPLAY_PLACES.len());
}

fn check(name: &str, expect: Option<&str>) {
    assert_eq!(lookup(name).map(|tz| tz.name()), expect, "{name}");
}

#[test]
fn windows_ids_map_through_cldr() {
    check("W. Europe Standard Time", Some("Europe/Berlin"));
    check("Pacific Standard Time", Some("America/Los_Angeles"));
    check("Tokyo Standard Time", Some("Asia/Tokyo"));
    check("Arabian Standard Time", Some("Asia/Dubai"));
    check("US Mountain Standard Time", Some("America/Phoenix"));
    check("UTC+12", Some("Etc/GMT-12"));
    check("  w. europe   standard time ", Some("Europe/Berlin"));
}

#[test]
fn display_names_map_to_their_windows_zone() {
    check("(UTC+07:00) Bangkok, Hanoi, Jakarta", Some("Asia/Bangkok"));
    check("(UTC+07:00) Bangkok\\, Hanoi\\, Jakarta", Some("Asia/Bangkok"));
    check("(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", Some("Europe/Berlin"));
    check("(UTC-05:00) Eastern Time (US & Canada)", Some("America/New_York"));
    check("(GMT+10:00) Canberra, Melbourne, Sydney", Some("Australia/Sydney"));
    check("(GMT-08:00) Pacific Time (US & Canada); Tijuana", Some("America/Los_Angeles"));
    check("Pacific Time (US & Canada), Tijuana", Some("America/Los_Angeles"));
    check("Kuala Lumpur, Singapore", Some("Asia/Singapore"));
    check("Canberra,Melbourne,  Sydney", Some("Australia/Sydney"));
    check("(UTC) Coordinated Universal Time", Some("Etc/UTC"));
}

#[test]
fn legacy_names_map() {
    check("Eastern", Some("America/New_York"));
    check("Western/Central Europe", Some("Europe/Berlin"));
}

#[test]
fn unknown_names_give_none_and_prefix_offsets_remain() {
    check("Customized Time Zone", None);
    check("(UTC+05:30) Somewhere Else", None);
    assert_eq!(display_offset("(UTC+05:30) Somewhere Else"), Some(19_800));
    assert_eq!(display_offset("(UTC-03:00) Brasília"), Some(-10_800));
    assert_eq!(display_offset("(GMT+10:00) Canberra"), Some(36_000));
    assert_eq!(display_offset("(UTC) Dublin"), Some(0));
    assert_eq!(display_offset("(UTC+7) X"), Some(25_200));
    assert_eq!(display_offset("UTC+07:00 X"), None);
    assert_eq!(display_offset("(UTC+99:00) X"), None);
    assert_eq!(display_offset("(CET) X"), None);
    assert_eq!(display_offset("("), None);
}
