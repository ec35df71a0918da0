//! Redis: the connection, pushing jobs under known task ids, and the maintenance
//! scripts that keep apalis-redis 1.0.0 inside its safe limits.
//!
//! apalis-redis promotes *all* due scheduled ids in one Lua `unpack`, which fails
//! for about 8,000 or more ids and takes every worker down with it. [`Queues::promote_due`]
//! moves due ids in bounded chunks; workers run it before they start fetching and
//! then several times a second, and retry jobs are spread so that no single second
//! holds more than [`RETRY_SLOT_CAP`] of them.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId, TaskSink};
use apalis_redis::{Config as ApalisConfig, RedisStorage};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use serde::Serialize;

use crate::config::{ConfigError, redact_url};
use crate::jobs::{Job, QueueKind};

/// How long one Redis command may take before it counts as failed. apalis' own
/// default (redis-rs' 500 ms) turns a slow moment into a dead worker.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Promotion moves at most this many ids per `unpack`, far below Lua's limit.
pub const PROMOTE_CHUNK: usize = 1000;
/// No second of the retry schedule holds more retry jobs than this.
pub const RETRY_SLOT_CAP: u64 = 2000;

pub type QueueError = redis::RedisError;

/// Opens a managed connection (reconnects on its own) and checks it with a PING.
pub async fn connect(url: &str) -> Result<ConnectionManager, ConfigError> {
    const VAR: &str = "REDIS_URL";
    let client = redis::Client::open(url).map_err(|e| {
        ConfigError::new(VAR, format!("invalid Redis URL '{}': {e}", redact_url(url)))
    })?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(3)
        .set_max_delay(Duration::from_secs(2));
    let mut conn = client
        .get_connection_manager_with_config(config)
        .await
        .map_err(|e| {
            ConfigError::new(VAR, format!("cannot connect to {}: {e}", redact_url(url)))
        })?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map_err(|e| ConfigError::new(VAR, format!("cannot talk to {}: {e}", redact_url(url))))?;
    Ok(conn)
}

/// A new ULID task id, the form apalis-redis itself uses.
pub fn new_task_id() -> TaskId {
    TaskId::from_ulid(ulid::Ulid::generate())
}

/// Worker-side liveness settings for apalis.
#[derive(Clone, Copy, Debug)]
pub struct Liveness {
    pub heartbeat: Duration,
    pub missed_heartbeats: usize,
    pub batch_size: usize,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness {
            heartbeat: Duration::from_secs(3),
            missed_heartbeats: 3,
            batch_size: 10,
        }
    }
}

/// All queues under one prefix.
#[derive(Clone)]
pub struct Queues {
    conn: ConnectionManager,
    prefix: String,
}

static PROMOTE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/promote.lua")));
static RETRY_SLOT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/retry_slot.lua")));
static TRIM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/trim.lua")));
static RATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/rate.lua")));
static API_RATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/api_rate.lua")));

impl Queues {
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Queues {
        Queues {
            conn,
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub fn queue_name(&self, kind: QueueKind) -> String {
        kind.name(&self.prefix)
    }

    /// The apalis configuration of a queue. Pub/sub events are off: nothing listens.
    pub fn apalis_config(&self, kind: QueueKind, liveness: Liveness) -> ApalisConfig {
        ApalisConfig::default()
            .queue(self.queue_name(kind))
            .heartbeat_interval(liveness.heartbeat)
            .missed_heartbeats(liveness.missed_heartbeats)
            .batch_size(liveness.batch_size)
            .emit_events(false)
    }

    /// An apalis storage for pushing to or consuming `J`'s queue.
    pub fn storage<J: Job>(&self, liveness: Liveness) -> RedisStorage<J> {
        RedisStorage::new(self.conn.clone()).with_config(self.apalis_config(J::QUEUE, liveness))
    }

    /// Pushes one job under `task_id`. Pushing an id that is already stored is a no-op,
    /// which is what lets the reconciler re-push a lost job without doubling it.
    /// `run_at` is in Unix seconds; the job becomes due at the start of that second.
    pub async fn push<J: Job>(
        &self,
        job: J,
        task_id: TaskId,
        run_at: Option<u64>,
    ) -> Result<(), QueueError> {
        let mut builder = TaskBuilder::new(job).task_id(task_id);
        if let Some(at) = run_at {
            builder = builder.run_at_timestamp(at);
        }
        self.storage::<J>(Liveness::default())
            .push_task(builder.build())
            .await
            .map_err(sink_error)
    }

    /// Pushes several jobs in one round trip, each under a fresh task id.
    pub async fn push_many<J: Job>(&self, jobs: Vec<J>) -> Result<Vec<TaskId>, QueueError> {
        let ids: Vec<TaskId> = jobs.iter().map(|_| new_task_id()).collect();
        let batch = jobs
            .into_iter()
            .zip(ids.iter().cloned())
            .map(|(job, id)| (job, id, None))
            .collect();
        self.push_batch(batch).await?;
        Ok(ids)
    }

    /// Pushes several jobs in one round trip, each under its own task id and due time
    /// (Unix seconds, as in [`Queues::push`]).
    pub async fn push_batch<J: Job>(
        &self,
        jobs: Vec<(J, TaskId, Option<u64>)>,
    ) -> Result<(), QueueError> {
        let tasks = jobs.into_iter().map(|(job, id, run_at)| {
            let builder = TaskBuilder::new(job).task_id(id);
            match run_at {
                Some(at) => builder.run_at_timestamp(at).build(),
                None => builder.build(),
            }
        });
        self.storage::<J>(Liveness::default())
            .push_all(&mut futures::stream::iter(tasks))
            .await
            .map_err(sink_error)
    }

    /// Jobs of a queue not yet taken by a worker: scheduled (due or not) and active.
    pub async fn waiting(&self, kind: QueueKind) -> Result<u64, QueueError> {
        let c = self.apalis_config(kind, Liveness::default());
        let mut conn = self.conn.clone();
        let scheduled: u64 = conn.zcard(c.scheduled_jobs_set()).await?;
        let active: u64 = conn.llen(c.active_jobs_list()).await?;
        Ok(scheduled + active)
    }

    /// Moves due ids from `scheduled` to `active` in chunks of [`PROMOTE_CHUNK`].
    /// Returns how many moved.
    pub async fn promote_due(&self, kind: QueueKind) -> Result<u64, QueueError> {
        let config = self.apalis_config(kind, Liveness::default());
        let now = unix_now();
        PROMOTE
            .key(config.scheduled_jobs_set())
            .key(config.active_jobs_list())
            .arg(now)
            .arg(PROMOTE_CHUNK)
            .arg(50 * PROMOTE_CHUNK)
            .invoke_async(&mut self.conn.clone())
            .await
    }

    /// Chooses the second a retry job is scheduled for: the first second at or after
    /// `wanted` that holds fewer than [`RETRY_SLOT_CAP`] retries.
    pub async fn retry_slot(&self, wanted: u64) -> Result<u64, QueueError> {
        RETRY_SLOT
            .key(format!("{}:retry-slots", self.prefix))
            .arg(wanted)
            .arg(RETRY_SLOT_CAP)
            .invoke_async(&mut self.conn.clone())
            .await
    }

    /// Takes up to `want` sends from a number's budget for the current second
    /// (fixed one-second windows shared by every worker). Returns how many were granted.
    pub async fn take_send_budget(
        &self,
        number_id: &str,
        want: u64,
        per_second: u64,
    ) -> Result<u64, QueueError> {
        RATE.key(format!("{}:rate:{number_id}", self.prefix))
            .arg(unix_now())
            .arg(want)
            .arg(per_second)
            .invoke_async(&mut self.conn.clone())
            .await
    }

    /// Counts one request of API key `key_id` in its current fixed window of
    /// `window_secs` seconds (windows shared by every API process, timed by the Redis
    /// clock). Keys: `{prefix}:api-rate:{key_id}:{window end}`.
    pub async fn count_api_request(
        &self,
        key_id: &str,
        window_secs: u64,
    ) -> Result<ApiRateWindow, QueueError> {
        let (count, window_end, now): (u64, u64, u64) = API_RATE
            .key(format!("{}:api-rate:{key_id}", self.prefix))
            .arg(window_secs.max(1))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(ApiRateWindow {
            count,
            window_end,
            now,
        })
    }

    /// Marks a campaign as being worked on for `ttl`. The reconciler leaves campaigns
    /// with a live mark alone. A hint only: losing it costs one extra lane, never a send.
    pub async fn mark_alive(&self, campaign_id: &str, ttl: Duration) -> Result<(), QueueError> {
        let key = format!("{}:alive:{campaign_id}", self.prefix);
        self.conn
            .clone()
            .set_ex::<_, _, ()>(key, 1, ttl.as_secs().max(1))
            .await
    }

    pub async fn is_alive(&self, campaign_id: &str) -> Result<bool, QueueError> {
        let key = format!("{}:alive:{campaign_id}", self.prefix);
        self.conn.clone().exists(key).await
    }

    /// Deletes done and dead jobs (ids, payloads, metadata) finished before `cutoff`
    /// (Unix seconds). apalis keeps them forever otherwise. Returns how many went.
    pub async fn trim_finished(&self, kind: QueueKind, cutoff: u64) -> Result<u64, QueueError> {
        let config = self.apalis_config(kind, Liveness::default());
        let mut removed = 0u64;
        for set in [config.done_jobs_set(), config.dead_jobs_set()] {
            let mut cursor = "0".to_owned();
            loop {
                let (next, n): (String, u64) = TRIM
                    .key(&set)
                    .key(config.job_data_hash())
                    .key(config.job_meta_hash())
                    .arg(cutoff)
                    .arg(500)
                    .arg(&cursor)
                    .invoke_async(&mut self.conn.clone())
                    .await?;
                removed += n;
                if next == "0" {
                    break;
                }
                cursor = next;
            }
        }
        Ok(removed)
    }

    pub async fn ping(&self) -> Result<(), QueueError> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await
            .map(|_| ())
    }

    /// Depth of every queue, read from the keys directly (apalis' own stats are wrong).
    pub async fn stats(&self) -> Result<Vec<QueueStats>, QueueError> {
        let mut out = Vec::new();
        let mut conn = self.conn.clone();
        let now = unix_now();
        for kind in QueueKind::ALL {
            let c = self.apalis_config(kind, Liveness::default());
            let workers: Vec<(String, f64)> =
                conn.zrange_withscores(c.workers_set(), 0, -1).await?;
            let mut inflight = BTreeMap::new();
            for (name, _) in &workers {
                let n: u64 = conn
                    .scard(format!("{}:{name}", c.inflight_jobs_set()))
                    .await?;
                inflight.insert(name.clone(), n);
            }
            out.push(QueueStats {
                queue: c.queue.as_ref().to_owned(),
                active: conn.llen(c.active_jobs_list()).await?,
                scheduled: conn.zcard(c.scheduled_jobs_set()).await?,
                scheduled_due: conn.zcount(c.scheduled_jobs_set(), "-inf", now).await?,
                inflight_total: inflight.values().sum(),
                done: conn.scard(c.done_jobs_set()).await?,
                dead: conn.scard(c.dead_jobs_set()).await?,
                workers: workers
                    .into_iter()
                    .map(|(name, beat)| WorkerStats {
                        inflight: inflight.get(&name).copied().unwrap_or(0),
                        last_heartbeat_secs_ago: now.saturating_sub(beat as u64),
                        name,
                    })
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Finds a task by id in any queue: where it sits, its payload and its metadata.
    pub async fn find_task(&self, task_id: &str) -> Result<Option<TaskInfo>, QueueError> {
        let mut conn = self.conn.clone();
        for kind in QueueKind::ALL {
            let c = self.apalis_config(kind, Liveness::default());
            let data: Option<String> = conn.hget(c.job_data_hash(), task_id).await?;
            let Some(data) = data else { continue };
            let meta: BTreeMap<String, String> = conn
                .hgetall(format!("{}:{task_id}", c.job_meta_hash()))
                .await?;
            let mut state = "unknown".to_owned();
            if conn.sismember(c.done_jobs_set(), task_id).await? {
                state = "done".into();
            } else if conn.sismember(c.dead_jobs_set(), task_id).await? {
                state = "dead".into();
            } else if let Some(at) = conn
                .zscore::<_, _, Option<f64>>(c.scheduled_jobs_set(), task_id)
                .await?
            {
                state = format!("scheduled (due at {})", at as u64);
            } else if conn
                .lpos::<_, _, Option<i64>>(c.active_jobs_list(), task_id, Default::default())
                .await?
                .is_some()
            {
                state = "active".into();
            } else {
                let workers: Vec<String> = conn.zrange(c.workers_set(), 0, -1).await?;
                for w in workers {
                    if conn
                        .sismember(format!("{}:{w}", c.inflight_jobs_set()), task_id)
                        .await?
                    {
                        state = format!("inflight on {w}");
                        break;
                    }
                }
            }
            return Ok(Some(TaskInfo {
                queue: c.queue.as_ref().to_owned(),
                task_id: task_id.to_owned(),
                state,
                payload: serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data)),
                meta,
            }));
        }
        Ok(None)
    }
}

/// One API key's current rate-limit window, after counting a request in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiRateWindow {
    /// Requests counted in this window, the current one included.
    pub count: u64,
    /// When the window ends and the count starts again (Unix seconds).
    pub window_end: u64,
    /// The Redis clock when the request was counted (Unix seconds).
    pub now: u64,
}

#[derive(Debug, Serialize)]
pub struct QueueStats {
    pub queue: String,
    pub active: u64,
    pub scheduled: u64,
    pub scheduled_due: u64,
    pub inflight_total: u64,
    pub done: u64,
    pub dead: u64,
    pub workers: Vec<WorkerStats>,
}

#[derive(Debug, Serialize)]
pub struct WorkerStats {
    pub name: String,
    pub inflight: u64,
    pub last_heartbeat_secs_ago: u64,
}

#[derive(Debug, Serialize)]
pub struct TaskInfo {
    pub queue: String,
    pub task_id: String,
    pub state: String,
    pub payload: serde_json::Value,
    pub meta: BTreeMap<String, String>,
}

fn sink_error<E: std::fmt::Display>(e: E) -> QueueError {
    redis::RedisError::from(std::io::Error::other(e.to_string()))
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}
