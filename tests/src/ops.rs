//! The Redis ops scripts in `scripts/`, run as processes against one queue prefix, and
//! the probe workers their tests run: real apalis workers on the send and retry queues
//! that fail or hang on demand.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use apalis::prelude::{AbortError, BackendExt, BoxDynError, Data, WorkerBuilder};
use redis::AsyncCommands;
use serde_json::Value;
use waplify_shared::ids::CampaignId;
use waplify_shared::jobs::{RetryMessage, SendBatch};
use waplify_shared::queue::{Liveness, Queues, new_task_id};
use waplify_worker::runtime::poll::{TickOrWake, Wake};

use crate::procs::which;

/// The error the send-queue probe aborts with.
pub const FAILURE: &str = "template welcome is missing for this number";

/// Every ops script.
pub const SCRIPTS: [&str; 7] = [
    "queue-stats",
    "workers",
    "task",
    "dead",
    "requeue",
    "campaign",
    "trim",
];

/// Runs the scripts against one prefix.
pub struct Ops {
    redis_url: String,
    prefix: String,
    /// Extra environment for every run.
    pub env: Vec<(&'static str, String)>,
}

/// A finished run of a script.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Ops {
    pub fn new(redis_url: &str, prefix: &str) -> Ops {
        assert!(
            which("redis-cli").is_some(),
            "redis-cli is required by scripts/ (apt-get install redis-tools)"
        );
        Ops {
            redis_url: redis_url.to_owned(),
            prefix: prefix.to_owned(),
            // Workers here beat every second; 3 s of silence makes one orphaned.
            env: vec![
                ("HEARTBEAT_SECS", "1".into()),
                ("MISSED_HEARTBEATS", "3".into()),
            ],
        }
    }

    pub fn run(&self, script: &str, args: &[&str]) -> Run {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../scripts")
            .join(script);
        let mut cmd = Command::new(&path);
        cmd.args(args)
            .env("REDIS_URL", &self.redis_url)
            .env("WAPLIFY_QUEUE_PREFIX", &self.prefix)
            .env_remove("WAPLIFY_QUEUES")
            .env_remove("WAPLIFY_API_URL")
            .env_remove("WAPLIFY_API_KEY");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
        // Shown for a failing test, and with --nocapture.
        println!(
            "$ scripts/{script} {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Column output of a run that must succeed.
    pub fn text(&self, script: &str, args: &[&str]) -> String {
        let r = self.run(script, args);
        assert!(r.ok, "{script} {args:?} failed: {}{}", r.stderr, r.stdout);
        r.stdout
    }

    /// `--json` output of a run that must succeed, parsed.
    pub fn json(&self, script: &str, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let r = self.run(script, &args);
        assert!(r.ok, "{script} {args:?} failed: {}{}", r.stderr, r.stdout);
        serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{script} {args:?}: invalid JSON ({e}): {}", r.stdout))
    }
}

/// The cells of the table row whose first cells are `first`, keyed by the header.
/// Only the last column may hold spaces.
pub fn row(text: &str, header_start: &str, first: &[&str]) -> HashMap<String, String> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(header_start));
    let headers: Vec<&str> = lines
        .next()
        .unwrap_or_else(|| panic!("no table headed {header_start} in:\n{text}"))
        .split_whitespace()
        .collect();
    let n = headers.len();
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < n {
            continue;
        }
        let mut cells: Vec<String> = words[..n - 1].iter().map(|w| w.to_string()).collect();
        cells.push(words[n - 1..].join(" "));
        if first.iter().zip(&cells).all(|(a, b)| a == b) {
            return headers.iter().map(|h| h.to_string()).zip(cells).collect();
        }
    }
    panic!("no row {first:?} in:\n{text}")
}

/// What the test workers saw.
#[derive(Default)]
pub struct Probe {
    pub fail: AtomicBool,
    pub runs: AtomicUsize,
}

/// A send-queue handler that aborts (the job goes straight to dead) while `fail` is set.
async fn flaky(_job: SendBatch, probe: Data<Arc<Probe>>) -> Result<(), BoxDynError> {
    probe.runs.fetch_add(1, Ordering::SeqCst);
    if probe.fail.load(Ordering::SeqCst) {
        return Err(Box::new(AbortError::new(FAILURE)));
    }
    Ok(())
}

/// A retry-queue handler that never finishes, so its job stays in flight.
async fn stuck(_job: RetryMessage, probe: Data<Arc<Probe>>) -> Result<(), BoxDynError> {
    probe.runs.fetch_add(1, Ordering::SeqCst);
    std::future::pending::<()>().await;
    Ok(())
}

fn liveness() -> Liveness {
    Liveness {
        heartbeat: Duration::from_secs(1),
        missed_heartbeats: 3,
        batch_size: 4,
    }
}

/// A real apalis worker on the send queue; the task is aborted to stop it.
pub fn send_worker(queues: &Queues, name: &str, probe: Arc<Probe>) -> tokio::task::JoinHandle<()> {
    let backend = queues
        .storage::<SendBatch>(liveness())
        .poll_with_strategy(TickOrWake::new(Duration::from_millis(100), Wake::default()));
    let worker = WorkerBuilder::new(name)
        .backend(backend)
        .data(probe)
        .build(flaky);
    tokio::spawn(async move {
        let _ = worker.run().await;
    })
}

/// A real apalis worker on the retry queue whose jobs never finish.
pub fn retry_worker(queues: &Queues, name: &str, probe: Arc<Probe>) -> tokio::task::JoinHandle<()> {
    let backend = queues
        .storage::<RetryMessage>(liveness())
        .poll_with_strategy(TickOrWake::new(Duration::from_millis(100), Wake::default()));
    let worker = WorkerBuilder::new(name)
        .backend(backend)
        .data(probe)
        .build(stuck);
    tokio::spawn(async move {
        let _ = worker.run().await;
    })
}

/// Deletes every key under the prefix (never anything else).
pub async fn forget_prefix(queues: &Queues) {
    let mut conn = queues.conn();
    let keys: Vec<String> = conn
        .keys(format!("{}:*", queues.prefix()))
        .await
        .unwrap_or_default();
    for k in keys {
        let _: Result<(), _> = conn.del(&k).await;
    }
}

/// `scripts/task ID --json`.
pub async fn task_json(ops: &Ops, id: &str) -> Value {
    ops.json("task", &[id])
}

/// Pushes `n` send jobs for `campaign`, returning their task ids.
pub async fn push_send_jobs(queues: &Queues, campaign: &CampaignId, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let id = new_task_id();
        let job = SendBatch {
            campaign_id: campaign.clone(),
            probe: false,
            generation: None,
        };
        queues.push(job, id.clone(), None).await.unwrap();
        ids.push(id.to_string());
    }
    ids
}

/// Waits until every job in `ids` is in `state` (as `scripts/task` reads it).
pub async fn wait_finished(ops: &Ops, ids: Vec<String>, state: &'static str) -> Vec<String> {
    for id in &ids {
        crate::eventually(Duration::from_secs(15), "jobs finished", || async {
            (task_json(ops, id).await["state"] == state).then_some(())
        })
        .await;
    }
    ids
}

/// Waits until `scripts/task` reads the job in `state`; returns what it read.
pub async fn wait_state(ops: &Ops, id: &str, state: &str, what: &str) -> Value {
    crate::eventually(Duration::from_secs(15), what, || async {
        let t = task_json(ops, id).await;
        (t["state"] == state).then_some(t)
    })
    .await
}

/// The task id and state of each job `scripts/campaign --json` lists.
pub fn job_states(campaign: &Value) -> HashMap<String, String> {
    campaign["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["task_id"].as_str().unwrap().to_owned(),
                j["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
