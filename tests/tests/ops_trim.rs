//! Retention with `scripts/trim`, run as a process with `REDIS_URL` and
//! `WAPLIFY_QUEUE_PREFIX` against live queues whose jobs a real apalis worker finished
//! (done or dead) at known times. It needs `redis-cli`; without it, or without Redis,
//! the test fails.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::AsyncCommands;
use waplify_shared::ids::CampaignId;
use waplify_shared::jobs::SendBatch;
use waplify_shared::queue::new_task_id;
use waplify_tests::ops::{
    Ops, Probe, forget_prefix, push_send_jobs, row, send_worker, task_json, wait_finished,
};
use waplify_tests::{TestApp, spawn_app};

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
    let jobs = Jobs::finish(&app, &ops, &probe, &campaign).await;
    // The cut-off falls midway between the old jobs' and the new jobs' finishing times,
    // whenever the script runs: the duration is worked out just before each run.
    let midway = jobs.midway(&ops).await;
    let older_than = || format!("{}s", waplify_shared::queue::unix_now() - midway);

    a_dry_run_only_counts(&ops, &jobs, &older_than).await;
    trim_removes_the_old_finished_jobs_only(&app, &ops, &jobs, &older_than).await;
    columns_and_durations(&ops);

    live.abort();
    forget_prefix(&app.queues).await;
}

/// Finished jobs, old and new, and one still waiting.
struct Jobs {
    old_done: Vec<String>,
    old_dead: Vec<String>,
    new_done: Vec<String>,
    new_dead: Vec<String>,
    waiting: String,
}

impl Jobs {
    /// Old: two done, one dead. Then, ten seconds later, new: two done, one dead. And a
    /// job still waiting (due in an hour), which is never trimmed.
    async fn finish(app: &TestApp, ops: &Ops, probe: &Probe, campaign: &CampaignId) -> Jobs {
        let push = |n: usize| push_send_jobs(&app.queues, campaign, n);
        let old_done = wait_finished(ops, push(2).await, "done").await;
        probe.fail.store(true, Ordering::SeqCst);
        let old_dead = wait_finished(ops, push(1).await, "dead").await;
        probe.fail.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(10)).await;
        let new_done = wait_finished(ops, push(2).await, "done").await;
        probe.fail.store(true, Ordering::SeqCst);
        let new_dead = wait_finished(ops, push(1).await, "dead").await;
        let waiting = new_task_id();
        app.queues
            .push(
                SendBatch {
                    campaign_id: campaign.clone(),
                    probe: false,
                    generation: None,
                },
                waiting.clone(),
                Some(waplify_shared::queue::unix_now() + 3600),
            )
            .await
            .unwrap();
        Jobs {
            old_done,
            old_dead,
            new_done,
            new_dead,
            waiting: waiting.to_string(),
        }
    }

    /// Midway between the last old and the first new finishing time, at least eight
    /// seconds apart.
    async fn midway(&self, ops: &Ops) -> u64 {
        let mut old_last = 0;
        for id in self.old_done.iter().chain(&self.old_dead) {
            old_last = old_last.max(task_json(ops, id).await["done_at"].as_u64().unwrap());
        }
        let mut new_first = u64::MAX;
        for id in self.new_done.iter().chain(&self.new_dead) {
            new_first = new_first.min(task_json(ops, id).await["done_at"].as_u64().unwrap());
        }
        assert!(new_first >= old_last + 8, "{old_last} {new_first}");
        (old_last + new_first) / 2
    }
}

async fn a_dry_run_only_counts(ops: &Ops, jobs: &Jobs, older_than: &impl Fn() -> String) {
    let dry = ops.json("trim", &["--older-than", &older_than(), "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["would_remove"], 3, "{dry}");
    assert_eq!(dry["kept"], 3, "{dry}");
    let text = ops.text("trim", &["--older-than", &older_than(), "--dry-run"]);
    assert_eq!(row(&text, "QUEUE", &["send", "done"])["WOULD_REMOVE"], "2");
    assert_eq!(row(&text, "QUEUE", &["send", "dead"])["WOULD_REMOVE"], "1");
    assert!(text.contains("nothing changed"), "{text}");
    for id in &jobs.old_done {
        assert_eq!(task_json(ops, id).await["state"], "done", "dry run kept it");
    }
}

async fn trim_removes_the_old_finished_jobs_only(
    app: &TestApp,
    ops: &Ops,
    jobs: &Jobs,
    older_than: &impl Fn() -> String,
) {
    let trimmed = ops.json("trim", &["--older-than", &older_than()]);
    assert_eq!(trimmed["removed"], 3, "{trimmed}");
    assert_eq!(trimmed["kept"], 3, "{trimmed}");
    for id in jobs.old_done.iter().chain(&jobs.old_dead) {
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
    for id in &jobs.new_done {
        assert_eq!(task_json(ops, id).await["state"], "done");
    }
    for id in &jobs.new_dead {
        assert_eq!(task_json(ops, id).await["state"], "dead");
    }
    assert_eq!(task_json(ops, &jobs.waiting).await["state"], "scheduled");
}

/// Columns, and a bad duration.
fn columns_and_durations(ops: &Ops) {
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
}
