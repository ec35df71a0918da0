//! The Redis ops scripts in `scripts/` (queue-stats, workers, task, dead, requeue,
//! campaign, trim), run as processes with `REDIS_URL` and `WAPLIFY_QUEUE_PREFIX`
//! against live queues: jobs pushed by the API and the project's queue code, run (and
//! killed, and failed) by real apalis workers. Every script's columns and its `--json`
//! are checked. They need `redis-cli`; without it, or without Redis, the tests fail.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use apalis::prelude::{AbortError, BackendExt, BoxDynError, Data, WorkerBuilder};
use redis::AsyncCommands;
use serde_json::Value;
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::jobs::{RetryMessage, SendBatch};
use waplify_shared::queue::{Liveness, Queues, new_task_id};
use waplify_tests::procs::which;
use waplify_tests::{eventually, seed, spawn_app};
use waplify_worker::runtime::poll::{TickOrWake, Wake};

const FAILURE: &str = "template welcome is missing for this number";

/// Runs the scripts against one prefix.
struct Ops {
    redis_url: String,
    prefix: String,
    env: Vec<(&'static str, String)>,
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Ops {
    fn new(redis_url: &str, prefix: &str) -> Ops {
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

    fn run(&self, script: &str, args: &[&str]) -> Run {
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
    fn text(&self, script: &str, args: &[&str]) -> String {
        let r = self.run(script, args);
        assert!(r.ok, "{script} {args:?} failed: {}{}", r.stderr, r.stdout);
        r.stdout
    }

    /// `--json` output of a run that must succeed, parsed.
    fn json(&self, script: &str, args: &[&str]) -> Value {
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
fn row(text: &str, header_start: &str, first: &[&str]) -> HashMap<String, String> {
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
struct Probe {
    fail: AtomicBool,
    runs: AtomicUsize,
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
fn send_worker(queues: &Queues, name: &str, probe: Arc<Probe>) -> tokio::task::JoinHandle<()> {
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

fn retry_worker(queues: &Queues, name: &str, probe: Arc<Probe>) -> tokio::task::JoinHandle<()> {
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
async fn forget_prefix(queues: &Queues) {
    let mut conn = queues.conn();
    let keys: Vec<String> = conn
        .keys(format!("{}:*", queues.prefix()))
        .await
        .unwrap_or_default();
    for k in keys {
        let _: Result<(), _> = conn.del(&k).await;
    }
}

async fn task_json(ops: &Ops, id: &str) -> Value {
    ops.json("task", &[id])
}

/// The path an operator takes: a campaign's dispatch job found by its task_id, a dead
/// job found, read and requeued (dry run first, twice for real), a live worker running
/// it, workers in flight and orphaned, and the campaign's jobs beside its SQL counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_finds_a_dead_job_reads_why_it_failed_and_requeues_it() {
    let app = spawn_app().await;
    let ops = Ops::new(&app.redis_url, &app.prefix);
    for script in [
        "queue-stats",
        "workers",
        "task",
        "dead",
        "requeue",
        "campaign",
        "trim",
    ] {
        let help = ops.text(script, &["--help"]);
        assert!(help.starts_with("Usage: "), "{script} --help: {help}");
        assert!(help.contains("--json"), "{script} --help names --json");
    }

    // A campaign sent through the API: its dispatch job waits (no worker runs here).
    let s = seed(&app.tdb.db, 100, 80).await;
    let campaign = app.create_campaign(&s.api_key, 3).await;
    let (status, body) = app.send(&s.api_key, &campaign).await;
    assert_eq!(status, 202, "{body}");
    let dispatch_task = body["task_id"].as_str().unwrap().to_owned();

    let text = ops.text("task", &[&dispatch_task]);
    assert!(text.contains("queue     dispatch"), "{text}");
    assert!(text.contains("state     due"), "{text}");
    assert!(
        text.contains(&format!("{{\"campaign_id\":\"{campaign}\"}}")),
        "{text}"
    );
    let t = task_json(&ops, &dispatch_task).await;
    assert_eq!(t["queue"], "dispatch");
    assert_eq!(t["state"], "due");
    assert_eq!(t["args"]["campaign_id"], campaign.as_str());
    assert_eq!(t["attempts"], 0);
    let missing = ops.run("task", &["01ARZ3NDEKTSV4RRFFQ69G5FAV"]);
    assert!(!missing.ok, "an unknown task is an error");
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);

    let text = ops.text("queue-stats", &[]);
    let r = row(&text, "QUEUE", &["dispatch"]);
    assert_eq!(r["DUE"], "1", "{text}");
    assert_eq!(r["DEAD"], "0", "{text}");
    let stats = ops.json("queue-stats", &[]);
    let dispatch = &stats["queues"][0];
    assert_eq!(dispatch["queue"], "dispatch");
    assert_eq!(dispatch["scheduled_due"], 1);
    assert_eq!(dispatch["oldest_waiting_task_id"], dispatch_task.as_str());

    // The campaign: without the API's address only Redis is shown, and it says so.
    let text = ops.text("campaign", &[&campaign]);
    assert!(
        text.contains("not shown: set WAPLIFY_API_URL and WAPLIFY_API_KEY"),
        "{text}"
    );
    let r = row(&text, "QUEUE", &["dispatch", &dispatch_task]);
    assert_eq!(r["STATE"], "due", "{text}");
    let mut with_api = Ops::new(&app.redis_url, &app.prefix);
    with_api.env.push(("WAPLIFY_API_URL", app.base.clone()));
    with_api.env.push(("WAPLIFY_API_KEY", s.api_key.clone()));
    let text = with_api.text("campaign", &[&campaign]);
    assert!(
        text.contains("sql       status queued, 3 recipients: 0 sent"),
        "{text}"
    );
    assert!(
        text.contains(&format!("dispatch  task {dispatch_task}: due")),
        "{text}"
    );
    let c = with_api.json("campaign", &[&campaign]);
    assert_eq!(c["sql"]["state"], "ok");
    assert_eq!(c["sql"]["stats"]["campaign_status"], "queued");
    assert_eq!(c["sql"]["stats"]["total_contacts"], 3);
    assert_eq!(c["task_id"], dispatch_task.as_str());
    assert_eq!(c["dispatch_state"], "due");
    assert_eq!(c["jobs"][0]["args"]["campaign_id"], campaign.as_str());

    // A send job that a live worker aborts: it goes straight to dead.
    let probe = Arc::new(Probe::default());
    probe.fail.store(true, Ordering::SeqCst);
    let worker_name = format!("ops-live-{}", ulid::Ulid::generate());
    let live = send_worker(&app.queues, &worker_name, probe.clone());
    let job = SendBatch {
        campaign_id: CampaignId::parse(&campaign).unwrap(),
        probe: false,
    };
    let id = new_task_id();
    let dead_task = id.to_string();
    app.queues.push(job, id, None).await.unwrap();
    eventually(Duration::from_secs(15), "the job dead", || async {
        let t = task_json(&ops, &dead_task).await;
        (t["state"] == "dead").then_some(())
    })
    .await;

    let text = ops.text("dead", &[]);
    let r = row(&text, "QUEUE", &["send", &dead_task]);
    assert_eq!(r["WORKER"], worker_name, "{text}");
    assert!(r["ERROR"].contains(FAILURE), "{text}");
    assert!(text.contains("1 of 1 dead job(s)"), "{text}");
    let dead = ops.json("dead", &["--limit", "5"]);
    assert_eq!(dead["total"], 1);
    assert_eq!(dead["dead"][0]["task_id"], dead_task.as_str());
    assert_eq!(dead["dead"][0]["queue"], "send");
    assert_eq!(dead["dead"][0]["status"], "Killed");
    assert!(
        dead["dead"][0]["error"].as_str().unwrap().contains(FAILURE),
        "{dead}"
    );
    assert_eq!(dead["dead"][0]["args"]["campaign_id"], campaign.as_str());
    assert_eq!(
        ops.json("dead", &["--limit", "0"])["dead"],
        Value::Array(vec![])
    );

    let text = ops.text("task", &[&dead_task]);
    assert!(text.contains("state     dead"), "{text}");
    assert!(
        text.contains(&format!("error     AbortError: {FAILURE}")),
        "{text}"
    );
    let t = task_json(&ops, &dead_task).await;
    assert_eq!(t["worker"], worker_name.as_str());
    assert_eq!(t["attempts"], 1);
    assert!(t["done_at"].as_u64().is_some());

    // Dry run: says what it would do and changes nothing.
    let mut conn = app.queues.conn();
    let meta_key = format!("{}:send:meta:{dead_task}", app.prefix);
    let before: HashMap<String, String> = conn.hgetall(&meta_key).await.unwrap();
    let text = ops.text("requeue", &[&dead_task, "--dry-run"]);
    let r = row(&text, "OUTCOME", &["would_requeue"]);
    assert_eq!(r["TASK_ID"], dead_task, "{text}");
    let dry = ops.json("requeue", &["--all-dead", "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["would_requeue"], 1);
    assert_eq!(dry["requeued"], 0);
    let after: HashMap<String, String> = conn.hgetall(&meta_key).await.unwrap();
    assert_eq!(before, after, "a dry run changes nothing");
    assert_eq!(task_json(&ops, &dead_task).await["state"], "dead");
    assert_eq!(probe.runs.load(Ordering::SeqCst), 1);

    // Requeue: the live worker runs it again, with fresh attempts.
    probe.fail.store(false, Ordering::SeqCst);
    let text = ops.text("requeue", &[&dead_task]);
    let r = row(&text, "OUTCOME", &["requeued"]);
    assert_eq!(r["QUEUE"], "send", "{text}");
    assert!(text.contains("1 requeued, 0 skipped"), "{text}");
    let done = eventually(Duration::from_secs(15), "the requeued job done", || async {
        let t = task_json(&ops, &dead_task).await;
        (t["state"] == "done").then_some(t)
    })
    .await;
    assert_eq!(probe.runs.load(Ordering::SeqCst), 2, "run once more");
    assert_eq!(done["attempts"], 1, "attempts started again from 0");
    assert_eq!(done["requeues"], 1);
    assert!(
        done["result_before_requeue"]["Err"]
            .as_str()
            .unwrap()
            .contains(FAILURE),
        "{done}"
    );

    // Again: a no-op, for one id and for all dead.
    let again = ops.json("requeue", &[&dead_task]);
    assert_eq!(again["requeued"], 0);
    assert_eq!(again["skipped"], 1);
    assert_eq!(again["tasks"][0]["outcome"], "skipped");
    let text = ops.text("requeue", &[&dead_task]);
    assert!(text.contains("not dead (state: done)"), "{text}");
    assert_eq!(
        ops.text("requeue", &["--all-dead"]).trim(),
        format!("no dead jobs to requeue under prefix \"{}\"", app.prefix)
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(probe.runs.load(Ordering::SeqCst), 2, "no third run");
    assert_eq!(task_json(&ops, &dead_task).await["state"], "done");
    let unknown = ops.run("requeue", &["01ARZ3NDEKTSV4RRFFQ69G5FAV"]);
    assert!(!unknown.ok, "an unknown task id is an error");

    // A job in flight on a worker that then dies without a word.
    let held = Arc::new(Probe::default());
    let ghost_name = format!("ops-ghost-{}", ulid::Ulid::generate());
    let ghost = retry_worker(&app.queues, &ghost_name, held.clone());
    let retry = RetryMessage {
        campaign_id: CampaignId::parse(&campaign).unwrap(),
        message_id: MessageId::generate(),
    };
    let id = new_task_id();
    let retry_task = id.to_string();
    app.queues.push(retry, id, None).await.unwrap();
    eventually(
        Duration::from_secs(15),
        "the retry job in flight",
        || async { (held.runs.load(Ordering::SeqCst) == 1).then_some(()) },
    )
    .await;
    let t = task_json(&ops, &retry_task).await;
    assert_eq!(t["state"], "inflight");
    assert_eq!(t["worker"], ghost_name.as_str());
    let text = ops.text("workers", &[]);
    let r = row(&text, "QUEUE", &["retry", &ghost_name]);
    assert_eq!(r["INFLIGHT"], "1", "{text}");
    assert_eq!(r["STATE"], "ALIVE", "{text}");
    let r = row(&text, "QUEUE", &["send", &worker_name]);
    assert_eq!(r["STATE"], "ALIVE", "{text}");
    let text = ops.text("queue-stats", &[]);
    assert_eq!(row(&text, "QUEUE", &["retry"])["INFLIGHT"], "1", "{text}");
    assert_eq!(row(&text, "QUEUE", &["send"])["DONE"], "1", "{text}");

    ghost.abort();
    let orphan = eventually(Duration::from_secs(15), "the worker orphaned", || async {
        let w = ops.json("workers", &[]);
        w["workers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["worker"] == ghost_name.as_str() && w["orphaned"] == true)
            .cloned()
    })
    .await;
    assert_eq!(orphan["queue"], "retry");
    assert_eq!(orphan["inflight"], 1);
    assert!(orphan["heartbeat_age_secs"].as_u64().unwrap() > 3);
    let text = ops.text("workers", &[]);
    assert_eq!(
        row(&text, "QUEUE", &["retry", &ghost_name])["STATE"],
        "ORPHANED",
        "{text}"
    );
    assert!(text.contains("ORPHANED: 1 worker(s)"), "{text}");
    let text = ops.text("task", &[&retry_task]);
    assert!(text.contains("the worker is ORPHANED"), "{text}");

    // The campaign now: dispatch due, one send job done, one retry job in flight.
    let c = with_api.json("campaign", &[&campaign]);
    assert_eq!(c["total"], 3, "{c}");
    let states: HashMap<String, String> = c["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["task_id"].as_str().unwrap().to_owned(),
                j["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(states[&dispatch_task], "due");
    assert_eq!(states[&dead_task], "done");
    assert_eq!(states[&retry_task], "inflight");
    let text = with_api.text("campaign", &[&campaign]);
    assert!(
        text.contains("redis     3 job(s): dispatch 1 due; send 1 done; retry 1 inflight"),
        "{text}"
    );

    live.abort();
    forget_prefix(&app.queues).await;
}

/// Retention: trim deletes done and dead jobs that finished longer ago than asked,
/// and nothing else; a dry run only counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trim_removes_only_finished_jobs_older_than_the_duration() {
    let app = spawn_app().await;
    let ops = Ops::new(&app.redis_url, &app.prefix);
    let probe = Arc::new(Probe::default());
    let live = send_worker(
        &app.queues,
        &format!("ops-trim-{}", ulid::Ulid::generate()),
        probe.clone(),
    );
    let campaign = CampaignId::generate();
    let push = |n: usize| {
        let queues = app.queues.clone();
        let campaign = campaign.clone();
        async move {
            let mut ids = Vec::new();
            for _ in 0..n {
                let id = new_task_id();
                let job = SendBatch {
                    campaign_id: campaign.clone(),
                    probe: false,
                };
                queues.push(job, id.clone(), None).await.unwrap();
                ids.push(id.to_string());
            }
            ids
        }
    };
    let finished = |ids: Vec<String>, state: &'static str| {
        let ops = &ops;
        async move {
            for id in &ids {
                eventually(Duration::from_secs(15), "jobs finished", || async {
                    (task_json(ops, id).await["state"] == state).then_some(())
                })
                .await;
            }
            ids
        }
    };
    // Old: two done, one dead. Then, ten seconds later, new: two done, one dead.
    let old_done = finished(push(2).await, "done").await;
    probe.fail.store(true, Ordering::SeqCst);
    let old_dead = finished(push(1).await, "dead").await;
    probe.fail.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let new_done = finished(push(2).await, "done").await;
    probe.fail.store(true, Ordering::SeqCst);
    let new_dead = finished(push(1).await, "dead").await;
    // A job still waiting (due in an hour) is never trimmed.
    let waiting = new_task_id();
    app.queues
        .push(
            SendBatch {
                campaign_id: campaign.clone(),
                probe: false,
            },
            waiting.clone(),
            Some(waplify_shared::queue::unix_now() + 3600),
        )
        .await
        .unwrap();
    let waiting = waiting.to_string();
    // The cut-off falls midway between the old jobs' and the new jobs' finishing times,
    // whenever the script runs: the duration is worked out just before each run.
    let mut old_last = 0;
    for id in old_done.iter().chain(&old_dead) {
        old_last = old_last.max(task_json(&ops, id).await["done_at"].as_u64().unwrap());
    }
    let mut new_first = u64::MAX;
    for id in new_done.iter().chain(&new_dead) {
        new_first = new_first.min(task_json(&ops, id).await["done_at"].as_u64().unwrap());
    }
    assert!(new_first >= old_last + 8, "{old_last} {new_first}");
    let midway = (old_last + new_first) / 2;
    let older_than = || format!("{}s", waplify_shared::queue::unix_now() - midway);

    let dry = ops.json("trim", &["--older-than", &older_than(), "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["would_remove"], 3, "{dry}");
    assert_eq!(dry["kept"], 3, "{dry}");
    let text = ops.text("trim", &["--older-than", &older_than(), "--dry-run"]);
    assert_eq!(row(&text, "QUEUE", &["send", "done"])["WOULD_REMOVE"], "2");
    assert_eq!(row(&text, "QUEUE", &["send", "dead"])["WOULD_REMOVE"], "1");
    assert!(text.contains("nothing changed"), "{text}");
    for id in &old_done {
        assert_eq!(
            task_json(&ops, id).await["state"],
            "done",
            "dry run kept it"
        );
    }

    let trimmed = ops.json("trim", &["--older-than", &older_than()]);
    assert_eq!(trimmed["removed"], 3, "{trimmed}");
    assert_eq!(trimmed["kept"], 3, "{trimmed}");
    for id in old_done.iter().chain(&old_dead) {
        let r = ops.run("task", &[id]);
        assert!(!r.ok && r.stderr.contains("not found"), "{id} trimmed");
        let data: bool = app
            .queues
            .conn()
            .hexists(format!("{}:send:data", app.prefix), id)
            .await
            .unwrap();
        assert!(!data, "its arguments went too");
    }
    for id in &new_done {
        assert_eq!(task_json(&ops, id).await["state"], "done");
    }
    for id in &new_dead {
        assert_eq!(task_json(&ops, id).await["state"], "dead");
    }
    assert_eq!(task_json(&ops, &waiting).await["state"], "scheduled");

    // Columns, and a bad duration.
    let text = ops.text("trim", &["--older-than", "1d"]);
    let r = row(&text, "QUEUE", &["send", "done"]);
    assert_eq!((r["REMOVED"].as_str(), r["KEPT"].as_str()), ("0", "2"));
    assert!(text.contains("deleted 0 finished job(s) older than 1d; kept 3 newer"));
    let bad = ops.run("trim", &["--older-than", "soon"]);
    assert!(
        !bad.ok && bad.stderr.contains("bad duration"),
        "{}",
        bad.stderr
    );
    assert_eq!(
        ops.json("trim", &["--older-than", "90s"])["older_than_secs"],
        90
    );
    assert_eq!(
        ops.json("trim", &["--older-than", "30m"])["older_than_secs"],
        1800
    );
    assert_eq!(
        ops.json("trim", &["--older-than", "24h"])["older_than_secs"],
        86400
    );
    assert_eq!(
        ops.json("trim", &["--older-than", "7d"])["older_than_secs"],
        604800
    );

    live.abort();
    forget_prefix(&app.queues).await;
}
