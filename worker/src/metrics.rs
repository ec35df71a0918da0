//! The worker's metrics and its small HTTP listener (`WORKER_METRICS_BIND`), which
//! serves `/metrics` and `/health`.
//!
//! Counters on the send path are resolved once (per queue, per outcome) and then only
//! incremented; queue depths are read from Redis when scraped.

use std::sync::Arc;
use std::time::Duration;

use poem::http::header;
use poem::listener::TcpListener;
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, Server, handler};
use tokio::sync::watch;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use waplify_shared::jobs::QueueKind;
use waplify_shared::metrics::{self, DurationHistogram, HistogramFamily};

use crate::context::Ctx;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    queue: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DepthLabels {
    queue: &'static str,
    state: &'static str,
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
    queue_jobs: Family<DepthLabels, Gauge>,
    queue_workers: Family<QueueLabel, Gauge>,
    queue_stats_up: Gauge,
    restarts: Counter,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        WorkerMetrics::new()
    }
}

impl WorkerMetrics {
    pub fn new() -> WorkerMetrics {
        let mut registry = metrics::registry();
        let jobs = Family::<JobLabels, Counter>::default();
        let job_duration = metrics::histogram_family::<QueueLabel>();
        let provider_calls = Family::<ProviderLabels, Counter>::default();
        let provider_duration = DurationHistogram::new();
        let webhook_attempts = Family::<OutcomeLabel, Counter>::default();
        let webhook_duration = DurationHistogram::new();
        let queue_jobs = Family::<DepthLabels, Gauge>::default();
        let queue_workers = Family::<QueueLabel, Gauge>::default();
        let queue_stats_up = Gauge::default();
        let restarts = Counter::default();
        registry.register(
            "jobs",
            "Jobs handled, by queue and outcome (ok, error, panic)",
            jobs.clone(),
        );
        registry.register(
            "job_duration_seconds",
            "Time spent handling one job, by queue",
            job_duration.clone(),
        );
        registry.register(
            "provider_calls",
            "WhatsApp Cloud API send calls, by outcome (accepted, rejected, unreachable) \
             and WhatsApp error code (none when there is no code)",
            provider_calls.clone(),
        );
        registry.register(
            "provider_call_duration_seconds",
            "Latency of one WhatsApp Cloud API send call",
            provider_duration.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Customer webhook delivery attempts, by outcome (delivered, retry, failed)",
            webhook_attempts.clone(),
        );
        registry.register(
            "webhook_attempt_duration_seconds",
            "Latency of one customer webhook attempt",
            webhook_duration.clone(),
        );
        registry.register(
            "queue_jobs",
            "Jobs in each queue by state (waiting, scheduled, scheduled_due, inflight, dead), \
             read when scraped",
            queue_jobs.clone(),
        );
        registry.register(
            "queue_workers",
            "Registered apalis workers per queue, read when scraped",
            queue_workers.clone(),
        );
        registry.register(
            "queue_stats_up",
            "1 if the last scrape could read the queues from Redis, else 0",
            queue_stats_up.clone(),
        );
        registry.register(
            "worker_restarts",
            "apalis workers of this process restarted after ending on an error",
            restarts.clone(),
        );
        let provider_accepted = provider_calls.get_or_create_owned(&ProviderLabels {
            outcome: "accepted",
            code: "none".into(),
        });
        // Every queue and outcome shows from the first scrape, at zero.
        for kind in QueueKind::ALL {
            for outcome in JobOutcome::ALL {
                jobs.get_or_create_owned(&JobLabels {
                    queue: kind.suffix(),
                    outcome: outcome.label(),
                });
            }
        }
        for outcome in ["delivered", "retry", "failed"] {
            webhook_attempts.get_or_create_owned(&OutcomeLabel { outcome });
        }
        WorkerMetrics {
            registry,
            jobs,
            job_duration,
            provider_calls,
            provider_accepted,
            provider_duration,
            webhook_attempts,
            webhook_duration,
            queue_jobs,
            queue_workers,
            queue_stats_up,
            restarts,
        }
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

    /// One provider call: `code` is WhatsApp's error code, `http_status` whether an
    /// answer came at all.
    pub fn provider_call(&self, accepted: bool, answered: bool, code: Option<i64>, took: Duration) {
        self.provider_duration.observe(took);
        if accepted {
            self.provider_accepted.inc();
            return;
        }
        let outcome = if answered { "rejected" } else { "unreachable" };
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

    pub fn restarted(&self) {
        self.restarts.inc();
    }

    /// Refreshes the queue gauges from Redis and renders every metric.
    pub async fn scrape(&self, ctx: &Ctx, accept: Option<&str>) -> (&'static str, String) {
        match ctx.queues.stats().await {
            Ok(stats) => {
                for (kind, s) in QueueKind::ALL.into_iter().zip(stats) {
                    let queue = kind.suffix();
                    for (state, n) in [
                        ("waiting", s.active),
                        ("scheduled", s.scheduled),
                        ("scheduled_due", s.scheduled_due),
                        ("inflight", s.inflight_total),
                        ("dead", s.dead),
                    ] {
                        self.queue_jobs
                            .get_or_create(&DepthLabels { queue, state })
                            .set(n as i64);
                    }
                    self.queue_workers
                        .get_or_create(&QueueLabel { queue })
                        .set(s.workers.len() as i64);
                }
                self.queue_stats_up.set(1);
            }
            Err(e) => {
                tracing::warn!("metrics: cannot read queue stats: {e}");
                self.queue_stats_up.set(0);
            }
        }
        metrics::render(&self.registry, accept)
    }
}

#[derive(Clone, Copy)]
pub enum JobOutcome {
    Ok,
    Error,
    Panic,
}

impl JobOutcome {
    const ALL: [JobOutcome; 3] = [JobOutcome::Ok, JobOutcome::Error, JobOutcome::Panic];

    fn label(self) -> &'static str {
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
    ok: Counter,
    error: Counter,
    panic: Counter,
    duration: DurationHistogram,
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

/// `WORKER_METRICS_BIND` parsed: `None` when empty or `off`.
pub fn bind_setting(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty() && !v.eq_ignore_ascii_case("off")).then(|| v.to_owned())
}

#[handler]
async fn metrics_endpoint(req: &Request, ctx: Data<&Arc<Ctx>>) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let (content_type, body) = ctx.metrics.scrape(&ctx, accept).await;
    Response::builder().content_type(content_type).body(body)
}

#[handler]
fn health_endpoint() -> poem::web::Json<serde_json::Value> {
    poem::web::Json(serde_json::json!({"status": "ok"}))
}

/// Serves `/metrics` and `/health` on `bind` until `stop`.
pub async fn serve(ctx: Arc<Ctx>, bind: String, mut stop: watch::Receiver<bool>) {
    let app = Route::new()
        .at("/metrics", poem::get(metrics_endpoint))
        .at("/health", poem::get(health_endpoint))
        .data(ctx);
    tracing::info!(%bind, "metrics listener");
    let result = Server::new(TcpListener::bind(bind.clone()))
        .run_with_graceful_shutdown(
            app,
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
            Some(Duration::from_secs(1)),
        )
        .await;
    if let Err(e) = result {
        tracing::error!(%bind, "metrics listener failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::bind_setting;

    #[test]
    fn bind_can_be_turned_off() {
        assert_eq!(bind_setting(""), None);
        assert_eq!(bind_setting(" off "), None);
        assert_eq!(bind_setting("OFF"), None);
        assert_eq!(
            bind_setting("0.0.0.0:9091").as_deref(),
            Some("0.0.0.0:9091")
        );
    }
}
