//! Property tests of the engine over generated activity with a fixed `T` (STYLE.md §5):
//! the invariants of metrics.md §4 and §5 that hold for any input.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rapport_core::engine::{Engine, Enrichment, Options, Row};
use rapport_core::model::{
    Account, Contact, EmailCopy, MailRecord, MeetingCopy, OrgUser, SkipCounts,
};
use rapport_core::period::{self, Level};
use rapport_core::score::{self, Decimal, Weights};

/// `T` = 2001-12-31T00:00:00Z.
const AS_OF: i64 = 1_009_756_800;
const DAY: i64 = 86_400;

/// The address pool: org users, contacts of four accounts, an ambiguous contact, domain-only
/// matches and outsiders.
const ADDRESSES: [&str; 14] = [
    "u0@org.example",
    "u1@org.example",
    "u2@org.example",
    "u3@org.example",
    "a0@alpha.example",
    "a1@alpha.example",
    "b0@beta.example",
    "c0@gamma.example",
    "d0@delta.example",
    "both@x.example",
    "new@alpha.example",
    "new@beta.example",
    "o0@out.example",
    "noreply@out.example",
];

fn users() -> Vec<OrgUser> {
    ADDRESSES[..4]
        .iter()
        .map(|email| OrgUser { email: email.to_string(), directory_id: None })
        .collect()
}

fn accounts() -> Vec<Account> {
    ["Alpha", "Beta", "Gamma", "Delta"]
        .iter()
        .map(|name| Account {
            account_id: name.to_string(),
            domains: vec![format!("{}.example", name.to_lowercase())],
        })
        .collect()
}

fn contacts() -> Vec<Contact> {
    [
        ("a0@alpha.example", "Alpha"),
        ("a1@alpha.example", "Alpha"),
        ("b0@beta.example", "Beta"),
        ("c0@gamma.example", "Gamma"),
        ("d0@delta.example", "Delta"),
        ("both@x.example", "Alpha"),
        ("both@x.example", "Beta"),
    ]
    .iter()
    .map(|(email, account_id)| Contact {
        email: email.to_string(),
        account_id: account_id.to_string(),
    })
    .collect()
}

fn address() -> impl Strategy<Value = String> {
    (0..ADDRESSES.len()).prop_map(|index| ADDRESSES[index].to_string())
}

/// An instant from a few days before `W` to a few days after `T`, biased to whole hours so
/// that ties and fingerprint matches happen.
fn instant() -> impl Strategy<Value = i64> {
    let start = period::window(AS_OF).start;
    prop_oneof![
        4 => (-3i64..370, 0i64..24).prop_map(move |(day, hour)| start + day * DAY + hour * 3_600),
        1 => (-3 * DAY..370 * DAY).prop_map(move |offset| start + offset),
    ]
}

fn email() -> impl Strategy<Value = EmailCopy> {
    (
        proptest::option::weighted(0.6, (0u8..20).prop_map(|n| format!("m{n}@mail"))),
        proptest::option::weighted(0.97, instant()),
        proptest::option::weighted(0.9, address()),
        proptest::collection::vec(address(), 0..4),
        proptest::option::weighted(0.4, (0u8..20).prop_map(|n| format!("m{n}@mail"))),
        proptest::bool::weighted(0.05),
    )
        .prop_map(|(message_id, sent, sender, mut recipients, parent_id, automated)| {
            recipients.dedup();
            EmailCopy { message_id, sent, sender, recipients, parent_id, automated }
        })
}

fn meeting() -> impl Strategy<Value = MeetingCopy> {
    (
        proptest::option::weighted(0.7, 0u8..5),
        instant(),
        prop_oneof![4 => 0i64..180, 1 => 0i64..1_500],
        proptest::option::weighted(0.9, address()),
        proptest::collection::vec(address(), 0..4),
        proptest::bool::weighted(0.05),
        proptest::bool::weighted(0.05),
    )
        .prop_map(|(uid, start, minutes, organizer, participants, cancelled, all_day)| {
            MeetingCopy {
                key: uid.map(|uid| (format!("uid-{uid}"), start)),
                start,
                end: start + minutes * 60,
                organizer,
                participants,
                cancelled,
                all_day,
            }
        })
}

/// Activity inputs of one run.
#[derive(Clone, Debug)]
struct Inputs {
    emails: Vec<EmailCopy>,
    meetings: Vec<MeetingCopy>,
    match_domains: bool,
}

fn inputs() -> impl Strategy<Value = Inputs> {
    (
        proptest::collection::vec(email(), 0..60),
        proptest::collection::vec(meeting(), 0..25),
        any::<bool>(),
    )
        .prop_map(|(emails, meetings, match_domains)| Inputs {
            emails,
            meetings,
            match_domains,
        })
}

fn run(inputs: &Inputs, repeat: usize) -> Enrichment {
    let options = Options {
        as_of: AS_OF,
        match_domains: inputs.match_domains,
        extra_public_domains: Vec::new(),
        weights: Weights::default(),
        zone: None,
    };
    let mut engine =
        Engine::new(users(), accounts(), contacts(), options).expect("valid configuration");
    let window = engine.window();
    for _ in 0..repeat {
        for email in &inputs.emails {
            engine.push_mail(MailRecord::Email(email.clone()));
        }
    }
    // The calendar layer only hands over occurrences that start inside the window.
    let meetings: Vec<MeetingCopy> = (0..repeat)
        .flat_map(|_| {
            inputs.meetings.iter().filter(|meeting| window.contains(meeting.start)).cloned()
        })
        .collect();
    engine.push_meetings(meetings, SkipCounts::default());
    engine.finish()
}

fn counts(row: &Row) -> [u64; 4] {
    [
        row.n_emails_to_account,
        row.n_emails_from_account,
        row.n_meetings_from_account,
        row.n_meetings_to_account,
    ]
}

fn distinct_counts(row: &Row) -> [u64; 4] {
    [
        row.n_org_people_meetings,
        row.n_org_people_emails,
        row.n_account_people_meetings,
        row.n_account_people_emails,
    ]
}

fn sum_counts<'a>(rows: impl Iterator<Item = &'a Row>) -> [u64; 4] {
    rows.fold([0; 4], |mut sum, row| {
        for (total, value) in sum.iter_mut().zip(counts(row)) {
            *total += value;
        }
        sum
    })
}

/// Checks every per-account and per-group invariant of one enrichment.
fn check_invariants(enrichment: &Enrichment) -> Result<(), TestCaseError> {
    let mut by_account: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in &enrichment.rows {
        by_account.entry(row.account_id.as_str()).or_default().push(row);
    }
    for (account_id, rows) in &by_account {
        let of_level = |level: Level| rows.iter().copied().filter(move |row| row.level == level);
        let years: Vec<&Row> = of_level(Level::Year).collect();
        prop_assert_eq!(years.len(), 1, "{} has one Year row", account_id);
        prop_assert!(of_level(Level::Month).count() >= 1);
        prop_assert!(of_level(Level::Week).count() >= 1);
        let year = years[0];
        prop_assert_eq!(sum_counts(of_level(Level::Month)), counts(year));
        prop_assert_eq!(sum_counts(of_level(Level::Week)), counts(year));
        for row in rows {
            prop_assert!(
                counts(row).iter().any(|count| *count > 0),
                "a row needs a counted activity"
            );
            for (value, year_value) in distinct_counts(row).iter().zip(distinct_counts(year)) {
                prop_assert!(*value <= year_value);
            }
            prop_assert_eq!(row.engagement_start_date, year.engagement_start_date);
            prop_assert!(row.days_since_last_email.is_none_or(|days| days >= 0));
            prop_assert!(row.days_since_last_meeting.is_none_or(|days| days >= 0));
            prop_assert!(row.engagement_score <= 100);
            // Meetings are shorter than 24 h and replies have positive durations within the
            // window (a 12-month window is at most 366 days).
            prop_assert!(
                row.average_meeting_minutes
                    .is_none_or(|minutes| (0..=144_000).contains(&minutes.units()))
            );
            prop_assert!(
                row.average_reply_hours
                    .is_none_or(|hours| (0..=366 * 24 * 100).contains(&hours.units()))
            );
            prop_assert!(
                row.aggregation_start_date <= row.engagement_start_date || row.level != Level::Year
            );
        }
        for level in [Level::Month, Level::Week] {
            check_average_within(
                year.average_meeting_minutes,
                of_level(level).map(|row| row.average_meeting_minutes),
            )?;
            check_average_within(
                year.average_reply_hours,
                of_level(level).map(|row| row.average_reply_hours),
            )?;
        }
    }

    // A score is a function of its (level, period) group's feature values alone.
    let explanations = enrichment.explanations();
    prop_assert_eq!(explanations.len(), enrichment.rows.len());
    let mut groups: BTreeMap<(Level, chrono::NaiveDate), Vec<usize>> = BTreeMap::new();
    for (index, row) in enrichment.rows.iter().enumerate() {
        groups.entry((row.level, row.aggregation_start_date)).or_default().push(index);
    }
    for members in groups.values() {
        let values: Vec<[i64; 5]> = members
            .iter()
            .map(|index| explanations[*index].features.map(|feature| feature.value))
            .collect();
        let scored = score::score_group(&values, &Weights::default());
        for (index, result) in members.iter().zip(&scored) {
            prop_assert_eq!(enrichment.rows[*index].engagement_score, result.score);
            let explanation = &explanations[*index];
            prop_assert_eq!(explanation.engagement_score, result.score);
            for feature in &explanation.features {
                prop_assert_eq!(feature.accounts_compared, members.len() as u64 - 1);
            }
        }
        for (left_index, left) in values.iter().enumerate() {
            for (right_index, right) in values.iter().enumerate() {
                if left == right {
                    prop_assert_eq!(scored[left_index].score, scored[right_index].score);
                }
            }
        }
    }
    Ok(())
}

/// A mean lies between the smallest and largest of the (rounded) means of the parts it is made
/// of, since rounding is monotone; a part exists whenever the whole has a mean.
fn check_average_within(
    whole: Option<Decimal>,
    parts: impl Iterator<Item = Option<Decimal>>,
) -> Result<(), TestCaseError> {
    let parts: Vec<i128> = parts.flatten().map(|part| part.units()).collect();
    match whole {
        None => prop_assert!(parts.is_empty()),
        Some(whole) => {
            let low = parts.iter().min().copied();
            let high = parts.iter().max().copied();
            prop_assert!(low.is_some_and(|low| low <= whole.units()));
            prop_assert!(high.is_some_and(|high| whole.units() <= high));
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: 64, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn rows_are_consistent_across_levels(inputs in inputs()) {
        let enrichment = run(&inputs, 1);
        check_invariants(&enrichment)?;
        let summary = &enrichment.summary;
        prop_assert!(summary.emails_counted <= summary.emails_processed);
        prop_assert!(summary.meetings_counted <= summary.meetings_processed);
        prop_assert_eq!(summary.emails_seen, inputs.emails.len() as u64);
        prop_assert_eq!(
            summary.accounts_enriched,
            enrichment.rows.iter().filter(|row| row.level == Level::Year).count() as u64
        );
    }

    #[test]
    fn pushing_every_input_twice_changes_no_row(mut inputs in inputs()) {
        // Copies without a UID never merge (§8), so only keyed meetings are repeated here.
        for meeting in &mut inputs.meetings {
            if meeting.key.is_none() {
                meeting.key = Some(("keyless".to_string(), meeting.start));
            }
        }
        let once = run(&inputs, 1);
        let twice = run(&inputs, 2);
        prop_assert_eq!(&once.rows, &twice.rows);
        prop_assert_eq!(&once.explanations(), &twice.explanations());
        prop_assert_eq!(once.summary.emails_counted, twice.summary.emails_counted);
        prop_assert_eq!(once.summary.meetings_counted, twice.summary.meetings_counted);
    }

    #[test]
    fn equal_features_give_equal_scores(
        values in proptest::collection::vec(proptest::array::uniform5(-5i64..5), 1..8),
        copy_of in 0usize..8,
    ) {
        let mut values = values;
        let original = values[copy_of % values.len()];
        values.push(original);
        let scored = score::score_group(&values, &Weights::default());
        prop_assert_eq!(scored[copy_of % (values.len() - 1)].score, scored[values.len() - 1].score);
        for result in &scored {
            prop_assert!(result.score <= 100);
        }
    }

    #[test]
    fn raising_one_feature_never_lowers_the_score(
        values in proptest::collection::vec(proptest::array::uniform5(-5i64..5), 1..8),
        row in 0usize..8,
        feature in 0usize..5,
        raise in 1i64..5,
        weights in proptest::array::uniform5(0u32..1_000),
    ) {
        let mut custom = Weights::default();
        for (name, weight) in Weights::FEATURES.iter().zip(weights) {
            custom.set(name, &format!("{}.{:03}", weight / 1_000, weight % 1_000)).unwrap();
        }
        prop_assume!(custom.validate().is_ok());
        let row = row % values.len();
        let before = score::score_group(&values, &custom)[row].score;
        let mut raised = values.clone();
        raised[row][feature] += raise;
        let after = score::score_group(&raised, &custom)[row].score;
        prop_assert!(after >= before, "{before} → {after}");
    }

    #[test]
    fn a_score_depends_only_on_its_group(inputs in inputs(), extra_sent in instant()) {
        // One more email to Delta changes Delta's rows and the groups they are in (the Year, and
        // the month and week of the email); every other row keeps its score.
        let window = period::window(AS_OF);
        prop_assume!(window.contains(extra_sent));
        let before = run(&inputs, 1);
        let mut more = inputs.clone();
        more.emails.push(EmailCopy {
            message_id: Some("extra@mail".to_string()),
            sent: Some(extra_sent),
            sender: Some("u0@org.example".to_string()),
            recipients: vec!["d0@delta.example".to_string()],
            parent_id: None,
            automated: false,
        });
        let after = run(&more, 1);
        let periods = period::Periods::new(window, None);
        let touched: Vec<(Level, chrono::NaiveDate)> = Level::ALL
            .iter()
            .filter_map(|level| {
                let index = periods.index_of(*level, extra_sent)?;
                Some((*level, periods.of_level(*level)[index].start_date))
            })
            .collect();
        let key = |row: &Row| (row.account_id.clone(), row.level, row.aggregation_start_date);
        let after_scores: BTreeMap<_, u8> = after.rows.iter().map(|row| (key(row), row.engagement_score)).collect();
        for row in &before.rows {
            if row.account_id == "Delta" || touched.contains(&(row.level, row.aggregation_start_date)) {
                continue;
            }
            prop_assert_eq!(after_scores.get(&key(row)), Some(&row.engagement_score));
        }
    }
}
