use super::*;
use crate::engine::FeatureScore;
use crate::period::Level;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn row(account_id: &str, level: Level, score: u8) -> Row {
    Row {
        account_id: account_id.to_string(),
        engagement_score: score,
        n_emails_to_account: 2,
        n_emails_from_account: 1,
        n_meetings_from_account: 0,
        n_meetings_to_account: 3,
        n_org_people_meetings: 4,
        n_org_people_emails: 5,
        n_account_people_meetings: 6,
        n_account_people_emails: 7,
        engagement_start_date: date("2001-03-05"),
        days_since_last_email: Some(12),
        days_since_last_meeting: None,
        average_meeting_minutes: Some(Decimal::new(3375, 2)),
        average_reply_hours: None,
        aggregation_start_date: date("2000-12-31"),
        level,
    }
}

fn text(write: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut bytes = Vec::new();
    write(&mut bytes).unwrap();
    String::from_utf8(bytes).unwrap()
}

const ROW_HEADER: &str = "AccountId,EngagementScore,NoOfEmails_ToAccount,NoOfEmails_FromAccount,\
NoOfMeetings_FromAccount,NoOfMeetings_ToAccount,NoOfContactsInvolved_Meetings,\
NoOfContactsInvolved_Emails,NoOfAccountContactsInvolved_Meetings,\
NoOfAccountContactsInvolved_Emails,EngagementStartDate,DaysSinceLastEmail,DaysSinceLastMeeting,\
AverageDuration_Of_Meetings,AverageDuration_Of_AccountEmailReplies,AggregationStartDate,\
AggregationLevel\n";

#[test]
fn rows_csv_has_the_columns_in_order_and_minimal_quoting() {
    let mut quoted = row("Acme, \"Inc\"", Level::Month, 7);
    quoted.average_meeting_minutes = Some(Decimal::new(3000, 2));
    let rows = [row("Alpha", Level::Year, 100), quoted];
    let expect = format!(
        "{ROW_HEADER}Alpha,100,2,1,0,3,4,5,6,7,2001-03-05,12,,33.75,,2000-12-31,Year\n\
         \"Acme, \"\"Inc\"\"\",7,2,1,0,3,4,5,6,7,2001-03-05,12,,30,,2000-12-31,Month\n"
    );
    assert_eq!(text(|out| write_rows_csv(&rows, out)), expect);
    assert_eq!(text(|out| write_rows_csv(&[], out)), ROW_HEADER);
}

#[test]
fn rows_json_uses_numbers_and_null() {
    let rows = [row("Al\"pha", Level::Week, 9)];
    let expect = "[\n  {\"AccountId\": \"Al\\\"pha\", \"EngagementScore\": 9, \"NoOfEmails_ToAccount\": 2, \
\"NoOfEmails_FromAccount\": 1, \"NoOfMeetings_FromAccount\": 0, \"NoOfMeetings_ToAccount\": 3, \
\"NoOfContactsInvolved_Meetings\": 4, \"NoOfContactsInvolved_Emails\": 5, \
\"NoOfAccountContactsInvolved_Meetings\": 6, \"NoOfAccountContactsInvolved_Emails\": 7, \
\"EngagementStartDate\": \"2001-03-05\", \"DaysSinceLastEmail\": 12, \"DaysSinceLastMeeting\": null, \
\"AverageDuration_Of_Meetings\": 33.75, \"AverageDuration_Of_AccountEmailReplies\": null, \
\"AggregationStartDate\": \"2000-12-31\", \"AggregationLevel\": \"Week\"}\n]\n";
    let written = text(|out| write_rows_json(&rows, out));
    assert_eq!(written, expect);
    let parsed: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(parsed[0]["AverageDuration_Of_Meetings"], serde_json::json!(33.75));
    assert_eq!(text(|out| write_rows_json(&[], out)), "[]\n");
}

#[test]
fn users_tables() {
    let users = [
        OrgUser {
            email: "ann@acme.example".to_string(),
            directory_id: Some("0f1e-2d".to_string()),
        },
        OrgUser { email: "bob@acme.example".to_string(), directory_id: None },
    ];
    assert_eq!(
        text(|out| write_users_csv(&users, out)),
        "Email,DirectoryId\nann@acme.example,0f1e-2d\nbob@acme.example,\n"
    );
    assert_eq!(
        text(|out| write_users_json(&users, out)),
        "[\n  {\"Email\": \"ann@acme.example\", \"DirectoryId\": \"0f1e-2d\"},\n  \
         {\"Email\": \"bob@acme.example\", \"DirectoryId\": null}\n]\n"
    );
}

#[test]
fn explanations_have_one_line_per_feature() {
    let feature = |name: &'static str, value: i64, weight: i128, beaten: u64| FeatureScore {
        feature: name,
        value,
        weight: Decimal::new(weight, 2),
        accounts_beaten: beaten,
        accounts_compared: 3,
        share_beaten: Decimal::ratio_half_up(i128::from(beaten), 3, 4).unwrap(),
    };
    let explanation = Explanation {
        account_id: "Alpha".to_string(),
        level: Level::Month,
        aggregation_start_date: date("2001-03-01"),
        engagement_score: 42,
        features: [
            feature("email_volume", 3, 25, 2),
            feature("meeting_volume", 0, 25, 0),
            feature("breadth", 4, 20, 1),
            feature("recency", -24, 20, 3),
            feature("initiative", 1, 10, 1),
        ],
    };
    assert_eq!(
        text(|out| write_explanations_csv(std::slice::from_ref(&explanation), out)),
        "AccountId,AggregationLevel,AggregationStartDate,EngagementScore,Feature,Value,Weight,\
AccountsBeaten,AccountsCompared,ShareBeaten\n\
Alpha,Month,2001-03-01,42,email_volume,3,0.25,2,3,0.6667\n\
Alpha,Month,2001-03-01,42,meeting_volume,0,0.25,0,3,0\n\
Alpha,Month,2001-03-01,42,breadth,4,0.2,1,3,0.3333\n\
Alpha,Month,2001-03-01,42,recency,-24,0.2,3,3,1\n\
Alpha,Month,2001-03-01,42,initiative,1,0.1,1,3,0.3333\n"
    );
    let json = text(|out| write_explanations_json(std::slice::from_ref(&explanation), out));
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 5);
    assert_eq!(
        parsed[3],
        serde_json::json!({"AccountId": "Alpha", "AggregationLevel": "Month", "AggregationStartDate": "2001-03-01",
            "EngagementScore": 42, "Feature": "recency", "Value": -24, "Weight": 0.2, "AccountsBeaten": 3,
            "AccountsCompared": 3, "ShareBeaten": 1})
    );
}

#[test]
fn top_and_stalest_accounts_use_year_rows() {
    let mut beta = row("Beta", Level::Year, 80);
    beta.days_since_last_email = Some(3);
    beta.days_since_last_meeting = Some(1);
    let mut gamma = row("Gamma", Level::Year, 80);
    gamma.days_since_last_email = None;
    gamma.days_since_last_meeting = Some(40);
    let rows = [row("Alpha", Level::Year, 10), row("Alpha", Level::Month, 99), beta, gamma];
    let names = |rows: Vec<&Row>| rows.iter().map(|row| row.account_id.clone()).collect::<Vec<_>>();
    assert_eq!(names(top_accounts(&rows, 2)), ["Beta", "Gamma"]);
    assert_eq!(names(top_accounts(&rows, 10)), ["Beta", "Gamma", "Alpha"]);
    assert_eq!(names(stalest_accounts(&rows, 10)), ["Gamma", "Alpha", "Beta"]);
    assert_eq!(days_since_last_activity(&rows[2]), Some(1));
}

#[test]
fn integers_and_dates_print_as_the_formatting_machinery_prints_them() {
    for value in [0, 7, -7, 10, 99, -100, 1_234_567, i64::MAX, i64::MIN] {
        let mut line = String::new();
        push_plain(&mut line, &Cell::Integer(value));
        assert_eq!(line, value.to_string());
    }
    for (year, month, day) in
        [(2026, 1, 5), (999, 12, 31), (1, 2, 3), (9999, 12, 31), (10_000, 1, 1), (-5, 6, 7)]
    {
        let date = NaiveDate::from_ymd_opt(year, month, day).expect("a date");
        let mut line = String::new();
        push_date(&mut line, date);
        assert_eq!(line, date.format("%Y-%m-%d").to_string());
    }
}
