//! The Redis ops scripts in `scripts/` (queue-stats, workers, task, dead, requeue,
//! campaign; trim in `ops_trim.rs`), run as processes with `REDIS_URL` and
//! `WAPLIFY_QUEUE_PREFIX` against live queues: jobs pushed by the API and the project's
//! queue code, run (and killed, and failed) by real apalis workers. Every script's
//! columns and its `--json` are checked. They need `redis-cli`; without it, or without
//! Redis, the tests fail.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::AsyncCommands;
use serde_json::Value;
use waplify_shared::ids::{CampaignId, MessageId};
use waplify_shared::jobs::{RetryMessage, SendBatch};
use waplify_shared::queue::new_task_id;
use waplify_tests::ops::{
    FAILURE, Ops, Probe, SCRIPTS, forget_prefix, job_states, retry_worker, row, send_worker,
    task_json, wait_state,
};
use waplify_tests::{TestApp, eventually, seed, spawn_app};

/// The path an operator takes: a campaign's dispatch job found by its task_id, a dead
/// job found, read and requeued (dry run first, twice for real), a live worker running
/// it, workers in flight and orphaned, and the campaign's jobs beside its SQL counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_finds_a_dead_job_reads_why_it_failed_and_requeues_it() {
    let app = spawn_app().await;
    let ops = Ops::new(&app.redis_url, &app.prefix);
    for script in SCRIPTS {
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
    dispatch_job_read_and_counted(&ops, &campaign, &dispatch_task).await;
    let with_api = campaign_shows_jobs_and_sql(&app, &ops, &s.api_key, &campaign, &dispatch_task);

    // A send job that a live worker aborts: it goes straight to dead.
    let probe = Arc::new(Probe::default());
    probe.fail.store(true, Ordering::SeqCst);
    let worker_name = format!("ops-live-{}", ulid::Ulid::generate());
    let live = send_worker(&app.queues, &worker_name, probe.clone());
    let job = SendBatch {
        campaign_id: CampaignId::parse(&campaign).unwrap(),
        probe: false,
        generation: None,
    };
    let id = new_task_id();
    let dead_task = id.to_string();
    app.queues.push(job, id, None).await.unwrap();
    wait_state(&ops, &dead_task, "dead", "the job dead").await;
    dead_job_listed_and_read(&ops, &campaign, &dead_task, &worker_name).await;
    dry_run_changes_nothing(&app, &ops, &probe, &dead_task).await;
    requeued_job_runs_again(&ops, &probe, &dead_task).await;
    requeuing_again_does_nothing(&app, &ops, &probe, &dead_task).await;

    // A job in flight on a worker that then dies without a word.
    let (ghost, ghost_name, retry_task) =
        job_in_flight_shown(&app, &ops, &campaign, &worker_name).await;
    ghost.abort();
    worker_shown_orphaned(&ops, &ghost_name, &retry_task).await;

    // The campaign now: dispatch due, one send job done, one retry job in flight.
    let c = with_api.json("campaign", &[&campaign]);
    assert_eq!(c["total"], 3, "{c}");
    let states = job_states(&c);
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

/// `task` reads the dispatch job (an unknown id is an error); `queue-stats` counts it.
async fn dispatch_job_read_and_counted(ops: &Ops, campaign: &str, dispatch_task: &str) {
    let text = ops.text("task", &[dispatch_task]);
    assert!(text.contains("queue     dispatch"), "{text}");
    assert!(text.contains("state     due"), "{text}");
    assert!(
        text.contains(&format!("{{\"campaign_id\":\"{campaign}\"}}")),
        "{text}"
    );
    let t = task_json(ops, dispatch_task).await;
    assert_eq!(t["queue"], "dispatch");
    assert_eq!(t["state"], "due");
    assert_eq!(t["args"]["campaign_id"], campaign);
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
    assert_eq!(dispatch["oldest_waiting_task_id"], dispatch_task);
}

/// The campaign: without the API's address only Redis is shown, and it says so; with
/// it, its SQL status beside its jobs. Returns the scripts with the API's address.
fn campaign_shows_jobs_and_sql(
    app: &TestApp,
    ops: &Ops,
    api_key: &str,
    campaign: &str,
    dispatch_task: &str,
) -> Ops {
    let text = ops.text("campaign", &[campaign]);
    assert!(
        text.contains("not shown: set WAPLIFY_API_URL and WAPLIFY_API_KEY"),
        "{text}"
    );
    let r = row(&text, "QUEUE", &["dispatch", dispatch_task]);
    assert_eq!(r["STATE"], "due", "{text}");
    let mut with_api = Ops::new(&app.redis_url, &app.prefix);
    with_api.env.push(("WAPLIFY_API_URL", app.base.clone()));
    with_api.env.push(("WAPLIFY_API_KEY", api_key.to_owned()));
    let text = with_api.text("campaign", &[campaign]);
    assert!(
        text.contains("sql       status queued, 3 recipients: 0 sent"),
        "{text}"
    );
    assert!(
        text.contains(&format!("dispatch  task {dispatch_task}: due")),
        "{text}"
    );
    let c = with_api.json("campaign", &[campaign]);
    assert_eq!(c["sql"]["state"], "ok");
    assert_eq!(c["sql"]["stats"]["campaign_status"], "queued");
    assert_eq!(c["sql"]["stats"]["total_contacts"], 3);
    assert_eq!(c["task_id"], dispatch_task);
    assert_eq!(c["dispatch_state"], "due");
    assert_eq!(c["jobs"][0]["args"]["campaign_id"], campaign);
    with_api
}

async fn dead_job_listed_and_read(ops: &Ops, campaign: &str, dead_task: &str, worker_name: &str) {
    let text = ops.text("dead", &[]);
    let r = row(&text, "QUEUE", &["send", dead_task]);
    assert_eq!(r["WORKER"], worker_name, "{text}");
    assert!(r["ERROR"].contains(FAILURE), "{text}");
    assert!(text.contains("1 of 1 dead job(s)"), "{text}");
    let dead = ops.json("dead", &["--limit", "5"]);
    assert_eq!(dead["total"], 1);
    assert_eq!(dead["dead"][0]["task_id"], dead_task);
    assert_eq!(dead["dead"][0]["queue"], "send");
    assert_eq!(dead["dead"][0]["status"], "Killed");
    assert!(
        dead["dead"][0]["error"].as_str().unwrap().contains(FAILURE),
        "{dead}"
    );
    assert_eq!(dead["dead"][0]["args"]["campaign_id"], campaign);
    assert_eq!(
        ops.json("dead", &["--limit", "0"])["dead"],
        Value::Array(vec![])
    );

    let text = ops.text("task", &[dead_task]);
    assert!(text.contains("state     dead"), "{text}");
    assert!(
        text.contains(&format!("error     AbortError: {FAILURE}")),
        "{text}"
    );
    let t = task_json(ops, dead_task).await;
    assert_eq!(t["worker"], worker_name);
    assert_eq!(t["attempts"], 1);
    assert!(t["done_at"].as_u64().is_some());
}

/// Dry run: says what it would do and changes nothing.
async fn dry_run_changes_nothing(app: &TestApp, ops: &Ops, probe: &Probe, dead_task: &str) {
    let mut conn = app.queues.conn();
    let meta_key = format!("{}:send:meta:{dead_task}", app.prefix);
    let before: HashMap<String, String> = conn.hgetall(&meta_key).await.unwrap();
    let text = ops.text("requeue", &[dead_task, "--dry-run"]);
    let r = row(&text, "OUTCOME", &["would_requeue"]);
    assert_eq!(r["TASK_ID"], dead_task, "{text}");
    let dry = ops.json("requeue", &["--all-dead", "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["would_requeue"], 1);
    assert_eq!(dry["requeued"], 0);
    let after: HashMap<String, String> = conn.hgetall(&meta_key).await.unwrap();
    assert_eq!(before, after, "a dry run changes nothing");
    assert_eq!(task_json(ops, dead_task).await["state"], "dead");
    assert_eq!(probe.runs.load(Ordering::SeqCst), 1);
}

/// Requeue: the live worker runs it again, with fresh attempts.
async fn requeued_job_runs_again(ops: &Ops, probe: &Probe, dead_task: &str) {
    probe.fail.store(false, Ordering::SeqCst);
    let text = ops.text("requeue", &[dead_task]);
    let r = row(&text, "OUTCOME", &["requeued"]);
    assert_eq!(r["QUEUE"], "send", "{text}");
    assert!(text.contains("1 requeued, 0 skipped"), "{text}");
    let done = wait_state(ops, dead_task, "done", "the requeued job done").await;
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
}

/// Again: a no-op, for one id and for all dead.
async fn requeuing_again_does_nothing(app: &TestApp, ops: &Ops, probe: &Probe, dead_task: &str) {
    let again = ops.json("requeue", &[dead_task]);
    assert_eq!(again["requeued"], 0);
    assert_eq!(again["skipped"], 1);
    assert_eq!(again["tasks"][0]["outcome"], "skipped");
    let text = ops.text("requeue", &[dead_task]);
    assert!(text.contains("not dead (state: done)"), "{text}");
    assert_eq!(
        ops.text("requeue", &["--all-dead"]).trim(),
        format!("no dead jobs to requeue under prefix \"{}\"", app.prefix)
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(probe.runs.load(Ordering::SeqCst), 2, "no third run");
    assert_eq!(task_json(ops, dead_task).await["state"], "done");
    let unknown = ops.run("requeue", &["01ARZ3NDEKTSV4RRFFQ69G5FAV"]);
    assert!(!unknown.ok, "an unknown task id is an error");
}

/// A retry job that a worker holds in flight, as `task`, `workers` and `queue-stats`
/// show it. Returns that worker's task and name, and the job's task id.
async fn job_in_flight_shown(
    app: &TestApp,
    ops: &Ops,
    campaign: &str,
    worker_name: &str,
) -> (tokio::task::JoinHandle<()>, String, String) {
    let held = Arc::new(Probe::default());
    let ghost_name = format!("ops-ghost-{}", ulid::Ulid::generate());
    let ghost = retry_worker(&app.queues, &ghost_name, held.clone());
    let retry = RetryMessage {
        campaign_id: CampaignId::parse(campaign).unwrap(),
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
    let t = task_json(ops, &retry_task).await;
    assert_eq!(t["state"], "inflight");
    assert_eq!(t["worker"], ghost_name.as_str());
    let text = ops.text("workers", &[]);
    let r = row(&text, "QUEUE", &["retry", &ghost_name]);
    assert_eq!(r["INFLIGHT"], "1", "{text}");
    assert_eq!(r["STATE"], "ALIVE", "{text}");
    let r = row(&text, "QUEUE", &["send", worker_name]);
    assert_eq!(r["STATE"], "ALIVE", "{text}");
    let text = ops.text("queue-stats", &[]);
    assert_eq!(row(&text, "QUEUE", &["retry"])["INFLIGHT"], "1", "{text}");
    assert_eq!(row(&text, "QUEUE", &["send"])["DONE"], "1", "{text}");
    (ghost, ghost_name, retry_task)
}

/// Once its heartbeats stop, `workers` and `task` call the worker orphaned.
async fn worker_shown_orphaned(ops: &Ops, ghost_name: &str, retry_task: &str) {
    let orphan = eventually(Duration::from_secs(15), "the worker orphaned", || async {
        let w = ops.json("workers", &[]);
        w["workers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["worker"] == ghost_name && w["orphaned"] == true)
            .cloned()
    })
    .await;
    assert_eq!(orphan["queue"], "retry");
    assert_eq!(orphan["inflight"], 1);
    assert!(orphan["heartbeat_age_secs"].as_u64().unwrap() > 3);
    let text = ops.text("workers", &[]);
    assert_eq!(
        row(&text, "QUEUE", &["retry", ghost_name])["STATE"],
        "ORPHANED",
        "{text}"
    );
    assert!(text.contains("ORPHANED: 1 worker(s)"), "{text}");
    let text = ops.text("task", &[retry_task]);
    assert!(text.contains("the worker is ORPHANED"), "{text}");
}
