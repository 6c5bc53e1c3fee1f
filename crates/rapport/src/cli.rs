//! Command-line flags. `rapport enrich`'s flags are a contract: other tools drive them exactly.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Account engagement from mail and calendar metadata.
///
/// rapport reads headers and calendar metadata only (never bodies or subjects), matches outside
/// participants to the accounts and contacts of a customer data set, and writes per account and
/// per year, month and week the engagement figures and a 0-100 engagement score.
#[derive(Debug, Parser)]
#[command(name = "rapport", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Enrich accounts from mail and calendar files (mbox, Maildir, .eml, .ics) or Microsoft Graph.
    Enrich(Box<EnrichArgs>),
    /// Generate a demo corpus, enrich it, and show the top and the stalest accounts.
    Demo(DemoArgs),
    /// Set up enrichments that live: create, consent, schedule, run, cancel, results.
    Enrichment(EnrichmentArgs),
    /// Run the scheduler: refresh consented enrichments on their schedules until stopped.
    Serve(ServeArgs),
    /// Microsoft 365: the admin-consent URL, and a check of the granted permissions.
    Graph(GraphArgs),
    /// Remove one person's activity from every enrichment's ledger and recompute the results.
    Erase(EraseArgs),
}

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Comma-separated values, UTF-8, `\n` line ends.
    Csv,
    /// One JSON array of objects per table.
    Json,
    /// Apache Parquet with typed columns.
    Parquet,
}

impl Format {
    /// The format's name, which is also its files' extension.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Parquet => "parquet",
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct EnrichArgs {
    /// The org users: one address a line, or a CSV with an Email and an optional DirectoryId column.
    #[arg(long, value_name = "FILE")]
    pub(crate) users: PathBuf,
    /// The contacts CSV (an email column and an account id column).
    #[arg(long, value_name = "FILE")]
    pub(crate) contacts: PathBuf,
    /// The contacts' email column.
    #[arg(long, value_name = "NAME", default_value = "Email")]
    pub(crate) contact_email_column: String,
    /// The contacts' account id column.
    #[arg(long, value_name = "NAME", default_value = "AccountId")]
    pub(crate) contact_account_column: String,
    /// The accounts CSV (an id column and any number of domain columns).
    #[arg(long, value_name = "FILE")]
    pub(crate) accounts: Option<PathBuf>,
    /// The accounts' id column.
    #[arg(long, value_name = "NAME", default_value = "AccountId")]
    pub(crate) account_id_column: String,
    /// An accounts column holding web domains (`;`, `,` or space separated); may be repeated.
    #[arg(long = "account-domains-column", value_name = "NAME")]
    pub(crate) account_domains_columns: Vec<String>,
    /// Match addresses that are not contacts to accounts by their domain.
    #[arg(long)]
    pub(crate) match_domains: bool,
    /// A further public mail provider domain for domain matching (`yahoo.*` style allowed); may be repeated.
    #[arg(long = "public-domain", value_name = "DOMAIN")]
    pub(crate) public_domains: Vec<String>,
    /// A mail or calendar source: an mbox, .eml or .ics file, a Maildir, or a folder of them; may be repeated.
    #[arg(long = "source", value_name = "PATH", required_unless_present = "graph_config")]
    pub(crate) sources: Vec<PathBuf>,
    /// Also read the users' mailboxes and calendars through Microsoft Graph, with this TOML
    /// configuration (tenant_id, client_id, a secret or certificate, cloud); the --users lines may
    /// then name groups (their address, or group:<id or display name>).
    #[arg(long, value_name = "FILE")]
    pub(crate) graph_config: Option<PathBuf>,
    /// The as-of instant T (UTC): YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ. The window is the 12 months before it.
    #[arg(long, value_name = "INSTANT")]
    pub(crate) as_of: Option<String>,
    /// Bucket periods in this IANA time zone instead of UTC (e.g. Europe/Berlin).
    #[arg(long, value_name = "ZONE")]
    pub(crate) time_zone: Option<String>,
    /// The output folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// The output table's name.
    #[arg(long, value_name = "NAME", default_value = "Office")]
    pub(crate) output_table: String,
    /// The output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub(crate) format: Format,
    /// Also write <Output>_ScoreExplanation with each score's features, weights and shares beaten.
    #[arg(long)]
    pub(crate) explain: bool,
    /// A TOML file with a [weights] table (email_volume, meeting_volume, breadth, recency, initiative).
    #[arg(long, value_name = "FILE")]
    pub(crate) weights: Option<PathBuf>,
    /// Set one score weight, e.g. --weight recency=0.3 (wins over --weights); may be repeated.
    #[arg(long = "weight", value_name = "FEATURE=DECIMAL")]
    pub(crate) weight_overrides: Vec<String>,
    /// Worker threads for reading mail (default: all cores).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// No progress bar and no summary on stderr.
    #[arg(long)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    #[command(subcommand)]
    pub(crate) command: GraphCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum GraphCommand {
    /// Print the admin-consent URL a tenant administrator opens to grant the app its permissions.
    ConsentUrl(GraphConsentArgs),
    /// Get a token and say which of the needed application permissions are missing.
    Check(GraphCheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct GraphConsentArgs {
    /// The Graph configuration (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) graph_config: PathBuf,
    /// Where Entra ID sends the administrator after consent (a redirect URI of the app).
    #[arg(long, value_name = "URL")]
    pub(crate) redirect_uri: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct GraphCheckArgs {
    /// The Graph configuration (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) graph_config: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where to write the demo corpus and the outputs (default: a new temporary folder).
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// The as-of date of the demo (YYYY-MM-DD); the corpus covers the year before it.
    #[arg(long, value_name = "DATE", default_value = "2026-06-30")]
    pub(crate) as_of: String,
    /// How many accounts to list in each table.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) top: usize,
    /// No progress bar.
    #[arg(long)]
    pub(crate) quiet: bool,
}

/// Where the store lives (for every command that keeps state).
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The data folder: holds the SQLite database `rapport.db` and the installation's pseudonym key
    /// `key` (both created on first use).
    #[arg(long, value_name = "DIR", default_value = "rapport-data", global = true)]
    pub(crate) data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct EnrichmentArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    #[command(subcommand)]
    pub(crate) command: EnrichmentCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EnrichmentCommand {
    /// Save a new enrichment; it waits for an administrator's consent before it runs.
    Create(Box<SettingsArgs>),
    /// List the enrichments with their state and next run.
    List,
    /// Show one enrichment: settings, consent, schedule, users per group, latest results.
    Show(NameArg),
    /// Change an enrichment's settings (only the flags given change).
    Edit(Box<SettingsArgs>),
    /// Record an administrator's consent; the first run follows six hours later (or now).
    Consent(ConsentArgs),
    /// Let a deactivated enrichment refresh on its schedule again.
    Activate(NameArg),
    /// Stop refreshing an enrichment; its last results are kept.
    Deactivate(NameArg),
    /// Run an enrichment now, in the foreground (its stages and progress show in `runs`).
    Run(RunArgs),
    /// Cancel the enrichment's queued or running run; the last results are kept.
    Cancel(NameArg),
    /// Delete an enrichment with its runs and results.
    Delete(NameArg),
    /// List an enrichment's runs, newest first.
    Runs(NameArg),
    /// Write the latest published results to a folder.
    Results(ResultsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NameArg {
    /// The enrichment's name.
    pub(crate) name: String,
}

#[derive(Debug, Args)]
pub(crate) struct ConsentArgs {
    /// The enrichment's name.
    pub(crate) name: String,
    /// Who consents (recorded with the time).
    #[arg(long, value_name = "ADMIN", required_unless_present = "revoke")]
    pub(crate) by: Option<String>,
    /// Schedule the first run now instead of six hours later.
    #[arg(long, conflicts_with = "delay_hours")]
    pub(crate) run_now: bool,
    /// Hours until the first run (default 6: the data download needs time).
    #[arg(long, value_name = "HOURS")]
    pub(crate) delay_hours: Option<i64>,
    /// Revoke the consent instead: no run starts, a running one is cancelled.
    #[arg(long)]
    pub(crate) revoke: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The enrichment's name.
    pub(crate) name: String,
    /// Run as of this instant instead of now (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ), for reproducible runs.
    #[arg(long, value_name = "INSTANT")]
    pub(crate) as_of: Option<String>,
    /// Worker threads for reading mail (default: all cores).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct ResultsArgs {
    /// The enrichment's name.
    pub(crate) name: String,
    /// The folder to write the tables and summary.json into.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// The tables' file format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub(crate) format: Format,
}

/// An enrichment's settings as flags; for `edit`, only the flags given change.
#[derive(Debug, Args)]
pub(crate) struct SettingsArgs {
    /// The enrichment's name (for edit: the enrichment to change).
    pub(crate) name: String,
    /// A new name (edit only).
    #[arg(long, value_name = "NAME")]
    pub(crate) rename: Option<String>,
    /// The output table's name (default Office).
    #[arg(long, value_name = "NAME")]
    pub(crate) output_table: Option<String>,
    /// An org user's address; may be repeated (replaces the list on edit).
    #[arg(long = "user", value_name = "ADDRESS")]
    pub(crate) users: Vec<String>,
    /// A users file (one address a line, or a CSV with Email and DirectoryId), read at every run.
    #[arg(long = "users", value_name = "FILE")]
    pub(crate) users_file: Option<PathBuf>,
    /// A named group of org users from a file of addresses: NAME=FILE; may be repeated.
    #[arg(long = "group", value_name = "NAME=FILE")]
    pub(crate) groups: Vec<String>,
    /// The contacts CSV.
    #[arg(long, value_name = "FILE")]
    pub(crate) contacts: Option<PathBuf>,
    /// The contacts' email column.
    #[arg(long, value_name = "NAME")]
    pub(crate) contact_email_column: Option<String>,
    /// The contacts' account id column.
    #[arg(long, value_name = "NAME")]
    pub(crate) contact_account_column: Option<String>,
    /// The accounts CSV.
    #[arg(long, value_name = "FILE")]
    pub(crate) accounts: Option<PathBuf>,
    /// The accounts' id column.
    #[arg(long, value_name = "NAME")]
    pub(crate) account_id_column: Option<String>,
    /// An accounts column with web domains; may be repeated.
    #[arg(long = "account-domains-column", value_name = "NAME")]
    pub(crate) account_domains_columns: Vec<String>,
    /// An activity source (file or folder); may be repeated (replaces the list on edit).
    #[arg(long = "source", value_name = "PATH")]
    pub(crate) sources: Vec<PathBuf>,
    /// Read the users' mailboxes and calendars through Microsoft Graph with this configuration
    /// (TOML; secrets stay in it or in the environment); `--user` may then name groups.
    #[arg(long, value_name = "FILE")]
    pub(crate) graph_config: Option<PathBuf>,
    /// Match outside addresses to accounts by domain: on or off.
    #[arg(long, value_name = "on|off")]
    pub(crate) match_domains: Option<Toggle>,
    /// Set one score weight, FEATURE=DECIMAL; may be repeated.
    #[arg(long = "weight", value_name = "FEATURE=DECIMAL")]
    pub(crate) weights: Vec<String>,
    /// The IANA time zone periods are bucketed in (default UTC).
    #[arg(long, value_name = "ZONE")]
    pub(crate) time_zone: Option<String>,
    /// How often the enrichment refreshes.
    #[arg(long, value_enum, value_name = "FREQUENCY")]
    pub(crate) schedule: Option<Frequency>,
    /// The weekday of a weekly schedule (mon .. sun).
    #[arg(long, value_name = "DAY")]
    pub(crate) weekday: Option<String>,
    /// A time of day to run, HH:MM; up to four (replaces the list on edit).
    #[arg(long = "at", value_name = "HH:MM")]
    pub(crate) times: Vec<String>,
    /// The IANA time zone of the schedule's times (default UTC).
    #[arg(long, value_name = "ZONE")]
    pub(crate) schedule_time_zone: Option<String>,
}

/// On or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Toggle {
    On,
    Off,
}

/// How often a stored enrichment refreshes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Frequency {
    Off,
    Daily,
    Weekly,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// Seconds between looks for due enrichments.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub(crate) poll_seconds: u64,
    /// Run what is due once, then exit (for cron and tests).
    #[arg(long)]
    pub(crate) once: bool,
    /// Worker threads for reading mail (default: all cores).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct EraseArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The address whose activity is erased (as a sender it is cleared, as a recipient dropped).
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) address: String,
    /// Worker threads for reading changed mail files while recomputing (default: all cores).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
}
