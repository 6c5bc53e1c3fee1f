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
    /// Enrich accounts from mail and calendar files (mbox, Maildir, .eml, .ics).
    Enrich(Box<EnrichArgs>),
    /// Generate a demo corpus, enrich it, and show the top and the stalest accounts.
    Demo(DemoArgs),
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
    #[arg(long = "source", value_name = "PATH", required = true)]
    pub(crate) sources: Vec<PathBuf>,
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
