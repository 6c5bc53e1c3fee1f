//! `rapport demo`: generate a deterministic demo corpus, enrich it, and show the result.

pub(crate) mod generate;

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use rapport_core::engine::Row;
use rapport_core::output;
use rapport_core::period::Level;

use crate::cli::{DemoArgs, EnrichArgs, Format};
use crate::enrich;

/// Runs the demo and prints the top and the stalest accounts to stdout.
pub(crate) fn run(args: &DemoArgs) -> Result<()> {
    let as_of = NaiveDate::parse_from_str(args.as_of.trim(), "%Y-%m-%d")
        .with_context(|| format!("--as-of {:?} is not a date (YYYY-MM-DD)", args.as_of))?;
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("rapport-demo-{}", std::process::id())),
    };
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("cannot create {}", corpus.display()))?;
    let files = generate::generate(&corpus, as_of)
        .with_context(|| format!("cannot write the demo corpus into {}", corpus.display()))?;
    let out = dir.join("out");
    let enrich_args = EnrichArgs {
        users: files.users,
        contacts: files.contacts,
        contact_email_column: "Email".into(),
        contact_account_column: "AccountId".into(),
        accounts: Some(files.accounts),
        account_id_column: "AccountId".into(),
        account_domains_columns: vec!["Domains".into()],
        match_domains: true,
        public_domains: Vec::new(),
        sources: files.sources,
        as_of: Some(args.as_of.clone()),
        time_zone: None,
        out: out.clone(),
        output_table: "Office".into(),
        format: Format::Csv,
        explain: true,
        weights: None,
        weight_overrides: Vec::new(),
        threads: None,
        quiet: args.quiet,
    };
    let outcome = enrich::run(&enrich_args)?;
    let text = render(&outcome.enrichment.rows, args.top, &corpus, &outcome.files);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// The demo's report: the most engaged and the stalest accounts (Year rows), and where things are.
fn render(rows: &[Row], top: usize, corpus: &std::path::Path, files: &[PathBuf]) -> String {
    let n_enriched = rows.iter().filter(|row| row.level == Level::Year).count();
    let mut text = format!("Most engaged accounts (of {n_enriched} enriched)\n");
    text.push_str(&table(output::top_accounts(rows, top)));
    text.push_str("\nStalest accounts (longest since the last email or meeting)\n");
    text.push_str(&table(output::stalest_accounts(rows, top)));
    text.push_str(&format!("\nDemo corpus: {}\n", corpus.display()));
    for file in files {
        text.push_str(&format!("Output:      {}\n", file.display()));
    }
    text
}

fn table(rows: Vec<&Row>) -> String {
    let mut text = format!(
        "{:<12} {:>5} {:>9} {:>11} {:>11} {:>13} {:>15} {:>18}\n",
        "Account",
        "Score",
        "Emails to",
        "Emails from",
        "Meetings to",
        "Meetings from",
        "Days since mail",
        "Days since meeting"
    );
    for row in rows {
        let days =
            |value: Option<i64>| value.map_or_else(|| "-".to_owned(), |days| days.to_string());
        text.push_str(&format!(
            "{:<12} {:>5} {:>9} {:>11} {:>11} {:>13} {:>15} {:>18}\n",
            row.account_id,
            row.engagement_score,
            row.n_emails_to_account,
            row.n_emails_from_account,
            row.n_meetings_to_account,
            row.n_meetings_from_account,
            days(row.days_since_last_email),
            days(row.days_since_last_meeting),
        ));
    }
    text
}
