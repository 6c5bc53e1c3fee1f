//! `rapport enrich`: flags → validated configuration → sources → engine → outputs.
//!
//! Every configuration problem is collected and reported at once, and every input is opened and
//! read before anything is written, so a failed run leaves the output folder as it was.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use rapport_core::calendar;
use rapport_core::engine::{Engine, Enrichment, Options};
use rapport_core::model::{MeetingCopy, SkipCounts};
use rapport_core::period::Window;
use rapport_ingest::customers::{self, Loaded};
use rapport_ingest::source::{self, SourceItem, SourceKind};

use crate::cli::EnrichArgs;
use crate::config;
use crate::progress::Progress;
use crate::write;

/// What a run produced.
pub(crate) struct Outcome {
    /// The tables and the summary.
    pub(crate) enrichment: Enrichment,
    /// The files written, in writing order.
    pub(crate) files: Vec<PathBuf>,
}

/// Runs the whole pipeline for `rapport enrich`.
pub(crate) fn run(args: &EnrichArgs) -> Result<Outcome> {
    let mut problems = Vec::new();
    let as_of = match &args.as_of {
        Some(text) => config::parse_as_of(text).unwrap_or_else(|problem| {
            problems.push(problem);
            0
        }),
        None => config::now(),
    };
    let zone = args
        .time_zone
        .as_deref()
        .and_then(|name| config::parse_zone(name).map_err(|problem| problems.push(problem)).ok());
    if let Err(problem) = config::check_table_name(&args.output_table) {
        problems.push(problem);
    }
    if let Err(problem) = config::check_format(args.format) {
        problems.push(problem);
    }
    let weights =
        config::load_weights(args.weights.as_deref(), &args.weight_overrides, &mut problems);
    if !problems.is_empty() {
        bail!("invalid configuration:\n  - {}", problems.join("\n  - "));
    }

    let users = customers::load_users(&args.users)?;
    let contacts = customers::load_contacts(
        &args.contacts,
        &args.contact_email_column,
        &args.contact_account_column,
    )?;
    let accounts = match &args.accounts {
        Some(path) => {
            customers::load_accounts(path, &args.account_id_column, &args.account_domains_columns)?
        }
        None => {
            if !args.account_domains_columns.is_empty() {
                bail!("--account-domains-column needs --accounts FILE");
            }
            Loaded { items: Vec::new(), warnings: Vec::new() }
        }
    };
    if !args.quiet {
        report_warnings(&users.warnings);
        report_warnings(&contacts.warnings);
        report_warnings(&accounts.warnings);
    }

    let options = Options {
        as_of,
        match_domains: args.match_domains,
        extra_public_domains: args.public_domains.clone(),
        weights,
        zone,
    };
    let mut engine = Engine::new(users.items, accounts.items, contacts.items, options)
        .map_err(|error| anyhow!("{}: {error}", args.users.display()))?;
    let window = engine.window();

    let walk = source::walk(&args.sources)?;
    let mail_bytes: u64 = walk
        .items
        .iter()
        .filter(|item| item.kind != SourceKind::Calendar)
        .map(|item| item.len)
        .sum();
    // Calendars are read and expanded on their own thread while the mail is read.
    let (meeting_copies, calendar_skips) = std::thread::scope(|scope| -> Result<_> {
        let calendars = scope.spawn(|| read_calendars(&walk.items, window));
        let progress = Progress::start("reading mail", mail_bytes, args.quiet);
        let threads = config::threads(args.threads);
        let mail = source::read_mail(
            &walk.items,
            threads,
            &mut |record| engine.push_mail(record),
            &|bytes| progress.add(bytes),
        );
        drop(progress);
        let calendars = match calendars.join() {
            Ok(calendars) => calendars,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        mail?;
        calendars
    })?;
    engine.push_meetings(meeting_copies, calendar_skips);
    let mut enrichment = engine.finish();
    enrichment.summary.files_ignored = walk.files_ignored;

    let files = write::write_outputs(
        &args.out,
        &args.output_table,
        args.format,
        args.explain,
        &enrichment,
    )?;
    if !args.quiet {
        print_summary(&enrichment, &files);
    }
    Ok(Outcome { enrichment, files })
}

/// Reads every calendar item and expands its events inside the window.
fn read_calendars(items: &[SourceItem], window: Window) -> Result<(Vec<MeetingCopy>, SkipCounts)> {
    let mut calendar_files = Vec::new();
    for item in items.iter().filter(|item| item.kind == SourceKind::Calendar) {
        let bytes = std::fs::read(&item.path)
            .with_context(|| format!("cannot read {}", item.path.display()))?;
        calendar_files.push(rapport_ingest::ics::parse_ics(&bytes));
    }
    Ok(calendar::expand(&calendar_files, window.start, window.end))
}

fn report_warnings(warnings: &[customers::Warning]) {
    const SHOWN: usize = 5;
    for warning in warnings.iter().take(SHOWN) {
        eprintln!("rapport: warning: {warning}");
    }
    if warnings.len() > SHOWN {
        eprintln!("rapport: warning: {} more rows ignored in the same way", warnings.len() - SHOWN);
    }
}

fn print_summary(enrichment: &Enrichment, files: &[PathBuf]) {
    let summary = &enrichment.summary;
    let share = if summary.accounts_total == 0 {
        0.0
    } else {
        summary.accounts_enriched as f64 * 100.0 / summary.accounts_total as f64
    };
    eprintln!(
        "rapport: {} of {} accounts enriched ({share:.2} %) from {} emails and {} meetings processed; {} days of data in {} .. {}",
        summary.accounts_enriched,
        summary.accounts_total,
        summary.emails_processed,
        summary.meetings_processed,
        summary.days_covered,
        summary.window_start,
        summary.window_end,
    );
    for file in files {
        eprintln!("rapport: wrote {}", file.display());
    }
}
