//! `retry_failed_messages`: a finished campaign's failed recipients sent again, each
//! once, the sent ones never; the default pick and `error_codes`; credits charged for
//! the retried and refunded for the new failures only; a wrong status, two retries at
//! once, an `Idempotency-Key` replay, bad bodies.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_tests::app::phone;
use waplify_tests::idempotency::post;
use waplify_tests::{Fake, FakeConfig, TestApp, seed, spawn_app};
use waplify_worker::Worker;

const WAIT: Duration = Duration::from_secs(60);

async fn fake(config: FakeConfig) -> (Fake, String) {
    let fake = Fake::new(config);
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    (fake, url)
}

/// A worker that gives up a transient error after two calls.
async fn worker(app: &TestApp, url: &str) -> Worker {
    let mut cfg = app.worker_config(url);
    cfg.max_attempts = 2;
    app.start_worker(cfg).await
}

fn path(id: &str) -> String {
    format!("/api/v1/campaigns/{id}/retry-failed")
}

async fn retry(app: &TestApp, key: &str, id: &str, body: Option<Value>) -> (StatusCode, Value) {
    app.post(&path(id), Some(key), body).await
}

/// The message ids of these recipients.
async fn ids_of(app: &TestApp, phones: &[String]) -> HashSet<String> {
    let mut out = HashSet::new();
    for p in phones {
        out.insert(
            app.scalar_text(&format!("SELECT id FROM messages WHERE phone = '{p}'"))
                .await,
        );
    }
    out
}

/// The campaign's reserve and refunds, the account's balance (checked against its
/// ledger) and the campaign's ledger entries.
async fn credits(app: &TestApp, account: &str) -> (i64, i64, i64, i64) {
    let reserved = app
        .scalar_i64("SELECT credits_reserved FROM campaigns")
        .await;
    let refunded = app
        .scalar_i64("SELECT credits_refunded FROM campaigns")
        .await;
    let balance = app.balance(account).await;
    assert_eq!(
        app.ledger_sum(account).await,
        balance,
        "the ledger sums to the balance"
    );
    let entries = app
        .scalar_i64("SELECT COUNT(*) FROM wallet_ledger WHERE campaign_id IS NOT NULL")
        .await;
    (reserved, refunded, balance, entries)
}

#[tokio::test]
async fn failed_recipients_are_sent_once_and_the_sent_ones_never_again() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let permanent: Vec<String> = (0..3).map(phone).collect();
    let transient: Vec<String> = (3..6).map(phone).collect();
    let (fake, url) = fake(FakeConfig {
        fail_numbers: permanent.clone(),
        transient_numbers: transient.clone(),
        ..Default::default()
    })
    .await;
    let w = worker(&app, &url).await;
    let id = app.create_campaign(&s.api_key, 20).await;
    app.send(&s.api_key, &id).await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(
        (stats["sent_count"].as_i64(), stats["failed_count"].as_i64()),
        (Some(14), Some(6))
    );
    assert_eq!(credits(&app, &s.account_id).await, (20, 6, 86, 2));
    let sent_before: HashSet<String> = fake.accepted_ids();
    assert_eq!(sent_before.len(), 14);
    // One recipient's outcome stayed unknown (its last call timed out, no callback
    // came): WhatsApp may have it, so no retry picks it.
    app.execute(&format!(
        "UPDATE messages SET error_code = NULL, error_message = 'outcome unknown (attempt 2, the last allowed, has none)' WHERE phone = '{}'",
        permanent[0]
    ))
    .await;

    fake.set_config(FakeConfig::default());
    let (status, body) = retry(&app, &s.api_key, &id, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["campaign_id"], id.as_str());
    assert_eq!(body["count"], 3, "the transient failures only: {body}");
    let task_id = body["task_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.scalar_text("SELECT task_id FROM campaigns").await,
        task_id
    );
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(
        (stats["sent_count"].as_i64(), stats["failed_count"].as_i64()),
        (Some(17), Some(3)),
        "{stats}"
    );
    let retried = ids_of(&app, &transient).await;
    let accepted = fake.accepted_ids();
    assert!(retried.is_subset(&accepted), "every retried recipient sent");
    assert_eq!(accepted.len(), 17);
    assert!(
        fake.duplicate_ids().is_empty(),
        "{:?}",
        fake.duplicate_ids()
    );
    let calls = fake.calls();
    for sent in &sent_before {
        assert_eq!(calls[sent], 1, "a sent recipient is never called again");
    }
    for id in ids_of(&app, &permanent).await {
        assert_eq!(
            calls[&id], 1,
            "a permanent failure is not retried by default"
        );
    }
    for id in &retried {
        assert_eq!(calls[id], 3, "two failed calls, then one accepted");
    }
    // Charged for 3, refunded the 3 still failed only: 100 - 17.
    assert_eq!(credits(&app, &s.account_id).await, (20, 3, 83, 3));
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'reserve' AND amount = -3")
            .await,
        1
    );
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM message_events WHERE from_status = 'failed' AND to_status = 'pending'").await, 3);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM messages WHERE status = 'sent' AND attempts = 1 AND error_code IS NULL AND failed_at IS NULL AND wamid IS NOT NULL AND phone IN ('15550000003', '15550000004', '15550000005')").await, 3);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM campaign_events WHERE from_status = 'completed' AND to_status = 'queued'").await, 1);

    // The permanent ones by their code; the unknown outcome still not.
    let (status, body) = retry(
        &app,
        &s.api_key,
        &id,
        Some(json!({"error_codes": [131026, 131026]})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["count"], 2, "{body}");
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(
        (stats["sent_count"].as_i64(), stats["failed_count"].as_i64()),
        (Some(19), Some(1)),
        "{stats}"
    );
    assert_eq!(fake.accepted_ids().len(), 19);
    assert!(fake.duplicate_ids().is_empty());
    assert_eq!(credits(&app, &s.account_id).await, (20, 1, 81, 4));

    // Nothing left to pick (409), and bad bodies (400): nothing changed.
    let before = app.row_counts().await;
    let (status, body) = retry(&app, &s.api_key, &id, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("No failed recipients to retry"),
        "{body}"
    );
    let (status, body) = retry(
        &app,
        &s.api_key,
        &id,
        Some(json!({"error_codes": [131026]})),
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("No failed recipients to retry with error code 131026")
        )
    );
    for bad in [
        json!({"error_codes": []}),
        json!({"error_codes": [0]}),
        json!({"error_codes": [99999999999_i64]}),
        json!({"error_codes": "131026"}),
        json!({"codes": [131026]}),
        json!([]),
    ] {
        let (status, body) = retry(&app, &s.api_key, &id, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "bad_request", "{body}");
    }
    assert_eq!(app.row_counts().await, before);
    assert_eq!(
        app.stats(&s.api_key, &id).await["campaign_status"],
        "completed"
    );
    app.tdb.assert_counts_consistent().await;
    w.shutdown().await;
}

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
    let refused = if a.0 == StatusCode::CONFLICT {
        &a.1
    } else {
        &b.1
    };
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("only a completed or failed campaign can be retried"),
        "{refused}"
    );
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
