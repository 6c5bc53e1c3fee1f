//! The tables of a run as one compact binary image: what the store publishes, so that a run
//! spends its time computing rather than formatting text. The CSV, JSON and Parquet files are
//! written from the decoded tables, by the same writers a one-shot run uses, so a table read
//! back from an image prints byte for byte as it would have from the run itself.
//!
//! The explanations are kept as what they are made of ([`RowScore`]: feature values and how
//! they compare) and the weights; the rest of each follows from its row. The image ends in a
//! checksum: a damaged one is an error, never wrong figures.
//!
//! ```text
//! image   = magic accounts rows weights scores users checksum(u64 LE)
//! accounts = n { text }                    account ids, each once
//! rows    = n { row }
//! row     = account-index level date score n_emails_to n_emails_from n_meetings_from
//!           n_meetings_to 4×people engagement-start days-email days-meeting minutes hours
//! weights = 5 × units (of 10⁻¹⁸)
//! scores  = n { compared 5×(value beaten) }
//! ```
//! Numbers are varints (signed ones zigzagged), dates days since 0001-01-01, options a
//! leading 0 for "none", decimals their units and scale.

use chrono::{Datelike as _, NaiveDate};

use crate::codec::{
    Malformed, Reader, checksum, put_text, put_varint, put_varint128, unzigzag, unzigzag128,
    zigzag, zigzag128,
};
use crate::engine::{Explanation, Row, RowScore, explain};
use crate::model::OrgUser;
use crate::period::Level;
use crate::score::{Decimal, Weights};

/// The first bytes of an image; the last byte is the format version.
const MAGIC: [u8; 8] = *b"RPTABLE\x02";

/// From this many rows on, the scores are encoded on a second thread.
const PARALLEL_FROM: usize = 10_000;

/// The tables of a run, as [`decode`] gives them back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    /// The enriched table.
    pub rows: Vec<Row>,
    /// What each row's score was made of, in the same order.
    pub scores: Vec<RowScore>,
    /// The weights of the scores.
    pub weights: Weights,
    /// The `<Output>_UserEntity` table.
    pub users: Vec<OrgUser>,
}

impl Tables {
    /// One explanation per row (see [`explain`]).
    pub fn explanations(&self) -> Vec<Explanation> {
        explain(&self.rows, &self.scores, &self.weights)
    }
}

/// Why an image cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// Not an image, or one of another format version.
    Foreign,
    /// The checksum does not match: the bytes changed after they were written.
    Damaged,
    /// The image ends early or holds a value no writer writes (at this byte).
    Malformed(usize),
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageError::Foreign => formatter.write_str("not a results image of this version"),
            ImageError::Damaged => {
                formatter.write_str("the results image is damaged (checksum mismatch)")
            }
            ImageError::Malformed(at) => {
                write!(formatter, "the results image is malformed at byte {at}")
            }
        }
    }
}

impl std::error::Error for ImageError {}

impl From<Malformed> for ImageError {
    fn from(malformed: Malformed) -> ImageError {
        ImageError::Malformed(malformed.offset + MAGIC.len())
    }
}

/// The image of `rows`, what their scores were made of (`scores`, one per row), the
/// `weights` and `users`.
pub fn encode(rows: &[Row], scores: &[RowScore], weights: &Weights, users: &[OrgUser]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + rows.len() * 40 + scores.len() * 24);
    out.extend_from_slice(&MAGIC);
    // Account ids in order of first use; rows come sorted by account, so a comparison with the
    // previous one finds nearly every index.
    let mut account_ids: Vec<&str> = Vec::new();
    let mut index_of: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    let mut row_accounts: Vec<u64> = Vec::with_capacity(rows.len());
    for row in rows {
        let account_id = row.account_id.as_str();
        let index = if account_ids.last() == Some(&account_id) {
            account_ids.len() as u64 - 1
        } else {
            *index_of.entry(account_id).or_insert_with(|| {
                account_ids.push(account_id);
                account_ids.len() as u64 - 1
            })
        };
        row_accounts.push(index);
    }
    put_varint(&mut out, account_ids.len() as u64);
    for account_id in &account_ids {
        put_text(&mut out, account_id);
    }
    // The scores are written beside the rows (into their own buffer) when there are enough of
    // them to pay for a thread.
    let write_scores = || {
        let mut part = Vec::with_capacity(96 + scores.len() * 24);
        for index in 0..Weights::FEATURES.len() {
            put_varint128(&mut part, zigzag128(weights.get(index).units()));
        }
        put_varint(&mut part, scores.len() as u64);
        for score in scores {
            put_varint(&mut part, score.compared);
            for (value, beaten) in score.values.iter().zip(&score.beaten) {
                put_varint(&mut part, zigzag(*value));
                put_varint(&mut part, *beaten);
            }
        }
        part
    };
    let scores_part = std::thread::scope(|scope| {
        let beside = (scores.len() >= PARALLEL_FROM).then(|| scope.spawn(write_scores));
        put_varint(&mut out, rows.len() as u64);
        for (row, account) in rows.iter().zip(&row_accounts) {
            put_row(&mut out, row, *account);
        }
        match beside.map(|handle| handle.join()) {
            Some(Ok(part)) => part,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => write_scores(),
        }
    });
    out.extend_from_slice(&scores_part);
    put_varint(&mut out, users.len() as u64);
    for user in users {
        put_text(&mut out, &user.email);
        put_option_text(&mut out, user.directory_id.as_deref());
    }
    let sum = checksum(out.get(MAGIC.len()..).unwrap_or_default());
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Reads an image written by [`encode`]. Every count, index and value is checked.
pub fn decode(bytes: &[u8]) -> Result<Tables, ImageError> {
    if bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err(ImageError::Foreign);
    }
    let body_end = bytes.len().checked_sub(8).filter(|end| *end >= MAGIC.len());
    let Some(body_end) = body_end else { return Err(ImageError::Malformed(bytes.len())) };
    let body = bytes.get(MAGIC.len()..body_end).unwrap_or_default();
    let stored =
        bytes.get(body_end..).and_then(|tail| tail.try_into().ok()).map(u64::from_le_bytes);
    if stored != Some(checksum(body)) {
        return Err(ImageError::Damaged);
    }
    let mut reader = Reader::new(body);
    // Counts are bounded by the bytes left (every item takes at least one byte), so a damaged
    // count cannot ask for a huge allocation.
    let count = |reader: &mut Reader<'_>| -> Result<usize, ImageError> {
        let at = reader.offset();
        let count = reader.length()?;
        if count > body.len() - at.min(body.len()) {
            return Err(Malformed { offset: at }.into());
        }
        Ok(count)
    };
    let n_accounts = count(&mut reader)?;
    let mut account_ids = Vec::with_capacity(n_accounts);
    for _ in 0..n_accounts {
        account_ids.push(reader.text()?.to_owned());
    }
    let n_rows = count(&mut reader)?;
    let mut rows = Vec::with_capacity(n_rows);
    for _ in 0..n_rows {
        rows.push(read_row(&mut reader, &account_ids)?);
    }
    let mut units = [0i128; 5];
    for unit in &mut units {
        *unit = unzigzag128(reader.varint128()?);
    }
    let weights = Weights::from_units(units);
    let n_scores = count(&mut reader)?;
    let mut scores = Vec::with_capacity(n_scores);
    for _ in 0..n_scores {
        let compared = reader.varint()?;
        let mut score = RowScore { values: [0; 5], beaten: [0; 5], compared };
        for (value, beaten) in score.values.iter_mut().zip(&mut score.beaten) {
            *value = unzigzag(reader.varint()?);
            *beaten = reader.varint()?;
        }
        scores.push(score);
    }
    let n_users = count(&mut reader)?;
    let mut users = Vec::with_capacity(n_users);
    for _ in 0..n_users {
        let email = reader.text()?.to_owned();
        let directory_id = read_option_text(&mut reader)?;
        users.push(OrgUser { email, directory_id });
    }
    if !reader.is_at_end() {
        return Err(Malformed { offset: reader.offset() }.into());
    }
    Ok(Tables { rows, scores, weights, users })
}

fn put_row(out: &mut Vec<u8>, row: &Row, account: u64) {
    put_varint(out, account);
    out.push(level_code(row.level));
    put_date(out, row.aggregation_start_date);
    out.push(row.engagement_score);
    for count in [
        row.n_emails_to_account,
        row.n_emails_from_account,
        row.n_meetings_from_account,
        row.n_meetings_to_account,
        row.n_org_people_meetings,
        row.n_org_people_emails,
        row.n_account_people_meetings,
        row.n_account_people_emails,
    ] {
        put_varint(out, count);
    }
    put_date(out, row.engagement_start_date);
    for days in [row.days_since_last_email, row.days_since_last_meeting] {
        match days {
            None => out.push(0),
            Some(days) => {
                out.push(1);
                put_varint(out, zigzag(days));
            }
        }
    }
    for average in [row.average_meeting_minutes, row.average_reply_hours] {
        match average {
            None => out.push(0),
            Some(average) => {
                out.push(1);
                put_decimal(out, average);
            }
        }
    }
}

fn read_row(reader: &mut Reader<'_>, account_ids: &[String]) -> Result<Row, ImageError> {
    let account_id = read_account(reader, account_ids)?;
    let level = read_level(reader)?;
    let aggregation_start_date = read_date(reader)?;
    let engagement_score = reader.byte()?;
    let mut counts = [0u64; 8];
    for count in &mut counts {
        *count = reader.varint()?;
    }
    let [
        n_emails_to_account,
        n_emails_from_account,
        n_meetings_from_account,
        n_meetings_to_account,
        n_org_people_meetings,
        n_org_people_emails,
        n_account_people_meetings,
        n_account_people_emails,
    ] = counts;
    let engagement_start_date = read_date(reader)?;
    let mut days = [None, None];
    for slot in &mut days {
        if read_flag(reader)? {
            *slot = Some(unzigzag(reader.varint()?));
        }
    }
    let mut averages = [None, None];
    for slot in &mut averages {
        if read_flag(reader)? {
            *slot = Some(read_decimal(reader)?);
        }
    }
    let [days_since_last_email, days_since_last_meeting] = days;
    let [average_meeting_minutes, average_reply_hours] = averages;
    Ok(Row {
        account_id,
        engagement_score,
        n_emails_to_account,
        n_emails_from_account,
        n_meetings_from_account,
        n_meetings_to_account,
        n_org_people_meetings,
        n_org_people_emails,
        n_account_people_meetings,
        n_account_people_emails,
        engagement_start_date,
        days_since_last_email,
        days_since_last_meeting,
        average_meeting_minutes,
        average_reply_hours,
        aggregation_start_date,
        level,
    })
}

fn level_code(level: Level) -> u8 {
    match level {
        Level::Year => 0,
        Level::Month => 1,
        Level::Week => 2,
    }
}

fn read_level(reader: &mut Reader<'_>) -> Result<Level, ImageError> {
    let at = reader.offset();
    Level::ALL.get(usize::from(reader.byte()?)).copied().ok_or(Malformed { offset: at }.into())
}

fn read_account(reader: &mut Reader<'_>, account_ids: &[String]) -> Result<String, ImageError> {
    let at = reader.offset();
    let index = reader.length()?;
    account_ids.get(index).cloned().ok_or(Malformed { offset: at }.into())
}

fn read_flag(reader: &mut Reader<'_>) -> Result<bool, ImageError> {
    let at = reader.offset();
    match reader.byte()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Malformed { offset: at }.into()),
    }
}

fn put_date(out: &mut Vec<u8>, date: NaiveDate) {
    put_varint(out, zigzag(i64::from(date.num_days_from_ce())));
}

fn read_date(reader: &mut Reader<'_>) -> Result<NaiveDate, ImageError> {
    let at = reader.offset();
    let days = i32::try_from(unzigzag(reader.varint()?)).ok();
    days.and_then(NaiveDate::from_num_days_from_ce_opt).ok_or(Malformed { offset: at }.into())
}

fn put_decimal(out: &mut Vec<u8>, decimal: Decimal) {
    put_varint128(out, zigzag128(decimal.units()));
    put_varint(out, u64::from(decimal.scale()));
}

fn read_decimal(reader: &mut Reader<'_>) -> Result<Decimal, ImageError> {
    let units = unzigzag128(reader.varint128()?);
    let at = reader.offset();
    // No decimal the engine makes has more digits after the point than an i128 holds.
    let scale = u32::try_from(reader.varint()?).ok().filter(|scale| *scale <= 38);
    let scale = scale.ok_or(ImageError::Malformed(at + MAGIC.len()))?;
    Ok(Decimal::new(units, scale))
}

fn put_option_text(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => out.push(0),
        Some(text) => {
            out.push(1);
            put_text(out, text);
        }
    }
}

fn read_option_text(reader: &mut Reader<'_>) -> Result<Option<String>, ImageError> {
    Ok(if read_flag(reader)? { Some(reader.text()?.to_owned()) } else { None })
}

#[cfg(test)]
mod tests;
