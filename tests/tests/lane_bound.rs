//! Send lanes stay bounded when they are opened again and again. On a saturated number
//! lanes wait for budget longer than the campaign's alive mark lasts, so the reconciler
//! opens lanes again and again; each opening starts a new generation, and older lanes
//! end at their next step instead of adding up.

use std::time::Duration;

use redis::AsyncCommands;
use reqwest::StatusCode;
use waplify_shared::jobs::QueueKind;
use waplify_tests::{Fake, FakeConfig, seed, spawn_app};

#[tokio::test]
async fn reopened_lanes_replace_the_old_ones() {
    let app = spawn_app().await;
    // A saturated number: two messages a second for 40-message lanes.
    let s = seed(&app.tdb.db, 100_000, 2).await;
    let fake = Fake::new(FakeConfig {
        latency_ms: 20,
        ..FakeConfig::default()
    });
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let mut cfg = app.worker_config(&url);
    cfg.lanes = 4;
    cfg.batch_size = 10;
    let worker = app.start_worker(cfg).await;
    let id = app.create_campaign(&s.api_key, 5000).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    // Lanes step about once a second here, each renewing the alive mark; taking the
    // mark away between steps makes the reconciler (every 500 ms) open lanes again, as
    // it does when lanes wait for budget longer than the mark lasts.
    let mut conn = app.queues.conn();
    let alive = format!("{}:alive:{id}", app.prefix);
    for _ in 0..25 {
        let _: () = conn.del(&alive).await.unwrap();
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    // Longer than a lane waits for budget before it steps again (5 s).
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut most = 0;
    for _ in 0..10 {
        most = most.max(app.queues.waiting(QueueKind::Send).await.unwrap());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("send lanes waiting at most: {most}");
    assert!(most <= 10, "{most} send lanes waiting; 4 are configured");
    // And the lanes that remain still send.
    let sent = app.stats(&s.api_key, &id).await["sent_count"]
        .as_i64()
        .unwrap();
    waplify_tests::eventually(Duration::from_secs(30), "sending goes on", || async {
        let now = app.stats(&s.api_key, &id).await["sent_count"]
            .as_i64()
            .unwrap();
        (now > sent).then_some(())
    })
    .await;
    let (status, body) = app.control(&s.api_key, &id, "cancel").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(fake.counters().duplicates, 0);
    worker.shutdown().await;
}
