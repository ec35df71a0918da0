//! Keeping apalis workers alive. apalis-redis ends a worker on any backend error (a
//! Redis restart, a slow reply); this loop starts it again with back-off, each time
//! under a new name, since a reused name is refused while its old heartbeat is fresh.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::panic::AssertUnwindSafe;

use apalis::prelude::{
    BackendExt, BoxDynError, Data, ParallelizeExt, TaskId, WorkerBuilder, WorkerBuilderExt,
    WorkerError,
};
use futures::FutureExt as _;
use redis::AsyncCommands;
use tokio::sync::watch;
use tracing::Instrument as _;

use waplify_shared::jobs::Job;
use waplify_shared::queue::Liveness;

use super::context::Ctx;
use super::maintain;
use super::poll::{TickOrWake, Wake};
use super::queue_metrics::JobOutcome;
use crate::backoff::Backoff;

/// Restart delays: 100 ms doubling up to 5 s; reset after a minute of running.
const RESTART_BACKOFF: Backoff = Backoff {
    base: Duration::from_millis(100),
    max: Duration::from_secs(5),
    jitter: 0.0,
};

/// How a supervised worker runs.
pub struct Spec {
    pub concurrency: usize,
    pub wake: Wake,
}

pub async fn supervise<J, F, Fut>(
    ctx: Arc<Ctx>,
    spec: Spec,
    handler: F,
    stop: watch::Receiver<bool>,
) where
    J: Job,
    F: Fn(J, Data<Arc<Ctx>>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxDynError>> + Send + 'static,
{
    let mut generation = 0u32;
    let mut failures = 0u32;
    loop {
        if *stop.borrow() {
            return;
        }
        maintain::promote_all(&ctx).await;
        let name = format!("{}-{}-{generation}", ctx.cfg.name, J::QUEUE.suffix());
        let started = Instant::now();
        let result = run_once::<J, F, Fut>(&ctx, &spec, &name, handler.clone(), stop.clone()).await;
        forget_worker(&ctx, J::QUEUE, &name).await;
        if *stop.borrow() {
            return;
        }
        match result {
            Ok(()) => tracing::warn!(worker = %name, "worker ended; restarting"),
            Err(e) => tracing::warn!(worker = %name, "worker failed: {e}; restarting"),
        }
        ctx.restarts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ctx.metrics.restarted();
        if started.elapsed() > Duration::from_secs(60) {
            failures = 0;
        }
        let backoff = RESTART_BACKOFF.delay(failures);
        failures += 1;
        generation += 1;
        let mut stopped = stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}

type RunFuture = Pin<Box<dyn Future<Output = Result<(), WorkerError>> + Send>>;

/// Builds one apalis worker and returns its run until `stop`. Boxed here, where the
/// concrete types are known, so the supervisor's own future stays `Send`.
fn run_once<J, F, Fut>(
    ctx: &Arc<Ctx>,
    spec: &Spec,
    name: &str,
    handler: F,
    mut stop: watch::Receiver<bool>,
) -> RunFuture
where
    J: Job,
    F: Fn(J, Data<Arc<Ctx>>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxDynError>> + Send + 'static,
{
    let liveness = Liveness {
        batch_size: spec.concurrency,
        ..ctx.cfg.liveness
    };
    let backend = ctx
        .queues
        .storage::<J>(liveness)
        .poll_with_strategy(TickOrWake::new(ctx.cfg.poll_every, spec.wake.clone()));
    let metrics = ctx.metrics.queue(J::QUEUE);
    let measured = move |job: J, data: Data<Arc<Ctx>>, task_id: TaskId| {
        let span = tracing::info_span!(
            "job",
            queue = J::QUEUE.suffix(),
            task_id = %task_id,
            campaign_id = job.campaign_id(),
            message_id = job.message_id(),
        );
        let run = handler(job, data);
        let metrics = metrics.clone();
        async move {
            let started = Instant::now();
            let result = AssertUnwindSafe(run).catch_unwind().await;
            let outcome = match &result {
                Ok(Ok(())) => JobOutcome::Ok,
                Ok(Err(_)) => JobOutcome::Error,
                Err(_) => JobOutcome::Panic,
            };
            metrics.finished(outcome, started.elapsed());
            match result {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        .instrument(span)
    };
    let worker = WorkerBuilder::new(name)
        .backend(backend)
        .data(ctx.clone())
        .catch_panic()
        .concurrency(spec.concurrency)
        .parallelize(spawn_boxed)
        .build(measured);
    Box::pin(worker.run_until(async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
        Ok::<(), std::io::Error>(())
    }))
}

fn spawn_boxed<T: Future + Send + 'static>(fut: T) -> tokio::task::JoinHandle<T::Output>
where
    T::Output: Send + 'static,
{
    tokio::spawn(fut)
}

/// Removes a finished worker from the queue's worker set (apalis removes the wrong
/// key on shutdown). Anything it still held is re-queued by live workers' orphan scan.
async fn forget_worker(ctx: &Ctx, kind: waplify_shared::jobs::QueueKind, name: &str) {
    let config = ctx.queues.apalis_config(kind, ctx.cfg.liveness);
    let mut conn = ctx.queues.conn();
    let inflight: Result<u64, _> = conn
        .scard(format!("{}:{name}", config.inflight_jobs_set()))
        .await;
    if inflight.unwrap_or(1) == 0 {
        let _: Result<(), _> = conn.zrem(config.workers_set(), name).await;
    }
}
