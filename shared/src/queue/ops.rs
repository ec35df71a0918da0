//! The apalis key layout as operators read it, through the same Lua the ops scripts
//! run (`scripts/lua/common.lua` followed by one script, see `scripts/lib-redis.sh`):
//! queue depths for the worker's metrics, one task for tests, and the retention trim.
//! One implementation of the layout, shared by the scripts and the services.

use std::sync::LazyLock;

use redis::Script;
use serde::Deserialize;

use super::{QueueError, Queues};
use crate::jobs::QueueKind;

const COMMON: &str = include_str!("../../../scripts/lua/common.lua");

fn ops_script(body: &str) -> Script {
    Script::new(&format!("{COMMON}{body}"))
}

static QUEUE_STATS: LazyLock<Script> =
    LazyLock::new(|| ops_script(include_str!("../../../scripts/lua/queue_stats.lua")));
static TASK: LazyLock<Script> =
    LazyLock::new(|| ops_script(include_str!("../../../scripts/lua/task.lua")));
static TRIM: LazyLock<Script> =
    LazyLock::new(|| ops_script(include_str!("../../../scripts/lua/trim.lua")));

/// `scripts/queue-stats --json`.
#[derive(Debug, Deserialize)]
pub struct QueueReport {
    pub prefix: String,
    pub now: u64,
    pub queues: Vec<QueueDepth>,
}

/// One queue of [`QueueReport`].
#[derive(Debug, Deserialize)]
pub struct QueueDepth {
    /// The name after the prefix (`send`).
    pub queue: String,
    pub scheduled_due: u64,
    pub scheduled_later: u64,
    pub active: u64,
    pub inflight: u64,
    pub done: u64,
    pub dead: u64,
    pub workers: u64,
    pub oldest_waiting_secs: Option<u64>,
    pub oldest_waiting_task_id: Option<String>,
}

/// `scripts/task ID --json`, the fields tests and tools read.
#[derive(Debug, Deserialize)]
pub struct TaskReport {
    pub task_id: String,
    /// The name after the prefix (`dispatch`).
    pub queue: String,
    /// `scheduled`, `due`, `active`, `inflight`, `done`, `dead` or `lost`.
    pub state: String,
    pub attempts: Option<u64>,
    /// The job's arguments.
    pub args: serde_json::Value,
    pub worker: Option<String>,
}

/// Orphan threshold passed to `task.lua`; only its text output uses it.
const ORPHAN_AFTER_SECS: u64 = 9;

impl Queues {
    /// Runs an ops script in JSON mode: ARGV = prefix, `json`, then `args`.
    async fn ops<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        args: &[String],
    ) -> Result<T, QueueError> {
        let mut call = script.prepare_invoke();
        call.arg(self.prefix()).arg("json");
        for a in args {
            call.arg(a);
        }
        call.invoke_async(&mut self.conn()).await
    }

    /// The depth of every queue of the services.
    pub async fn stats(&self) -> Result<QueueReport, QueueError> {
        let mut args: Vec<String> = QueueKind::ALL
            .iter()
            .map(|k| k.suffix().to_owned())
            .collect();
        args.push("--".into());
        let json: String = self.ops(&QUEUE_STATS, &args).await?;
        parse(&json)
    }

    /// Where a task is, or `None` when no queue holds it.
    pub async fn task(&self, task_id: &str) -> Result<Option<TaskReport>, QueueError> {
        let mut args = vec![task_id.to_owned(), ORPHAN_AFTER_SECS.to_string()];
        args.extend(QueueKind::ALL.iter().map(|k| k.suffix().to_owned()));
        args.push("--".into());
        let reply: String = self.ops(&TASK, &args).await?;
        if reply.starts_with('!') {
            return Ok(None);
        }
        parse(&reply).map(Some)
    }

    /// Deletes done and dead jobs (ids, payloads, metadata) of a queue that finished
    /// at or before `cutoff` (Unix seconds), and those with no finish time at all;
    /// apalis keeps them forever otherwise. Returns how many went.
    pub async fn trim_finished(&self, kind: QueueKind, cutoff: u64) -> Result<u64, QueueError> {
        let mut removed = 0u64;
        for set in ["done", "dead"] {
            let mut cursor = "0".to_owned();
            loop {
                let args =
                    [kind.suffix(), set, &cutoff.to_string(), "0", &cursor].map(str::to_owned);
                let reply: String = self.ops(&TRIM, &args).await?;
                let mut parts = reply.split(' ');
                let next = parts.next().unwrap_or("0").to_owned();
                removed += parts
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
                if next == "0" {
                    break;
                }
                cursor = next;
            }
        }
        Ok(removed)
    }
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, QueueError> {
    serde_json::from_str(json).map_err(|e| {
        redis::RedisError::from(std::io::Error::other(format!("ops script answer: {e}")))
    })
}
