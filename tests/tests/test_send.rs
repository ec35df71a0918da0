//! Test messages (`send_test_message`): one campaign's template to one number, through
//! the queue and the provider client, charged and refunded like a message, marked
//! `test` and left out of the campaign's stats, recipients, lanes and completion;
//! 409 outside draft, scheduled and paused; 404 for another account. The hourly limit
//! and idempotency keys are in `test_send_edges.rs`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_tests::app::phone;
use waplify_tests::test_sends::{settled, shown_as_test_not_listed, test_send};
use waplify_tests::{Fake, FakeConfig, Seeded, TestApp, seed, spawn_app};

async fn fake(config: FakeConfig) -> (Fake, String) {
    let fake = Fake::new(config);
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    (fake, url)
}

fn counts(stats: &Value) -> Vec<Value> {
    [
        "total_contacts",
        "sent_count",
        "delivered_count",
        "read_count",
        "failed_count",
        "success_count",
    ]
    .iter()
    .map(|k| stats[*k].clone())
    .collect()
}

#[tokio::test]
async fn a_test_send_reaches_the_provider_once_and_leaves_the_campaign_alone() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let (fake, url) = fake(FakeConfig::default()).await;
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 3).await;
    let before = app.stats(&s.api_key, &id).await;

    // The test number is also one of the campaign's recipients.
    let spaced = format!("+{} {}", &phone(1)[..4], &phone(1)[4..]);
    let (status, body) = test_send(
        &app,
        &s.api_key,
        &id,
        json!({"phone": spaced, "body_data": {"1": "Grace"}}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["phone"], phone(1));
    assert_eq!(waplify_tests::times::assert_api_times(&body), 1);
    let mid = body["message_id"].as_str().unwrap().to_owned();
    assert_eq!(settled(&app, &mid).await, "sent");

    assert_eq!(fake.calls().get(&mid), Some(&1), "one provider call");
    let sent = &fake.bodies()[&mid];
    assert_eq!(sent["to"], phone(1));
    assert_eq!(sent["template"]["name"], "welcome");
    assert_eq!(
        sent["template"]["components"][0]["parameters"][0]["text"],
        "Grace"
    );
    let row = format!("FROM messages WHERE id = '{mid}'");
    assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) {row} AND test AND wamid LIKE 'wamid.%' AND sent_at IS NOT NULL AND campaign_id = '{id}'")).await, 1);
    assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM provider_calls WHERE message_id = '{mid}' AND outcome = 'sent' AND attempt = 1")).await, 1);
    assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM message_events WHERE message_id = '{mid}' AND ((from_status = 'pending' AND to_status = 'sending') OR (from_status = 'sending' AND to_status = 'sent'))")).await, 2);
    // Its outcome through the API, marked a test; not in the list of recipients.
    shown_as_test_not_listed(&app, &s.api_key, &id, &mid, 3).await;
    // Not a recipient: stats, counts and the campaign row are as they were.
    assert_eq!(counts(&app.stats(&s.api_key, &id).await), counts(&before));
    assert_eq!(before["total_contacts"], 3);
    app.tdb.assert_counts_consistent().await;
    // Charged one credit on its own.
    assert_eq!(app.balance(&s.account_id).await, 99);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'charge' AND amount = -1")
            .await,
        1
    );

    // The real send: every recipient once, the test message never again.
    let (status, body) = app.send(&s.api_key, &id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(
        (
            &stats["total_contacts"],
            &stats["sent_count"],
            &stats["failed_count"]
        ),
        (&json!(3), &json!(3), &json!(0)),
        "{stats}"
    );
    assert_eq!(
        fake.calls().get(&mid),
        Some(&1),
        "the test is not sent again"
    );
    let c = fake.counters();
    assert_eq!((c.accepted, c.duplicates), (4, 0), "{c:?}");
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM messages WHERE campaign_id = '{id}' AND phone = '{}'",
            phone(1)
        ))
        .await,
        2
    );
    assert_eq!(app.balance(&s.account_id).await, 96);
    assert_eq!(app.ledger_sum(&s.account_id).await, 96);
    app.tdb.assert_counts_consistent().await;
    worker.shutdown().await;
}

#[tokio::test]
async fn a_failed_test_send_is_refunded_and_fails_nothing_else() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 1000).await;
    let (fake, url) = fake(FakeConfig {
        fail_numbers: vec![phone(7)],
        ..Default::default()
    })
    .await;
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 2).await;
    let (status, body) = test_send(&app, &s.api_key, &id, json!({"phone": phone(7)})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let mid = body["message_id"].as_str().unwrap().to_owned();
    assert_eq!(settled(&app, &mid).await, "failed");
    assert_eq!(fake.counters().permanent, 1);
    assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM messages WHERE id = '{mid}' AND error_code = 131026 AND failed_at IS NOT NULL AND refunded_at IS NOT NULL")).await, 1);
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM provider_calls WHERE message_id = '{mid}' AND outcome = 'failed'"
        ))
        .await,
        1
    );
    // Charged, then given back; the campaign's own credits are untouched.
    assert_eq!(app.balance(&s.account_id).await, 10);
    assert_eq!(app.ledger_sum(&s.account_id).await, 10);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'refund' AND amount = 1")
            .await,
        1
    );
    let stats = app.stats(&s.api_key, &id).await;
    assert_eq!(
        (&stats["campaign_status"], &stats["failed_count"]),
        (&json!("draft"), &json!(0)),
        "{stats}"
    );
    app.tdb.assert_counts_consistent().await;
    worker.shutdown().await;
}

async fn refused(app: &TestApp, s: &Seeded, id: &str, body: Value) -> (StatusCode, String) {
    let (status, got) = test_send(app, &s.api_key, id, body).await;
    (
        status,
        got["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn bad_input_and_other_accounts_change_nothing() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let other = seed(&app.tdb.db, 100, 1000).await;
    let broke = seed(&app.tdb.db, 0, 1000).await;
    let id = app.create_campaign(&s.api_key, 2).await;
    let rows = app.row_counts().await;
    let ok = json!({"phone": phone(1)});
    assert_eq!(
        refused(&app, &other, &id, ok.clone()).await,
        (StatusCode::NOT_FOUND, "Campaign not found".into())
    );
    assert_eq!(
        refused(&app, &s, "not-an-id", ok.clone()).await,
        (StatusCode::BAD_REQUEST, "Invalid campaign_id".into())
    );
    let (status, msg) = refused(&app, &s, &id, json!({"phone": "12ab"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{msg}");
    assert!(
        msg.starts_with("phone '12ab' is not a phone number"),
        "{msg}"
    );
    assert_eq!(
        refused(
            &app,
            &s,
            &id,
            json!({"phone": phone(1), "body_data": {"2": "x"}})
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            "Unknown body variables in 'body_data': 2 (the template has 1)".into()
        )
    );
    assert_eq!(
        refused(
            &app,
            &s,
            &id,
            json!({"phone": phone(1), "body_data": {"1": " "}})
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            "Missing body variables in 'body_data': 1".into()
        )
    );
    assert_eq!(app.row_counts().await, rows, "nothing stored");
    let poor = app.create_campaign(&broke.api_key, 1).await;
    let rows = app.row_counts().await;
    assert_eq!(
        refused(&app, &broke, &poor, ok.clone()).await,
        (
            StatusCode::BAD_REQUEST,
            "Campaign cannot be sent: insufficient wallet credits (need 1, have 0)".into()
        )
    );
    assert_eq!(app.row_counts().await, rows, "nothing stored");
}

#[tokio::test]
async fn only_draft_scheduled_or_paused_campaigns_take_test_sends() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let id = app.create_campaign(&s.api_key, 2).await;
    let ok = json!({"phone": phone(1)});
    let later = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let (_, scheduled) = app
        .post(
            "/api/v1/campaigns",
            Some(&s.api_key),
            Some(
                json!({"name": "Later", "template_name": "welcome", "body_data": {"1": "Ada"},
                "contacts": [{"phone": phone(9)}], "scheduled_at": later}),
            ),
        )
        .await;
    let scheduled = scheduled["campaign_id"].as_str().unwrap();
    let (status, body) = test_send(&app, &s.api_key, scheduled, ok.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let early = body["message_id"].as_str().unwrap().to_owned();
    // Queued (sent, no worker yet): 409. Paused: allowed. Completed: 409.
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    assert_eq!(
        refused(&app, &s, &id, ok.clone()).await,
        (StatusCode::CONFLICT, "Campaign is queued; only a draft, scheduled or paused campaign can be sent a test message".into())
    );
    assert_eq!(
        app.control(&s.api_key, &id, "pause").await.0,
        StatusCode::OK
    );
    let (status, body) = test_send(&app, &s.api_key, &id, ok.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let mid = body["message_id"].as_str().unwrap().to_owned();
    let (fake, url) = fake(FakeConfig::default()).await;
    let worker = app.start_worker(app.worker_config(&url)).await;
    // Sent while its campaign stays paused: no lane claims a recipient meanwhile.
    assert_eq!(settled(&app, &mid).await, "sent");
    assert_eq!(
        app.stats(&s.api_key, &id).await["campaign_status"],
        "paused"
    );
    assert_eq!(settled(&app, &early).await, "sent");
    // This one and the scheduled campaign's.
    assert_eq!(fake.counters().accepted, 2);
    assert_eq!(
        app.control(&s.api_key, &id, "resume").await.0,
        StatusCode::OK
    );
    app.wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(
        refused(&app, &s, &id, ok).await,
        (StatusCode::CONFLICT, "Campaign is completed; only a draft, scheduled or paused campaign can be sent a test message".into())
    );
    assert_eq!(fake.counters().accepted, 4);
    app.tdb.assert_counts_consistent().await;
    worker.shutdown().await;
}
