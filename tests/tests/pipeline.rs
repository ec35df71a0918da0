//! The send pipeline end to end, in-process: dispatch, lanes, retries on our schedule,
//! permanent and campaign-fatal failures, status history, provider-call records,
//! refunds, and stats while running.

use std::time::Duration;

use reqwest::StatusCode;
use waplify_tests::{Fake, FakeConfig, seed, spawn_app};

async fn fake(config: FakeConfig) -> (Fake, String) {
    let fake = Fake::new(config);
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    (fake, url)
}

#[tokio::test]
async fn a_campaign_goes_from_draft_to_completed_with_full_history() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 5000, 1000).await;
    let (fake, url) = fake(FakeConfig::default()).await;
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 1000).await;
    let (status, body) = app.send(&s.api_key, &id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["total_contacts"], 1000);
    assert_eq!(stats["sent_count"], 1000);
    assert_eq!(stats["failed_count"], 0);
    assert_eq!(stats["success_count"], 1000);
    assert!(
        stats["started_at"].is_string() && stats["completed_at"].is_string(),
        "{stats}"
    );

    let c = fake.counters();
    assert_eq!(
        (c.accepted, c.unique_recipients, c.duplicates),
        (1000, 1000, 0)
    );
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM messages WHERE status = 'sent' AND wamid LIKE 'wamid.%' AND sent_at IS NOT NULL").await, 1000);
    // Every transition has its history row, in order.
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM message_events WHERE from_status = 'pending' AND to_status = 'sending'").await, 1000);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM message_events WHERE from_status = 'sending' AND to_status = 'sent'").await, 1000);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM message_events").await,
        2000
    );
    // Every provider call is recorded.
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM provider_calls WHERE outcome = 'sent' AND attempt = 1 AND http_status = 200").await, 1000);
    // Nothing refunded; the ledger sums to the balance.
    assert_eq!(app.balance(&s.account_id).await, 4000);
    assert_eq!(app.ledger_sum(&s.account_id).await, 4000);
    assert_eq!(
        app.scalar_i64("SELECT credits_refunded FROM campaigns")
            .await,
        0
    );
    assert_eq!(
        worker
            .ctx
            .restarts
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    app.tdb.assert_counts_consistent().await;
    worker.shutdown().await;
}

#[tokio::test]
async fn transient_failures_are_retried_until_sent() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let (fake, url) = fake(FakeConfig {
        transient_first_rate: 0.3,
        ..Default::default()
    })
    .await;
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 400).await;
    app.send(&s.api_key, &id).await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["sent_count"], 400, "{stats}");
    assert_eq!(stats["failed_count"], 0);
    let c = fake.counters();
    assert!(c.transient > 60, "about 30% failed first: {c:?}");
    assert_eq!(c.unique_recipients, 400);
    assert_eq!(c.duplicates, 0);
    let retried = app.scalar_i64("SELECT COUNT(*) FROM provider_calls WHERE outcome = 'retry' AND http_status = 503 AND error_code = 2").await;
    assert_eq!(retried as u64, c.transient);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM messages WHERE attempts = 2")
            .await,
        retried
    );
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM message_events WHERE from_status = 'sending' AND to_status = 'pending'").await, retried);
    app.tdb.assert_counts_consistent().await;
    worker.shutdown().await;
}

#[tokio::test]
async fn permanent_failures_fail_after_one_attempt_and_are_refunded() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let failing: Vec<String> = (0..5).map(waplify_tests::app::phone).collect();
    let (fake, url) = fake(FakeConfig {
        fail_numbers: failing,
        ..Default::default()
    })
    .await;
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 20).await;
    app.send(&s.api_key, &id).await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["sent_count"], 15, "{stats}");
    assert_eq!(stats["failed_count"], 5);
    assert_eq!(stats["success_count"], 15);
    assert_eq!(fake.counters().permanent, 5);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM messages WHERE status = 'failed' AND error_code = 131026 AND attempts = 1 AND failed_at IS NOT NULL").await, 5);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM provider_calls WHERE outcome = 'failed'")
            .await,
        5
    );
    assert_eq!(
        app.scalar_i64("SELECT credits_refunded FROM campaigns")
            .await,
        5
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'refund' AND amount = 5")
            .await,
        1
    );
    assert_eq!(app.balance(&s.account_id).await, 100 - 20 + 5);
    assert_eq!(
        app.ledger_sum(&s.account_id).await,
        app.balance(&s.account_id).await
    );
    app.tdb.assert_counts_consistent().await;
    worker.shutdown().await;
}

#[tokio::test]
async fn a_campaign_fatal_error_stops_the_campaign_after_one_call() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let (fake, url) = fake(FakeConfig {
        revoked_tokens: vec!["test-token".into()],
        ..Default::default()
    })
    .await;
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 500).await;
    app.send(&s.api_key, &id).await;
    app.wait_for_status(&s.api_key, &id, "failed", Duration::from_secs(30))
        .await;
    let (_, got) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    assert_eq!(got["error_code"], 190, "{got}");
    assert!(
        got["error_message"]
            .as_str()
            .unwrap()
            .contains("access token"),
        "{got}"
    );
    // Settled: every recipient failed and refunded.
    waplify_tests::eventually(Duration::from_secs(10), "settlement", || async {
        (app.scalar_i64("SELECT COUNT(*) FROM campaigns WHERE settled_at IS NOT NULL")
            .await
            == 1)
            .then_some(())
    })
    .await;
    assert_eq!(fake.counters().requests, 1, "one provider call, not 500");
    assert_eq!(
        app.scalar_i64(
            "SELECT COUNT(*) FROM messages WHERE status = 'failed' AND error_code = 190"
        )
        .await,
        500
    );
    assert_eq!(
        app.scalar_i64("SELECT credits_refunded FROM campaigns")
            .await,
        500
    );
    assert_eq!(app.balance(&s.account_id).await, 1000);
    let stats = app.stats(&s.api_key, &id).await;
    assert_eq!(stats["failed_count"], 500);
    assert_eq!(stats["success_count"], 0);
    assert!(stats["completed_at"].is_string(), "{stats}");
    app.tdb.assert_counts_consistent().await;
    worker.shutdown().await;
}

#[tokio::test]
async fn retries_follow_our_schedule_and_attempt_limit_not_the_backends() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let (fake, url) = fake(FakeConfig {
        transient_rate: 1.0,
        ..Default::default()
    })
    .await;
    let mut cfg = app.worker_config(&url);
    cfg.max_attempts = 4;
    cfg.retry_base = Duration::from_secs(1);
    cfg.retry_max = Duration::from_secs(3);
    let worker = app.start_worker(cfg).await;
    let id = app.create_campaign(&s.api_key, 1).await;
    app.send(&s.api_key, &id).await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(40))
        .await;
    assert_eq!(stats["failed_count"], 1);
    // Exactly 4 calls (not apalis' 25), spaced by our back-off: ~1 s, ~2 s, ~3 s (capped),
    // each within ±20% jitter, rounded up to the second, plus pickup.
    assert_eq!(fake.counters().requests, 4);
    let times = app.provider_call_times_ms().await;
    assert_eq!(times.len(), 4);
    for (i, nominal) in [1000i64, 2000, 3000].iter().enumerate() {
        let gap = times[i + 1] - times[i];
        assert!(
            gap >= nominal * 8 / 10,
            "gap {i} = {gap} ms, nominal {nominal} ms"
        );
        // Generous above: a loaded machine only delays; apalis' own retries would
        // have come 1 s apart, below the lower bound of the second and third gaps.
        assert!(
            gap <= nominal * 12 / 10 + 5000,
            "gap {i} = {gap} ms, nominal {nominal} ms"
        );
    }
    assert_eq!(
        app.scalar_i64("SELECT CAST(attempts AS BIGINT) FROM messages")
            .await,
        4
    );
    app.tdb.assert_counts_consistent().await;
    worker.shutdown().await;
}

#[tokio::test]
async fn stats_are_consistent_while_a_campaign_runs() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 5000, 1000).await;
    let (_fake, url) = fake(FakeConfig {
        latency_ms: 40,
        ..Default::default()
    })
    .await;
    let mut cfg = app.worker_config(&url);
    cfg.lanes = 2;
    cfg.batch_size = 20;
    let worker = app.start_worker(cfg).await;
    let id = app.create_campaign(&s.api_key, 600).await;
    app.send(&s.api_key, &id).await;
    let mid = waplify_tests::eventually(Duration::from_secs(20), "partial progress", || async {
        let st = app.stats(&s.api_key, &id).await;
        let sent = st["sent_count"].as_i64().unwrap();
        (sent > 0 && sent < 600 && st["campaign_status"] == "running").then_some(st)
    })
    .await;
    assert_eq!(mid["total_contacts"], 600);
    assert_eq!(mid["delivered_count"], 0);
    assert!(mid["completed_at"].is_null(), "{mid}");
    assert!(mid["started_at"].is_string());
    let done = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(done["sent_count"], 600);
    app.tdb.assert_counts_consistent().await;
    worker.shutdown().await;
}

#[tokio::test]
async fn provider_rate_limits_are_retried_until_every_recipient_is_sent() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let (fake, url) = fake(FakeConfig {
        rps_cap: Some(100),
        ..Default::default()
    })
    .await;
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 300).await;
    app.send(&s.api_key, &id).await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["sent_count"], 300, "{stats}");
    let c = fake.counters();
    assert!(c.rate_limited > 0, "the cap was hit: {c:?}");
    assert_eq!(c.unique_recipients, 300);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM provider_calls WHERE outcome = 'retry' AND http_status = 429 AND error_code = 130429")
            .await as u64,
        c.rate_limited
    );
    app.tdb.assert_counts_consistent().await;
    worker.shutdown().await;
}
