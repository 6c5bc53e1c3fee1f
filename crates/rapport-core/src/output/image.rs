//! The tables of a run as one compact binary image: what the store publishes, so that a run
//! spends its time computing rather than formatting text. The CSV, JSON and Parquet files are
//! written from the decoded tables, by the same writers a one-shot run uses, so a table read
//! back from an image prints byte for byte as it would have from the run itself.
//!
//! An explanation repeats most of its row (account, level, date, score), the run's weights, and
//! a share that follows from its counts: the image keeps only what does not follow, and a flag
//! per explanation says when something else must be kept (never for an engine's output, but
//! the image stays lossless for any input). The image ends in a checksum: a damaged one is an
//! error, never wrong figures.
//!
//! ```text
//! image       = magic accounts rows weights explanations users checksum(u64 LE)
//! accounts    = n { text }                    account ids, each once
//! rows        = n { row }
//! row         = account-index level date score n_emails_to n_emails_from n_meetings_from
//!               n_meetings_to 4×people engagement-start days-email days-meeting
//!               minutes hours
//! explanation = flags [account-index level date] score compared 5×(value beaten)
//!               [5×weight] [5×share]
//! ```
//! Numbers are varints (signed ones zigzagged), dates days since 0001-01-01, options a
//! leading 0 for "none", decimals their units and scale.

use chrono::{Datelike as _, NaiveDate};

use crate::codec::{
    Malformed, Reader, checksum, put_text, put_varint, put_varint128, unzigzag, unzigzag128,
    zigzag, zigzag128,
};
use crate::engine::{Explanation, FeatureScore, Row};
use crate::model::OrgUser;
use crate::period::Level;
use crate::score::{Decimal, Scored, Weights};

/// The first bytes of an image; the last byte is the format version.
const MAGIC: [u8; 8] = *b"RPTABLE\x01";

/// From this many explanations on, they are encoded on a second thread.
const PARALLEL_FROM: usize = 10_000;

/// The explanation's account, level or date differ from its row's.
const OWN_IDENTITY: u8 = 1;
/// The explanation's weights differ from the image's.
const OWN_WEIGHTS: u8 = 2;
/// The explanation's shares are not those its counts give.
const OWN_SHARES: u8 = 4;

/// The tables of a run, as [`decode`] gives them back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tables {
    /// The enriched table.
    pub rows: Vec<Row>,
    /// One explanation per row, in the same order.
    pub explanations: Vec<Explanation>,
    /// The `<Output>_UserEntity` table.
    pub users: Vec<OrgUser>,
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

/// The image of `rows`, their `explanations` (one per row, or none) and `users`.
pub fn encode(rows: &[Row], explanations: &[Explanation], users: &[OrgUser]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + rows.len() * 40 + explanations.len() * 24);
    out.extend_from_slice(&MAGIC);
    // Account ids in order of first use; rows come sorted by account, so a comparison with the
    // previous one finds nearly every index.
    let mut account_ids: Vec<&str> = Vec::new();
    let mut index_of: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    let mut indices: Vec<u64> = Vec::with_capacity(rows.len() + explanations.len());
    let names = rows
        .iter()
        .map(|row| row.account_id.as_str())
        .chain(explanations.iter().map(|explanation| explanation.account_id.as_str()));
    for account_id in names {
        let index = if account_ids.last() == Some(&account_id) {
            account_ids.len() as u64 - 1
        } else {
            *index_of.entry(account_id).or_insert_with(|| {
                account_ids.push(account_id);
                account_ids.len() as u64 - 1
            })
        };
        indices.push(index);
    }
    let (row_accounts, explanation_accounts) = indices.split_at(rows.len());

    put_varint(&mut out, account_ids.len() as u64);
    for account_id in &account_ids {
        put_text(&mut out, account_id);
    }
    let weights: [Decimal; 5] = match explanations.first() {
        Some(first) => first.features.map(|feature| feature.weight),
        None => std::array::from_fn(|index| Weights::default().get(index)),
    };
    // The explanations are written beside the rows (each part into its own buffer) when there
    // are enough of them to pay for a thread.
    let write_explanations = || {
        let mut part = Vec::with_capacity(16 + explanations.len() * 24);
        for weight in &weights {
            put_decimal(&mut part, *weight);
        }
        put_varint(&mut part, explanations.len() as u64);
        for (position, (explanation, account)) in
            explanations.iter().zip(explanation_accounts).enumerate()
        {
            put_explanation(&mut part, explanation, *account, rows.get(position), &weights);
        }
        part
    };
    let explanation_part = std::thread::scope(|scope| {
        let beside = (explanations.len() >= PARALLEL_FROM).then(|| scope.spawn(write_explanations));
        put_varint(&mut out, rows.len() as u64);
        for (row, account) in rows.iter().zip(row_accounts) {
            put_row(&mut out, row, *account);
        }
        match beside.map(|handle| handle.join()) {
            Some(Ok(part)) => part,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => write_explanations(),
        }
    });
    out.extend_from_slice(&explanation_part);
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
    let weights: [Decimal; 5] = [
        read_decimal(&mut reader)?,
        read_decimal(&mut reader)?,
        read_decimal(&mut reader)?,
        read_decimal(&mut reader)?,
        read_decimal(&mut reader)?,
    ];
    let n_explanations = count(&mut reader)?;
    let mut explanations = Vec::with_capacity(n_explanations);
    for position in 0..n_explanations {
        explanations.push(read_explanation(
            &mut reader,
            &account_ids,
            rows.get(position),
            &weights,
        )?);
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
    Ok(Tables { rows, explanations, users })
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

/// The share an explanation's counts give (as the scorer computes it).
fn share_of(beaten: u64, compared: u64) -> Decimal {
    Scored { score: 0, beaten: [beaten; 5], compared }.share_beaten(0)
}

fn put_explanation(
    out: &mut Vec<u8>,
    explanation: &Explanation,
    account: u64,
    row: Option<&Row>,
    weights: &[Decimal; 5],
) {
    let same_identity = row.is_some_and(|row| {
        row.account_id == explanation.account_id
            && row.level == explanation.level
            && row.aggregation_start_date == explanation.aggregation_start_date
    });
    let features = &explanation.features;
    let compared = features.first().map_or(0, |feature| feature.accounts_compared);
    let mut flags = 0;
    if !same_identity {
        flags |= OWN_IDENTITY;
    }
    if features.iter().zip(weights).any(|(feature, weight)| feature.weight != *weight) {
        flags |= OWN_WEIGHTS;
    }
    if features.iter().any(|feature| {
        feature.accounts_compared != compared
            || feature.share_beaten != share_of(feature.accounts_beaten, compared)
    }) {
        flags |= OWN_SHARES;
    }
    out.push(flags);
    if flags & OWN_IDENTITY != 0 {
        put_varint(out, account);
        out.push(level_code(explanation.level));
        put_date(out, explanation.aggregation_start_date);
    }
    out.push(explanation.engagement_score);
    put_varint(out, compared);
    for feature in features {
        put_varint(out, zigzag(feature.value));
        put_varint(out, feature.accounts_beaten);
    }
    if flags & OWN_WEIGHTS != 0 {
        for feature in features {
            put_decimal(out, feature.weight);
        }
    }
    if flags & OWN_SHARES != 0 {
        for feature in features {
            put_varint(out, feature.accounts_compared);
            put_decimal(out, feature.share_beaten);
        }
    }
}

fn read_explanation(
    reader: &mut Reader<'_>,
    account_ids: &[String],
    row: Option<&Row>,
    weights: &[Decimal; 5],
) -> Result<Explanation, ImageError> {
    let at = reader.offset();
    let flags = reader.byte()?;
    if flags & !(OWN_IDENTITY | OWN_WEIGHTS | OWN_SHARES) != 0 {
        return Err(Malformed { offset: at }.into());
    }
    let (account_id, level, aggregation_start_date) = if flags & OWN_IDENTITY != 0 {
        (read_account(reader, account_ids)?, read_level(reader)?, read_date(reader)?)
    } else {
        let row = row.ok_or(ImageError::Malformed(at + MAGIC.len()))?;
        (row.account_id.clone(), row.level, row.aggregation_start_date)
    };
    let engagement_score = reader.byte()?;
    let compared = reader.varint()?;
    let mut features = [FeatureScore {
        feature: "",
        value: 0,
        weight: Decimal::new(0, 0),
        accounts_beaten: 0,
        accounts_compared: compared,
        share_beaten: Decimal::new(0, 0),
    }; 5];
    for ((feature, name), weight) in features.iter_mut().zip(Weights::FEATURES).zip(weights) {
        feature.feature = name;
        feature.value = unzigzag(reader.varint()?);
        feature.accounts_beaten = reader.varint()?;
        feature.weight = *weight;
        feature.share_beaten = share_of(feature.accounts_beaten, compared);
    }
    if flags & OWN_WEIGHTS != 0 {
        for feature in &mut features {
            feature.weight = read_decimal(reader)?;
        }
    }
    if flags & OWN_SHARES != 0 {
        for feature in &mut features {
            feature.accounts_compared = reader.varint()?;
            feature.share_beaten = read_decimal(reader)?;
        }
    }
    Ok(Explanation { account_id, level, aggregation_start_date, engagement_score, features })
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
