//! The worker's metrics (served by `metrics_server`).
//!
//! Counters on the send path are resolved once (per queue, per outcome) and then only
//! incremented; queue depths are read from Redis when scraped (`queue_gauges`).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use waplify_shared::jobs::QueueKind;
use waplify_shared::metrics::{self, DurationHistogram, HistogramFamily};
use waplify_shared::queue::Queues;

use super::queue_gauges::{QueueGauges, QueueLabel};
use super::queue_metrics::{JobOutcome, QueueMetrics};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    queue: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    outcome: &'static str,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// How a provider call ended, as `waplify_provider_calls_total` labels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Accepted,
    /// An error answer.
    Rejected,
    /// No connection: nothing was sent.
    Unreachable,
    /// Sent, but what WhatsApp said is not known.
    Unknown,
}

/// Every metric the worker exposes.
pub struct WorkerMetrics {
    registry: Registry,
    jobs: Family<JobLabels, Counter>,
    job_duration: HistogramFamily<QueueLabel>,
    provider_calls: Family<ProviderLabels, Counter>,
    provider_accepted: Counter,
    provider_duration: DurationHistogram,
    webhook_attempts: Family<OutcomeLabel, Counter>,
    webhook_duration: DurationHistogram,
    queues: QueueGauges,
    restarts: Counter,
    callback_statuses: Family<OutcomeLabel, Counter>,
    callbacks_dead: Counter,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        WorkerMetrics::new()
    }
}

impl WorkerMetrics {
    pub fn new() -> WorkerMetrics {
        let provider_calls = Family::<ProviderLabels, Counter>::default();
        let provider_accepted = provider_calls.get_or_create_owned(&ProviderLabels {
            outcome: "accepted",
            code: "none".into(),
        });
        let mut m = WorkerMetrics {
            registry: metrics::registry(),
            jobs: Family::default(),
            job_duration: metrics::histogram_family::<QueueLabel>(),
            provider_calls,
            provider_accepted,
            provider_duration: DurationHistogram::new(),
            webhook_attempts: Family::default(),
            webhook_duration: DurationHistogram::new(),
            queues: QueueGauges::default(),
            restarts: Counter::default(),
            callback_statuses: Family::default(),
            callbacks_dead: Counter::default(),
        };
        m.register();
        // Every queue and outcome shows from the first scrape, at zero.
        for kind in QueueKind::ALL {
            for outcome in JobOutcome::ALL {
                m.jobs.get_or_create_owned(&JobLabels {
                    queue: kind.suffix(),
                    outcome: outcome.label(),
                });
            }
        }
        for outcome in ["delivered", "retry", "failed"] {
            m.webhook_attempts
                .get_or_create_owned(&OutcomeLabel { outcome });
        }
        m
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "jobs",
            "Jobs handled, by queue and outcome (ok, error, panic)",
            self.jobs.clone(),
        );
        r.register(
            "job_duration_seconds",
            "Time spent handling one job, by queue",
            self.job_duration.clone(),
        );
        r.register(
            "provider_calls",
            "WhatsApp Cloud API send calls, by outcome (accepted, rejected, unreachable, \
             unknown: may have been accepted) and WhatsApp error code (none without one)",
            self.provider_calls.clone(),
        );
        r.register(
            "provider_call_duration_seconds",
            "Latency of one WhatsApp Cloud API send call",
            self.provider_duration.clone(),
        );
        r.register(
            "webhook_attempts",
            "Customer webhook delivery attempts, by outcome (delivered, retry, failed)",
            self.webhook_attempts.clone(),
        );
        r.register(
            "webhook_attempt_duration_seconds",
            "Latency of one customer webhook attempt",
            self.webhook_duration.clone(),
        );
        self.queues.register(r);
        r.register(
            "callback_statuses",
            "WhatsApp callback statuses applied, by outcome (moved, unchanged, unknown: not \
             ours, foreign: ours but for another number or recipient, failed: could not be \
             applied)",
            self.callback_statuses.clone(),
        );
        r.register(
            "callbacks_dead",
            "Stored WhatsApp callbacks given up after CALLBACK_MAX_ATTEMPTS failed runs",
            self.callbacks_dead.clone(),
        );
        r.register(
            "worker_restarts",
            "apalis workers of this process restarted after ending on an error",
            self.restarts.clone(),
        );
    }

    /// The counters of one queue, resolved once for its worker.
    pub fn queue(&self, kind: QueueKind) -> QueueMetrics {
        let counter = |outcome: JobOutcome| {
            self.jobs.get_or_create_owned(&JobLabels {
                queue: kind.suffix(),
                outcome: outcome.label(),
            })
        };
        QueueMetrics {
            ok: counter(JobOutcome::Ok),
            error: counter(JobOutcome::Error),
            panic: counter(JobOutcome::Panic),
            duration: self.job_duration.get_or_create_owned(&QueueLabel {
                queue: kind.suffix(),
            }),
        }
    }

    /// One provider call, and WhatsApp's error code if any.
    pub fn provider_call(&self, outcome: CallOutcome, code: Option<i64>, took: Duration) {
        self.provider_duration.observe(took);
        let outcome = match outcome {
            CallOutcome::Accepted => {
                self.provider_accepted.inc();
                return;
            }
            CallOutcome::Rejected => "rejected",
            CallOutcome::Unreachable => "unreachable",
            CallOutcome::Unknown => "unknown",
        };
        let code = code.map_or_else(|| "none".to_owned(), |c| c.to_string());
        self.provider_calls
            .get_or_create(&ProviderLabels { outcome, code })
            .inc();
    }

    /// One webhook attempt: `delivered`, `retry` or `failed`.
    pub fn webhook_attempt(&self, outcome: &'static str, took: Duration) {
        self.webhook_duration.observe(took);
        self.webhook_attempts
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// `n` callback statuses with this outcome.
    pub fn callback_statuses(&self, outcome: &'static str, n: usize) {
        if n > 0 {
            let c = self
                .callback_statuses
                .get_or_create(&OutcomeLabel { outcome });
            c.inc_by(n as u64);
        }
    }

    pub fn callback_dead(&self) {
        self.callbacks_dead.inc();
    }

    pub fn restarted(&self) {
        self.restarts.inc();
    }

    /// Refreshes the queue gauges from Redis and renders every metric.
    pub async fn scrape(&self, queues: &Queues, accept: Option<&str>) -> (&'static str, String) {
        self.queues.update(queues.stats().await);
        metrics::render(&self.registry, accept)
    }
}
