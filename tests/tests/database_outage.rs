//! A PostgreSQL outage shorter than the lease sends nobody twice: the worker keeps the
//! provider's answers that arrive while the database is away and records them once it
//! is back, before the lease would hand the messages to another send.
//!
//! PostgreSQL only: the worker reaches the database through a proxy the test cuts
//! (SQLite is a file in the worker's own process; it has no outage of this kind).

use std::time::Duration;

use reqwest::StatusCode;
use waplify_tests::proxy::Proxy;
use waplify_tests::{Fake, FakeConfig, TestDb, eventually, seed, spawn_app};

/// `postgres://user@host:port/db?…` with `host:port` replaced by the proxy's.
fn through(url: &str, port: u16) -> (String, String) {
    let at = url.find('@').expect("a user in the URL") + 1;
    let end = at + url[at..].find('/').expect("a database in the URL");
    let target = url[at..end].to_owned();
    (
        format!("{}127.0.0.1:{port}{}", &url[..at], &url[end..]),
        target,
    )
}

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
    proxy.cut();
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
