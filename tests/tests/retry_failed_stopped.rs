//! `retry_failed_messages` on a campaign stopped by a campaign-fatal error (a revoked
//! token, then fixed), with an `Idempotency-Key` replayed; two retries at once; the
//! statuses and accounts it refuses; recipients WhatsApp failed after accepting them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use waplify_tests::app::{APP_SECRET, phone};
use waplify_tests::fake_callbacks::CallbackConfig;
use waplify_tests::idempotency::post;
use waplify_tests::retry::{WAIT, credits, fake, path, retry, worker};
use waplify_tests::{FakeConfig, eventually, seed, spawn_app};

#[tokio::test]
async fn a_campaign_stopped_by_a_revoked_token_runs_again_once_with_a_key_replayed() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let (fake, url) = fake(FakeConfig {
        revoked_tokens: vec!["test-token".into()],
        ..Default::default()
    })
    .await;
    let w = worker(&app, &url).await;
    let id = app.create_campaign(&s.api_key, 30).await;
    app.send(&s.api_key, &id).await;
    app.wait_for_status(&s.api_key, &id, "failed", WAIT).await;
    waplify_tests::eventually(Duration::from_secs(10), "settlement", || async {
        (app.scalar_i64("SELECT COUNT(*) FROM campaigns WHERE settled_at IS NOT NULL")
            .await
            == 1)
            .then_some(())
    })
    .await;
    assert_eq!(credits(&app, &s.account_id).await, (30, 30, 100, 2));

    fake.set_config(FakeConfig::default());
    let key = Some(b"retry-after-new-token".as_slice());
    let first = post(&app, &path(&id), &s.api_key, key, None).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    assert_eq!(first.json()["count"], 30);
    let again = post(&app, &path(&id), &s.api_key, key, None).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert!(again.replayed());
    assert_eq!(again.text, first.text, "the first answer, byte for byte");
    // The same key with another pick is another request.
    let other = post(
        &app,
        &path(&id),
        &s.api_key,
        key,
        Some(&json!({"error_codes": [190]})),
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.text
    );

    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(
        (stats["sent_count"].as_i64(), stats["failed_count"].as_i64()),
        (Some(30), Some(0)),
        "{stats}"
    );
    assert!(stats["completed_at"].is_string(), "{stats}");
    let c = fake.counters();
    assert_eq!((c.accepted, c.unique_recipients, c.duplicates), (30, 30, 0));
    let (_, got) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    assert!(
        got["error_code"].is_null(),
        "the campaign's old error is gone: {got}"
    );
    assert_eq!(credits(&app, &s.account_id).await, (30, 0, 70, 3));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM message_events WHERE from_status = 'failed' AND to_status = 'pending'").await, 30);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM campaign_events WHERE from_status = 'failed' AND to_status = 'queued'").await, 1);
    app.tdb.assert_counts_consistent().await;
    w.shutdown().await;
}

#[tokio::test]
async fn two_retries_at_once_queue_one_and_other_statuses_are_refused() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let other = seed(&app.tdb.db, 100, 1000).await;
    let transient: Vec<String> = (0..4).map(phone).collect();
    let (fake, url) = fake(FakeConfig {
        transient_numbers: transient.clone(),
        ..Default::default()
    })
    .await;
    let draft = app.create_campaign(&s.api_key, 3).await;
    let (status, body) = retry(&app, &s.api_key, &draft, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["message"],
        "Campaign is draft; only a completed or failed campaign can be retried"
    );
    app.control(&s.api_key, &draft, "cancel").await;

    let w = worker(&app, &url).await;
    let id = app.create_campaign(&s.api_key, 10).await;
    app.send(&s.api_key, &id).await;
    app.wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    let (status, _) = retry(&app, &other.api_key, &id, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another account's campaign");

    // Not settled yet (as a failed campaign is while its last calls finish): 409.
    let settled = format!("UPDATE campaigns SET settled_at = completed_at WHERE id = '{id}'");
    app.execute(&settled.replace("= completed_at", "= NULL"))
        .await;
    let (status, body) = retry(&app, &s.api_key, &id, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Campaign is completed but still finishing its last messages"),
        "{body}"
    );
    app.execute(&settled).await;

    fake.set_config(FakeConfig::default());
    let (a, b) = tokio::join!(
        retry(&app, &s.api_key, &id, None),
        retry(&app, &s.api_key, &id, None)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::ACCEPTED, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    // The loser found the campaign queued (or, had it come late, already completed
    // again with nothing left to retry): a 409 either way.
    let refused = if a.0 == StatusCode::CONFLICT {
        &a.1
    } else {
        &b.1
    };
    assert_eq!(refused["error"], "conflict", "{refused}");
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(stats["sent_count"], 10, "{stats}");
    assert!(fake.duplicate_ids().is_empty());
    assert_eq!(fake.counters().unique_recipients, 10);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM message_events WHERE from_status = 'failed' AND to_status = 'pending'").await, 4);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'reserve'")
            .await,
        2,
        "the send and one retry"
    );
    app.tdb.assert_counts_consistent().await;
    w.shutdown().await;
}

/// Recipients WhatsApp accepted and then reported failed (`131049` in a status
/// callback) are refunded late and not retried by default; named by their code they
/// are sent again, once each.
#[tokio::test]
async fn failures_after_acceptance_are_retried_only_by_their_code() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let late_failing = FakeConfig {
        callbacks: CallbackConfig {
            url: Some(format!("{}/api/v1/whatsapp/webhook", app.base)),
            app_secret: APP_SECRET.into(),
            delay_ms: 200,
            late_fail_rate: 1.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let (fake, url) = fake(late_failing).await;
    let w = worker(&app, &url).await;
    let id = app.create_campaign(&s.api_key, 10).await;
    app.send(&s.api_key, &id).await;
    eventually(WAIT, "every recipient failed after acceptance", || async {
        let stats = app.stats(&s.api_key, &id).await;
        (stats["campaign_status"] == "completed" && stats["failed_count"] == 10).then_some(())
    })
    .await;
    // Refunded as their statuses came, in one or more ledger entries.
    let entries = eventually(WAIT, "the late failures refunded", || async {
        let (reserved, refunded, balance, entries) = credits(&app, &s.account_id).await;
        ((reserved, refunded, balance) == (10, 10, 100)).then_some(entries)
    })
    .await;
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM messages WHERE status = 'failed' AND error_code = 131049 AND wamid IS NOT NULL").await, 10);

    fake.set_config(FakeConfig::default());
    let (status, body) = retry(&app, &s.api_key, &id, None).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "not picked by default: {body}"
    );
    let (status, body) = retry(
        &app,
        &s.api_key,
        &id,
        Some(json!({"error_codes": [131049]})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["count"], 10);
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(
        (stats["sent_count"].as_i64(), stats["failed_count"].as_i64()),
        (Some(10), Some(0)),
        "{stats}"
    );
    // Each was accepted twice: the first send WhatsApp then failed, and the retry.
    let c = fake.counters();
    assert_eq!(
        (c.accepted, c.unique_recipients, c.duplicates),
        (20, 10, 10)
    );
    assert!(fake.calls().values().all(|n| *n == 2), "{:?}", fake.calls());
    assert_eq!(credits(&app, &s.account_id).await, (10, 0, 90, entries + 1));
    app.tdb.assert_counts_consistent().await;
    w.shutdown().await;
}
