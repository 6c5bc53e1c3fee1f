use std::path::PathBuf;

use chrono::{NaiveTime, Weekday};

use super::*;

/// A valid configuration: two users, a contacts file and a source.
fn valid() -> EnrichmentConfig {
    let mut config = EnrichmentConfig::new(
        "Sales EMEA",
        PathBuf::from("/data/contacts.csv"),
        vec![PathBuf::from("/data/mail")],
    );
    config.users = vec!["alice@contoso.com".into(), "Bob <bob@contoso.com>".into()];
    config
}

/// Validates `config` and compares the problems with `expected` (empty: valid).
fn check(config: &EnrichmentConfig, expected: &[&str]) {
    let problems = config.validate().err().unwrap_or_default();
    assert_eq!(problems, expected);
}

fn time(text: &str) -> NaiveTime {
    NaiveTime::parse_from_str(text, "%H:%M").expect("test time")
}

#[test]
fn a_valid_configuration_passes() {
    check(&valid(), &[]);
}

#[test]
fn every_problem_is_listed_with_its_field() {
    let mut config = valid();
    config.name = String::new();
    config.output_table = "Office Table".into();
    config.users =
        vec!["alice@contoso.com".into(), "alice@contoso.com".into(), "".into(), "bob".into()];
    config.groups = vec![
        UserGroup {
            name: "Sales".into(),
            members: vec!["carol@contoso.com".into(), "not an address".into()],
        },
        UserGroup { name: "Sales".into(), members: vec!["dave@contoso.com".into()] },
        UserGroup { name: " ".into(), members: Vec::new() },
    ];
    config.customers.contacts = PathBuf::new();
    config.customers.contact_email_column = " ".into();
    config.customers.account_domains_columns = vec!["Domains".into()];
    config.sources = Vec::new();
    config.weights.insert("recency".into(), "abc".into());
    config.weights.insert("loudness".into(), "1".into());
    config.time_zone = Some("Europe/Atlantis".into());
    config.schedule.times =
        vec![time("01:00"), time("02:00"), time("03:00"), time("04:00"), time("02:00")];
    config.schedule.time_zone = "Moon/Base".into();
    check(
        &config,
        &[
            "name: the enrichment needs a name",
            "output_table: \"Office Table\": use 1 to 100 letters, digits, '_' and '-', not starting with '-'",
            "users[2]: \"\" is not an email address",
            "users[3]: \"bob\" is not an email address",
            "groups[\"Sales\"].members[1]: \"not an address\" is not an email address",
            "groups[\"Sales\"]: two groups have this name",
            "groups[2].name: a group needs a name",
            "groups[2].members: the group has no members",
            "customers.contacts: no contacts file",
            "customers.contact_email_column: the column name is empty",
            "customers.account_domains_columns: domain columns need customers.accounts",
            "sources: no activity sources: give at least one file or folder, or a Graph configuration",
            "weights.loudness: unknown weight \"loudness\": expected one of email_volume, meeting_volume, breadth, recency, initiative",
            "weights.recency: weight recency = \"abc\" is not a decimal number with at most 6 digits before and 18 after the point",
            "time_zone: \"Europe/Atlantis\" is not an IANA time zone name (like Europe/Berlin)",
            "schedule.times: 5 times of day; 1 to 4 are needed",
            "schedule.times[4]: 02:00 is listed twice",
            "schedule.time_zone: \"Moon/Base\" is not an IANA time zone name (like Europe/Berlin)",
        ],
    );
}

#[test]
fn names_are_checked() {
    let mut config = valid();
    config.name = "x".repeat(101);
    check(&config, &["name: 101 characters; at most 100 are allowed"]);
    config.name = "é".repeat(100);
    check(&config, &[]);
    config.name = " Sales".into();
    check(&config, &["name: \" Sales\" starts or ends with white space"]);
    config.name = "Sales\tEMEA".into();
    check(&config, &["name: \"Sales\\tEMEA\" holds a control character"]);
}

#[test]
fn output_tables_are_file_names() {
    let mut config = valid();
    for good in ["Office", "Office_2", "a-b", "X"] {
        config.output_table = good.into();
        check(&config, &[]);
    }
    for bad in ["", "-Office", "Office.csv", "Öffice", "a/b"] {
        config.output_table = bad.into();
        let problems = config.validate().err().unwrap_or_default();
        assert_eq!(problems.len(), 1, "{bad:?}");
        assert!(problems[0].starts_with("output_table: "), "{problems:?}");
    }
}

#[test]
fn user_counts_are_checked_without_a_users_file() {
    let mut config = valid();
    config.users = vec!["alice@contoso.com".into(), "ALICE@contoso.com".into()];
    check(
        &config,
        &["users: 1 org user after resolving groups and removing duplicates; 2 to 2500 are needed"],
    );
    config.users = Vec::new();
    check(
        &config,
        &[
            "users: 0 org users after resolving groups and removing duplicates; 2 to 2500 are needed",
        ],
    );
    // A users file may add the rest: the run checks the total.
    config.users_file = Some(PathBuf::from("/data/users.txt"));
    check(&config, &[]);
    config.users = (0..2501).map(|index| format!("user{index}@contoso.com")).collect();
    check(
        &config,
        &[
            "users: 2501 org users after resolving groups and removing duplicates; 2 to 2500 are needed",
        ],
    );
    config.users.pop();
    check(&config, &[]);
}

#[test]
fn groups_count_toward_the_users() {
    let mut config = valid();
    config.users = vec!["alice@contoso.com".into()];
    config.groups =
        vec![UserGroup { name: "Sales".into(), members: vec!["bob@contoso.com".into()] }];
    check(&config, &[]);
}

#[test]
fn weights_are_checked_as_the_engine_reads_them() {
    let mut config = valid();
    config.weights.insert("recency".into(), "0.5".into());
    config.weights.insert("initiative".into(), "1".into());
    check(&config, &[]);
    config.weights.insert("breadth".into(), "-0.25".into());
    check(&config, &["weights.breadth: the weight is negative (-0.25)"]);
    config.weights =
        Weights::FEATURES.iter().map(|feature| (feature.to_string(), "0".to_string())).collect();
    check(
        &config,
        &["weights: weights are all zero: at least one feature needs a positive weight"],
    );
}

#[test]
fn domain_matching_needs_account_domains() {
    let mut config = valid();
    config.match_domains = true;
    check(
        &config,
        &[
            "match_domains: domain matching needs customers.accounts with at least one customers.account_domains_columns",
        ],
    );
    config.customers.accounts = Some(PathBuf::from("/data/accounts.csv"));
    config.customers.account_domains_columns = vec!["Website".into()];
    check(&config, &[]);
    config.customers.accounts = Some(PathBuf::new());
    check(&config, &["customers.accounts: the path is empty"]);
}

#[test]
fn schedules_need_one_to_four_times() {
    let mut config = valid();
    config.schedule.times = Vec::new();
    check(&config, &["schedule.times: 0 times of day; 1 to 4 are needed"]);
    config.schedule.times = vec![time("00:00"), time("06:00"), time("12:00"), time("18:00")];
    check(&config, &[]);
}

#[test]
fn resolved_users_are_normalized_unique_and_in_order() {
    let mut config = valid();
    config.users = vec![
        "Bob <BOB@contoso.com>".into(),
        "alice@contoso.com".into(),
        "bad".into(),
        "'bob@contoso.com'".into(),
    ];
    config.groups = vec![
        UserGroup {
            name: "Sales".into(),
            members: vec![
                "carol@contoso.com".into(),
                "alice@CONTOSO.com".into(),
                "carol@contoso.com".into(),
            ],
        },
        UserGroup { name: "Support".into(), members: vec!["dave@contoso.com".into(), "x".into()] },
    ];
    assert_eq!(
        config.resolved_users(),
        ["bob@contoso.com", "alice@contoso.com", "carol@contoso.com", "dave@contoso.com"]
    );
    assert_eq!(config.group_counts(), [("Sales".to_string(), 2), ("Support".to_string(), 1)]);
}

#[test]
fn the_json_form_round_trips_and_fills_defaults() {
    let mut config = valid();
    config.schedule = Schedule {
        frequency: Frequency::Daily,
        weekday: Weekday::Thu,
        times: vec![time("02:30"), NaiveTime::from_hms_opt(23, 59, 30).expect("time")],
        time_zone: "Europe/Berlin".into(),
    };
    let json = serde_json::to_string(&config).expect("serialize");
    assert!(json.contains(r#""schedule":{"frequency":"Daily","weekday":"Thursday","times":["02:30","23:59:30"],"time_zone":"Europe/Berlin"}"#), "{json}");
    let read: EnrichmentConfig = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(read, config);

    let minimal: EnrichmentConfig = serde_json::from_str(
        r#"{"name": "Minimal", "customers": {"contacts": "/c.csv"}, "schedule": {"weekday": "tue"}}"#,
    )
    .expect("deserialize");
    assert_eq!(minimal.output_table, "Office");
    assert_eq!(minimal.customers.contact_email_column, "Email");
    assert_eq!(minimal.customers.contact_account_column, "AccountId");
    assert_eq!(minimal.customers.account_id_column, "AccountId");
    assert_eq!(minimal.schedule.frequency, Frequency::Weekly);
    assert_eq!(minimal.schedule.weekday, Weekday::Tue);
    assert_eq!(minimal.schedule.times, [time("02:00")]);
    assert_eq!(minimal.schedule.time_zone, "UTC");

    let unknown = serde_json::from_str::<EnrichmentConfig>(
        r#"{"name": "x", "customers": {"contacts": "/c.csv"}, "colour": "red"}"#,
    );
    assert!(unknown.is_err_and(|error| error.to_string().contains("unknown field `colour`")));
    let bad_time = serde_json::from_str::<EnrichmentConfig>(
        r#"{"name": "x", "customers": {"contacts": "/c.csv"}, "schedule": {"times": ["25:00"]}}"#,
    );
    assert!(
        bad_time.is_err_and(|error| error.to_string().contains("\"25:00\" is not a time of day"))
    );
}

#[test]
fn the_default_schedule_is_weekly_monday_at_two_utc() {
    let schedule = Schedule::default();
    assert_eq!(schedule.frequency, Frequency::Weekly);
    assert_eq!(schedule.weekday, Weekday::Mon);
    assert_eq!(schedule.times, [time("02:00")]);
    assert_eq!(schedule.time_zone, "UTC");
    assert_eq!(Frequency::Off.as_str(), "Off");
    assert_eq!(Frequency::Daily.as_str(), "Daily");
    assert_eq!(Frequency::Weekly.as_str(), "Weekly");
}

#[test]
fn a_graph_source_allows_group_lines_and_no_file_sources() {
    let mut config = valid();
    config.sources = Vec::new();
    config.users = vec!["group:All Staff".into(), "group:".into()];
    config.groups = Vec::new();
    assert_eq!(
        config.validate(),
        Err(vec![
            "users[0]: \"group:All Staff\" is not an email address".to_owned(),
            "users[1]: \"group:\" is not an email address".to_owned(),
            "users: 0 org users after resolving groups and removing duplicates; 2 to 2500 are needed"
                .to_owned(),
            "sources: no activity sources: give at least one file or folder, or a Graph configuration"
                .to_owned(),
        ])
    );
    config.graph_config = Some(PathBuf::from("/etc/rapport/graph.toml"));
    // The group resolves at the run; an empty group line is still no line.
    assert_eq!(
        config.validate(),
        Err(vec!["users[1]: \"group:\" is not an email address".to_owned()])
    );
    config.users.pop();
    assert_eq!(config.validate(), Ok(()));
    assert_eq!(config.user_lines(), ["group:All Staff"]);
}
