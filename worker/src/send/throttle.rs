//! Per-number send rate (`whatsapp_numbers.mps`), shared by every worker through Redis.
//! A batch takes its budget before it claims, so a claim never waits on the limit
//! and leases only have to cover provider calls.

use std::time::Duration;

use waplify_shared::queue::QueueError;

use super::spec::Spec;
use crate::runtime::context::Ctx;

/// Waits for up to `want` sends of the number's budget. Returns how many were granted,
/// or 0 after `patience` without any (the caller re-queues itself).
pub async fn take(
    ctx: &Ctx,
    spec: &Spec,
    want: u64,
    patience: Duration,
) -> Result<u64, QueueError> {
    let started = std::time::Instant::now();
    loop {
        let granted = ctx
            .queues
            .take_send_budget(&spec.number_id, want, spec.mps)
            .await?;
        if granted > 0 || started.elapsed() >= patience {
            return Ok(granted);
        }
        tokio::time::sleep(until_next_second()).await;
    }
}

fn until_next_second() -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_millis(1000 - u64::from(now.subsec_millis()))
        + Duration::from_millis(rand::random_range(0..20))
}
