//! Queue housekeeping apalis-redis does not do: promoting due jobs in bounded chunks
//! and deleting finished jobs after the retention period; with the trim, deleting
//! idempotency keys past their 24 hours.

use std::sync::Arc;
use std::time::Duration;

use waplify_shared::jobs::QueueKind;
use waplify_shared::queue::unix_now;

use super::context::Ctx;

const PROMOTE_EVERY: Duration = Duration::from_millis(250);
const TRIM_EVERY: Duration = Duration::from_secs(60);

/// Promotes every queue's due jobs now. Run before workers start fetching, so a
/// backlog built while none ran never reaches apalis' all-at-once promotion.
pub async fn promote_all(ctx: &Ctx) {
    for kind in QueueKind::ALL {
        match ctx.queues.promote_all_due(kind).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(queue = kind.suffix(), moved = n, "promoted due jobs"),
            Err(e) => tracing::warn!(queue = kind.suffix(), "promotion failed: {e}"),
        }
    }
}

pub async fn run(ctx: Arc<Ctx>, mut stop: tokio::sync::watch::Receiver<bool>) {
    // The first pass trims at once: a worker restarted often (a crash loop, a deploy)
    // still keeps Redis within its retention.
    let mut last_trim: Option<std::time::Instant> = None;
    loop {
        promote_all(&ctx).await;
        if last_trim.is_none_or(|t| t.elapsed() >= TRIM_EVERY) {
            last_trim = Some(std::time::Instant::now());
            let cutoff = unix_now().saturating_sub(ctx.cfg.retention.as_secs());
            for kind in QueueKind::ALL {
                match ctx.queues.trim_finished(kind, cutoff).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(queue = kind.suffix(), removed = n, "trimmed finished jobs")
                    }
                    Err(e) => tracing::warn!(queue = kind.suffix(), "trim failed: {e}"),
                }
            }
            purge_idempotency_keys(&ctx).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(PROMOTE_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Expired keys are never replayed (the API checks their age); this only frees the rows.
async fn purge_idempotency_keys(ctx: &Ctx) {
    match waplify_shared::idempotency::purge(&ctx.db, chrono::Utc::now()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "purged expired idempotency keys"),
        Err(e) => tracing::warn!("purging idempotency keys failed: {e}"),
    }
}
