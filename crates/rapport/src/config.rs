//! Turning flags and files into a validated run configuration, collecting every problem at once.
//!
//! This is the one module that may read the environment and the clock (clippy.toml forbids both
//! elsewhere): the engine takes the as-of instant as a parameter.

use std::path::Path;

use anyhow::{Result, bail};
use chrono::{NaiveDate, NaiveDateTime};
use rapport_core::score::Weights;

/// Parses `--as-of`: `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn parse_as_of(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp());
    }
    if let Some(stripped) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z'))
        && let Ok(instant) = NaiveDateTime::parse_from_str(stripped, "%Y-%m-%dT%H:%M:%S")
    {
        return Ok(instant.and_utc().timestamp());
    }
    Err(format!(
        "--as-of {text:?} is not a date (YYYY-MM-DD) or a UTC instant (YYYY-MM-DDTHH:MM:SSZ)"
    ))
}

/// The current instant, for runs without `--as-of`.
#[allow(clippy::disallowed_methods)] // The command line is the edge where the clock is read.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
}

/// An environment variable's value (the Graph configuration's `client_secret_env`); `None` when
/// unset or not Unicode.
#[allow(clippy::disallowed_methods)] // This module is where the environment is read.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Builds the score weights from an optional TOML file and `FEATURE=DECIMAL` overrides.
///
/// Numbers are read from their text, never through a binary float, so `0.1` stays exactly 0.1.
pub(crate) fn load_weights(
    file: Option<&Path>,
    overrides: &[String],
    problems: &mut Vec<String>,
) -> Weights {
    let mut weights = Weights::default();
    if let Some(path) = file {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                if let Err(error) = apply_weights_toml(&mut weights, &text) {
                    problems.push(format!("{}: {error}", path.display()));
                }
            }
            Err(error) => {
                problems.push(format!("cannot read weights file {}: {error}", path.display()))
            }
        }
    }
    for assignment in overrides {
        match assignment.split_once('=') {
            Some((feature, value)) => {
                if let Err(error) = weights.set(feature.trim(), value.trim()) {
                    problems.push(format!("--weight {assignment}: {error}"));
                }
            }
            None => problems.push(format!("--weight {assignment:?}: expected FEATURE=DECIMAL")),
        }
    }
    if let Err(error) = weights.validate() {
        match file {
            Some(path) => problems.push(format!("{}: {error}", path.display())),
            None => problems.push(error),
        }
    }
    weights
}

fn apply_weights_toml(weights: &mut Weights, text: &str) -> Result<()> {
    use toml::de::{DeTable, DeValue};
    let document = DeTable::parse(text)
        .map_err(|error| anyhow::anyhow!("{}", error.to_string().trim_end()))?;
    let mut problems = Vec::new();
    for (key, value) in document.get_ref() {
        let key = key.get_ref().as_ref();
        if key != "weights" {
            problems.push(format!("unknown key {key:?} (expected a [weights] table)"));
            continue;
        }
        let DeValue::Table(table) = value.get_ref() else {
            problems.push("weights must be a table".to_owned());
            continue;
        };
        for (feature, value) in table {
            let feature = feature.get_ref().as_ref();
            let text = match value.get_ref() {
                DeValue::String(text) => text.as_ref().to_owned(),
                DeValue::Integer(number) => number.as_str().to_owned(),
                DeValue::Float(number) => number.as_str().to_owned(),
                _ => {
                    problems.push(format!("weights.{feature}: expected a decimal number"));
                    continue;
                }
            };
            if let Err(error) = weights.set(feature, &text) {
                problems.push(format!("weights.{feature}: {error}"));
            }
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(())
}

/// Why `--format parquet` fails in a build without the `parquet` feature.
#[cfg(not(feature = "parquet"))]
pub(crate) const NO_PARQUET: &str = "--format parquet: this build of rapport has no Parquet support (build with the `parquet` feature)";

/// Checks that the chosen output format is built in.
pub(crate) fn check_format(format: crate::cli::Format) -> Result<(), String> {
    #[cfg(not(feature = "parquet"))]
    if format == crate::cli::Format::Parquet {
        return Err(NO_PARQUET.to_owned());
    }
    let _ = format;
    Ok(())
}

/// The crash-test hook: `RAPPORT_TEST_STALL_AT_STAGE=<stage name>` makes a stored run stop at the
/// start of that stage and wait to be killed or cancelled. Only the crash and cancel tests set it.
#[allow(clippy::disallowed_methods)] // This module is where the environment is read.
pub(crate) fn stall_stage() -> Option<String> {
    std::env::var("RAPPORT_TEST_STALL_AT_STAGE").ok()
}

/// Parses an IANA time zone name.
pub(crate) fn parse_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.trim()
        .parse::<chrono_tz::Tz>()
        .map_err(|_| format!("--time-zone {name:?} is not an IANA time zone name"))
}

/// The number of worker threads: the flag, else every core.
pub(crate) fn threads(flag: Option<usize>) -> usize {
    flag.filter(|&n| n > 0).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    })
}

/// Checks that an output table name can be a file name.
pub(crate) fn check_table_name(name: &str) -> Result<(), String> {
    if rapport_core::output::is_valid_table_name(name) {
        Ok(())
    } else {
        Err(format!("--output-table {name:?}: use letters, digits, '_' and '-' only"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_accepts_a_date_or_a_utc_instant() {
        assert_eq!(parse_as_of("2001-12-31"), Ok(1_009_756_800));
        assert_eq!(parse_as_of("2001-12-31T12:00:00Z"), Ok(1_009_800_000));
        assert!(parse_as_of("2001-13-01").is_err());
        assert!(parse_as_of("2001-12-31T12:00:00").is_err());
    }

    #[test]
    fn weights_toml_keeps_decimal_text() {
        let mut weights = Weights::default();
        apply_weights_toml(
            &mut weights,
            "[weights]\nbreadth = 0.3\nrecency = \"0.1\"\ninitiative = 1\n",
        )
        .expect("valid weights");
        let mut expected = Weights::default();
        expected.set("breadth", "0.3").expect("breadth");
        expected.set("recency", "0.1").expect("recency");
        expected.set("initiative", "1").expect("initiative");
        assert_eq!(weights, expected);
    }

    #[test]
    fn weights_toml_names_every_bad_key() {
        let mut weights = Weights::default();
        let error = apply_weights_toml(&mut weights, "[weights]\nspeed = 1\nbreadth = true\n")
            .expect_err("bad");
        let text = error.to_string();
        assert!(text.contains("weights.speed"), "{text}");
        assert!(text.contains("weights.breadth"), "{text}");
    }
}
