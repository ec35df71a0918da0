//! The bench's progress while a campaign sends: on a terminal one line redrawn in
//! place (a bar, the funnel, the rate and the time left); otherwise a plain line every
//! few seconds, so a log stays readable.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Plain lines at most this often.
const PLAIN_EVERY: Duration = Duration::from_secs(5);
const WIDTH: usize = 30;

pub struct Progress {
    started: Instant,
    tty: bool,
    last_line: Option<Instant>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            started: Instant::now(),
            tty: std::io::stdout().is_terminal(),
            last_line: None,
        }
    }
}

impl Progress {
    /// Shows a campaign's stats (`GET …/stats`).
    pub fn show(&mut self, stats: &Value) {
        let n = |k: &str| stats[k].as_i64().unwrap_or(0);
        let total = n("total_contacts").max(1);
        // Read and delivered recipients were sent first: the funnel counts each once.
        let done = n("sent_count") + n("failed_count");
        let secs = self.started.elapsed().as_secs_f64();
        let rate = done as f64 / secs.max(0.001);
        let eta = if rate > 0.0 {
            format!("{:.0}s", (total - done).max(0) as f64 / rate)
        } else {
            "?".into()
        };
        let line = format!(
            "sent {} delivered {} read {} failed {} of {total} | {rate:.0}/s | ETA {eta}",
            n("sent_count"),
            n("delivered_count"),
            n("read_count"),
            n("failed_count"),
        );
        let mut out = std::io::stdout();
        if self.tty {
            let filled = (done.clamp(0, total) as usize * WIDTH) / total as usize;
            let bar = format!("{}{}", "#".repeat(filled), ".".repeat(WIDTH - filled));
            let _ = write!(out, "\r\x1b[2K[{bar}] {:>3}% {line}", done * 100 / total);
            let _ = out.flush();
        } else if self.last_line.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) {
            let _ = writeln!(out, "{:.0}s: {line}", secs);
            self.last_line = Some(Instant::now());
        }
    }

    /// Ends the redrawn line, so what follows starts on its own.
    pub fn finish(&self) {
        if self.tty {
            println!();
        }
    }
}
