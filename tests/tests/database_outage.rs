//! A PostgreSQL outage shorter than the lease sends nobody twice: the worker keeps the
//! provider's answers that arrive while the database is away and records them once it
//! is back, before the lease would hand the messages to another send.
//!
//! A dispatch that fails on a database error runs again by itself, and the API
//! answers 503 at once while it cannot reach the database.
//!
//! PostgreSQL only: the worker reaches the database through a proxy the test cuts
//! (SQLite is a file in the worker's own process; it has no outage of this kind).

use std::time::Duration;

use reqwest::StatusCode;
use waplify_shared::config::CommonConfig;
use waplify_tests::proxy::{Proxy, through};
use waplify_tests::{Fake, FakeConfig, TestDb, eventually, seed, spawn_app};

#[tokio::test]
async fn an_outage_shorter_than_the_lease_sends_nobody_twice() {
    if !TestDb::is_postgres() {
        eprintln!("PostgreSQL outage test: runs with TEST_DATABASE=postgres");
        return;
    }
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10_000, 1000).await;
    let fake = Fake::new(FakeConfig {
        latency_ms: 300,
        ..FakeConfig::default()
    });
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let (_, target) = through(&app.tdb.url, 0);
    let proxy = Proxy::start(target).await;
    let mut cfg = app.worker_config(&url);
    cfg.common.database_url = through(&app.tdb.url, proxy.port).0;
    let worker = app.start_worker(cfg).await;

    let n = 3000;
    let id = app.create_campaign(&s.api_key, n).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    eventually(Duration::from_secs(60), "sending under way", || async {
        let sent = app.stats(&s.api_key, &id).await["sent_count"]
            .as_i64()
            .unwrap();
        (sent >= 300).then_some(())
    })
    .await;
    // Calls are in flight (300 ms each) when the database goes away for 5 s: their
    // answers arrive during the outage. The test lease is 15 s.
    proxy.cut().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    proxy.restore();

    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(180))
        .await;
    assert_eq!(stats["sent_count"], n as i64, "{stats}");
    let c = fake.counters();
    assert_eq!((c.unique_recipients, c.duplicates), (n as u64, 0), "{c:?}");
    worker.shutdown().await;
}

/// Settings whose database is reached through a new proxy, with a short acquire timeout.
async fn proxied(common: CommonConfig) -> (CommonConfig, Proxy) {
    let (_, target) = through(&common.database_url, 0);
    let proxy = Proxy::start(target).await;
    let common = CommonConfig {
        database_url: through(&common.database_url, proxy.port).0,
        db_acquire_timeout: Duration::from_millis(500),
        ..common
    };
    (common, proxy)
}

#[tokio::test]
async fn a_dispatch_that_hit_a_database_error_runs_again() {
    if !TestDb::is_postgres() {
        eprintln!("PostgreSQL outage test: runs with TEST_DATABASE=postgres");
        return;
    }
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let fake = Fake::new(FakeConfig::default());
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let mut cfg = app.worker_config(&url);
    let (common, proxy) = proxied(cfg.common.clone()).await;
    cfg.common = common;
    let worker = app.start_worker(cfg).await;
    let id = app.create_campaign(&s.api_key, 20).await;
    proxy.cut().await;
    // The API is not behind the proxy: the send is accepted, the worker's dispatch
    // fails on the database (and finishes as a done job).
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.restore();
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["sent_count"], 20, "{stats}");
    assert_eq!(fake.counters().unique_recipients, 20);
    worker.shutdown().await;
}

#[tokio::test]
async fn the_api_answers_503_while_the_database_is_away() {
    if !TestDb::is_postgres() {
        eprintln!("PostgreSQL outage test: runs with TEST_DATABASE=postgres");
        return;
    }
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let (common, proxy) = proxied(app.common()).await;
    let api = app.instance_with(common).await;
    assert_eq!(api.get("/ready", None).await.0, StatusCode::OK);
    proxy.cut().await;
    let (status, body) = api.get("/ready", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("database"),
        "{body}"
    );
    let (status, body) = api.get("/api/v1/campaigns", Some(&s.api_key)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "service_unavailable");
    proxy.restore();
    eventually(Duration::from_secs(30), "ready again", || async {
        (api.get("/ready", None).await.0 == StatusCode::OK).then_some(())
    })
    .await;
    let (status, _) = api.get("/api/v1/campaigns", Some(&s.api_key)).await;
    assert_eq!(status, StatusCode::OK);
}
