//! What every job handler shares: connections, the provider client, settings, wake-ups
//! and the cache of campaign send specs.

use std::sync::Arc;

use waplify_shared::db::Db;
use waplify_shared::queue::Queues;

use super::config::WorkerConfig;
use super::metrics::WorkerMetrics;
use super::poll::Wake;
use crate::send::provider::Provider;
use crate::send::spec::SpecCache;
use crate::send::verdict::RetryPolicy;
use crate::webhooks::guarded_dns;

pub struct Ctx {
    pub db: Db,
    pub queues: Queues,
    pub provider: Provider,
    pub cfg: WorkerConfig,
    pub policy: RetryPolicy,
    /// Wakes this process's send and retry workers when it pushes them a job.
    pub wake_send: Wake,
    pub wake_retry: Wake,
    /// Wakes the webhook workers after the relay queued jobs.
    pub wake_webhooks: Wake,
    /// Wakes the relay when a delivery needs a new job (a retry was scheduled).
    pub wake_relay: tokio::sync::Notify,
    /// The webhook client: guarded name resolution, no redirects.
    pub webhooks: reqwest::Client,
    /// apalis workers restarted after ending on an error (see `supervise`).
    pub restarts: std::sync::atomic::AtomicU64,
    pub metrics: Arc<WorkerMetrics>,
    /// Send specs of running campaigns, for a few seconds each.
    pub specs: SpecCache,
}

impl Ctx {
    pub fn new(db: Db, queues: Queues, cfg: WorkerConfig) -> Ctx {
        let metrics = Arc::new(WorkerMetrics::new());
        Ctx {
            webhooks: guarded_dns::webhook_client(cfg.common.webhook_networks),
            provider: Provider::new(
                &cfg.whatsapp_base_url,
                cfg.provider_timeout,
                metrics.clone(),
            ),
            metrics,
            policy: RetryPolicy::new(
                cfg.max_attempts,
                cfg.retry_base,
                cfg.retry_max,
                cfg.unknown_hold,
            ),
            db,
            queues,
            cfg,
            wake_send: Wake::default(),
            wake_retry: Wake::default(),
            wake_webhooks: Wake::default(),
            wake_relay: tokio::sync::Notify::new(),
            restarts: Default::default(),
            specs: SpecCache::default(),
        }
    }
}
