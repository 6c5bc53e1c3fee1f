use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, Weekday};
use rapport_core::calendar::{
    CalendarFile, CustomZone, Event, EventComponent, EventGroup, Frequency, Length,
    NominalDuration, Observance, RecurrenceDate, RecurrenceRule, Start, TimeValue, Until,
    WeekdayNumber, Zone,
};
use rapport_ingest::ics::parse_ics;

use super::{FORMAT_VERSION, decode, encode, is_calendar_blob, n_components};
use crate::ledger::{self, DecodeError};
use crate::pseudonym::{Key, PseudonymCache, Pseudonymizer};

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("local time")
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// Every `.ics` of the golden cases and, when present, of the shared calendar corpus.
fn corpus() -> Vec<PathBuf> {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rapport-core/test_data");
    let mut paths = Vec::new();
    for case in fs::read_dir(&golden).expect("test data") {
        let input = case.expect("case").path().join("input");
        let Ok(entries) = fs::read_dir(&input) else { continue };
        paths.extend(entries.map(|entry| entry.expect("entry").path()));
    }
    // ../shared beside the repository, as CI lays it out (the golden cases always run).
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ical");
    if let Ok(entries) = fs::read_dir(shared) {
        paths.extend(entries.map(|entry| entry.expect("entry").path()));
    }
    paths.retain(|path| path.extension().is_some_and(|extension| extension == "ics"));
    paths.sort();
    paths
}

fn pseudonymizer() -> Pseudonymizer {
    Pseudonymizer::new(&Key::from_bytes([7; 32]))
}

/// What the corpus holds, so the round trip is known to cover every shape of the model.
#[derive(Debug, Default)]
struct Shapes {
    unparseable: usize,
    invalid_date: usize,
    no_uid: usize,
    date_starts: usize,
    utc: usize,
    iana: usize,
    custom: usize,
    nominal: usize,
    rules: usize,
    until: usize,
    by_day_ordinal: usize,
    dates: usize,
    exception_dates: usize,
    recurrence_ids: usize,
    stamps: usize,
    organizers: usize,
    participants: usize,
    cancelled: usize,
    all_day: usize,
    methods: usize,
}

impl Shapes {
    fn add(&mut self, file: &CalendarFile) {
        self.methods += usize::from(file.method.is_some());
        for group in &file.groups {
            self.no_uid += usize::from(group.uid.is_none());
            for component in &group.components {
                let event = match component {
                    EventComponent::Unparseable => {
                        self.unparseable += 1;
                        continue;
                    }
                    EventComponent::InvalidDate => {
                        self.invalid_date += 1;
                        continue;
                    }
                    EventComponent::Event(event) => event,
                };
                match &event.start {
                    Start::Date(_) => self.date_starts += 1,
                    Start::DateTime { zone: Zone::Utc, .. } => self.utc += 1,
                    Start::DateTime { zone: Zone::Iana(_), .. } => self.iana += 1,
                    // Fixed offsets come only from Outlook display names that are not in the
                    // zone list; the hand-built calendar below covers them.
                    Start::DateTime { zone: Zone::Fixed(_), .. } => {}
                    Start::DateTime { zone: Zone::Custom(_), .. } => self.custom += 1,
                }
                self.nominal += usize::from(matches!(event.length, Length::Nominal(_)));
                self.rules += event.rules.len();
                self.until += event.rules.iter().filter(|rule| rule.until.is_some()).count();
                self.by_day_ordinal += event
                    .rules
                    .iter()
                    .flat_map(|rule| &rule.by_day)
                    .filter(|day| day.ordinal != 0)
                    .count();
                self.dates += event.dates.len();
                self.exception_dates += event.exception_dates.len();
                self.recurrence_ids += usize::from(event.recurrence_id.is_some());
                self.stamps += usize::from(event.stamp.is_some());
                self.organizers += usize::from(event.organizer.is_some());
                self.participants += event.participants.len();
                self.cancelled += usize::from(event.cancelled);
                self.all_day += usize::from(event.all_day);
            }
        }
    }
}

#[test]
fn every_calendar_of_the_corpus_round_trips_pseudonymised() {
    let pseudonymizer = pseudonymizer();
    let mut cache = PseudonymCache::default();
    let mut shapes = Shapes::default();
    let paths = corpus();
    for path in &paths {
        let bytes = fs::read(path).expect("calendar");
        let parsed = parse_ics(&bytes);
        shapes.add(&parsed);
        // The codec round-trips any calendar, pseudonymised or not.
        assert_eq!(decode(&encode(&parsed)).as_ref(), Ok(&parsed), "{}", path.display());
        let mut kept = parsed.clone();
        pseudonymizer.calendar_file(&mut kept, &mut cache);
        let blob = encode(&kept);
        assert!(is_calendar_blob(&blob));
        assert_eq!(decode(&blob).as_ref(), Ok(&kept), "{}", path.display());
        assert_eq!(n_components(&kept), n_components(&parsed));
        // Nothing of a UID, and no local part of an address, is left in the BLOB.
        for group in &parsed.groups {
            if let Some(uid) = &group.uid {
                assert!(!contains(&blob, uid.as_bytes()), "{}: uid {uid}", path.display());
            }
            for component in &group.components {
                let EventComponent::Event(event) = component else { continue };
                for address in event.organizer.iter().chain(&event.participants) {
                    let local_part = address.rsplit_once('@').map_or(address.as_str(), |(l, _)| l);
                    if local_part.len() >= 4 {
                        assert!(
                            !contains(&blob, address.as_bytes()),
                            "{}: {address}",
                            path.display()
                        );
                    }
                }
            }
        }
    }
    assert!(paths.len() >= 13, "only {} calendars", paths.len());
    // Every shape of the model occurs at least once among the golden cases' and corpus' files.
    let Shapes {
        unparseable,
        invalid_date,
        no_uid,
        date_starts,
        utc,
        iana,
        custom,
        nominal,
        rules,
        until,
        by_day_ordinal,
        dates,
        exception_dates,
        recurrence_ids,
        stamps,
        organizers,
        participants,
        cancelled,
        all_day,
        methods,
    } = shapes;
    for (name, count) in [
        ("unparseable", unparseable),
        ("invalid_date", invalid_date),
        ("no_uid", no_uid),
        ("date_starts", date_starts),
        ("utc", utc),
        ("iana", iana),
        ("custom", custom),
        ("nominal", nominal),
        ("rules", rules),
        ("until", until),
        ("by_day_ordinal", by_day_ordinal),
        ("dates", dates),
        ("exception_dates", exception_dates),
        ("recurrence_ids", recurrence_ids),
        ("stamps", stamps),
        ("organizers", organizers),
        ("participants", participants),
        ("cancelled", cancelled),
        ("all_day", all_day),
        ("methods", methods),
    ] {
        assert!(count > 0, "no {name} in the corpus");
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

/// A rule with every part set.
fn full_rule() -> RecurrenceRule {
    RecurrenceRule {
        frequency: Frequency::Yearly,
        interval: 300,
        count: Some(u32::MAX),
        until: Some(Until::Local(local("2030-12-31 23:59:59"))),
        by_second: vec![0, 59],
        by_minute: vec![0, 30, 59],
        by_hour: vec![0, 23],
        by_day: vec![
            WeekdayNumber { ordinal: 0, weekday: Weekday::Mon },
            WeekdayNumber { ordinal: -53, weekday: Weekday::Sun },
            WeekdayNumber { ordinal: 53, weekday: Weekday::Sat },
        ],
        by_month_day: vec![1, -31, 31],
        by_year_day: vec![-366, 366],
        by_week_number: vec![-53, 1],
        by_month: vec![1, 12],
        by_set_position: vec![-1, 366],
        week_start: Weekday::Sun,
    }
}

/// A readable event: one hour from 2024-03-04 09:00 in `zone`, by and with the given people.
fn event(zone: Zone, organizer: Option<&str>, participants: &[&str]) -> Event {
    Event {
        recurrence_id: None,
        sequence: 0,
        stamp: None,
        start: Start::DateTime { local: local("2024-03-04 09:00:00"), zone },
        length: Length::Exact(3600),
        rules: Vec::new(),
        dates: Vec::new(),
        exception_dates: Vec::new(),
        organizer: organizer.map(str::to_owned),
        participants: participants.iter().map(|participant| (*participant).to_owned()).collect(),
        cancelled: false,
        all_day: false,
    }
}

/// A calendar with every shape the model has, including values no parser gives (nanoseconds,
/// extreme numbers), and two events sharing one custom zone.
fn every_shape() -> CalendarFile {
    let custom = Arc::new(CustomZone::new(
        "Customized Time Zone".to_owned(),
        &[
            Observance {
                start: local("1601-01-01 02:00:00"),
                offset_from: -4 * 3600,
                offset_to: -5 * 3600,
                rules: vec![
                    RecurrenceRule::parse("FREQ=YEARLY;BYDAY=1SU;BYMONTH=11").expect("rule"),
                ],
                dates: Vec::new(),
            },
            Observance {
                start: local("1601-01-01 02:00:00"),
                offset_from: -5 * 3600,
                offset_to: -4 * 3600,
                rules: vec![
                    RecurrenceRule::parse("FREQ=YEARLY;BYDAY=2SU;BYMONTH=3").expect("rule"),
                ],
                dates: vec![local("1999-01-01 00:00:00")],
            },
        ],
    ));
    let mut master = event(
        Zone::Custom(custom.clone()),
        Some("porganizer@contoso.com"),
        &["pone@fabrikam.example", "ptwo@fabrikam.example", "porganizer@contoso.com"],
    );
    master.sequence = -7;
    master.stamp = Some(i64::MIN);
    master.length = Length::Nominal(NominalDuration { days: -2, seconds: i64::MAX });
    master.rules = vec![
        full_rule(),
        RecurrenceRule {
            until: Some(Until::Utc(-1)),
            ..RecurrenceRule::parse("FREQ=SECONDLY").expect("rule")
        },
        RecurrenceRule {
            until: Some(Until::Date(date("2024-12-31"))),
            ..RecurrenceRule::parse("FREQ=MINUTELY;INTERVAL=15").expect("rule")
        },
        RecurrenceRule::parse("FREQ=HOURLY").expect("rule"),
        RecurrenceRule::parse("FREQ=DAILY").expect("rule"),
        RecurrenceRule::parse("FREQ=WEEKLY;WKST=TH").expect("rule"),
        RecurrenceRule::parse("FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU").expect("rule"),
    ];
    master.dates = vec![
        RecurrenceDate { at: TimeValue::Instant(1_709_542_800), period_seconds: None },
        RecurrenceDate { at: TimeValue::Date(date("2024-03-09")), period_seconds: Some(-5) },
        RecurrenceDate { at: TimeValue::Instant(i64::MAX), period_seconds: Some(i64::MIN) },
    ];
    master.exception_dates =
        vec![TimeValue::Date(date("2024-03-11")), TimeValue::Instant(1_710_147_600)];
    let mut overridden = event(Zone::Custom(custom), None, &["pone@fabrikam.example"]);
    overridden.recurrence_id = Some(TimeValue::Date(date("2024-03-18")));
    overridden.sequence = i64::MAX;
    overridden.stamp = Some(1_700_000_000);
    overridden.cancelled = true;
    let mut nanoseconds = event(Zone::Iana(chrono_tz::America::New_York), None, &[]);
    nanoseconds.start = Start::DateTime {
        local: local("2024-03-04 09:00:00") + chrono::TimeDelta::nanoseconds(123_456_789),
        zone: Zone::Iana(chrono_tz::Etc::GMTPlus5),
    };
    let mut all_day = event(Zone::Utc, Some("pone@fabrikam.example"), &[]);
    all_day.start = Start::Date(date("-0044-03-15"));
    all_day.length = Length::Nominal(NominalDuration { days: 1, seconds: 0 });
    all_day.all_day = true;
    CalendarFile {
        method: Some("REQUEST".into()),
        groups: vec![
            EventGroup {
                uid: Some("0123456789abcdef0123456789abcdef".into()),
                components: vec![
                    EventComponent::Event(Box::new(master)),
                    EventComponent::Event(Box::new(overridden)),
                    EventComponent::Unparseable,
                ],
            },
            EventGroup {
                uid: Some("not a pseudonym: 040000008200E00074C5B7101A82E008".into()),
                components: vec![
                    EventComponent::InvalidDate,
                    EventComponent::Event(Box::new(nanoseconds)),
                ],
            },
            EventGroup {
                uid: None,
                components: vec![
                    EventComponent::Event(Box::new(all_day)),
                    EventComponent::Event(Box::new(event(
                        Zone::Fixed(-(9 * 3600 + 30 * 60)),
                        None,
                        &[],
                    ))),
                    EventComponent::Event(Box::new(event(Zone::Fixed(i32::MIN), None, &[]))),
                ],
            },
            EventGroup { uid: Some(String::new()), components: Vec::new() },
        ],
    }
}

#[test]
fn every_shape_round_trips_and_one_custom_zone_is_kept_once() {
    let file = every_shape();
    let blob = encode(&file);
    let decoded = decode(&blob).expect("decode");
    assert_eq!(decoded, file);
    assert_eq!(n_components(&file), 8);
    // The two events of the custom zone share one decoded zone, as they shared one parsed zone.
    let zones: Vec<&Arc<CustomZone>> = decoded.groups[0]
        .components
        .iter()
        .filter_map(|component| match component {
            EventComponent::Event(event) => match &event.start {
                Start::DateTime { zone: Zone::Custom(zone), .. } => Some(zone),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(zones.len(), 2);
    assert!(Arc::ptr_eq(zones[0], zones[1]));
    // The zone's name is kept once, and each address once.
    let count =
        |needle: &[u8]| blob.windows(needle.len()).filter(|window| *window == needle).count();
    assert_eq!(count(b"Customized Time Zone"), 1);
    assert_eq!(count(b"pone@fabrikam.example"), 1);
    assert_eq!(count(b"America/New_York"), 0, "only zones in use are named");
    assert_eq!(count(b"Etc/GMT+5"), 1);
    // An empty calendar without method: four zero counts after the format byte.
    assert_eq!(encode(&CalendarFile::default()), vec![FORMAT_VERSION, 0, 0, 0, 0]);
    assert_eq!(decode(&[FORMAT_VERSION, 0, 0, 0, 0]), Ok(CalendarFile::default()));
}

#[test]
fn a_small_invitation_is_encoded_compactly() {
    let mut invitation = event(
        Zone::Iana(chrono_tz::Europe::Paris),
        Some("porganizer@contoso.com"),
        &["pone@fabrikam.example"],
    );
    invitation.rules = vec![RecurrenceRule::parse("FREQ=WEEKLY;BYDAY=MO;COUNT=10").expect("rule")];
    let file = CalendarFile {
        method: Some("REQUEST".into()),
        groups: vec![EventGroup {
            uid: Some("0123456789abcdef0123456789abcdef".into()),
            components: vec![EventComponent::Event(Box::new(invitation))],
        }],
    };
    let blob = encode(&file);
    assert_eq!(decode(&blob), Ok(file));
    #[rustfmt::skip]
    let expected: Vec<u8> = [
        &[FORMAT_VERSION, 8][..], b"REQUEST",
        // The strings, in first use: the start's zone comes before the people.
        &[3, 12], b"Europe/Paris", &[22], b"porganizer@contoso.com", &[21], b"pone@fabrikam.example",
        &[0],                                          // no custom zone
        &[1, 1, 0],                                    // one group, its UID packed
        &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef],
        &[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef],
        &[1],                                          // one component
        &[0x10, 0],                                    // organizer flag, sequence 0
        &[1, 1, 0],                                    // date-time start in "Europe/Paris"
        &[160, 182, 172, 222, 12, 0],                  // zigzag(1709542800), no nanoseconds
        &[0, 0xa0, 0x38],                              // exact zigzag(3600)
        &[1, 4, 1, 11, 8, 1, 0],                       // WEEKLY, interval 1, count 10, BYDAY=MO
        &[0, 0, 1, 1, 2],                              // no dates, organizer, one participant
    ]
    .concat();
    assert_eq!(blob, expected);
}

#[test]
fn another_format_and_every_damage_are_refused_without_panic() {
    assert_eq!(decode(&[]), Err(DecodeError::CalendarFormat { found: None }));
    assert_eq!(
        decode(&[ledger::FORMAT_VERSION]),
        Err(DecodeError::CalendarFormat { found: Some(1) })
    );
    let blob = encode(&every_shape());
    // A mail BLOB is never taken for a calendar, nor a calendar for mail.
    assert!(!is_calendar_blob(&ledger::new_blob()));
    assert!(matches!(
        ledger::decode(&blob),
        Err(DecodeError::Format { found: Some(FORMAT_VERSION) })
    ));
    for length in 1..blob.len() {
        let outcome = decode(&blob[..length]);
        assert!(matches!(outcome, Err(DecodeError::Damaged { .. })), "{length}: {outcome:?}");
    }
    let mut longer = blob.clone();
    longer.push(0);
    assert!(matches!(decode(&longer), Err(DecodeError::Damaged { .. })));
    // Any one byte changed either decodes to some calendar or is refused; it never panics.
    for position in 1..blob.len() {
        for value in [0x00, 0x01, 0x02, 0x03, 0x07, 0x3f, 0x7f, 0x80, 0xff] {
            let mut damaged = blob.clone();
            damaged[position] = value;
            let _ = decode(&damaged);
        }
    }
}
