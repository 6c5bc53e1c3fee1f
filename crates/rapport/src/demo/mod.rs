//! `rapport demo`: generate a deterministic demo corpus, enrich it, and show the result.

pub(crate) mod generate;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use chrono::NaiveDate;
use rapport_core::engine::Row;
use rapport_core::output;
use rapport_core::period::Level;
use rapport_store::{EnrichmentConfig, QueueOutcome, Store, Trigger};

use crate::cli::{DemoArgs, EnrichArgs, Format};
use crate::{config, enrich, runner};

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
    let stored = StoredDemo {
        users: std::path::absolute(&files.users)?,
        contacts: std::path::absolute(&files.contacts)?,
        accounts: std::path::absolute(&files.accounts)?,
        sources: files.sources.iter().map(std::path::absolute).collect::<Result<_, _>>()?,
    };
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
        graph_config: None,
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
    let mut text = render(&outcome.enrichment.rows, args.top, &corpus, &outcome.files);
    let as_of_instant = config::parse_as_of(&args.as_of).map_err(|problem| anyhow!(problem))?;
    text.push_str(&store_demo(&dir.join("data"), &stored, as_of_instant)?);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// The demo corpus's files, absolute, for the stored enrichment.
struct StoredDemo {
    users: PathBuf,
    contacts: PathBuf,
    accounts: PathBuf,
    sources: Vec<PathBuf>,
}

/// Keeps the demo as a stored enrichment as well, consented and run once, so that the first
/// command also exercises the SQLite store; returns what to tell the user.
fn store_demo(data_dir: &Path, demo: &StoredDemo, as_of: i64) -> Result<String> {
    const NAME: &str = "Demo";
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let database = data_dir.join("rapport.db");
    let store = Store::open(&database)?;
    if let Ok(previous) = store.enrichment_by_name(NAME) {
        store.delete_enrichment(previous.id)?;
    }
    let mut settings = EnrichmentConfig::new(NAME, demo.contacts.clone(), demo.sources.clone());
    settings.users_file = Some(demo.users.clone());
    settings.customers.accounts = Some(demo.accounts.clone());
    settings.customers.account_domains_columns = vec!["Domains".into()];
    settings.match_domains = true;
    let now = config::now();
    let id = store.create_enrichment(&settings, now)?;
    store.consent(id, "rapport demo", now, 0)?;
    let enrichment = store.enrichment(id)?;
    let line = match store.queue_run(id, Trigger::Manual, now)? {
        QueueOutcome::Queued(run) => {
            let line =
                runner::execute(&store, &database, &enrichment, run, config::threads(None), as_of)?;
            format!("run {run}: {}: {}", line.status, line.detail)
        }
        QueueOutcome::Skipped(run) => format!("run {run}: Skipped"),
    };
    Ok(format!(
        "\nStored enrichment {NAME:?} in {} ({line}).\nSee its runs with: rapport enrichment --data-dir {} runs {NAME}\n",
        data_dir.display(),
        data_dir.display()
    ))
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
