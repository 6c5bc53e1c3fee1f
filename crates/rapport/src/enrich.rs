//! `rapport enrich`: flags → validated configuration → sources → engine → outputs.
//!
//! Every configuration problem is collected and reported at once, and every input is opened and
//! read before anything is written, so a failed run leaves the output folder as it was.

use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use std::sync::atomic::AtomicBool;

use rapport_core::engine::{Engine, Enrichment, Options};
use rapport_core::period;
use rapport_ingest::customers;

use crate::cli::EnrichArgs;
use crate::config;
use crate::graph;
use crate::pipeline;
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
    let graph_config = match args.graph_config.as_deref().map(graph::load_config) {
        Some(Ok(graph_config)) => Some(graph_config),
        Some(Err(error)) => {
            problems.push(format!("{error:#}"));
            None
        }
        None => None,
    };
    if !problems.is_empty() {
        bail!("invalid configuration:\n  - {}", problems.join("\n  - "));
    }

    // With a Graph source the users (and groups) are resolved through the directory.
    let cancel = AtomicBool::new(false);
    let mut graph_activity = None;
    let users = match graph_config {
        Some(graph_config) => {
            let activity = graph::read_activity(
                graph_config,
                &args.users,
                period::window(as_of),
                &cancel,
                args.quiet,
            )?;
            let users = activity.users.clone();
            graph_activity = Some(activity);
            customers::Loaded { items: users, warnings: Vec::new() }
        }
        None => customers::load_users(&args.users)?,
    };
    let customers = pipeline::load_customers(&pipeline::CustomerFiles {
        contacts: &args.contacts,
        contact_email_column: &args.contact_email_column,
        contact_account_column: &args.contact_account_column,
        accounts: args.accounts.as_deref(),
        account_id_column: &args.account_id_column,
        account_domains_columns: &args.account_domains_columns,
    })?;
    if !args.quiet {
        pipeline::report_warnings(&users.warnings);
        pipeline::report_warnings(&customers.warnings);
    }

    let options = Options {
        as_of,
        match_domains: args.match_domains,
        extra_public_domains: args.public_domains.clone(),
        weights,
        zone,
    };
    let mut engine = Engine::new(users.items, customers.accounts, customers.contacts, options)
        .map_err(|error| anyhow!("{}: {error}", args.users.display()))?;
    let mut summary_extra = Vec::new();
    if let Some(activity) = graph_activity {
        summary_extra.push(("graph", graph::summary_json(&activity)));
        engine.mark_mailboxes_read(graph::users_read(&activity.users, &activity.report));
        engine.begin_mail_segment("graph");
        engine.reserve_emails(activity.mail.len());
        activity.mail.into_iter().for_each(|record| engine.push_mail(record));
        engine.push_meetings(activity.meetings, activity.meeting_skips);
    }
    let progress = std::cell::OnceCell::new();
    let stats = pipeline::read_sources(
        &mut engine,
        &args.sources,
        config::threads(args.threads),
        &cancel,
        &mut |mail_bytes| {
            let _ = progress.set(Progress::start("reading mail", mail_bytes, args.quiet));
        },
        &|bytes| progress.get().into_iter().for_each(|progress| progress.add(bytes)),
    );
    drop(progress);
    let stats = stats?;
    let mut enrichment = engine.finish();
    enrichment.summary.files_ignored = stats.files_ignored;

    let files = write::write_outputs(
        &args.out,
        &args.output_table,
        args.format,
        args.explain,
        &enrichment,
        &summary_extra,
    )?;
    if !args.quiet {
        print_summary(&enrichment, &files);
    }
    Ok(Outcome { enrichment, files })
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
