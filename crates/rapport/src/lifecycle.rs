//! `rapport enrichment ...` and `rapport serve`: enrichments that live in the store.
//!
//! Saving an enrichment does not run it: an administrator consents first, and the first run is
//! scheduled six hours later (or at once). Runs then follow the schedule; `serve` is the
//! long-lived process that starts them, and marks runs that a stopped process left behind as
//! Failed when it starts.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use chrono::{NaiveTime, Weekday};
use rapport_store::{
    Enrichment, EnrichmentConfig, FIRST_RUN_DELAY_SECONDS, Frequency, QueueOutcome, Store, Trigger,
    UserGroup,
};

use crate::cli::{self, EnrichmentArgs, EnrichmentCommand, ServeArgs, SettingsArgs, Toggle};
use crate::{config, runner};

/// The database file inside the data folder.
const DATABASE_FILE: &str = "rapport.db";

/// Runs one `rapport enrichment` command.
pub(crate) fn run(args: &EnrichmentArgs) -> Result<()> {
    let database = database_path(&args.store.data_dir)?;
    let store = Store::open(&database)?;
    let mut out = String::new();
    match &args.command {
        EnrichmentCommand::Create(settings) => {
            let mut enrichment_config = default_config(&settings.name);
            apply(&mut enrichment_config, settings)?;
            let id = store.create_enrichment(&enrichment_config, config::now()).map_err(invalid)?;
            out.push_str(&format!(
                "created enrichment {:?} ({id}); it runs once an administrator consents:\n  rapport enrichment consent {:?} --by ADMIN\n",
                enrichment_config.name, enrichment_config.name
            ));
        }
        EnrichmentCommand::Edit(settings) => {
            let enrichment = store.enrichment_by_name(&settings.name)?;
            let mut enrichment_config = enrichment.config.clone();
            apply(&mut enrichment_config, settings)?;
            store
                .update_enrichment(enrichment.id, &enrichment_config, config::now())
                .map_err(invalid)?;
            out.push_str(&format!("updated enrichment {:?}\n", enrichment_config.name));
        }
        EnrichmentCommand::List => {
            out.push_str(&format!(
                "{:<24} {:<10} {:<9} {:<8} {:<20}\n",
                "Name", "Consent", "Active", "Schedule", "Next run (UTC)"
            ));
            for enrichment in store.enrichments()? {
                out.push_str(&format!(
                    "{:<24} {:<10} {:<9} {:<8} {:<20}\n",
                    enrichment.config.name,
                    if enrichment.consent.is_some() { "given" } else { "awaiting" },
                    if enrichment.active { "active" } else { "inactive" },
                    enrichment.config.schedule.frequency.as_str(),
                    enrichment.next_run_at.map_or_else(|| "-".to_owned(), format_instant),
                ));
            }
        }
        EnrichmentCommand::Show(name) => {
            out.push_str(&show(&store, &store.enrichment_by_name(&name.name)?)?)
        }
        EnrichmentCommand::Consent(consent) => {
            let enrichment = store.enrichment_by_name(&consent.name)?;
            let now = config::now();
            if consent.revoke {
                store.revoke_consent(
                    enrichment.id,
                    consent.by.as_deref().unwrap_or("unknown"),
                    now,
                )?;
                out.push_str(&format!(
                    "consent revoked for {:?}: no run starts until it is given again\n",
                    consent.name
                ));
            } else {
                let by = consent.by.as_deref().ok_or_else(|| anyhow!("--by ADMIN is required"))?;
                let delay = if consent.run_now {
                    0
                } else {
                    consent.delay_hours.map_or(FIRST_RUN_DELAY_SECONDS, |hours| hours.max(0) * 3600)
                };
                // With a Graph source, consent means the tenant granted the app its permissions:
                // checked now, and recorded.
                if let Some(path) = &enrichment.config.graph_config {
                    let line = crate::graph::check_for_consent(path)?;
                    store.record_graph_check(
                        enrichment.id,
                        &format!("{line} (checked {} UTC)", format_instant(now)),
                    )?;
                    out.push_str(&format!("{line}\n"));
                }
                store.consent(enrichment.id, by, now, delay)?;
                out.push_str(&format!(
                    "consent recorded for {:?}; the first run is due at {} UTC\n",
                    consent.name,
                    format_instant(now + delay)
                ));
            }
        }
        EnrichmentCommand::Activate(name) | EnrichmentCommand::Deactivate(name) => {
            let active = matches!(args.command, EnrichmentCommand::Activate(_));
            let enrichment = store.enrichment_by_name(&name.name)?;
            store.set_active(enrichment.id, active, config::now())?;
            let state = if active {
                "active: it refreshes on its schedule"
            } else {
                "inactive: its last results are kept"
            };
            out.push_str(&format!("{:?} is {state}\n", name.name));
        }
        EnrichmentCommand::Run(run_args) => {
            let enrichment = store.enrichment_by_name(&run_args.name)?;
            let as_of = match &run_args.as_of {
                Some(text) => config::parse_as_of(text).map_err(|problem| anyhow!(problem))?,
                None => config::now(),
            };
            match store.queue_run(enrichment.id, Trigger::Manual, config::now())? {
                QueueOutcome::Queued(run) => {
                    let threads = config::threads(run_args.threads);
                    let line =
                        runner::execute(&store, &database, &enrichment, run, threads, as_of)?;
                    out.push_str(&format!("run {run}: {}: {}\n", line.status, line.detail));
                    if line.status != "Successful" {
                        print(&out)?;
                        bail!("run {run} of {:?} did not succeed", run_args.name);
                    }
                }
                QueueOutcome::Skipped(run) => {
                    out.push_str(&format!(
                        "run {run}: Skipped: a run of {:?} is already queued or running\n",
                        run_args.name
                    ));
                }
            }
        }
        EnrichmentCommand::Cancel(name) => {
            let enrichment = store.enrichment_by_name(&name.name)?;
            let active = store.runs(enrichment.id)?.into_iter().find(|run| run.status.is_active());
            match active {
                Some(run) => {
                    store.request_cancel(run.id, config::now())?;
                    out.push_str(&format!(
                        "cancel requested for run {}; the last results are kept\n",
                        run.id
                    ));
                }
                None => out.push_str(&format!("{:?} has no queued or running run\n", name.name)),
            }
        }
        EnrichmentCommand::Delete(name) => {
            let enrichment = store.enrichment_by_name(&name.name)?;
            store.delete_enrichment(enrichment.id)?;
            runner::forget_kept_mail(runner::data_dir(&database), enrichment.id)?;
            out.push_str(&format!("deleted {:?} with its runs and results\n", name.name));
        }
        EnrichmentCommand::Runs(name) => {
            let enrichment = store.enrichment_by_name(&name.name)?;
            out.push_str(&format!(
                "{:<6} {:<11} {:<9} {:<20} {:>9}  {}\n",
                "Run", "Status", "Trigger", "Started (UTC)", "Seconds", "Result"
            ));
            for run in store.runs(enrichment.id)? {
                let seconds = match (run.started_at, run.finished_at) {
                    (Some(start), Some(end)) => (end - start).to_string(),
                    _ => "-".to_owned(),
                };
                let result = match (&run.error, &run.summary) {
                    (Some(error), _) => error.clone(),
                    (None, Some(summary)) => format!(
                        "{} of {} accounts enriched, {} days of data",
                        summary["accounts_enriched"],
                        summary["accounts_total"],
                        summary["days_covered"]
                    ),
                    (None, None) => run.stages.last().map_or_else(String::new, |stage| {
                        format!("{}: {} of {}", stage.stage.as_str(), stage.done, stage.total)
                    }),
                };
                out.push_str(&format!(
                    "{:<6} {:<11} {:<9} {:<20} {:>9}  {}\n",
                    run.id.to_string(),
                    run.status.as_str(),
                    run.trigger.as_str(),
                    run.started_at.map_or_else(|| "-".to_owned(), format_instant),
                    seconds,
                    result
                ));
            }
        }
        EnrichmentCommand::Results(results_args) => {
            let enrichment = store.enrichment_by_name(&results_args.name)?;
            let results = store
                .latest_results(enrichment.id)?
                .ok_or_else(|| anyhow!("{:?} has no results yet", results_args.name))?;
            let files = crate::write::write_published(
                &results_args.out,
                &results.tables,
                &results.summary,
                results_args.format,
            )?;
            for file in files {
                out.push_str(&format!("wrote {}\n", file.display()));
            }
        }
    }
    print(&out)
}

/// Runs the scheduler until stopped (or once).
pub(crate) fn serve(args: &ServeArgs) -> Result<()> {
    let database = database_path(&args.store.data_dir)?;
    let store = Store::open(&database)?;
    let interrupted = store.recover_interrupted(config::now())?;
    if !interrupted.is_empty() {
        eprintln!("rapport: {} interrupted run(s) marked as Failed", interrupted.len());
    }
    eprintln!("rapport: serving {} (checking every {} s)", database.display(), args.poll_seconds);
    let threads = config::threads(args.threads);
    loop {
        for line in tick(&store, &database, config::now(), threads)? {
            eprintln!("rapport: {line}");
        }
        if args.once {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(args.poll_seconds.max(1)));
    }
}

/// One look at the schedule at instant `now`: every due enrichment gets a scheduled run, executed
/// one after the other. Returns a line per enrichment (names, never people).
fn tick(store: &Store, database: &Path, now: i64, threads: usize) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for id in store.due(now)? {
        let enrichment = store.enrichment(id)?;
        let name = &enrichment.config.name;
        match store.queue_run(id, Trigger::Scheduled, now) {
            Ok(QueueOutcome::Queued(run)) => {
                let line = runner::execute(store, database, &enrichment, run, threads, now)?;
                lines.push(format!("{name:?} run {run}: {}: {}", line.status, line.detail));
            }
            Ok(QueueOutcome::Skipped(run)) => {
                lines.push(format!("{name:?} run {run} skipped: another run is in progress"));
            }
            Err(error) => lines.push(format!("{name:?}: {error:#}")),
        }
    }
    Ok(lines)
}

fn database_path(data_dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data folder {}", data_dir.display()))?;
    Ok(data_dir.join(DATABASE_FILE))
}

fn invalid(error: rapport_store::Error) -> anyhow::Error {
    match error {
        rapport_store::Error::Invalid(problems) => {
            anyhow!("invalid enrichment:\n  - {}", problems.join("\n  - "))
        }
        other => other.into(),
    }
}

fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn format_instant(instant: i64) -> String {
    chrono::DateTime::from_timestamp(instant, 0)
        .map_or_else(|| instant.to_string(), |time| time.format("%Y-%m-%d %H:%M").to_string())
}

fn default_config(name: &str) -> EnrichmentConfig {
    EnrichmentConfig::new(name, PathBuf::new(), Vec::new())
}

/// Applies the flags that were given to `settings`; lists replace, they do not add.
fn apply(settings: &mut EnrichmentConfig, args: &SettingsArgs) -> Result<()> {
    let mut problems = Vec::new();
    if let Some(name) = &args.rename {
        settings.name = name.clone();
    }
    if let Some(table) = &args.output_table {
        settings.output_table = table.clone();
    }
    if !args.users.is_empty() {
        settings.users = args.users.clone();
    }
    if let Some(path) = &args.users_file {
        settings.users_file = Some(absolute(path));
    }
    if !args.groups.is_empty() {
        settings.groups.clear();
        for group in &args.groups {
            match group.split_once('=') {
                Some((name, path)) => {
                    match rapport_ingest::customers::load_users(Path::new(path)) {
                        Ok(loaded) => settings.groups.push(UserGroup {
                            name: name.trim().to_owned(),
                            members: loaded.items.into_iter().map(|user| user.email).collect(),
                        }),
                        Err(error) => problems.push(format!("--group {group}: {error:#}")),
                    }
                }
                None => problems.push(format!("--group {group:?}: expected NAME=FILE")),
            }
        }
    }
    let customers = &mut settings.customers;
    if let Some(path) = &args.contacts {
        customers.contacts = absolute(path);
    }
    if let Some(column) = &args.contact_email_column {
        customers.contact_email_column = column.clone();
    }
    if let Some(column) = &args.contact_account_column {
        customers.contact_account_column = column.clone();
    }
    if let Some(path) = &args.accounts {
        customers.accounts = Some(absolute(path));
    }
    if let Some(column) = &args.account_id_column {
        customers.account_id_column = column.clone();
    }
    if !args.account_domains_columns.is_empty() {
        customers.account_domains_columns = args.account_domains_columns.clone();
    }
    if let Some(path) = &args.graph_config {
        settings.graph_config = Some(absolute(path));
    }
    if !args.sources.is_empty() {
        settings.sources = args.sources.iter().map(|path| absolute(path)).collect();
    }
    if let Some(toggle) = args.match_domains {
        settings.match_domains = toggle == Toggle::On;
    }
    for assignment in &args.weights {
        match assignment.split_once('=') {
            Some((feature, value)) => {
                settings.weights.insert(feature.trim().to_owned(), value.trim().to_owned());
            }
            None => problems.push(format!("--weight {assignment:?}: expected FEATURE=DECIMAL")),
        }
    }
    if let Some(zone) = &args.time_zone {
        settings.time_zone = Some(zone.clone());
    }
    if let Some(frequency) = args.schedule {
        settings.schedule.frequency = match frequency {
            cli::Frequency::Off => Frequency::Off,
            cli::Frequency::Daily => Frequency::Daily,
            cli::Frequency::Weekly => Frequency::Weekly,
        };
    }
    if let Some(day) = &args.weekday {
        match day.parse::<Weekday>() {
            Ok(weekday) => settings.schedule.weekday = weekday,
            Err(_) => problems
                .push(format!("--weekday {day:?}: expected mon, tue, wed, thu, fri, sat or sun")),
        }
    }
    if !args.times.is_empty() {
        settings.schedule.times.clear();
        for time in &args.times {
            match NaiveTime::parse_from_str(time.trim(), "%H:%M") {
                Ok(time) => settings.schedule.times.push(time),
                Err(_) => problems.push(format!("--at {time:?}: expected HH:MM")),
            }
        }
    }
    if let Some(zone) = &args.schedule_time_zone {
        settings.schedule.time_zone = zone.clone();
    }
    if !problems.is_empty() {
        bail!("invalid settings:\n  - {}", problems.join("\n  - "));
    }
    Ok(())
}

/// Paths are stored absolute, so that `serve` finds them from any working folder.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn show(store: &Store, enrichment: &Enrichment) -> Result<String> {
    let settings = &enrichment.config;
    let mut text = format!("Enrichment {:?} ({})\n", settings.name, enrichment.id);
    text.push_str(&format!("  Output table:   {}\n", settings.output_table));
    let consent = enrichment.consent.as_ref().map_or_else(
        || "awaiting an administrator".to_owned(),
        |consent| format!("given by {} at {} UTC", consent.by, format_instant(consent.at)),
    );
    text.push_str(&format!("  Consent:        {consent}\n"));
    if let Some(path) = &settings.graph_config {
        text.push_str(&format!("  Graph source:   {}\n", path.display()));
        if let Some(check) = store.graph_check(enrichment.id)? {
            text.push_str(&format!("  Graph check:    {check}\n"));
        }
    }
    text.push_str(&format!(
        "  State:          {}\n",
        if enrichment.active { "active" } else { "inactive (not refreshed)" }
    ));
    let schedule = &settings.schedule;
    let times: Vec<String> =
        schedule.times.iter().map(|time| time.format("%H:%M").to_string()).collect();
    text.push_str(&format!(
        "  Schedule:       {} {} at {} ({})\n",
        schedule.frequency.as_str(),
        if schedule.frequency == Frequency::Weekly {
            format!("on {}", schedule.weekday)
        } else {
            String::new()
        },
        times.join(", "),
        schedule.time_zone
    ));
    text.push_str(&format!(
        "  Next run:       {}\n",
        enrichment
            .next_run_at
            .map_or_else(|| "-".to_owned(), |at| format!("{} UTC", format_instant(at)))
    ));
    let users = settings.resolved_users();
    text.push_str(&format!(
        "  Org users:      {} listed{}\n",
        users.len(),
        if settings.users_file.is_some() { " + a users file read at each run" } else { "" }
    ));
    for (group, count) in settings.group_counts() {
        text.push_str(&format!("    group {group:?}: {count}\n"));
    }
    text.push_str(&format!(
        "  Sources:        {}\n",
        settings
            .sources
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    text.push_str(&format!(
        "  Domain matching: {}\n",
        if settings.match_domains { "on" } else { "off" }
    ));
    match store.latest_results(enrichment.id)? {
        Some(results) => text.push_str(&format!(
            "  Latest results: version {} from run {}: {} of {} accounts enriched, {} emails and {} meetings processed, {} days of data\n",
            results.version,
            results.run,
            results.summary["accounts_enriched"],
            results.summary["accounts_total"],
            results.summary["emails_processed"],
            results.summary["meetings_processed"],
            results.summary["days_covered"]
        )),
        None => text.push_str("  Latest results: none yet\n"),
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-23T00:00:00Z, a Monday.
    const MONDAY: i64 = 1_795_392_000;
    const HOUR: i64 = 3_600;

    #[test]
    fn the_scheduler_runs_six_hours_after_consent_then_weekly() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write input");
            path
        };
        let contacts = write("contacts.csv", "Email,AccountId\njane@client.example,A1\n");
        let mail = write(
            "one.eml",
            "Message-ID: <m1@org.example>\nFrom: alice@org.example\nTo: jane@client.example\n\n",
        );
        let database = dir.path().join("rapport.db");
        let store = Store::open(&database).expect("store");
        let mut settings = EnrichmentConfig::new("Weekly", contacts, vec![mail]);
        settings.users = vec!["alice@org.example".into(), "bob@org.example".into()];
        let id = store.create_enrichment(&settings, MONDAY).expect("create");

        assert!(
            tick(&store, &database, MONDAY + 7 * HOUR, 1).expect("tick").is_empty(),
            "no run before consent"
        );
        store.consent(id, "it-admin", MONDAY + HOUR, FIRST_RUN_DELAY_SECONDS).expect("consent");
        assert!(
            tick(&store, &database, MONDAY + 7 * HOUR - 1, 1).expect("tick").is_empty(),
            "not yet due"
        );
        let lines = tick(&store, &database, MONDAY + 7 * HOUR, 1).expect("tick");
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("\"Weekly\" run 1: Successful"), "{lines:?}");
        // The default schedule is weekly, Monday 02:00 UTC: the next run is a week after today's slot.
        let next = store.enrichment(id).expect("enrichment").next_run_at;
        assert_eq!(next, Some(MONDAY + 7 * 24 * HOUR + 2 * HOUR));
        assert!(
            tick(&store, &database, MONDAY + 7 * 24 * HOUR + 2 * HOUR - 1, 1)
                .expect("tick")
                .is_empty()
        );
        let lines = tick(&store, &database, MONDAY + 7 * 24 * HOUR + 2 * HOUR, 1).expect("tick");
        assert!(lines[0].starts_with("\"Weekly\" run 2: Successful"), "{lines:?}");
    }
}
