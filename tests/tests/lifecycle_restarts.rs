//! A paused campaign lives in SQL: it keeps its reservation and stays paused through a
//! worker restart and a wipe of every Redis key, and a resume afterwards finishes it
//! with every recipient sent once.

use std::time::Duration;

use redis::AsyncCommands;
use reqwest::StatusCode;
use waplify_tests::{Fake, FakeConfig, eventually, seed, spawn_app};

#[tokio::test]
async fn a_pause_survives_a_worker_restart_and_a_redis_wipe() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10_000, 200).await;
    let fake = Fake::new(FakeConfig {
        latency_ms: 20,
        ..FakeConfig::default()
    });
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 1500).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    eventually(Duration::from_secs(60), "some sent", || async {
        let sent = app.stats(&s.api_key, &id).await["sent_count"]
            .as_i64()
            .unwrap();
        (sent >= 100).then_some(())
    })
    .await;
    let (status, body) = app.control(&s.api_key, &id, "pause").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    worker.shutdown().await;

    let mut conn = app.queues.conn();
    let keys: Vec<String> = conn.keys(format!("{}:*", app.prefix)).await.unwrap();
    if !keys.is_empty() {
        let _: () = conn.del(&keys).await.unwrap();
    }
    let requests = fake.counters().requests;
    let worker = app.start_worker(app.worker_config(&url)).await;
    // A few reconciler passes: nothing of a paused campaign is reopened.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stats = app.stats(&s.api_key, &id).await;
    assert_eq!(stats["campaign_status"], "paused", "{stats}");
    assert_eq!(fake.counters().requests, requests, "a call while paused");
    let (_, got) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    assert_eq!(
        got["credits_reserved"], 1500,
        "the reservation is kept: {got}"
    );
    assert_eq!(got["credits_refunded"], 0, "{got}");

    let (status, body) = app.control(&s.api_key, &id, "resume").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(120))
        .await;
    assert_eq!(stats["sent_count"], 1500, "{stats}");
    let c = fake.counters();
    assert_eq!((c.unique_recipients, c.duplicates), (1500, 0));
    assert_eq!(app.balance(&s.account_id).await, 10_000 - 1500);
    worker.shutdown().await;
}
