//! The queue gauges of the worker's metrics: depths, workers and the age of the oldest
//! waiting job, read from Redis through the same Lua as `scripts/queue-stats` at each
//! scrape, so the dashboard and the scripts never disagree.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use waplify_shared::jobs::QueueKind;
use waplify_shared::queue::{QueueDepth, QueueError, QueueReport};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct QueueLabel {
    pub(super) queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DepthLabels {
    queue: &'static str,
    state: &'static str,
}

/// Gauges describing Redis: every worker reports the same values.
#[derive(Default)]
pub(super) struct QueueGauges {
    jobs: Family<DepthLabels, Gauge>,
    workers: Family<QueueLabel, Gauge>,
    oldest_waiting: Family<QueueLabel, Gauge>,
    up: Gauge,
}

impl QueueGauges {
    pub(super) fn register(&self, r: &mut Registry) {
        r.register(
            "queue_jobs",
            "Jobs in each queue by state (waiting, scheduled, scheduled_due, inflight, dead), \
             read when scraped",
            self.jobs.clone(),
        );
        r.register(
            "queue_workers",
            "Registered apalis workers per queue, read when scraped",
            self.workers.clone(),
        );
        r.register(
            "queue_oldest_waiting_seconds",
            "Age of the oldest job that could run now (the head of the active list or the \
             earliest due scheduled job), 0 when none waits; read when scraped",
            self.oldest_waiting.clone(),
        );
        r.register(
            "queue_stats_up",
            "1 if the last scrape could read the queues from Redis, else 0",
            self.up.clone(),
        );
    }

    /// Sets every gauge from one read of the queues; on an error only `up` changes, so
    /// the last known depths stay visible beside `queue_stats_up 0`.
    pub(super) fn update(&self, report: Result<QueueReport, QueueError>) {
        match report {
            Ok(report) => {
                for s in &report.queues {
                    self.set_queue(s);
                }
                self.up.set(1);
            }
            Err(e) => {
                tracing::warn!("metrics: cannot read queue stats: {e}");
                self.up.set(0);
            }
        }
    }

    fn set_queue(&self, s: &QueueDepth) {
        let Some(kind) = QueueKind::ALL.into_iter().find(|k| k.suffix() == s.queue) else {
            return;
        };
        let queue = kind.suffix();
        for (state, n) in [
            ("waiting", s.active),
            ("scheduled", s.scheduled_due + s.scheduled_later),
            ("scheduled_due", s.scheduled_due),
            ("inflight", s.inflight),
            ("dead", s.dead),
        ] {
            self.jobs
                .get_or_create(&DepthLabels { queue, state })
                .set(n as i64);
        }
        self.workers
            .get_or_create(&QueueLabel { queue })
            .set(s.workers as i64);
        // An empty queue reads 0, not an absent series, so `max_over_time` and alerts
        // on the age see the queue drain.
        let age = s.oldest_waiting_secs.unwrap_or(0);
        self.oldest_waiting
            .get_or_create(&QueueLabel { queue })
            .set(i64::try_from(age).unwrap_or(i64::MAX));
    }
}
