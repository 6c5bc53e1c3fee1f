//! `rapport-graph-testserver`: the Graph-compatible test server as a process, for benchmarks and
//! manual runs. It generates a dataset (or serves the small hand-made one), optionally exports
//! the same activity as files, prints one line `listening on http://...`, and serves until killed.
//!
//! Flags are read by hand (`--name value` or `--name=value`); `--help` lists them.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rapport_graph_testserver::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ROLES, DEFAULT_TENANT_ID, Dataset, GenSpec,
    ServerConfig, TestServer, twelve_months_before, utc,
};

const HELP: &str = "\
rapport-graph-testserver: a Microsoft Graph-compatible server for tests and benchmarks

Usage: rapport-graph-testserver [FLAGS]

  --port N                    port on 127.0.0.1 (default 0: a free port)
  --mailboxes N               generated mailboxes (default 500)
  --messages-per-mailbox N    messages per mailbox, half Sent Items, half Inbox (default 15000)
  --events-per-mailbox N      events per calendar (default 200)
  --external-domains N        customer accounts, one domain each (default 50)
  --seed N                    generator seed (default 1)
  --as-of YYYY-MM-DD          the as-of date T; the window is the 12 months before (default 2026-03-01)
  --small                     serve the small hand-made dataset instead (window 2025-03-01..2026-03-01)
  --latency-ms N              added to every Graph response (default 0)
  --roles A,B,...             application roles put in tokens (default the four least roles)
  --tenant-id ID              accepted tenant (default the library's DEFAULT_TENANT_ID)
  --client-id ID              accepted client id (default DEFAULT_CLIENT_ID)
  --secret S                  accepted client secret (default DEFAULT_CLIENT_SECRET)
  --assertion-public-key FILE RSA public key (DER, SPKI or PKCS#1) accepted for client assertions
  --token-lifetime-secs N     access token lifetime (default 3599)
  --export DIR                write the activity as files into DIR before serving
  --help                      this text
";

/// The flags that take a value.
const VALUE_FLAGS: [&str; 15] = [
    "--port",
    "--mailboxes",
    "--messages-per-mailbox",
    "--events-per-mailbox",
    "--external-domains",
    "--seed",
    "--as-of",
    "--latency-ms",
    "--roles",
    "--tenant-id",
    "--client-id",
    "--secret",
    "--assertion-public-key",
    "--token-lifetime-secs",
    "--export",
];

/// The parsed flags.
struct Options {
    port: u16,
    spec: GenSpec,
    small: bool,
    latency_ms: u64,
    roles: Vec<String>,
    tenant_id: String,
    client_id: String,
    secret: String,
    assertion_public_key: Option<PathBuf>,
    token_lifetime_secs: u64,
    export: Option<PathBuf>,
}

fn parse_number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value.trim().parse().map_err(|_| format!("{flag}: {value:?} is not a number"))
}

fn parse_date(value: &str) -> Result<i64, String> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(format!("--as-of: {value:?} is not a date (YYYY-MM-DD)"));
    };
    let year: i32 = parse_number("--as-of", year)?;
    let month: u32 = parse_number("--as-of", month)?;
    let day: u32 = parse_number("--as-of", day)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(format!("--as-of: {value:?} is not a date (YYYY-MM-DD)"));
    }
    Ok(utc(year, month, day, 0, 0, 0))
}

/// Reads the flags; `Ok(None)` when `--help` was asked for.
fn parse(args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let as_of_default = utc(2026, 3, 1, 0, 0, 0);
    let mut options = Options {
        port: 0,
        spec: GenSpec {
            mailboxes: 500,
            messages_per_mailbox: 15_000,
            events_per_mailbox: 200,
            external_domains: 50,
            seed: 1,
            window: (twelve_months_before(as_of_default), as_of_default),
        },
        small: false,
        latency_ms: 0,
        roles: DEFAULT_ROLES.iter().map(|role| (*role).to_owned()).collect(),
        tenant_id: DEFAULT_TENANT_ID.to_owned(),
        client_id: DEFAULT_CLIENT_ID.to_owned(),
        secret: DEFAULT_CLIENT_SECRET.to_owned(),
        assertion_public_key: None,
        token_lifetime_secs: 3599,
        export: None,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(None),
            "--small" => {
                options.small = true;
                continue;
            }
            _ => {}
        }
        if !VALUE_FLAGS.contains(&flag.as_str()) {
            return Err(format!("unknown flag {flag} (see --help)"));
        }
        let value = match inline_value {
            Some(value) => value,
            None => args.next().ok_or_else(|| format!("{flag} needs a value"))?,
        };
        match flag.as_str() {
            "--port" => options.port = parse_number(&flag, &value)?,
            "--mailboxes" => options.spec.mailboxes = parse_number(&flag, &value)?,
            "--messages-per-mailbox" => {
                options.spec.messages_per_mailbox = parse_number(&flag, &value)?
            }
            "--events-per-mailbox" => {
                options.spec.events_per_mailbox = parse_number(&flag, &value)?
            }
            "--external-domains" => options.spec.external_domains = parse_number(&flag, &value)?,
            "--seed" => options.spec.seed = parse_number(&flag, &value)?,
            "--as-of" => {
                let as_of = parse_date(&value)?;
                options.spec.window = (twelve_months_before(as_of), as_of);
            }
            "--latency-ms" => options.latency_ms = parse_number(&flag, &value)?,
            "--roles" => {
                options.roles = value
                    .split(',')
                    .map(str::trim)
                    .filter(|role| !role.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "--tenant-id" => options.tenant_id = value,
            "--client-id" => options.client_id = value,
            "--secret" => options.secret = value,
            "--assertion-public-key" => options.assertion_public_key = Some(PathBuf::from(value)),
            "--token-lifetime-secs" => options.token_lifetime_secs = parse_number(&flag, &value)?,
            "--export" => options.export = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown flag {flag} (see --help)")),
        }
    }
    Ok(Some(options))
}

async fn run(options: Options) -> Result<(), String> {
    let (dataset, window) = if options.small {
        (Dataset::small(), Dataset::SMALL_WINDOW)
    } else {
        (Dataset::generated(&options.spec), options.spec.window)
    };
    if let Some(dir) = &options.export {
        let files = dataset
            .export_files(dir, window)
            .map_err(|error| format!("cannot export into {}: {error}", dir.display()))?;
        eprintln!(
            "exported {} messages and {} events into {}",
            files.n_messages,
            files.n_events,
            dir.display()
        );
    }
    let assertion_public_key = match &options.assertion_public_key {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?,
        ),
        None => None,
    };
    let mut config = ServerConfig::new(dataset);
    config.tenant_id = options.tenant_id;
    config.client_id = options.client_id;
    config.client_secret = options.secret;
    config.assertion_public_key = assertion_public_key;
    config.roles = options.roles;
    config.token_lifetime = Duration::from_secs(options.token_lifetime_secs);
    config.latency = Duration::from_millis(options.latency_ms);
    // Millions of requests in a benchmark: keep the counters, not the log.
    config.record_requests = false;
    let server = TestServer::start_on(SocketAddr::from(([127, 0, 0, 1], options.port)), config)
        .await
        .map_err(|error| format!("cannot listen on port {}: {error}", options.port))?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(format!("listening on {}\n", server.base_url()).as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| format!("cannot write to stdout: {error}"))?;
    drop(stdout);
    std::future::pending::<()>().await;
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            let _ = std::io::stdout().write_all(HELP.as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("error: {problem}");
            ExitCode::from(2)
        }
    }
}
