//! `waplify_queue_oldest_waiting_seconds`: per queue, the age of the oldest job that
//! could run now, read from Redis at each scrape through the Lua of
//! `scripts/queue-stats`. No worker runs here, so the jobs pushed stay where they are.

use redis::AsyncCommands;
use waplify_shared::ids::CampaignId;
use waplify_shared::jobs::{DispatchCampaign, QueueKind};
use waplify_shared::queue::{Liveness, new_task_id, unix_now};
use waplify_tests::spawn_app;
use waplify_worker::runtime::metrics::WorkerMetrics;

fn must(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

fn oldest(kind: QueueKind) -> String {
    format!(
        r#"waplify_queue_oldest_waiting_seconds{{queue="{}"}}"#,
        kind.suffix()
    )
}

fn dispatch(hex: &str) -> DispatchCampaign {
    DispatchCampaign {
        campaign_id: CampaignId::parse(hex).unwrap(),
    }
}

#[tokio::test]
async fn the_oldest_waiting_job_age_is_a_gauge_per_queue() {
    let app = spawn_app().await;
    let metrics = WorkerMetrics::new();

    // Nothing waits: every queue reads 0, not a missing series.
    let (_, text) = metrics.scrape(&app.queues, None).await;
    for kind in QueueKind::ALL {
        assert_eq!(must(&text, &oldest(kind)), 0.0, "{text}");
    }
    assert_eq!(must(&text, "waplify_queue_stats_up"), 1.0);

    // A job due in an hour is not waiting yet.
    let now = unix_now();
    let later = dispatch("aaaaaaaaaaaaaaaaaaaaaaaa");
    app.queues
        .push(later, new_task_id(), Some(now + 3600))
        .await
        .unwrap();
    let (_, text) = metrics.scrape(&app.queues, None).await;
    assert_eq!(must(&text, &oldest(QueueKind::Dispatch)), 0.0, "{text}");
    assert_eq!(
        must(
            &text,
            r#"waplify_queue_jobs{queue="dispatch",state="scheduled"}"#
        ),
        1.0
    );

    // One due ten minutes ago that no worker took. apalis scores a push dated in the
    // past at the time of the push, so it is pushed due now and its score is moved
    // back ten minutes, as if it had been pushed then.
    let overdue = new_task_id();
    app.queues
        .push(
            dispatch("bbbbbbbbbbbbbbbbbbbbbbbb"),
            overdue.clone(),
            Some(now),
        )
        .await
        .unwrap();
    let scheduled = app
        .queues
        .apalis_config(QueueKind::Dispatch, Liveness::default())
        .scheduled_jobs_set();
    let moved: i64 = app
        .queues
        .conn()
        .zadd(&scheduled, overdue.to_string(), now - 600)
        .await
        .unwrap();
    assert_eq!(moved, 0, "the job was already in {scheduled}");
    let (_, text) = metrics.scrape(&app.queues, None).await;
    let age = must(&text, &oldest(QueueKind::Dispatch));
    assert!((600.0..3600.0).contains(&age), "age {age} in:\n{text}");
    assert!(text.contains("# TYPE waplify_queue_oldest_waiting_seconds gauge"));
    // The other queues still have nothing waiting.
    for kind in QueueKind::ALL
        .into_iter()
        .filter(|k| *k != QueueKind::Dispatch)
    {
        assert_eq!(must(&text, &oldest(kind)), 0.0, "{text}");
    }
    // The scripts read the same age from the same Lua.
    let report = app.queues.stats().await.unwrap();
    let q = report
        .queues
        .iter()
        .find(|q| q.queue == "dispatch")
        .unwrap();
    assert!(q.oldest_waiting_secs.unwrap() >= 600, "{q:?}");
    assert_eq!(q.oldest_waiting_task_id, Some(overdue.to_string()));
}
