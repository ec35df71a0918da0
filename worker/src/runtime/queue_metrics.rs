//! One queue's job counters, resolved once per worker (see `metrics`).

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use waplify_shared::metrics::DurationHistogram;

/// How a job ended.
#[derive(Clone, Copy)]
pub enum JobOutcome {
    Ok,
    Error,
    Panic,
}

impl JobOutcome {
    pub(super) const ALL: [JobOutcome; 3] = [JobOutcome::Ok, JobOutcome::Error, JobOutcome::Panic];

    pub(super) fn label(self) -> &'static str {
        match self {
            JobOutcome::Ok => "ok",
            JobOutcome::Error => "error",
            JobOutcome::Panic => "panic",
        }
    }
}

/// One queue's job counters; cloning shares them.
#[derive(Clone)]
pub struct QueueMetrics {
    pub(super) ok: Counter,
    pub(super) error: Counter,
    pub(super) panic: Counter,
    pub(super) duration: DurationHistogram,
}

impl QueueMetrics {
    pub fn finished(&self, outcome: JobOutcome, took: Duration) {
        match outcome {
            JobOutcome::Ok => self.ok.inc(),
            JobOutcome::Error => self.error.inc(),
            JobOutcome::Panic => self.panic.inc(),
        };
        self.duration.observe(took);
    }
}
