//! Parquet output with proper types: text as UTF-8 strings, counts as INT64, dates as DATE and
//! decimals as DECIMAL stored in INT64, nulls for empty cells.
//!
//! The tables come as typed cells from `rapport_core::output`, so this module only maps a cell kind
//! to a Parquet column. It uses the parquet crate's own column writers (no Arrow), which keeps the
//! build small.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use rapport_core::engine::{Explanation, Row};
use rapport_core::model::OrgUser;
use rapport_core::output::{self, Cell};
use rapport_core::score::Decimal;

/// The Parquet type of one column.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int64,
    Date,
    /// A decimal with this many digits after the point.
    Decimal(u32),
}

/// Writes the enriched table.
pub(crate) fn write_rows(rows: &[Row], out: impl Write + Send) -> Result<()> {
    use Kind::{Date, Decimal, Int64, Text};
    let kinds = [
        Text,
        Int64,
        Int64,
        Int64,
        Int64,
        Int64,
        Int64,
        Int64,
        Int64,
        Int64,
        Date,
        Int64,
        Int64,
        Decimal(2),
        Decimal(2),
        Date,
        Text,
    ];
    write_table(&output::ROW_COLUMNS, &kinds, rows.iter().map(output::row_cells), out)
}

/// Writes the org users table.
pub(crate) fn write_users(users: &[OrgUser], out: impl Write + Send) -> Result<()> {
    write_table(
        &output::USER_COLUMNS,
        &[Kind::Text, Kind::Text],
        users.iter().map(output::user_cells),
        out,
    )
}

/// Writes the score explanation table.
pub(crate) fn write_explanations(
    explanations: &[Explanation],
    out: impl Write + Send,
) -> Result<()> {
    use Kind::{Date, Decimal, Int64, Text};
    let kinds = [Text, Text, Date, Int64, Text, Int64, Decimal(9), Int64, Int64, Decimal(4)];
    let lines = explanations.iter().flat_map(output::explanation_cells);
    write_table(&output::EXPLANATION_COLUMNS, &kinds, lines, out)
}

fn write_table<'a, const N: usize>(
    names: &[&str; N],
    kinds: &[Kind; N],
    records: impl Iterator<Item = [Cell<'a>; N]>,
    out: impl Write + Send,
) -> Result<()> {
    let records: Vec<[Cell<'a>; N]> = records.collect();
    let fields: Vec<String> = names
        .iter()
        .zip(kinds)
        .enumerate()
        .map(|(index, (name, kind))| {
            let repetition = if records.iter().any(|record| record[index] == Cell::Null) {
                "optional"
            } else {
                "required"
            };
            match kind {
                Kind::Text => format!("{repetition} binary {name} (STRING);"),
                Kind::Int64 => format!("{repetition} int64 {name};"),
                Kind::Date => format!("{repetition} int32 {name} (DATE);"),
                Kind::Decimal(scale) => format!("{repetition} int64 {name} (DECIMAL(18,{scale}));"),
            }
        })
        .collect();
    let schema =
        Arc::new(parse_message_type(&format!("message table {{ {} }}", fields.join(" ")))?);
    let properties =
        Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
    let mut writer = SerializedFileWriter::new(out, schema, properties)?;
    let mut row_group = writer.next_row_group()?;
    let mut index = 0;
    while let Some(mut column_writer) = row_group.next_column()? {
        let Some(kind) = kinds.get(index) else { bail!("parquet schema and columns disagree") };
        let cells = records.iter().map(|record| record[index]);
        let levels: Vec<i16> = cells.clone().map(|cell| i16::from(cell != Cell::Null)).collect();
        let levels = if levels.contains(&0) { Some(levels.as_slice()) } else { None };
        match kind {
            Kind::Text => {
                let values: Vec<ByteArray> = cells
                    .filter_map(|cell| match cell {
                        Cell::Text(text) => Some(ByteArray::from(text.as_bytes().to_vec())),
                        _ => None,
                    })
                    .collect();
                column_writer.typed::<ByteArrayType>().write_batch(&values, levels, None)?;
            }
            Kind::Int64 => {
                let values: Vec<i64> = cells
                    .filter_map(|cell| match cell {
                        Cell::Integer(value) => Some(value),
                        _ => None,
                    })
                    .collect();
                column_writer.typed::<Int64Type>().write_batch(&values, levels, None)?;
            }
            Kind::Date => {
                let values: Vec<i32> = cells
                    .filter_map(|cell| match cell {
                        Cell::Date(date) => Some(days_since_epoch(date)),
                        _ => None,
                    })
                    .collect();
                column_writer.typed::<Int32Type>().write_batch(&values, levels, None)?;
            }
            Kind::Decimal(scale) => {
                let values = cells
                    .filter_map(|cell| match cell {
                        Cell::Decimal(decimal) => Some(scaled(decimal, *scale)),
                        _ => None,
                    })
                    .collect::<Result<Vec<i64>>>()?;
                column_writer.typed::<Int64Type>().write_batch(&values, levels, None)?;
            }
        }
        column_writer.close()?;
        index += 1;
    }
    row_group.close()?;
    writer.close()?;
    Ok(())
}

fn days_since_epoch(date: NaiveDate) -> i32 {
    i32::try_from((date - NaiveDate::default()).num_days()).unwrap_or(i32::MAX)
}

/// The decimal's value in units of 10^-scale; decimals with more digits are an error, not a loss
/// (trailing zeros are not digits: a weight is held to 18 places, `0.25` among them).
fn scaled(decimal: Decimal, scale: u32) -> Result<i64> {
    let units = if decimal.scale() <= scale {
        10_i128
            .checked_pow(scale - decimal.scale())
            .and_then(|factor| decimal.units().checked_mul(factor))
    } else {
        10_i128
            .checked_pow(decimal.scale() - scale)
            .filter(|factor| decimal.units() % factor == 0)
            .map(|factor| decimal.units() / factor)
    };
    match units.and_then(|units| i64::try_from(units).ok()) {
        Some(units) => Ok(units),
        None => bail!("decimal {decimal} does not fit DECIMAL(18,{scale})"),
    }
}

#[cfg(test)]
mod tests {
    use parquet::basic::{LogicalType, Type as PhysicalType};
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    use rapport_core::period::Level;

    use super::*;

    fn row(
        account_id: &str,
        days_since_last_meeting: Option<i64>,
        average_meeting_minutes: Option<Decimal>,
    ) -> Row {
        let date = |day| NaiveDate::from_ymd_opt(2024, 3, day).unwrap_or_default();
        Row {
            account_id: account_id.to_owned(),
            engagement_score: 75,
            n_emails_to_account: 3,
            n_emails_from_account: 2,
            n_meetings_from_account: 1,
            n_meetings_to_account: 0,
            n_org_people_meetings: 1,
            n_org_people_emails: 2,
            n_account_people_meetings: 1,
            n_account_people_emails: 1,
            engagement_start_date: date(4),
            days_since_last_email: Some(5),
            days_since_last_meeting,
            average_meeting_minutes,
            average_reply_hours: None,
            aggregation_start_date: date(1),
            level: Level::Month,
        }
    }

    #[test]
    fn rows_round_trip_with_proper_types() {
        let rows = vec![row("A1", Some(7), Some(Decimal::new(3375, 2))), row("A2", None, None)];
        let file = tempfile::NamedTempFile::new().expect("temp file");
        write_rows(&rows, file.reopen().expect("reopen")).expect("write");
        let reader = SerializedFileReader::new(file.reopen().expect("reopen")).expect("read back");
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        let column = |name: &str| {
            let index =
                (0..schema.num_columns()).find(|&i| schema.column(i).name() == name).expect(name);
            schema.column(index)
        };
        assert_eq!(column("NoOfEmails_ToAccount").physical_type(), PhysicalType::INT64);
        assert_eq!(column("EngagementStartDate").logical_type_ref(), Some(&LogicalType::Date));
        assert_eq!(
            column("AverageDuration_Of_Meetings").logical_type_ref(),
            Some(&LogicalType::Decimal(parquet::basic::DecimalType { scale: 2, precision: 18 }))
        );
        assert_eq!(column("AccountId").logical_type_ref(), Some(&LogicalType::String));
        let records: Vec<_> =
            reader.get_row_iter(None).expect("rows").map(|row| row.expect("row")).collect();
        assert_eq!(records.len(), 2);
        let cell = |record: usize, name: &str| {
            records[record]
                .get_column_iter()
                .find(|(column, _)| column.as_str() == name)
                .map(|(_, field)| field.clone())
        };
        assert_eq!(cell(0, "AccountId"), Some(Field::Str("A1".into())));
        assert_eq!(cell(0, "DaysSinceLastMeeting"), Some(Field::Long(7)));
        assert_eq!(cell(1, "DaysSinceLastMeeting"), Some(Field::Null));
        assert_eq!(cell(0, "EngagementStartDate"), Some(Field::Date(19_786)));
        assert_eq!(cell(0, "AggregationLevel"), Some(Field::Str("Month".into())));
        match cell(0, "AverageDuration_Of_Meetings") {
            Some(Field::Decimal(decimal)) => {
                assert_eq!((decimal.data(), decimal.scale()), (&3375_i64.to_be_bytes()[..], 2))
            }
            other => panic!("not a decimal: {other:?}"),
        }
    }

    #[test]
    fn decimals_with_trailing_zeros_fit_a_smaller_scale_and_others_do_not() {
        // The default weight 0.25 is held to 18 places.
        let weight = rapport_core::score::Weights::default().get(0);
        assert_eq!(weight.scale(), 18);
        assert_eq!(scaled(weight, 9).expect("fits"), 250_000_000);
        assert_eq!(scaled(Decimal::new(3375, 2), 4).expect("fits"), 337_500);
        let error = scaled(Decimal::new(1_234_567_891, 10), 9).expect_err("a digit would be lost");
        assert_eq!(error.to_string(), "decimal 0.1234567891 does not fit DECIMAL(18,9)");
        assert!(scaled(Decimal::new(i128::from(i64::MAX) + 1, 0), 0).is_err());
    }

    #[test]
    fn explanations_with_the_default_weights_are_written() {
        let explanation = Explanation {
            account_id: "A1".into(),
            level: Level::Year,
            aggregation_start_date: NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"),
            engagement_score: 50,
            features: std::array::from_fn(|index| rapport_core::engine::FeatureScore {
                feature: rapport_core::score::Weights::FEATURES[index],
                value: 3,
                weight: rapport_core::score::Weights::default().get(index),
                accounts_beaten: 1,
                accounts_compared: 2,
                share_beaten: Decimal::new(5000, 4),
            }),
        };
        let file = tempfile::NamedTempFile::new().expect("temp file");
        write_explanations(&[explanation], file.reopen().expect("reopen")).expect("written");
        let reader = SerializedFileReader::new(file.reopen().expect("reopen")).expect("read back");
        assert_eq!(reader.metadata().file_metadata().num_rows(), 5);
    }
}
