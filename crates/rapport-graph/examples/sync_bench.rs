//! The sync benchmark of issue 4: resolves the users, syncs every mailbox's mail folders and
//! calendar over the window against a Graph endpoint (the test server in `bench/run.sh graph`),
//! drops every page as soon as it is counted, and compares the time with the floor
//! `pages × latency / allowed concurrency`.
//!
//! Usage: `sync_bench --graph-config FILE --latency-ms N [--users LINE] [--as-of YYYY-MM-DD]`

use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::Instant;

use rapport_graph::sync::{self, SyncEvent, SyncRequest, SyncState};
use rapport_graph::{ClientOptions, GraphConfig, directory};

#[allow(clippy::disallowed_methods)] // A benchmark's edge: the client assertion needs a clock.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

#[allow(clippy::disallowed_methods)] // The secret may come from the environment.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[allow(clippy::print_stdout)] // A benchmark reports on stdout.
fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter().position(|arg| arg == name).and_then(|at| args.get(at + 1)).cloned()
    };
    let config_path = flag("--graph-config").ok_or("--graph-config FILE is needed")?;
    let latency_ms: f64 = flag("--latency-ms")
        .ok_or("--latency-ms N is needed")?
        .parse()
        .map_err(|_| "--latency-ms: not a number")?;
    let users_line = flag("--users").unwrap_or_else(|| "allstaff@contoso.example".into());
    let as_of = flag("--as-of").unwrap_or_else(|| "2026-03-01".into());
    let as_of = chrono::NaiveDate::parse_from_str(&as_of, "%Y-%m-%d")
        .map_err(|error| format!("--as-of: {error}"))?
        .and_hms_opt(0, 0, 0)
        .ok_or("--as-of: no midnight")?
        .and_utc()
        .timestamp();
    let window = rapport_core::period::window(as_of);
    let config = GraphConfig::load(std::path::Path::new(&config_path), &env)
        .map_err(|error| error.to_string())?;

    let started = Instant::now();
    let resolution =
        directory::resolve_org_users(config.clone(), ClientOptions::new(now), &[users_line])
            .map_err(|error| error.to_string())?;
    let mailboxes: Vec<String> =
        resolution.users.iter().filter_map(|user| user.directory_id.clone()).collect();
    let request = SyncRequest {
        mailboxes: mailboxes.clone(),
        window_start: window.start,
        window_end: window.end,
        mail: true,
        calendar: true,
    };
    let allowed = config.max_concurrency.min(config.max_concurrency_per_mailbox * mailboxes.len());
    let cancel = AtomicBool::new(false);
    let synced = Instant::now();
    let (sender, receiver) = mpsc::sync_channel::<SyncEvent>(16);
    let (report, counted) = std::thread::scope(|scope| {
        let syncing = scope.spawn(|| {
            sync::sync(
                config,
                ClientOptions::new(now),
                &request,
                &SyncState::default(),
                sender,
                &cancel,
            )
        });
        let mut counted = (0u64, 0u64, 0usize);
        for event in receiver {
            match event {
                SyncEvent::MailPage(page) => {
                    counted.0 += page.upserted.len() as u64;
                    counted.2 = counted.2.max(page.upserted.len());
                }
                SyncEvent::CalendarPage(page) => counted.1 += page.upserted.len() as u64,
                _ => {}
            }
        }
        (syncing.join(), counted)
    });
    let report = report.map_err(|_| "the sync panicked")?.map_err(|error| error.to_string())?;
    let seconds = synced.elapsed().as_secs_f64();
    let floor = report.pages as f64 * latency_ms / 1000.0 / allowed.max(1) as f64;
    println!(
        "mailboxes {} (read {}, failed {}); messages {}; events {}; pages {}; requests {}; throttled {}; largest page {}",
        report.mailboxes_selected,
        report.mailboxes_read,
        report.mailboxes_failed,
        counted.0,
        counted.1,
        report.pages,
        report.requests,
        report.throttled,
        counted.2
    );
    println!(
        "sync {seconds:.1} s; floor {floor:.1} s (pages x {latency_ms} ms / {allowed} in flight); ratio {:.2}; with directory {:.1} s",
        seconds / floor.max(1e-9),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
