use chrono::NaiveDateTime;

use super::*;
use crate::model::EmailCopy;
use crate::output;

/// `T` of most tests; `W` is then 2000-12-31T00:00Z.
const AS_OF: &str = "2001-12-31T00:00";

fn at(text: &str) -> i64 {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .map(|naive| naive.and_utc().timestamp())
        .unwrap()
}

fn users() -> Vec<OrgUser> {
    ["ann@acme.example", "bob@acme.example", "cat@acme.example"]
        .iter()
        .map(|email| OrgUser { email: email.to_string(), directory_id: None })
        .collect()
}

fn accounts() -> Vec<Account> {
    let account = |account_id: &str, domains: &[&str]| Account {
        account_id: account_id.to_string(),
        domains: domains.iter().map(|domain| domain.to_string()).collect(),
    };
    vec![
        account("Alpha", &["alpha.example"]),
        account("Beta", &["beta.example"]),
        account("Gamma", &["shared.example"]),
        account(
            "Delta",
            &["delta.example", "shared.example", "acme.example", "gmail.com", "yahoo.co.uk"],
        ),
    ]
}

fn contacts() -> Vec<Contact> {
    let contact = |email: &str, account_id: &str| Contact {
        email: email.to_string(),
        account_id: account_id.to_string(),
    };
    vec![
        contact("jo@alpha.example", "Alpha"),
        contact("kim@alpha.example", "Alpha"),
        contact("pat@beta.example", "Beta"),
        contact("lee@gamma.example", "Gamma"),
        contact("both@x.example", "Alpha"),
        contact("both@x.example", "Beta"),
        contact("ann@acme.example", "Gamma"),
    ]
}

fn options() -> Options {
    Options {
        as_of: at(AS_OF),
        match_domains: false,
        extra_public_domains: Vec::new(),
        weights: Weights::default(),
        zone: None,
    }
}

/// An email copy builder: `mail(sent, from, to)` then optional `.id()`, `.parent()`, `.automated()`.
fn mail(sent: &str, sender: &str, recipients: &[&str]) -> EmailCopy {
    EmailCopy {
        message_id: None,
        sent: Some(at(sent)),
        sender: (!sender.is_empty()).then(|| sender.to_string()),
        recipients: recipients.iter().map(|recipient| recipient.to_string()).collect(),
        parent_id: None,
        automated: false,
    }
}

trait EmailCopyExt {
    fn id(self, id: &str) -> EmailCopy;
    fn parent(self, id: &str) -> EmailCopy;
    fn automated(self) -> EmailCopy;
}

impl EmailCopyExt for EmailCopy {
    fn id(mut self, id: &str) -> EmailCopy {
        self.message_id = Some(id.to_string());
        self
    }
    fn parent(mut self, id: &str) -> EmailCopy {
        self.parent_id = Some(id.to_string());
        self
    }
    fn automated(mut self) -> EmailCopy {
        self.automated = true;
        self
    }
}

fn meeting(
    key: Option<&str>,
    start: &str,
    minutes: i64,
    organizer: &str,
    participants: &[&str],
) -> MeetingCopy {
    let start = at(start);
    MeetingCopy {
        key: key.map(|uid| (uid.to_string(), start)),
        start,
        end: start + minutes * 60,
        organizer: (!organizer.is_empty()).then(|| organizer.to_string()),
        participants: participants.iter().map(|participant| participant.to_string()).collect(),
        cancelled: false,
        all_day: false,
    }
}

fn run_with(options: Options, emails: Vec<EmailCopy>, meetings: Vec<MeetingCopy>) -> Enrichment {
    let mut engine = Engine::new(users(), accounts(), contacts(), options).unwrap();
    for email in emails {
        engine.push_mail(MailRecord::Email(email));
    }
    engine.push_meetings(meetings, SkipCounts::default());
    engine.finish()
}

fn run(emails: Vec<EmailCopy>, meetings: Vec<MeetingCopy>) -> Enrichment {
    run_with(options(), emails, meetings)
}

/// The enriched table as CSV lines, without the header.
fn table(enrichment: &Enrichment) -> Vec<String> {
    let mut bytes = Vec::new();
    output::write_rows_csv(&enrichment.rows, &mut bytes).unwrap();
    String::from_utf8(bytes).unwrap().lines().skip(1).map(str::to_string).collect()
}

/// The rows of one level, as CSV lines.
fn level_rows(enrichment: &Enrichment, level: &str) -> Vec<String> {
    table(enrichment).into_iter().filter(|line| line.ends_with(&format!(",{level}"))).collect()
}

fn skips(counts: &SkipCounts) -> Vec<(&'static str, u64)> {
    SkipReason::ALL
        .iter()
        .filter(|reason| counts.get(**reason) > 0)
        .map(|reason| (reason.as_str(), counts.get(*reason)))
        .collect()
}

#[test]
fn user_count_must_be_between_2_and_2500() {
    let one = vec![OrgUser { email: "ann@acme.example".to_string(), directory_id: None }; 3];
    let error = Engine::new(one, Vec::new(), Vec::new(), options()).unwrap_err();
    assert_eq!(error, ConfigError::UserCount(1));
    assert_eq!(error.to_string(), "1 org users resolved: between 2 and 2500 are needed");
    let many: Vec<OrgUser> = (0..2501)
        .map(|n| OrgUser { email: format!("u{n}@acme.example"), directory_id: None })
        .collect();
    let error = Engine::new(many, Vec::new(), Vec::new(), options()).unwrap_err();
    assert_eq!(error.to_string(), "2501 org users resolved: between 2 and 2500 are needed");
    let exactly: Vec<OrgUser> = (0..2500)
        .map(|n| OrgUser { email: format!("u{n}@acme.example"), directory_id: None })
        .collect();
    assert!(Engine::new(exactly, Vec::new(), Vec::new(), options()).is_ok());
}

#[test]
fn invalid_weights_are_a_config_error() {
    let mut options = options();
    options.weights.set("breadth", "-1").unwrap();
    let error = Engine::new(users(), Vec::new(), Vec::new(), options).unwrap_err();
    assert_eq!(error.to_string(), "invalid weights: weight breadth is negative (-1)");
}

#[test]
fn users_are_deduplicated_with_the_first_directory_id_and_sorted() {
    let user = |email: &str, directory_id: Option<&str>| OrgUser {
        email: email.to_string(),
        directory_id: directory_id.map(str::to_string),
    };
    let given = vec![
        user("zed@acme.example", None),
        user("ann@acme.example", Some("  ")),
        user("zed@acme.example", Some("id-z1")),
        user("ann@acme.example", Some("id-a1")),
        user("zed@acme.example", Some("id-z2")),
        user("", Some("id-empty")),
    ];
    let enrichment = Engine::new(given, Vec::new(), Vec::new(), options()).unwrap().finish();
    assert_eq!(
        enrichment.users,
        vec![user("ann@acme.example", Some("id-a1")), user("zed@acme.example", Some("id-z1"))]
    );
    assert_eq!(enrichment.summary.users_selected, 2);
}

#[test]
fn both_directions_several_accounts_and_people_involved() {
    let enrichment = run(
        vec![
            // To Alpha; bob on Cc is an org person in the conversation.
            mail(
                "2001-03-05T10:00",
                "ann@acme.example",
                &["jo@alpha.example", "kim@alpha.example", "bob@acme.example"],
            ),
            // From Alpha; pat (Beta) is named but an email from a contact is never *to* an account.
            mail(
                "2001-03-06T12:00",
                "jo@alpha.example",
                &["ann@acme.example", "pat@beta.example", "x@out.example"],
            ),
            // To Alpha and to Beta at once.
            mail("2001-03-07T09:00", "bob@acme.example", &["jo@alpha.example", "pat@beta.example"]),
        ],
        Vec::new(),
    );
    assert_eq!(
        table(&enrichment),
        [
            "Alpha,55,2,1,0,0,0,2,0,2,2001-03-05,298,,,,2000-12-31,Year",
            "Alpha,55,2,1,0,0,0,2,0,2,2001-03-05,24,,,,2001-03-01,Month",
            "Alpha,55,2,1,0,0,0,2,0,2,2001-03-05,4,,,,2001-03-05,Week",
            "Beta,0,1,0,0,0,0,1,0,1,2001-03-07,298,,,,2000-12-31,Year",
            "Beta,0,1,0,0,0,0,1,0,1,2001-03-07,24,,,,2001-03-01,Month",
            "Beta,0,1,0,0,0,0,1,0,1,2001-03-07,4,,,,2001-03-05,Week",
        ]
    );
    let summary = &enrichment.summary;
    assert_eq!(
        (summary.emails_processed, summary.emails_counted, summary.accounts_enriched),
        (3, 3, 2)
    );
    assert_eq!((summary.users_processed, summary.emails_seen), (2, 3));
    // 2001-03-05T10:00 to T is 300 days and 14 hours.
    assert_eq!(summary.days_covered, 300);
}

#[test]
fn copies_merge_by_message_id_with_the_union_of_recipients() {
    let enrichment = run(
        vec![
            mail("2001-03-05T10:00", "ann@acme.example", &["jo@alpha.example"]).id("m1"),
            // The recipient's copy names another recipient (e.g. a Bcc seen only here) and a
            // later time; the earliest sent time wins.
            mail(
                "2001-03-05T10:05",
                "ann@acme.example",
                &["jo@alpha.example", "kim@alpha.example"],
            )
            .id("m1"),
            mail("2001-03-05T10:00", "", &["jo@alpha.example", "bob@acme.example"]).id("m1"),
            // Different case is a different id.
            mail("2001-03-06T10:00", "ann@acme.example", &["jo@alpha.example"]).id("M1"),
        ],
        Vec::new(),
    );
    assert_eq!(
        level_rows(&enrichment, "Year"),
        ["Alpha,100,2,0,0,0,0,2,0,2,2001-03-05,299,,,,2000-12-31,Year"]
    );
    assert_eq!(skips(&enrichment.summary.skipped_emails), [("duplicate", 2)]);
    assert_eq!(enrichment.summary.emails_processed, 2);
    assert_eq!(enrichment.summary.users_processed, 2);
}

#[test]
fn copies_merge_by_fingerprint_only_with_sender_second_and_recipient_set() {
    let enrichment = run(
        vec![
            mail(
                "2001-03-05T10:00:00",
                "ann@acme.example",
                &["jo@alpha.example", "kim@alpha.example"],
            )
            .id("a"),
            // Same sender, second and set (in another order): merged although the id differs.
            mail(
                "2001-03-05T10:00:00",
                "ann@acme.example",
                &["kim@alpha.example", "jo@alpha.example"],
            )
            .id("b"),
            // One second later: another email.
            mail(
                "2001-03-05T10:00:01",
                "ann@acme.example",
                &["jo@alpha.example", "kim@alpha.example"],
            ),
            // Another recipient set: another email.
            mail("2001-03-05T10:00:00", "ann@acme.example", &["jo@alpha.example"]),
            // No sender: the fingerprint rule does not apply.
            mail("2001-03-05T10:00:00", "", &["jo@alpha.example", "bob@acme.example"]),
            mail("2001-03-05T10:00:00", "", &["jo@alpha.example", "bob@acme.example"]),
        ],
        Vec::new(),
    );
    assert_eq!(skips(&enrichment.summary.skipped_emails), [("duplicate", 1)]);
    assert_eq!((enrichment.summary.emails_processed, enrichment.summary.emails_counted), (5, 3));
    assert_eq!(
        level_rows(&enrichment, "Year"),
        ["Alpha,100,3,0,0,0,0,1,0,2,2001-03-05,300,,,,2000-12-31,Year"]
    );
}

#[test]
fn merging_is_transitive_across_both_rules() {
    // c0 and c1 share a fingerprint; c2 shares c1's id; c3 shares c2's fingerprint; c4 carries
    // c0's id but arrives first in its own right only through c0. All five are one email.
    let enrichment = run(
        vec![
            mail("2001-04-02T09:00", "jo@alpha.example", &["ann@acme.example"]).id("x0"),
            mail("2001-04-02T09:00", "jo@alpha.example", &["ann@acme.example"])
                .id("x1")
                .parent("p-first"),
            mail("2001-04-02T09:30", "jo@alpha.example", &["bob@acme.example"])
                .id("x1")
                .parent("p-second"),
            mail("2001-04-02T09:30", "jo@alpha.example", &["bob@acme.example"]).id("x3"),
            mail("2001-04-01T08:00", "", &["cat@acme.example"]).id("x0"),
            // An unrelated email from Alpha, to check the merged one is counted once.
            mail("2001-04-03T09:00", "kim@alpha.example", &["ann@acme.example"]),
        ],
        Vec::new(),
    );
    assert_eq!(skips(&enrichment.summary.skipped_emails), [("duplicate", 4)]);
    // Merged: sent 2001-04-01T08:00 (earliest), recipients ann, bob, cat, from Alpha.
    assert_eq!(
        level_rows(&enrichment, "Year"),
        ["Alpha,100,0,2,0,0,0,3,0,2,2001-04-01,271,,,,2000-12-31,Year"]
    );
    assert_eq!(enrichment.summary.users_processed, 3);
}

#[test]
fn a_later_copy_can_join_two_earlier_emails() {
    // e0 and e1 are separate until e2 carries e0's id and e1's fingerprint.
    let enrichment = run(
        vec![
            mail("2001-04-02T09:00", "ann@acme.example", &["jo@alpha.example"]).id("e0"),
            mail("2001-04-03T09:00", "ann@acme.example", &["kim@alpha.example"]).id("e1"),
            mail("2001-04-03T09:00", "ann@acme.example", &["kim@alpha.example"]).id("e0"),
        ],
        Vec::new(),
    );
    assert_eq!(skips(&enrichment.summary.skipped_emails), [("duplicate", 2)]);
    assert_eq!(
        level_rows(&enrichment, "Year"),
        ["Alpha,100,1,0,0,0,0,1,0,2,2001-04-02,272,,,,2000-12-31,Year"]
    );
}

#[test]
fn merged_fields_take_the_first_sender_and_parent_in_input_order() {
    let enrichment = run(
        vec![
            mail("2001-05-01T08:00", "ann@acme.example", &["jo@alpha.example"]).id("p1"),
            mail("2001-05-01T09:00", "ann@acme.example", &["jo@alpha.example"]).id("p2"),
            // First copy: no sender, no parent. Second: sender jo, parent p1. Third: sender kim,
            // parent p2. Merged: from jo (Alpha) replying to p1 after 3 h.
            mail("2001-05-01T11:00", "", &["ann@acme.example"]).id("r"),
            mail("2001-05-01T11:00", "jo@alpha.example", &["ann@acme.example"])
                .id("r")
                .parent("p1"),
            mail("2001-05-01T11:00", "kim@alpha.example", &["ann@acme.example"])
                .id("r")
                .parent("p2"),
        ],
        Vec::new(),
    );
    assert_eq!(
        level_rows(&enrichment, "Year"),
        ["Alpha,100,2,1,0,0,0,1,0,1,2001-05-01,243,,,3,2000-12-31,Year"]
    );
}

#[test]
fn automated_mail_is_processed_but_never_counted() {
    let enrichment = run(
        vec![
            mail("2001-03-05T10:00", "ann@acme.example", &["jo@alpha.example"]).automated(),
            mail("2001-03-05T11:00", "No-Reply@alpha.example", &["ann@acme.example"]),
            mail("2001-03-05T12:00", "postmaster@beta.example", &["ann@acme.example"]),
            // Automated when any copy is.
            mail("2001-03-05T13:00", "ann@acme.example", &["kim@alpha.example"]).id("auto"),
            mail("2001-03-05T13:00", "ann@acme.example", &["kim@alpha.example"])
                .id("auto")
                .automated(),
            // Not automated: the whole local part must match.
            mail("2001-03-05T14:00", "ann@acme.example", &["noreply.team@alpha.example"]),
        ],
        Vec::new(),
    );
    let summary = &enrichment.summary;
    assert_eq!(skips(&summary.skipped_emails), [("automated", 4), ("duplicate", 1)]);
    // The noreply.team email is processed and not automated; it is counted for nobody only
    // because that address is no contact.
    assert_eq!((summary.emails_processed, summary.emails_counted), (5, 0));
    assert_eq!(summary.users_processed, 1);
    assert_eq!(level_rows(&enrichment, "Year"), Vec::<String>::new());
    assert_eq!(summary.accounts_enriched, 0);
}

#[test]
fn mail_between_org_users_or_between_outsiders_counts_for_nobody() {
    let enrichment = run(
        vec![
            mail("2001-03-05T10:00", "ann@acme.example", &["bob@acme.example"]),
            mail("2001-03-05T10:00", "jo@alpha.example", &["pat@beta.example"]),
            mail("2001-03-05T10:00", "jo@alpha.example", &["x@out.example", "list@acme.example"]),
        ],
        Vec::new(),
    );
    let summary = &enrichment.summary;
    assert_eq!(skips(&summary.skipped_emails), [("no_org_participant", 2)]);
    assert_eq!(
        (summary.emails_processed, summary.emails_counted, summary.users_processed),
        (1, 0, 2)
    );
    assert_eq!(enrichment.rows, Vec::new());
}

#[test]
fn read_errors_and_window_edges_are_counted_per_copy() {
    let mut engine = Engine::new(users(), accounts(), contacts(), options()).unwrap();
    engine.push_mail(MailRecord::Unparseable);
    let mut undated = mail("2001-03-05T10:00", "ann@acme.example", &["jo@alpha.example"]);
    undated.sent = None;
    engine.push_mail(MailRecord::Email(undated));
    for sent in ["2000-12-30T23:59:59", "2001-12-31T00:00:00", "2002-01-05T00:00:00"] {
        engine.push_mail(MailRecord::Email(
            mail(sent, "ann@acme.example", &["jo@alpha.example"]).id("edge"),
        ));
    }
    // Exactly at W counts.
    engine.push_mail(MailRecord::Email(mail(
        "2000-12-31T00:00:00",
        "ann@acme.example",
        &["jo@alpha.example"],
    )));
    // A meeting in the last second of the window counts.
    engine.push_meetings(
        vec![meeting(
            Some("late"),
            "2001-12-30T23:59:59",
            30,
            "ann@acme.example",
            &["kim@alpha.example"],
        )],
        SkipCounts::default(),
    );
    let enrichment = engine.finish();
    assert_eq!(
        skips(&enrichment.summary.skipped_emails),
        [("unparseable", 1), ("invalid_date", 1), ("outside_window", 3)]
    );
    assert_eq!(enrichment.summary.emails_seen, 6);
    assert_eq!(
        table(&enrichment),
        [
            "Alpha,100,1,0,0,1,1,1,1,1,2000-12-31,365,0,30,,2000-12-31,Year",
            "Alpha,100,1,0,0,0,0,1,0,1,2000-12-31,1,,,,2000-12-01,Month",
            "Alpha,100,0,0,0,1,1,0,1,0,2000-12-31,365,0,30,,2001-12-01,Month",
            "Alpha,100,1,0,0,0,0,1,0,1,2000-12-31,1,,,,2000-12-25,Week",
            "Alpha,100,0,0,0,1,1,0,1,0,2000-12-31,365,0,30,,2001-12-24,Week",
        ]
    );
    assert_eq!(enrichment.summary.days_covered, 365);
    assert_eq!(enrichment.summary.window_start.to_string(), "2000-12-31");
    assert_eq!(enrichment.summary.window_end.to_string(), "2001-12-31");
}

#[test]
fn leap_day_window() {
    let mut options = options();
    options.as_of = at("2024-02-29T00:00");
    let enrichment = run_with(
        options,
        vec![
            mail("2023-02-27T23:59:59", "ann@acme.example", &["jo@alpha.example"]),
            mail("2023-02-28T00:00:00", "ann@acme.example", &["jo@alpha.example"]),
            mail("2024-02-28T12:00:00", "jo@alpha.example", &["ann@acme.example"]),
        ],
        Vec::new(),
    );
    assert_eq!(skips(&enrichment.summary.skipped_emails), [("outside_window", 1)]);
    assert_eq!(
        table(&enrichment),
        [
            "Alpha,100,1,1,0,0,0,1,0,1,2023-02-28,0,,,,2023-02-28,Year",
            "Alpha,100,1,0,0,0,0,1,0,1,2023-02-28,1,,,,2023-02-01,Month",
            "Alpha,100,0,1,0,0,0,1,0,1,2023-02-28,0,,,,2024-02-01,Month",
            "Alpha,100,1,0,0,0,0,1,0,1,2023-02-28,6,,,,2023-02-27,Week",
            "Alpha,100,0,1,0,0,0,1,0,1,2023-02-28,0,,,,2024-02-26,Week",
        ]
    );
    assert_eq!(enrichment.summary.days_covered, 366);
}

#[test]
fn days_since_look_back_across_the_whole_window() {
    let enrichment = run(
        vec![mail("2001-01-10T12:00", "ann@acme.example", &["jo@alpha.example"])],
        vec![meeting(Some("m"), "2001-03-20T09:00", 60, "ann@acme.example", &["jo@alpha.example"])],
    );
    // The March row's latest email is in January: 2001-01-10T12:00 to 2001-04-01 is 80.5 days.
    assert_eq!(
        level_rows(&enrichment, "Month"),
        [
            "Alpha,100,1,0,0,0,0,1,0,1,2001-01-10,21,,,,2001-01-01,Month",
            "Alpha,100,0,0,0,1,1,0,1,0,2001-01-10,80,11,60,,2001-03-01,Month",
        ]
    );
}

#[test]
fn replies_need_a_parent_to_the_same_account_in_the_window() {
    let enrichment = run(
        vec![
            // Before W: outside the window, so never a parent.
            mail("2000-12-01T08:00", "ann@acme.example", &["jo@alpha.example"]).id("old"),
            mail("2001-05-01T08:00", "ann@acme.example", &["jo@alpha.example"]).id("p1"),
            // 6.5 h.
            mail("2001-05-01T14:30", "jo@alpha.example", &["ann@acme.example"]).parent("p1"),
            // The parent was to Beta, not to Alpha.
            mail("2001-05-02T08:00", "ann@acme.example", &["pat@beta.example"]).id("p2"),
            mail("2001-05-02T10:00", "jo@alpha.example", &["ann@acme.example"]).parent("p2"),
            mail("2001-05-02T11:00", "jo@alpha.example", &["ann@acme.example"]).parent("old"),
            // Zero and negative durations are ignored.
            mail("2001-05-03T09:00", "ann@acme.example", &["jo@alpha.example"]).id("p3"),
            mail("2001-05-03T09:00", "jo@alpha.example", &["ann@acme.example"]).parent("p3"),
            mail("2001-05-04T12:00", "ann@acme.example", &["kim@alpha.example"]).id("p4"),
            mail("2001-05-04T11:00", "kim@alpha.example", &["ann@acme.example"]).parent("p4"),
            // The parent is found under the second Message-ID of a merged email: 1.25 h.
            mail("2001-05-05T08:00", "ann@acme.example", &["jo@alpha.example"]).id("p5a"),
            mail("2001-05-05T08:00", "ann@acme.example", &["jo@alpha.example"]).id("p5b"),
            mail("2001-05-05T09:15", "jo@alpha.example", &["ann@acme.example"]).parent("p5b"),
            // An automated parent is not counted to Alpha.
            mail("2001-05-05T10:00", "ann@acme.example", &["jo@alpha.example"])
                .id("p6")
                .automated(),
            mail("2001-05-05T11:00", "jo@alpha.example", &["ann@acme.example"]).parent("p6"),
            // A parent that is not in the data.
            mail("2001-05-05T12:00", "jo@alpha.example", &["ann@acme.example"]).parent("missing"),
        ],
        Vec::new(),
    );
    // Replies 6.5 h and 1.25 h: mean 3.875 → 3.88. Eight emails from Alpha, four to it (the
    // automated p6 is not counted). Against Beta (p2 only) Alpha wins all but meetings: 75.
    assert_eq!(
        table(&enrichment)[0..3],
        [
            "Alpha,75,4,8,0,0,0,1,0,2,2001-05-01,239,,,3.88,2000-12-31,Year",
            "Alpha,75,4,8,0,0,0,1,0,2,2001-05-01,26,,,3.88,2001-05-01,Month",
            "Alpha,75,4,8,0,0,0,1,0,2,2001-05-01,1,,,3.88,2001-04-30,Week",
        ]
    );
}

#[test]
fn a_reply_belongs_to_the_period_of_its_own_sent_time() {
    let enrichment = run(
        vec![
            mail("2001-05-31T22:00", "ann@acme.example", &["jo@alpha.example"]).id("p"),
            // 3618 s = 1.005 h exactly: half up gives 1.01 (a float mean gives 1.00).
            mail("2001-05-31T23:00:18", "jo@alpha.example", &["ann@acme.example"]).parent("p"),
            mail("2001-06-01T01:00", "ann@acme.example", &["jo@alpha.example"]).id("q"),
            mail("2001-06-01T02:00", "jo@alpha.example", &["ann@acme.example"]).parent("q"),
            mail("2001-06-01T03:30", "ann@acme.example", &["jo@alpha.example"]).id("r"),
            mail("2001-06-01T04:00", "jo@alpha.example", &["ann@acme.example"]).parent("p"),
        ],
        Vec::new(),
    );
    let months = level_rows(&enrichment, "Month");
    // May: the 1.005 h reply. June: 1 h and 6 h (to p in May) → 3.5. Year: 8.005 / 3 → 2.67.
    assert_eq!(
        months,
        [
            "Alpha,100,1,1,0,0,0,1,0,1,2001-05-31,0,,,1.01,2001-05-01,Month",
            "Alpha,100,2,2,0,0,0,1,0,1,2001-05-31,29,,,3.5,2001-06-01,Month",
        ]
    );
    assert!(
        level_rows(&enrichment, "Year")[0].contains(",2.67,"),
        "{:?}",
        level_rows(&enrichment, "Year")
    );
}

#[test]
fn meeting_rules() {
    let mut cancelled =
        meeting(Some("c"), "2001-06-04T11:00", 30, "ann@acme.example", &["jo@alpha.example"]);
    cancelled.cancelled = true;
    let mut all_day =
        meeting(Some("d"), "2001-06-04T00:00", 60, "ann@acme.example", &["jo@alpha.example"]);
    all_day.all_day = true;
    let enrichment = run(
        Vec::new(),
        vec![
            // To Alpha, 30 min; the second copy (jo's calendar) adds kim and changes nothing else.
            meeting(
                Some("m1"),
                "2001-06-04T10:00",
                30,
                "ann@acme.example",
                &["ann@acme.example", "jo@alpha.example"],
            ),
            meeting(
                Some("m1"),
                "2001-06-04T10:00",
                90,
                "",
                &["jo@alpha.example", "kim@alpha.example"],
            ),
            // From Alpha, 45 min.
            meeting(
                Some("m2"),
                "2001-06-05T09:00",
                45,
                "jo@alpha.example",
                &["ann@acme.example", "bob@acme.example"],
            ),
            cancelled,
            all_day,
            meeting(
                Some("long"),
                "2001-06-06T09:00",
                24 * 60,
                "ann@acme.example",
                &["jo@alpha.example"],
            ),
            meeting(
                Some("alone"),
                "2001-06-06T09:00",
                30,
                "ann@acme.example",
                &["ann@acme.example"],
            ),
            meeting(Some("nobody"), "2001-06-06T09:00", 30, "ann@acme.example", &[]),
            // No organizer: processed, counted for nobody.
            meeting(
                Some("orphan"),
                "2001-06-07T09:00",
                30,
                "",
                &["cat@acme.example", "jo@alpha.example"],
            ),
            // No org participant.
            meeting(
                Some("outside"),
                "2001-06-07T09:00",
                30,
                "pat@beta.example",
                &["jo@alpha.example"],
            ),
            meeting(None, "2001-06-07T09:00", 30, "x@out.example", &["y@out.example"]),
        ],
    );
    let summary = &enrichment.summary;
    assert_eq!(
        skips(&summary.skipped_meetings),
        [("no_org_participant", 2), ("duplicate", 1), ("not_a_meeting", 5)]
    );
    assert_eq!(
        (summary.meetings_processed, summary.meetings_counted, summary.users_processed),
        (3, 2, 3)
    );
    assert_eq!(
        table(&enrichment),
        [
            "Alpha,100,0,0,1,1,2,0,2,0,2001-06-04,,208,37.5,,2000-12-31,Year",
            "Alpha,100,0,0,1,1,2,0,2,0,2001-06-04,,25,37.5,,2001-06-01,Month",
            "Alpha,100,0,0,1,1,2,0,2,0,2001-06-04,,5,37.5,,2001-06-04,Week",
        ]
    );
}

#[test]
fn meetings_of_23_hours_59_minutes_and_of_zero_minutes_count() {
    let enrichment = run(
        Vec::new(),
        vec![
            meeting(
                Some("a"),
                "2001-06-04T00:00",
                24 * 60 - 1,
                "ann@acme.example",
                &["jo@alpha.example"],
            ),
            meeting(Some("b"), "2001-06-05T10:00", 0, "ann@acme.example", &["jo@alpha.example"]),
            // Without a key copies never merge: the same occurrence twice counts twice.
            meeting(None, "2001-06-06T10:00", 1, "ann@acme.example", &["jo@alpha.example"]),
            meeting(None, "2001-06-06T10:00", 1, "ann@acme.example", &["jo@alpha.example"]),
        ],
    );
    // (1439 + 0 + 1 + 1) / 4 = 360.25 minutes.
    assert_eq!(
        level_rows(&enrichment, "Year"),
        ["Alpha,100,0,0,0,4,1,0,1,0,2001-06-04,,207,360.25,,2000-12-31,Year"]
    );
    assert_eq!(skips(&enrichment.summary.skipped_meetings), []);
}

#[test]
fn calendar_skips_are_added_and_out_of_window_copies_dropped() {
    let mut engine = Engine::new(users(), accounts(), contacts(), options()).unwrap();
    let mut calendar_skips = SkipCounts::default();
    calendar_skips.add_n(SkipReason::Unparseable, 2);
    calendar_skips.add(SkipReason::OutsideWindow);
    let mut backwards =
        meeting(Some("b"), "2001-06-04T10:00", 30, "ann@acme.example", &["jo@alpha.example"]);
    backwards.end = backwards.start - 1;
    engine.push_meetings(
        vec![
            meeting(
                Some("late"),
                "2001-12-31T00:00",
                30,
                "ann@acme.example",
                &["jo@alpha.example"],
            ),
            backwards,
        ],
        calendar_skips,
    );
    let enrichment = engine.finish();
    assert_eq!(
        skips(&enrichment.summary.skipped_meetings),
        [("unparseable", 2), ("invalid_date", 1), ("outside_window", 1)]
    );
    assert_eq!(enrichment.summary.meetings_processed, 0);
}

#[test]
fn partial_months_and_weeks_use_the_clipped_end() {
    // T = 2001-12-15T06:00Z (a Saturday): the last month and week end at T.
    let mut options = options();
    options.as_of = at("2001-12-15T06:00");
    let enrichment = run_with(
        options,
        vec![
            mail("2000-12-15T06:00", "ann@acme.example", &["jo@alpha.example"]),
            mail("2001-12-14T18:00", "ann@acme.example", &["jo@alpha.example"]),
        ],
        Vec::new(),
    );
    assert_eq!(
        table(&enrichment),
        [
            "Alpha,100,2,0,0,0,0,1,0,1,2000-12-15,0,,,,2000-12-15,Year",
            "Alpha,100,1,0,0,0,0,1,0,1,2000-12-15,16,,,,2000-12-01,Month",
            "Alpha,100,1,0,0,0,0,1,0,1,2000-12-15,0,,,,2001-12-01,Month",
            "Alpha,100,1,0,0,0,0,1,0,1,2000-12-15,2,,,,2000-12-11,Week",
            "Alpha,100,1,0,0,0,0,1,0,1,2000-12-15,0,,,,2001-12-10,Week",
        ]
    );
}

#[test]
fn periods_follow_the_configured_zone() {
    let mut options = options();
    options.zone = Some("Asia/Tokyo".parse().unwrap());
    // 2001-03-31T20:00Z is 2001-04-01 05:00 in Tokyo (+9 h), a Sunday there.
    let enrichment = run_with(
        options,
        vec![mail("2001-03-31T20:00", "ann@acme.example", &["jo@alpha.example"])],
        Vec::new(),
    );
    assert_eq!(
        table(&enrichment),
        [
            "Alpha,100,1,0,0,0,0,1,0,1,2001-04-01,274,,,,2000-12-31,Year",
            "Alpha,100,1,0,0,0,0,1,0,1,2001-04-01,29,,,,2001-04-01,Month",
            "Alpha,100,1,0,0,0,0,1,0,1,2001-04-01,0,,,,2001-03-26,Week",
        ]
    );
}

#[test]
fn scores_compare_rows_of_the_same_level_and_period() {
    let enrichment = run(
        vec![
            // Alpha: 2 emails to, 1 from in March; Beta: 1 email in March, 1 in April; Gamma via
            // its contact lee: 1 email in April.
            mail("2001-03-05T10:00", "ann@acme.example", &["jo@alpha.example"]),
            mail("2001-03-06T10:00", "ann@acme.example", &["jo@alpha.example"]),
            mail("2001-03-07T10:00", "jo@alpha.example", &["ann@acme.example"]),
            mail("2001-03-08T10:00", "ann@acme.example", &["pat@beta.example"]),
            mail("2001-04-10T10:00", "ann@acme.example", &["pat@beta.example"]),
            mail("2001-04-10T10:00", "bob@acme.example", &["lee@gamma.example"]),
        ],
        Vec::new(),
    );
    let scores: Vec<(String, String, u8)> = enrichment
        .rows
        .iter()
        .filter(|row| row.level != Level::Week)
        .map(|row| {
            (row.account_id.clone(), row.aggregation_start_date.to_string(), row.engagement_score)
        })
        .collect();
    // Year (N = 3): Alpha 3 emails, breadth 2, recency −298, initiative 1; Beta 2, 2, −264, 0;
    // Gamma 1, 2, −264, 0.
    // Alpha: (0.25·2 + 0 + 0 + 0.1·2) / 2 = 35. Beta: (0.25·1 + 0.2·1) / 2 = 22.5 → 23.
    // Gamma: 0.2·1 / 2 = 10. March (N = 2): Alpha 3 vs 1, tie on breadth and meetings; Alpha
    // recency −24 (Mar 7) beats Beta −23? No: −24 < −23, Beta beats Alpha on recency.
    // Alpha: 0.25 + 0.1 = 35; Beta: 0.2 = 20. April (N = 2): Beta and Gamma tie everywhere: 0.
    assert_eq!(
        scores,
        [
            ("Alpha".to_string(), "2000-12-31".to_string(), 35),
            ("Alpha".to_string(), "2001-03-01".to_string(), 35),
            ("Beta".to_string(), "2000-12-31".to_string(), 23),
            ("Beta".to_string(), "2001-03-01".to_string(), 20),
            ("Beta".to_string(), "2001-04-01".to_string(), 0),
            ("Gamma".to_string(), "2000-12-31".to_string(), 10),
            ("Gamma".to_string(), "2001-04-01".to_string(), 0),
        ]
    );
    let explanations = enrichment.explanations();
    let alpha_year = explanations.first().unwrap();
    let features: Vec<(i64, u64, u64, String, String)> = alpha_year
        .features
        .iter()
        .map(|feature| {
            (
                feature.value,
                feature.accounts_beaten,
                feature.accounts_compared,
                feature.share_beaten.to_string(),
                feature.weight.to_string(),
            )
        })
        .collect();
    assert_eq!(
        features,
        [
            (3, 2, 2, "1".to_string(), "0.25".to_string()),
            (0, 0, 2, "0".to_string(), "0.25".to_string()),
            (2, 0, 2, "0".to_string(), "0.2".to_string()),
            (-298, 0, 2, "0".to_string(), "0.2".to_string()),
            (1, 2, 2, "1".to_string(), "0.1".to_string()),
        ]
    );
}

#[test]
fn custom_weights_change_the_score() {
    let mut options = options();
    for (name, text) in Weights::FEATURES.iter().zip(["0", "0", "0", "1", "3"]) {
        options.weights.set(name, text).unwrap();
    }
    let enrichment = run_with(
        options,
        vec![
            mail("2001-03-05T10:00", "jo@alpha.example", &["ann@acme.example"]),
            mail("2001-04-05T10:00", "ann@acme.example", &["pat@beta.example"]),
            mail("2001-04-05T10:00", "ann@acme.example", &["lee@gamma.example"]),
        ],
        Vec::new(),
    );
    let year: Vec<u8> = enrichment
        .rows
        .iter()
        .filter(|row| row.level == Level::Year)
        .map(|row| row.engagement_score)
        .collect();
    // Alpha: initiative beats both (3·2), recency beats none; Beta and Gamma: recency beats
    // Alpha (1·1). Alpha 100 × 6 / (2 · 4) = 75; Beta and Gamma 100 × 1 / 8 = 12.5 → 13.
    assert_eq!(year, [75, 13, 13]);
}

#[test]
fn domain_matching_skips_shared_org_and_public_domains() {
    let emails = vec![
        mail("2001-03-05T10:00", "ann@acme.example", &["new@alpha.example"]),
        mail("2001-03-05T10:00", "ann@acme.example", &["new@delta.example"]),
        mail("2001-03-05T10:00", "ann@acme.example", &["x@shared.example"]),
        mail("2001-03-05T10:00", "ann@acme.example", &["dan@acme.example"]),
        mail("2001-03-05T10:00", "ann@acme.example", &["x@gmail.com"]),
        mail("2001-03-05T10:00", "ann@acme.example", &["x@yahoo.co.uk"]),
        // An ambiguous contact is nobody's, whatever its domain.
        mail("2001-03-05T10:00", "ann@acme.example", &["both@x.example"]),
        // An org user listed as a contact is never one.
        mail("2001-03-05T10:00", "bob@acme.example", &["ann@acme.example"]),
    ];
    let account_ids = |enrichment: &Enrichment| -> Vec<String> {
        enrichment
            .rows
            .iter()
            .filter(|row| row.level == Level::Year)
            .map(|row| row.account_id.clone())
            .collect()
    };
    assert_eq!(account_ids(&run(emails.clone(), Vec::new())), Vec::<String>::new());
    let mut options = options();
    options.match_domains = true;
    let enrichment = run_with(options, emails, Vec::new());
    assert_eq!(account_ids(&enrichment), ["Alpha", "Delta"]);
    assert_eq!(enrichment.summary.skipped.get(SkipReason::AmbiguousContact), 1);
    assert_eq!(enrichment.summary.accounts_total, 4);
}

#[test]
fn pushing_every_input_twice_changes_no_row() {
    let emails = vec![
        mail("2001-05-01T08:00", "ann@acme.example", &["jo@alpha.example"]).id("p1"),
        mail("2001-05-01T14:30", "jo@alpha.example", &["ann@acme.example", "bob@acme.example"])
            .parent("p1"),
        mail("2001-05-02T08:00", "", &["jo@alpha.example", "ann@acme.example"]),
        mail("2001-05-03T08:00", "bob@acme.example", &["pat@beta.example"]).id("b"),
        mail("2001-05-03T08:00", "bob@acme.example", &["pat@beta.example", "kim@alpha.example"])
            .id("b"),
    ];
    let meetings =
        vec![meeting(Some("m"), "2001-06-04T10:00", 30, "ann@acme.example", &["jo@alpha.example"])];
    let once = run(emails.clone(), meetings.clone());
    let doubled_emails: Vec<EmailCopy> = emails.iter().chain(emails.iter()).cloned().collect();
    let doubled_meetings: Vec<MeetingCopy> =
        meetings.iter().chain(meetings.iter()).cloned().collect();
    let twice = run(doubled_emails, doubled_meetings);
    assert_eq!(once.rows, twice.rows);
    assert_eq!(once.explanations(), twice.explanations());
    assert_eq!(twice.summary.skipped_emails.get(SkipReason::Duplicate), 1 + 4);
    assert_eq!(twice.summary.skipped_meetings.get(SkipReason::Duplicate), 1);
    assert_eq!(twice.summary.emails_processed, once.summary.emails_processed + 1);
}

#[test]
fn no_activity_gives_an_empty_table_and_zero_summary() {
    let enrichment = run(Vec::new(), Vec::new());
    assert_eq!(enrichment.rows, Vec::new());
    let summary = output::summary_json(&enrichment.summary);
    let expect = serde_json::json!({
        "accounts_enriched": 0, "accounts_total": 4, "users_selected": 3, "users_processed": 0,
        "emails_processed": 0, "meetings_processed": 0, "emails_counted": 0, "meetings_counted": 0,
        "days_covered": 0, "window_start": "2000-12-31", "window_end": "2001-12-31",
        "skipped": {"unparseable": 0, "invalid_date": 0, "outside_window": 0, "no_org_participant": 0,
                    "automated": 0, "duplicate": 0, "ambiguous_contact": 1, "not_a_meeting": 0},
        "files_ignored": 0, "emails_seen": 0,
        "skipped_emails": {"unparseable": 0, "invalid_date": 0, "outside_window": 0, "no_org_participant": 0,
                           "automated": 0, "duplicate": 0, "ambiguous_contact": 0, "not_a_meeting": 0},
        "skipped_meetings": {"unparseable": 0, "invalid_date": 0, "outside_window": 0, "no_org_participant": 0,
                             "automated": 0, "duplicate": 0, "ambiguous_contact": 0, "not_a_meeting": 0},
    });
    assert_eq!(summary, expect);
}

#[test]
fn the_interner_gives_dense_ids_and_finds_every_string_again() {
    let mut interner = hash::Interner::default();
    let texts: Vec<String> = (0..5_000).map(|n| format!("<{n}@mail.example>")).collect();
    for (id, text) in texts.iter().enumerate() {
        assert_eq!(interner.intern(text), id as u32);
    }
    assert_eq!(interner.len(), 5_000);
    for (id, text) in texts.iter().enumerate() {
        assert_eq!(interner.intern(text), id as u32);
        assert_eq!(interner.get(text), Some(id as u32));
        assert_eq!(interner.text(id as u32), text);
    }
    assert_eq!(interner.len(), 5_000);
    // The empty string and strings that differ only in case are distinct entries.
    assert_eq!(interner.get(""), None);
    assert_eq!(interner.intern(""), 5_000);
    assert_eq!(interner.intern("<0@MAIL.example>"), 5_001);
    assert_eq!(interner.intern(""), 5_000);
    assert_eq!(interner.len(), 5_002);
}

/// Three sources whose copies interact: a copy in `b` of an email of `a` (same Message-ID, one
/// more recipient), a fingerprint twin in `c` of an email of `b`, replies across sources both
/// ways, an undated and an unparseable record, and a copy outside the window.
fn kept_state_sources() -> Vec<(&'static str, Vec<MailRecord>)> {
    let email = MailRecord::Email;
    vec![
        (
            "a",
            vec![
                email(mail("2001-03-01T10:00", "ann@acme.example", &["jo@alpha.example"]).id("m1")),
                email(
                    mail("2001-03-05T09:00", "kim@alpha.example", &["bob@acme.example"])
                        .id("m3")
                        .parent("m2"),
                ),
                MailRecord::Unparseable,
                email(mail("1999-01-01T00:00", "ann@acme.example", &["pat@beta.example"]).id("m9")),
            ],
        ),
        (
            "b",
            vec![
                email(
                    mail(
                        "2001-03-01T10:00",
                        "ann@acme.example",
                        &["jo@alpha.example", "cat@acme.example"],
                    )
                    .id("m1"),
                ),
                email(
                    mail("2001-03-02T08:00", "jo@alpha.example", &["ann@acme.example"])
                        .id("m2")
                        .parent("m1"),
                ),
                email(EmailCopy { sent: None, ..mail("2001-03-02T08:00", "x@y.example", &[]) }),
            ],
        ),
        (
            "c",
            vec![
                email(
                    mail("2001-03-02T08:00", "jo@alpha.example", &["ann@acme.example"]).id("other"),
                ),
                email(mail("2001-04-01T12:00", "bob@acme.example", &["pat@beta.example"]).id("m4")),
            ],
        ),
    ]
}

fn push_sources(engine: &mut Engine, sources: &[(&str, Vec<MailRecord>)], keys: &[&str]) {
    for key in keys {
        let (_, records) = sources.iter().find(|(name, _)| name == key).expect("known source");
        engine.begin_mail_segment(key);
        records.iter().cloned().for_each(|record| engine.push_mail(record));
    }
}

fn fresh_engine() -> Engine {
    Engine::new(users(), accounts(), contacts(), options()).expect("valid configuration")
}

#[test]
fn a_kept_mail_state_with_a_new_source_anywhere_gives_the_full_read_result() {
    let sources = kept_state_sources();
    let mut full = fresh_engine();
    push_sources(&mut full, &sources, &["a", "b", "c"]);
    let expected = full.finish();
    assert_eq!(expected.summary.emails_seen, 9);
    assert_eq!(
        skips(&expected.summary.skipped_emails),
        [("unparseable", 1), ("invalid_date", 1), ("outside_window", 1), ("duplicate", 2)]
    );

    // Each source in turn is the one added to a state kept from a run over the other two.
    for added in ["a", "b", "c"] {
        let kept: Vec<&str> = ["a", "b", "c"].into_iter().filter(|key| *key != added).collect();
        let mut first = fresh_engine();
        push_sources(&mut first, &sources, &kept);
        let (_, state) = first.finish_keeping_mail();
        let mut image = Vec::new();
        state.save(&mut image);

        let mut next = fresh_engine();
        next.restore_mail(MailState::load(&image).expect("a saved state loads"));
        assert!(kept.iter().all(|key| next.has_mail_segment(key)));
        assert!(!next.has_mail_segment(added));
        push_sources(&mut next, &sources, &[added]);
        next.set_mail_order(&["a", "b", "c"]).expect("every segment is held");
        assert_eq!(next.finish(), expected, "{added} added to a kept state");
    }
}

#[test]
fn segments_left_out_of_a_run_do_not_count_and_are_not_saved() {
    let sources = kept_state_sources();
    let mut expected_engine = fresh_engine();
    push_sources(&mut expected_engine, &sources, &["a", "c"]);
    let expected = expected_engine.finish();

    let mut engine = fresh_engine();
    push_sources(&mut engine, &sources, &["a", "b", "c"]);
    engine.set_mail_order(&["a", "c"]).expect("held");
    let (result, state) = engine.finish_keeping_mail();
    assert_eq!(result, expected);
    let mut image = Vec::new();
    state.save(&mut image);
    let loaded = MailState::load(&image).expect("loads");
    // a's three dated copies (one outside the window: that is decided per run) and c's two.
    assert_eq!(loaded.n_copies(), 5);

    let mut again = fresh_engine();
    again.restore_mail(loaded);
    assert!(!again.has_mail_segment("b"));
    assert_eq!(again.set_mail_order(&["a", "b"]), Err("b".to_string()));
    again.set_mail_order(&["a", "c"]).expect("held");
    assert_eq!(again.finish(), expected);
}

#[test]
fn a_source_named_twice_counts_twice_as_a_full_read_does() {
    let sources = kept_state_sources();
    let mut full = fresh_engine();
    push_sources(&mut full, &sources, &["a", "c"]);
    full.begin_mail_segment("a again");
    sources[0].1.iter().cloned().for_each(|record| full.push_mail(record));
    let expected = full.finish();

    let mut engine = fresh_engine();
    push_sources(&mut engine, &sources, &["a", "c"]);
    engine.set_mail_order(&["a", "c", "a"]).expect("held");
    let result = engine.finish();
    assert_eq!(result, expected);
    assert_eq!(result.summary.emails_seen, 10);
}

#[test]
fn a_damaged_mail_state_is_refused() {
    let sources = kept_state_sources();
    let mut engine = fresh_engine();
    push_sources(&mut engine, &sources, &["a", "b", "c"]);
    let (_, state) = engine.finish_keeping_mail();
    let mut image = Vec::new();
    state.save(&mut image);
    assert!(MailState::load(&image).is_ok());
    assert!(MailState::load(&[]).is_err());
    assert!(MailState::load(&image[..image.len() - 1]).is_err());
    // Every byte is covered: the magic, both checksums, the message ids and the rest.
    for position in 0..image.len() {
        let mut damaged = image.clone();
        damaged[position] ^= 0x40;
        assert!(MailState::load(&damaged).is_err(), "byte {position} flipped");
    }
    let mut longer = image.clone();
    longer.push(0);
    assert!(MailState::load(&longer).is_err());
}

#[test]
fn users_whose_mailbox_was_read_count_as_processed() {
    let mut engine = fresh_engine();
    engine.push_mail(MailRecord::Email(
        mail("2001-03-01T10:00", "ann@acme.example", &["jo@alpha.example"]).id("m1"),
    ));
    // bob's mailbox was read but holds nothing processed; ann's was read and she is a
    // participant (counted once); an outside address is no org user.
    engine.mark_mailboxes_read(
        ["bob@acme.example", "ann@acme.example", "bob@acme.example", "jo@alpha.example"]
            .map(str::to_owned),
    );
    assert_eq!(engine.finish().summary.users_processed, 2);
    let mut unread = fresh_engine();
    unread.push_mail(MailRecord::Email(
        mail("2001-03-01T10:00", "ann@acme.example", &["jo@alpha.example"]).id("m1"),
    ));
    assert_eq!(unread.finish().summary.users_processed, 1);
}

/// A small deterministic generator (xorshift64) for the generated-activity tests.
struct Generator(u64);

impl Generator {
    /// A value below `bound` (which is > 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

const N_GENERATED_ACCOUNTS: u64 = 450;

/// A year of mail and meetings with `N_GENERATED_ACCOUNTS` accounts (matched by domain), every
/// one active in every week, every tenth one five times as much, with replies, copies merged by
/// id, automated mail, emails and meetings with more people than an activity holds inline, and
/// people of several accounts in one email.
fn generated_activity() -> (Vec<EmailCopy>, Vec<MeetingCopy>) {
    let mut generator = Generator(0x2545_f491_4f6c_dd1d);
    let window_start = at("2000-12-31T00:00");
    let window_end = at(AS_OF);
    let org_user = |index: u64| format!("u{index}@acme.example");
    let person = |account: u64, index: u64| format!("p{index}@a{account}.example");
    let mut emails: Vec<EmailCopy> = Vec::new();
    let mut meetings: Vec<MeetingCopy> = Vec::new();
    for account in 0..N_GENERATED_ACCOUNTS {
        let per_week = if account % 10 == 0 { 5 } else { 1 };
        let mut last_to_account: Option<String> = None;
        for week in 0..53 {
            for _ in 0..per_week {
                let sent = window_start + week * 7 * 86_400 + generator.below(7 * 86_400) as i64;
                if sent >= window_end {
                    continue;
                }
                let message_id = format!("m{}", emails.len());
                let mut recipients: Vec<String> = Vec::new();
                let from_org = generator.below(2) == 0;
                let sender = if from_org {
                    for _ in 0..1 + generator.below(9) {
                        recipients.push(person(account, generator.below(12)));
                    }
                    org_user(generator.below(12))
                } else {
                    for _ in 0..1 + generator.below(3) {
                        recipients.push(org_user(generator.below(12)));
                    }
                    person(account, generator.below(12))
                };
                if generator.below(8) == 0 {
                    recipients.push(person(generator.below(N_GENERATED_ACCOUNTS), 0));
                }
                let mut copy = EmailCopy {
                    message_id: Some(message_id.clone()),
                    sent: Some(sent),
                    sender: Some(sender),
                    recipients,
                    parent_id: None,
                    automated: generator.below(50) == 0,
                };
                if !from_org && generator.below(2) == 0 {
                    copy.parent_id = last_to_account.clone();
                }
                if from_org {
                    last_to_account = Some(message_id);
                }
                if generator.below(20) == 0 {
                    let mut other_copy = copy.clone();
                    other_copy.recipients.truncate(1);
                    emails.push(other_copy);
                }
                emails.push(copy);
            }
            if week % 2 == 0 {
                let start = window_start + week * 7 * 86_400 + generator.below(7 * 86_400) as i64;
                if start >= window_end {
                    continue;
                }
                let mut participants: Vec<String> = (0..1 + generator.below(8))
                    .map(|_| person(account, generator.below(12)))
                    .collect();
                participants.push(org_user(generator.below(12)));
                let organizer = if generator.below(3) == 0 {
                    person(account, generator.below(12))
                } else {
                    org_user(generator.below(12))
                };
                meetings.push(MeetingCopy {
                    key: Some((format!("meeting{}", meetings.len()), start)),
                    start,
                    end: start + 60 * (1 + generator.below(120)) as i64,
                    organizer: Some(organizer),
                    participants,
                    cancelled: false,
                    all_day: false,
                });
            }
        }
    }
    (emails, meetings)
}

/// An engine over the generated accounts, holding `emails` and `meetings`.
fn generated_engine(emails: &[EmailCopy], meetings: &[MeetingCopy]) -> Engine {
    let users = (0..12)
        .map(|index| OrgUser { email: format!("u{index}@acme.example"), directory_id: None })
        .collect();
    let accounts = (0..N_GENERATED_ACCOUNTS)
        .map(|index| Account {
            account_id: format!("Account {index}"),
            domains: vec![format!("a{index}.example")],
        })
        .collect();
    let options = Options { match_domains: true, ..options() };
    let mut engine = Engine::new(users, accounts, Vec::new(), options).unwrap();
    for email in emails {
        engine.push_mail(MailRecord::Email(email.clone()));
    }
    engine.push_meetings(meetings.to_vec(), SkipCounts::default());
    engine
}

#[test]
fn two_threads_give_exactly_the_single_thread_result() {
    let (emails, meetings) = generated_activity();
    let single = aggregate::finish_with(generated_engine(&emails, &meetings), usize::MAX).0;
    // Every part is big enough to split at the default threshold: there are more activities
    // than counted emails and meetings, and more than `MIN_PARALLEL_WORK` rows.
    let summary = &single.summary;
    assert!(
        summary.emails_counted + summary.meetings_counted >= aggregate::MIN_PARALLEL_WORK as u64
    );
    assert!(single.rows.len() >= aggregate::MIN_PARALLEL_WORK);
    assert_eq!(summary.accounts_enriched, N_GENERATED_ACCOUNTS);
    assert!(summary.skipped_emails.get(SkipReason::Duplicate) > 0);
    // The scores spread over the scale, so rows mixed up between groups would show.
    let mut scores: Vec<u8> = single.rows.iter().map(|row| row.engagement_score).collect();
    scores.sort_unstable();
    scores.dedup();
    assert!(scores.len() > 90, "{} distinct scores", scores.len());
    let split =
        aggregate::finish_with(generated_engine(&emails, &meetings), aggregate::MIN_PARALLEL_WORK)
            .0;
    assert_eq!(split, single);
    assert_eq!(table(&split), table(&single));
    let always_split = aggregate::finish_with(generated_engine(&emails, &meetings), 0).0;
    assert_eq!(always_split, single);
}

#[test]
fn tiny_inputs_split_in_two_give_the_same_result() {
    let emails = vec![
        mail("2001-03-05T10:00", "ann@acme.example", &["jo@alpha.example", "kim@alpha.example"])
            .id("a"),
        mail("2001-03-06T12:00", "jo@alpha.example", &["ann@acme.example", "pat@beta.example"])
            .parent("a"),
        mail("2001-03-07T09:00", "bob@acme.example", &["jo@alpha.example", "pat@beta.example"]),
        mail("2001-09-07T09:00", "cat@acme.example", &["lee@gamma.example"]),
    ];
    let meetings = vec![meeting(
        Some("m"),
        "2001-06-04T10:00",
        30,
        "ann@acme.example",
        &["jo@alpha.example", "lee@gamma.example"],
    )];
    let engine = |emails: &[EmailCopy], meetings: &[MeetingCopy]| {
        let mut engine = Engine::new(users(), accounts(), contacts(), options()).unwrap();
        emails.iter().for_each(|email| engine.push_mail(MailRecord::Email(email.clone())));
        engine.push_meetings(meetings.to_vec(), SkipCounts::default());
        engine
    };
    // Nothing, one activity, and a few accounts: halves may be empty.
    for n_emails in [0, 1, emails.len()] {
        let single = aggregate::finish_with(engine(&emails[..n_emails], &[]), usize::MAX).0;
        let split = aggregate::finish_with(engine(&emails[..n_emails], &[]), 0).0;
        assert_eq!(split, single, "{n_emails} emails");
    }
    let single = aggregate::finish_with(engine(&emails, &meetings), usize::MAX).0;
    assert_eq!(single.rows.len(), 13);
    assert_eq!(aggregate::finish_with(engine(&emails, &meetings), 0).0, single);
}

#[test]
fn renamed_segments_give_the_same_result_under_their_new_keys() {
    let sources = kept_state_sources();
    let mut full = fresh_engine();
    push_sources(&mut full, &sources, &["a", "b", "c"]);
    let expected = full.finish();

    let mut first = fresh_engine();
    // A stale segment named as "b" will be (holding other mail, and found first): replaced.
    first.begin_mail_segment("b2");
    let (_, stale) = sources.iter().find(|(name, _)| *name == "c").expect("c");
    stale.iter().cloned().for_each(|record| first.push_mail(record));
    push_sources(&mut first, &sources, &["a", "b", "c"]);
    let (_, mut state) = first.finish_keeping_mail();
    let renames = [("a".to_owned(), "a".to_owned()), ("b".to_owned(), "b2".to_owned())];
    assert!(state.rename_segments(&renames));
    assert!(!state.rename_segments(&[("gone".to_owned(), "x".to_owned())]));

    let mut next = fresh_engine();
    next.restore_mail(state);
    assert!(next.has_mail_segment("a") && next.has_mail_segment("b2"));
    assert!(!next.has_mail_segment("b"));
    next.set_mail_order(&["a", "b2", "c"]).expect("held");
    assert_eq!(next.finish(), expected);
}
