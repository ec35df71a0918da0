//! The worker process: one entry point, [`Worker::build`], used by `main.rs` and by
//! the tests alike.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;

use waplify_shared::config::ConfigError;
use waplify_shared::jobs::{
    ApplyCallback, DeliverWebhook, DispatchCampaign, RetryMessage, SendBatch, SendTest,
};
use waplify_shared::queue::Queues;
use waplify_shared::{db, queue, secrets};

use crate::runtime::config::WorkerConfig;
use crate::runtime::context::Ctx;
use crate::runtime::poll::Wake;
use crate::runtime::supervise::{self, Spec};
use crate::runtime::{maintain, metrics_server, reconcile};
use crate::{callbacks, send, webhooks};

/// A running worker process's tasks.
pub struct Worker {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    pub ctx: Arc<Ctx>,
}

impl Worker {
    /// Connects, checks the schema and starts every loop.
    pub async fn build(cfg: WorkerConfig) -> Result<Worker, ConfigError> {
        let database = db::connect_with(
            &cfg.common.database_url,
            cfg.common.db_max_connections,
            cfg.common.db_acquire_timeout,
        )
        .await?;
        db::ensure_schema(&database, cfg.common.auto_migrate).await?;
        let redis =
            queue::connect(&cfg.common.redis_url, cfg.common.redis_ca_file.as_deref()).await?;
        secrets::check_at_startup(&database, &cfg.common.secrets).await?;
        let queues = Queues::new(redis, cfg.common.queue_prefix.clone());
        Ok(Worker::start(Ctx::new(database, queues, cfg)))
    }

    /// Starts every loop: the six queues' supervised workers, queue housekeeping,
    /// the webhook relay, the scheduler, the reconciler and the metrics listener.
    fn start(ctx: Ctx) -> Worker {
        let ctx = Arc::new(ctx);
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let cfg = &ctx.cfg;
        let spec = |concurrency, wake: &Wake| Spec {
            concurrency,
            wake: wake.clone(),
        };
        tasks.spawn(maintain::run(ctx.clone(), stopped.clone()));
        tasks.spawn(supervise::supervise::<DispatchCampaign, _, _>(
            ctx.clone(),
            spec(4, &Wake::default()),
            send::dispatch::handle,
            stopped.clone(),
        ));
        tasks.spawn(supervise::supervise::<SendBatch, _, _>(
            ctx.clone(),
            spec(cfg.concurrency, &ctx.wake_send),
            send::lane::handle,
            stopped.clone(),
        ));
        tasks.spawn(supervise::supervise::<RetryMessage, _, _>(
            ctx.clone(),
            spec(cfg.concurrency * 4, &ctx.wake_retry),
            send::retry_job::handle,
            stopped.clone(),
        ));
        tasks.spawn(supervise::supervise::<DeliverWebhook, _, _>(
            ctx.clone(),
            spec(cfg.webhook_concurrency, &ctx.wake_webhooks),
            webhooks::attempt::handle,
            stopped.clone(),
        ));
        tasks.spawn(supervise::supervise::<ApplyCallback, _, _>(
            ctx.clone(),
            spec(4, &Wake::default()),
            callbacks::apply::handle,
            stopped.clone(),
        ));
        tasks.spawn(supervise::supervise::<SendTest, _, _>(
            ctx.clone(),
            spec(4, &Wake::default()),
            send::test_send::handle,
            stopped.clone(),
        ));
        tasks.spawn(webhooks::relay::run(ctx.clone(), stopped.clone()));
        tasks.spawn(send::schedule::run(ctx.clone(), stopped.clone()));
        if let Some(bind) = cfg.metrics_bind.clone() {
            tasks.spawn(metrics_server::serve(
                ctx.metrics.clone(),
                ctx.queues.clone(),
                cfg.common.metrics_token.clone(),
                bind,
                stopped.clone(),
            ));
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
