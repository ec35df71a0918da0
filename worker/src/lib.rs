//! The Waplify Send worker: dispatches campaigns, sends their messages through the
//! WhatsApp Cloud API with per-recipient retries, and reconciles SQL with Redis.

pub mod callback;
pub mod claim;
pub mod config;
pub mod context;
pub mod deliver;
pub mod dispatch;
pub mod error;
pub mod finalize;
pub mod guarded_dns;
pub mod lane;
pub mod maintain;
pub mod metrics;
pub mod outbound;
pub mod poll;
pub mod provider;
pub mod reconcile;
pub mod record;
pub mod relay;
pub mod resend;
pub mod retry;
pub mod send;
pub mod settle;
pub mod supervise;
pub mod throttle;

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;

use waplify_shared::config::ConfigError;
use waplify_shared::jobs::{
    ApplyCallback, DeliverWebhook, DispatchCampaign, RetryMessage, SendBatch,
};
use waplify_shared::queue::Queues;
use waplify_shared::{db, queue};

pub use config::WorkerConfig;
pub use context::Ctx;

/// A running worker process's tasks.
pub struct Worker {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    pub ctx: Arc<Ctx>,
}

impl Worker {
    /// Connects, checks the schema and starts every loop.
    pub async fn start(cfg: WorkerConfig) -> Result<Worker, ConfigError> {
        let database = db::connect(&cfg.common.database_url).await?;
        db::ensure_schema(&database, cfg.common.auto_migrate).await?;
        let redis = queue::connect(&cfg.common.redis_url).await?;
        let queues = Queues::new(redis, cfg.common.queue_prefix.clone());
        Ok(Worker::with(Ctx::new(database, queues, cfg)))
    }

    /// Starts every loop on existing connections.
    pub fn with(ctx: Ctx) -> Worker {
        let ctx = Arc::new(ctx);
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let cfg = &ctx.cfg;
        tasks.spawn(maintain::run(ctx.clone(), stopped.clone()));
        tasks.spawn(supervise::supervise::<DispatchCampaign, _, _>(
            ctx.clone(),
            supervise::Spec {
                concurrency: 4,
                wake: poll::Wake::default(),
            },
            dispatch::handle,
            stopped.clone(),
        ));
        tasks.spawn(supervise::supervise::<SendBatch, _, _>(
            ctx.clone(),
            supervise::Spec {
                concurrency: cfg.concurrency,
                wake: ctx.wake_send.clone(),
            },
            lane::handle,
            stopped.clone(),
        ));
        tasks.spawn(supervise::supervise::<RetryMessage, _, _>(
            ctx.clone(),
            supervise::Spec {
                concurrency: cfg.concurrency * 4,
                wake: ctx.wake_retry.clone(),
            },
            resend::handle,
            stopped.clone(),
        ));
        tasks.spawn(supervise::supervise::<DeliverWebhook, _, _>(
            ctx.clone(),
            supervise::Spec {
                concurrency: cfg.webhook_concurrency,
                wake: ctx.wake_webhooks.clone(),
            },
            outbound::handle,
            stopped.clone(),
        ));
        tasks.spawn(supervise::supervise::<ApplyCallback, _, _>(
            ctx.clone(),
            supervise::Spec {
                concurrency: 4,
                wake: poll::Wake::default(),
            },
            callback::handle,
            stopped.clone(),
        ));
        tasks.spawn(relay::run(ctx.clone(), stopped.clone()));
        if let Some(bind) = cfg.metrics_bind.clone() {
            tasks.spawn(metrics::serve(ctx.clone(), bind, stopped.clone()));
        }
        tasks.spawn(reconcile::run(ctx.clone(), stopped));
        Worker { stop, tasks, ctx }
    }

    /// Stops fetching, lets running jobs finish, and returns when every loop ended.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}
