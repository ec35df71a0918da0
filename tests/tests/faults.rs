//! Fault tests, black-box: the API and workers run as real processes, the fake Cloud
//! API is a real HTTP server, and the faults are real (`kill -9`, keys deleted).

use std::time::Duration;

use redis::AsyncCommands;
use waplify_tests::stack::Stack;
use waplify_tests::{FakeConfig, eventually, seed};

/// (a) A worker killed with `kill -9` in the middle of a 5,000-recipient campaign:
/// another worker finishes it. Every recipient is accepted; duplicates are no more than
/// the sends in flight at the kill.
#[tokio::test]
async fn killing_a_worker_mid_campaign_loses_nothing() {
    let stack = Stack::start(FakeConfig {
        latency_ms: 20,
        ..Default::default()
    })
    .await;
    let s = seed(&stack.tdb.db, 10_000, 5000).await;
    let mut victim = stack.spawn_worker("victim");
    let id = stack.create_campaign(&s.api_key, 5000).await;
    stack.send(&s.api_key, &id).await;
    eventually(
        Duration::from_secs(60),
        "a third of the campaign sent",
        || async { (stack.fake.counters().accepted >= 1500).then_some(()) },
    )
    .await;
    victim.kill9();
    let in_flight = stack
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM messages WHERE campaign_id = '{id}' AND status = 'sending'"
        ))
        .await;
    let accepted_at_kill = stack.fake.counters().accepted;
    let _rescuer = stack.spawn_worker("rescuer");
    let stats = stack
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(120))
        .await;
    let c = stack.fake.counters();
    println!(
        "kill -9 at {accepted_at_kill} accepted: {in_flight} sends in flight, {} duplicates",
        c.duplicates
    );
    assert_eq!(stats["sent_count"], 5000, "{stats}");
    assert_eq!(c.unique_recipients, 5000);
    assert!(
        c.duplicates <= in_flight as u64,
        "{} duplicates > {in_flight} in flight",
        c.duplicates
    );
    stack.tdb.assert_counts_consistent().await;
}

/// (b) Every Redis key under the prefix deleted mid-campaign: the reconciler rebuilds
/// the work from SQL and every recipient is sent.
#[tokio::test]
async fn deleting_every_redis_key_mid_campaign_loses_nothing() {
    let stack = Stack::start(FakeConfig {
        latency_ms: 20,
        ..Default::default()
    })
    .await;
    let s = seed(&stack.tdb.db, 10_000, 5000).await;
    let _worker = stack.spawn_worker("w1");
    let id = stack.create_campaign(&s.api_key, 2000).await;
    stack.send(&s.api_key, &id).await;
    eventually(Duration::from_secs(60), "some progress", || async {
        (stack.fake.counters().accepted >= 400).then_some(())
    })
    .await;
    let client = redis::Client::open(stack.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = conn.keys(format!("{}:*", stack.prefix)).await.unwrap();
    assert!(!keys.is_empty());
    let _: () = conn.del(&keys).await.unwrap();
    let in_flight = stack
        .scalar_i64("SELECT COUNT(*) FROM messages WHERE status = 'sending'")
        .await;
    let stats = stack
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(90))
        .await;
    let c = stack.fake.counters();
    println!(
        "deleted {} keys: {in_flight} sends in flight, {} duplicates",
        keys.len(),
        c.duplicates
    );
    assert_eq!(stats["sent_count"], 2000, "{stats}");
    assert_eq!(c.unique_recipients, 2000);
    assert!(c.duplicates <= in_flight as u64);
    stack.tdb.assert_counts_consistent().await;
}

/// (c) 30% of first attempts fail transiently: every recipient ends `sent`, and the
/// failed attempts are on record.
#[tokio::test]
async fn transient_failures_all_end_sent() {
    let stack = Stack::start(FakeConfig {
        transient_first_rate: 0.3,
        ..Default::default()
    })
    .await;
    let s = seed(&stack.tdb.db, 10_000, 5000).await;
    let _worker = stack.spawn_worker("w1");
    let id = stack.create_campaign(&s.api_key, 1000).await;
    stack.send(&s.api_key, &id).await;
    let stats = stack
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(90))
        .await;
    assert_eq!(stats["sent_count"], 1000, "{stats}");
    let transient = stack.fake.counters().transient as i64;
    assert!(
        (200..=400).contains(&transient),
        "about 30% of 1000: {transient}"
    );
    assert_eq!(
        stack
            .scalar_i64("SELECT COUNT(*) FROM provider_calls WHERE outcome = 'retry'")
            .await,
        transient
    );
    assert_eq!(
        stack
            .scalar_i64("SELECT COUNT(*) FROM provider_calls WHERE outcome = 'sent'")
            .await,
        1000
    );
    assert_eq!(
        stack
            .scalar_i64("SELECT COUNT(*) FROM messages WHERE status = 'sent'")
            .await,
        1000
    );
    stack.tdb.assert_counts_consistent().await;
}

/// (d) Permanent failures end `failed` with code 131026 after one attempt, refunded.
#[tokio::test]
async fn permanent_failures_end_failed_and_refunded() {
    let failing: Vec<String> = (0..25).map(waplify_tests::app::phone).collect();
    let stack = Stack::start(FakeConfig {
        fail_numbers: failing,
        ..Default::default()
    })
    .await;
    let s = seed(&stack.tdb.db, 1000, 5000).await;
    let _worker = stack.spawn_worker("w1");
    let id = stack.create_campaign(&s.api_key, 100).await;
    stack.send(&s.api_key, &id).await;
    let stats = stack
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["failed_count"], 25, "{stats}");
    assert_eq!(stats["sent_count"], 75);
    assert_eq!(
        stack.scalar_i64("SELECT COUNT(*) FROM messages WHERE status = 'failed' AND error_code = 131026 AND attempts = 1").await,
        25
    );
    assert_eq!(stack.fake.counters().permanent, 25, "one attempt each");
    eventually(Duration::from_secs(10), "refund", || async {
        (stack
            .scalar_i64("SELECT credits_refunded FROM campaigns")
            .await
            == 25)
            .then_some(())
    })
    .await;
    assert_eq!(
        stack.scalar_i64("SELECT balance FROM accounts").await,
        1000 - 100 + 25
    );
}

/// (e) A campaign-fatal error (revoked token) fails the campaign after one call.
#[tokio::test]
async fn a_campaign_fatal_error_fails_the_campaign_after_one_call() {
    let stack = Stack::start(FakeConfig {
        revoked_tokens: vec!["test-token".into()],
        ..Default::default()
    })
    .await;
    let s = seed(&stack.tdb.db, 10_000, 5000).await;
    let _worker = stack.spawn_worker("w1");
    let id = stack.create_campaign(&s.api_key, 3000).await;
    stack.send(&s.api_key, &id).await;
    stack
        .wait_for_status(&s.api_key, &id, "failed", Duration::from_secs(30))
        .await;
    eventually(Duration::from_secs(20), "all recipients failed", || async {
        (stack
            .scalar_i64(
                "SELECT COUNT(*) FROM messages WHERE status = 'failed' AND error_code = 190",
            )
            .await
            == 3000)
            .then_some(())
    })
    .await;
    assert_eq!(stack.fake.counters().requests, 1);
    let (_, got) = stack
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    assert_eq!(got["error_code"], 190);
}
