//! Writers for the output tables (§4) and the run summary (§6): CSV and JSON over any
//! `impl Write`. No file system here; the caller opens files.
//!
//! CSV: comma, minimal quoting (a cell is quoted only when it holds a comma, a quote, CR or LF),
//! `\n` line ends, UTF-8 without BOM, an empty cell for "none". JSON: one array of objects per
//! table, keys in column order, numbers as numbers, `null` for "none".

pub mod image;

use std::io::{self, Write};

use chrono::NaiveDate;

use crate::engine::{Explanation, Row, Summary};
use crate::model::{OrgUser, SkipCounts, SkipReason};
use crate::period::Level;
use crate::score::Decimal;

/// The enriched table's columns, in order (§4).
pub const ROW_COLUMNS: [&str; 17] = [
    "AccountId",
    "EngagementScore",
    "NoOfEmails_ToAccount",
    "NoOfEmails_FromAccount",
    "NoOfMeetings_FromAccount",
    "NoOfMeetings_ToAccount",
    "NoOfContactsInvolved_Meetings",
    "NoOfContactsInvolved_Emails",
    "NoOfAccountContactsInvolved_Meetings",
    "NoOfAccountContactsInvolved_Emails",
    "EngagementStartDate",
    "DaysSinceLastEmail",
    "DaysSinceLastMeeting",
    "AverageDuration_Of_Meetings",
    "AverageDuration_Of_AccountEmailReplies",
    "AggregationStartDate",
    "AggregationLevel",
];

/// The `<Output>_UserEntity` table's columns.
pub const USER_COLUMNS: [&str; 2] = ["Email", "DirectoryId"];

/// The score explanation table's columns (one line per row and feature).
pub const EXPLANATION_COLUMNS: [&str; 10] = [
    "AccountId",
    "AggregationLevel",
    "AggregationStartDate",
    "EngagementScore",
    "Feature",
    "Value",
    "Weight",
    "AccountsBeaten",
    "AccountsCompared",
    "ShareBeaten",
];

/// True when `name` can name an output table and so its files: letters, digits, `_` and `-`, not
/// empty and not starting with `-` (which would read as a flag).
pub fn is_valid_table_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
        && !name.starts_with('-')
}

/// One typed cell of an output table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell<'a> {
    /// Text (account ids, emails, level names, feature names).
    Text(&'a str),
    /// A whole number.
    Integer(i64),
    /// An exact decimal, written without trailing zeros.
    Decimal(Decimal),
    /// A `YYYY-MM-DD` date.
    Date(NaiveDate),
    /// No value: an empty CSV cell, JSON `null`.
    Null,
}

/// The cells of one enriched row, in [`ROW_COLUMNS`] order.
pub fn row_cells(row: &Row) -> [Cell<'_>; 17] {
    let count = |value: u64| Cell::Integer(i64::try_from(value).unwrap_or(i64::MAX));
    let optional_integer = |value: Option<i64>| value.map_or(Cell::Null, Cell::Integer);
    let optional_decimal = |value: Option<Decimal>| value.map_or(Cell::Null, Cell::Decimal);
    [
        Cell::Text(&row.account_id),
        Cell::Integer(i64::from(row.engagement_score)),
        count(row.n_emails_to_account),
        count(row.n_emails_from_account),
        count(row.n_meetings_from_account),
        count(row.n_meetings_to_account),
        count(row.n_org_people_meetings),
        count(row.n_org_people_emails),
        count(row.n_account_people_meetings),
        count(row.n_account_people_emails),
        Cell::Date(row.engagement_start_date),
        optional_integer(row.days_since_last_email),
        optional_integer(row.days_since_last_meeting),
        optional_decimal(row.average_meeting_minutes),
        optional_decimal(row.average_reply_hours),
        Cell::Date(row.aggregation_start_date),
        Cell::Text(row.level.as_str()),
    ]
}

/// The cells of one user, in [`USER_COLUMNS`] order.
pub fn user_cells(user: &OrgUser) -> [Cell<'_>; 2] {
    [Cell::Text(&user.email), user.directory_id.as_deref().map_or(Cell::Null, Cell::Text)]
}

/// The lines of one explanation (one per feature), each in [`EXPLANATION_COLUMNS`] order.
pub fn explanation_cells(explanation: &Explanation) -> impl Iterator<Item = [Cell<'_>; 10]> {
    let count = |value: u64| Cell::Integer(i64::try_from(value).unwrap_or(i64::MAX));
    explanation.features.iter().map(move |feature| {
        [
            Cell::Text(&explanation.account_id),
            Cell::Text(explanation.level.as_str()),
            Cell::Date(explanation.aggregation_start_date),
            Cell::Integer(i64::from(explanation.engagement_score)),
            Cell::Text(feature.feature),
            Cell::Integer(feature.value),
            Cell::Decimal(feature.weight),
            count(feature.accounts_beaten),
            count(feature.accounts_compared),
            Cell::Decimal(feature.share_beaten),
        ]
    })
}

/// Writes the enriched table as CSV (header row included, also when there are no rows).
pub fn write_rows_csv(rows: &[Row], out: &mut impl Write) -> io::Result<()> {
    write_csv(&ROW_COLUMNS, rows.iter().map(row_cells), out)
}

/// Writes the enriched table as a JSON array of objects.
pub fn write_rows_json(rows: &[Row], out: &mut impl Write) -> io::Result<()> {
    write_json(&ROW_COLUMNS, rows.iter().map(row_cells), out)
}

/// Writes the `<Output>_UserEntity` table as CSV.
pub fn write_users_csv(users: &[OrgUser], out: &mut impl Write) -> io::Result<()> {
    write_csv(&USER_COLUMNS, users.iter().map(user_cells), out)
}

/// Writes the `<Output>_UserEntity` table as a JSON array of objects.
pub fn write_users_json(users: &[OrgUser], out: &mut impl Write) -> io::Result<()> {
    write_json(&USER_COLUMNS, users.iter().map(user_cells), out)
}

/// Writes the score explanations as CSV, one line per row and feature.
pub fn write_explanations_csv(
    explanations: &[Explanation],
    out: &mut impl Write,
) -> io::Result<()> {
    write_csv(&EXPLANATION_COLUMNS, explanations.iter().flat_map(explanation_cells), out)
}

/// Writes the score explanations as a JSON array of objects, one per row and feature.
pub fn write_explanations_json(
    explanations: &[Explanation],
    out: &mut impl Write,
) -> io::Result<()> {
    write_json(&EXPLANATION_COLUMNS, explanations.iter().flat_map(explanation_cells), out)
}

/// The run summary as JSON: every count, the window dates and every skip reason.
pub fn summary_json(summary: &Summary) -> serde_json::Value {
    let reasons = |counts: &SkipCounts| -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = SkipReason::ALL
            .iter()
            .map(|reason| {
                (reason.as_str().to_string(), serde_json::Value::from(counts.get(*reason)))
            })
            .collect();
        serde_json::Value::Object(map)
    };
    serde_json::json!({
        "accounts_enriched": summary.accounts_enriched,
        "accounts_total": summary.accounts_total,
        "users_selected": summary.users_selected,
        "users_processed": summary.users_processed,
        "emails_processed": summary.emails_processed,
        "meetings_processed": summary.meetings_processed,
        "emails_counted": summary.emails_counted,
        "meetings_counted": summary.meetings_counted,
        "days_covered": summary.days_covered,
        "window_start": summary.window_start.format("%Y-%m-%d").to_string(),
        "window_end": summary.window_end.format("%Y-%m-%d").to_string(),
        "skipped": reasons(&summary.skipped),
        "files_ignored": summary.files_ignored,
        "emails_seen": summary.emails_seen,
        "skipped_emails": reasons(&summary.skipped_emails),
        "skipped_meetings": reasons(&summary.skipped_meetings),
    })
}

/// The Year rows with the highest scores (ties by AccountId), at most `count`: for a "top
/// accounts" view.
pub fn top_accounts(rows: &[Row], count: usize) -> Vec<&Row> {
    let mut year_rows: Vec<&Row> = rows.iter().filter(|row| row.level == Level::Year).collect();
    year_rows.sort_by(|left, right| {
        right
            .engagement_score
            .cmp(&left.engagement_score)
            .then_with(|| left.account_id.cmp(&right.account_id))
    });
    year_rows.truncate(count);
    year_rows
}

/// The Year rows whose latest counted email or meeting is oldest (ties by AccountId), at most
/// `count`: for a "stalest accounts" view.
pub fn stalest_accounts(rows: &[Row], count: usize) -> Vec<&Row> {
    let mut year_rows: Vec<&Row> = rows.iter().filter(|row| row.level == Level::Year).collect();
    year_rows.sort_by(|left, right| {
        days_since_last_activity(right)
            .cmp(&days_since_last_activity(left))
            .then_with(|| left.account_id.cmp(&right.account_id))
    });
    year_rows.truncate(count);
    year_rows
}

/// Whole days from a row's latest counted email or meeting to its reference instant.
pub fn days_since_last_activity(row: &Row) -> Option<i64> {
    match (row.days_since_last_email, row.days_since_last_meeting) {
        (Some(email), Some(meeting)) => Some(email.min(meeting)),
        (email, meeting) => email.or(meeting),
    }
}

fn write_csv<'a, const N: usize>(
    columns: &[&str; N],
    records: impl Iterator<Item = [Cell<'a>; N]>,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut line = String::with_capacity(256);
    for (index, column) in columns.iter().enumerate() {
        if index > 0 {
            line.push(',');
        }
        push_csv_text(&mut line, column);
    }
    line.push('\n');
    out.write_all(line.as_bytes())?;
    for record in records {
        line.clear();
        for (index, cell) in record.iter().enumerate() {
            if index > 0 {
                line.push(',');
            }
            match cell {
                Cell::Text(text) => push_csv_text(&mut line, text),
                Cell::Null => {}
                other => push_plain(&mut line, other),
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn write_json<'a, const N: usize>(
    columns: &[&str; N],
    records: impl Iterator<Item = [Cell<'a>; N]>,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut text = String::with_capacity(512);
    let mut first = true;
    out.write_all(b"[")?;
    for record in records {
        text.clear();
        text.push_str(if first { "\n  {" } else { ",\n  {" });
        first = false;
        for (index, (column, cell)) in columns.iter().zip(record.iter()).enumerate() {
            if index > 0 {
                text.push_str(", ");
            }
            push_json_string(&mut text, column);
            text.push_str(": ");
            match cell {
                Cell::Text(value) => push_json_string(&mut text, value),
                Cell::Null => text.push_str("null"),
                Cell::Date(date) => {
                    text.push('"');
                    push_date(&mut text, *date);
                    text.push('"');
                }
                other => push_plain(&mut text, other),
            }
        }
        text.push('}');
        out.write_all(text.as_bytes())?;
    }
    out.write_all(if first { b"]\n" } else { b"\n]\n" })
}

/// Appends a number or date as plain text.
fn push_plain(line: &mut String, cell: &Cell<'_>) {
    match cell {
        // An integer is a decimal with no digits after the point; its writer skips the
        // formatting machinery of `write!`, which costs several times more over a big table.
        Cell::Integer(value) => Decimal::new(i128::from(*value), 0).push_to(line),
        Cell::Decimal(value) => value.push_to(line),
        Cell::Date(date) => push_date(line, *date),
        Cell::Text(text) => line.push_str(text),
        Cell::Null => {}
    }
}

/// Appends a date as `YYYY-MM-DD` (chrono's `%Y-%m-%d`, which it equals for years 0–9999).
fn push_date(line: &mut String, date: NaiveDate) {
    use chrono::Datelike as _;
    let year = date.year();
    if !(0..=9999).contains(&year) {
        use std::fmt::Write as _;
        let _ = write!(line, "{}", date.format("%Y-%m-%d"));
        return;
    }
    let two = |line: &mut String, value: u32| {
        line.push(char::from(b'0' + (value / 10) as u8));
        line.push(char::from(b'0' + (value % 10) as u8));
    };
    two(line, year as u32 / 100);
    two(line, year as u32 % 100);
    line.push('-');
    two(line, date.month());
    line.push('-');
    two(line, date.day());
}

/// Appends a CSV text cell, quoted only when it must be.
fn push_csv_text(line: &mut String, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        line.push('"');
        for character in text.chars() {
            if character == '"' {
                line.push('"');
            }
            line.push(character);
        }
        line.push('"');
    } else {
        line.push_str(text);
    }
}

/// Appends a JSON string literal.
fn push_json_string(text: &mut String, value: &str) {
    match serde_json::to_string(value) {
        Ok(literal) => text.push_str(&literal),
        Err(_) => text.push_str("\"\""),
    }
}

#[cfg(test)]
mod tests;
