//! Keeping apalis-redis inside its safe limits: due jobs move from `scheduled` to
//! `active` in bounded chunks (workers run it before they start fetching and then
//! several times a second), and no second of the retry schedule holds more than
//! [`RETRY_SLOT_CAP`] retry jobs.

use std::sync::LazyLock;

use redis::Script;

use super::{Liveness, QueueError, Queues, unix_now};
use crate::jobs::QueueKind;

/// Promotion moves at most this many ids per `unpack`, far below Lua's limit.
pub const PROMOTE_CHUNK: usize = 1000;
/// One promotion script moves at most this many ids, so it never blocks Redis long.
pub const PROMOTE_PER_CALL: usize = 50 * PROMOTE_CHUNK;
/// No second of the retry schedule holds more retry jobs than this.
pub const RETRY_SLOT_CAP: u64 = 2000;

static PROMOTE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/promote.lua")));
static RETRY_SLOT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/retry_slot.lua")));

impl Queues {
    /// Moves due ids from `scheduled` to `active` in chunks of [`PROMOTE_CHUNK`].
    /// Returns how many moved.
    pub async fn promote_due(&self, kind: QueueKind) -> Result<u64, QueueError> {
        let config = self.apalis_config(kind, Liveness::default());
        PROMOTE
            .key(config.scheduled_jobs_set())
            .key(config.active_jobs_list())
            .arg(unix_now())
            .arg(PROMOTE_CHUNK)
            .arg(PROMOTE_PER_CALL)
            .invoke_async(&mut self.conn())
            .await
    }

    /// [`Queues::promote_due`] until nothing due is left: before workers start, a
    /// backlog larger than one call would otherwise leave enough due ids for apalis'
    /// own all-at-once promotion to kill them. Returns how many moved.
    pub async fn promote_all_due(&self, kind: QueueKind) -> Result<u64, QueueError> {
        let mut total = 0;
        loop {
            let moved = self.promote_due(kind).await?;
            total += moved;
            if moved < PROMOTE_PER_CALL as u64 {
                return Ok(total);
            }
        }
    }

    /// Chooses the second a retry job is scheduled for: the first second at or after
    /// `wanted` that holds fewer than [`RETRY_SLOT_CAP`] retries.
    pub async fn retry_slot(&self, wanted: u64) -> Result<u64, QueueError> {
        RETRY_SLOT
            .key(format!("{}:retry-slots", self.prefix()))
            .arg(wanted)
            .arg(RETRY_SLOT_CAP)
            .invoke_async(&mut self.conn())
            .await
    }
}
