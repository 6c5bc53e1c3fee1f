//! A progress bar with rate and ETA on stderr, shown only when stderr is a terminal.
//!
//! Readers report finished bytes from any thread through an atomic counter; one background thread
//! redraws the line a few times a second, so reporting costs the hot path one atomic add.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A running progress bar; it is erased when dropped.
pub(crate) struct Progress {
    shared: Arc<Shared>,
    painter: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    done: AtomicU64,
    total: u64,
    stop: AtomicBool,
}

impl Progress {
    /// Starts a bar over `total` bytes, unless `quiet` or stderr is not a terminal.
    pub(crate) fn start(label: &'static str, total: u64, quiet: bool) -> Progress {
        let shared =
            Arc::new(Shared { done: AtomicU64::new(0), total, stop: AtomicBool::new(false) });
        let painter = if quiet || !std::io::stderr().is_terminal() {
            None
        } else {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("progress".into())
                .spawn(move || paint_until_stopped(&shared, label))
                .ok()
        };
        Progress { shared, painter }
    }

    /// Adds finished bytes.
    pub(crate) fn add(&self, bytes: u64) {
        self.shared.done.fetch_add(bytes, Ordering::Relaxed);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(painter) = self.painter.take() {
            let _ = painter.join();
        }
    }
}

fn paint_until_stopped(shared: &Shared, label: &str) {
    let started = Instant::now();
    let mut stderr = std::io::stderr();
    while !shared.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(150));
        let line =
            render(label, shared.done.load(Ordering::Relaxed), shared.total, started.elapsed());
        let _ = write!(stderr, "\r{line}\x1b[K");
        let _ = stderr.flush();
    }
    let _ = write!(stderr, "\r\x1b[K");
    let _ = stderr.flush();
}

/// One line of the bar: `label [#####.....] 45% 120.3/267.0 MB 85.1 MB/s ETA 2s`.
pub(crate) fn render(label: &str, done: u64, total: u64, elapsed: Duration) -> String {
    const WIDTH: u64 = 30;
    let done = done.min(total);
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let seconds = elapsed.as_secs_f64().max(1e-3);
    let rate = done as f64 / seconds;
    let eta = if rate > 0.0 { ((total - done) as f64 / rate).ceil() as u64 } else { 0 };
    let bar: String = (0..WIDTH).map(|i| if i < filled { '#' } else { '.' }).collect();
    format!(
        "{label} [{bar}] {percent:>3}% {:.1}/{:.1} MB {:.1} MB/s ETA {eta}s",
        done as f64 / 1e6,
        total as f64 / 1e6,
        rate / 1e6
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_share_rate_and_eta() {
        let line = render("reading", 50_000_000, 100_000_000, Duration::from_secs(2));
        assert_eq!(
            line,
            "reading [###############...............]  50% 50.0/100.0 MB 25.0 MB/s ETA 2s"
        );
    }

    #[test]
    fn render_handles_an_empty_total() {
        let line = render("reading", 0, 0, Duration::from_secs(0));
        assert!(line.contains("100%"), "{line}");
    }
}
