//! Customer webhooks: registering endpoints (the refused ones are in
//! `refused_requests.rs`), and delivering signed events to a real receiver, with
//! retries, their spacing, filters and the delivery log.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_tests::receiver::{Receiver, wait_received};
use waplify_tests::{Fake, FakeConfig, TestApp, eventually, seed, spawn_app};

const SECRET: &str = "whsec-test-secret-123";

async fn register(app: &TestApp, key: &str, body: Value) -> String {
    let (status, created) = app.post("/api/v1/webhooks", Some(key), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["webhook_id"].as_str().unwrap().to_owned()
}

async fn deliveries(app: &TestApp, key: &str, webhook: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &format!("/api/v1/webhooks/{webhook}/deliveries?limit=100"),
            Some(key),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn endpoints_are_registered_listed_read_and_deleted() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 10).await;
    let other = seed(&app.tdb.db, 10, 10).await;
    let key = Some(s.api_key.as_str());
    let (status, created) = app
        .post(
            "/api/v1/webhooks",
            key,
            Some(json!({"name": "CRM", "url": "https://example.com/hooks/waplify", "secret": SECRET})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "success");
    assert_eq!(created["retry_count"], 3);
    assert_eq!(created["timeout_seconds"], 5);
    assert_eq!(created["has_secret"], true);
    assert!(created.get("secret").is_none(), "the secret is never shown");
    assert_eq!(
        created["events"],
        json!([
            "message.sent",
            "message.delivered",
            "message.read",
            "message.failed"
        ])
    );
    let id = created["webhook_id"].as_str().unwrap();

    let (status, got) = app.get(&format!("/api/v1/webhooks/{id}"), key).await;
    assert_eq!(
        (status, got["url"].clone()),
        (StatusCode::OK, json!("https://example.com/hooks/waplify"))
    );
    let (_, list) = app.get("/api/v1/webhooks", key).await;
    assert_eq!(list["total"], 1);
    // Another account sees nothing.
    let (status, body) = app
        .get(&format!("/api/v1/webhooks/{id}"), Some(&other.api_key))
        .await;
    assert_eq!(
        (status, body["message"].clone()),
        (StatusCode::NOT_FOUND, json!("Webhook not found"))
    );
    let (status, body) = app
        .delete(&format!("/api/v1/webhooks/{id}"), Some(&other.api_key))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app.get("/api/v1/webhooks/not-an-id", key).await;
    assert_eq!(
        (status, body["message"].clone()),
        (StatusCode::BAD_REQUEST, json!("Invalid webhook_id"))
    );

    let (status, body) = app.delete(&format!("/api/v1/webhooks/{id}"), key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["webhook_id"], id);
    let (status, _) = app.delete(&format!("/api/v1/webhooks/{id}"), key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/api/v1/webhooks", key).await;
    assert_eq!(list["total"], 0);
}

#[tokio::test]
async fn events_are_signed_retried_with_backoff_and_logged() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    let fake = Fake::new(FakeConfig::default());
    let (fake_url, _t) = fake.serve("127.0.0.1:0").await.unwrap();
    let (receiver, url) = Receiver::start().await;
    receiver.script(&[500, 503]);
    let hook = register(
        &app,
        &s.api_key,
        json!({"name": "r", "url": url, "secret": SECRET, "events": ["message.sent"], "retry_count": 3}),
    )
    .await;
    let _worker = app.start_worker(app.worker_config(&fake_url)).await;
    let campaign = app.create_campaign(&s.api_key, 1).await;
    app.send(&s.api_key, &campaign).await;

    let got = wait_received(&receiver, 3, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got_after = receiver.received();
    assert_eq!(got_after.len(), 3, "no attempt after a 2xx");
    for r in &got {
        assert!(
            r.body_signature_ok(SECRET),
            "X-Webhook-Signature: {:?}",
            r.headers
        );
        assert!(
            r.standard_signature_ok(SECRET),
            "webhook-signature: {:?}",
            r.headers
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("user-agent"), Some("Waplify-Webhook/1.0"));
        let ts: i64 = r.header("webhook-timestamp").unwrap().parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    }
    // One event, the same id and body on every attempt.
    assert!(
        got.iter()
            .all(|r| r.header("webhook-id") == got[0].header("webhook-id"))
    );
    assert!(got.iter().all(|r| r.body == got[0].body));
    let event = got[0].json();
    assert_eq!(event["event"], "message.sent");
    assert_eq!(event["campaign_id"], campaign.as_str());
    assert_eq!(event["message"]["status"], "sent");
    assert_eq!(event["message"]["previous_status"], "sending");
    assert!(
        event["message"]["contact_phone"].is_string() && event["message"]["message_id"].is_string()
    );
    // Back-off: about 1 s, then about 2 s.
    let gaps: Vec<f64> = got
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_secs_f64())
        .collect();
    assert!(gaps[0] >= 0.95 && gaps[0] < 2.5, "{gaps:?}");
    assert!(gaps[1] >= 1.95 && gaps[1] < 3.5, "{gaps:?}");

    let log = deliveries(&app, &s.api_key, &hook).await;
    assert_eq!(log.len(), 1);
    let d = &log[0];
    assert_eq!(
        (d["state"].clone(), d["attempts"].clone()),
        (json!("delivered"), json!(3))
    );
    assert_eq!(d["delivery_id"].as_str(), got[0].header("webhook-id"));
    let statuses: Vec<Value> = d["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["http_status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(500), json!(503), json!(200)]);
}

#[tokio::test]
async fn a_4xx_is_final_timeouts_retry_and_filters_hold() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    let fake = Fake::new(FakeConfig {
        fail_numbers: vec![waplify_tests::app::phone(1)],
        ..FakeConfig::default()
    });
    let (fake_url, _t) = fake.serve("127.0.0.1:0").await.unwrap();
    let (refusing, refusing_url) = Receiver::start().await;
    refusing.script(&[400]);
    let refusing_hook = register(
        &app,
        &s.api_key,
        json!({"name": "a", "url": refusing_url, "events": ["message.sent"]}),
    )
    .await;
    let (failures, failures_url) = Receiver::start().await;
    register(
        &app,
        &s.api_key,
        json!({"name": "b", "url": failures_url, "secret": SECRET, "events": ["message.failed"]}),
    )
    .await;
    let (slow, slow_url) = Receiver::start().await;
    slow.delay(Duration::from_millis(2500));
    let slow_hook = register(
        &app,
        &s.api_key,
        json!({"name": "c", "url": slow_url, "events": ["message.sent"], "timeout_seconds": 1, "retry_count": 1}),
    )
    .await;

    let _worker = app.start_worker(app.worker_config(&fake_url)).await;
    let campaign = app.create_campaign(&s.api_key, 2).await;
    app.send(&s.api_key, &campaign).await;
    app.wait_for_status(&s.api_key, &campaign, "completed", Duration::from_secs(30))
        .await;

    // The failed recipient reaches only the failure subscriber, signed, with the error.
    let got = wait_received(&failures, 1, Duration::from_secs(15)).await;
    let event = got[0].json();
    assert_eq!(event["event"], "message.failed");
    assert_eq!(event["message"]["error_code"], 131026);
    assert!(event["message"]["error_message"].is_string());
    assert!(got[0].body_signature_ok(SECRET) && got[0].standard_signature_ok(SECRET));

    let log = eventually(Duration::from_secs(20), "final deliveries", || async {
        let a = deliveries(&app, &s.api_key, &refusing_hook).await;
        let c = deliveries(&app, &s.api_key, &slow_hook).await;
        let done = |l: &Vec<Value>| !l.is_empty() && l.iter().all(|d| d["state"] != "pending");
        (done(&a) && done(&c)).then_some((a, c))
    })
    .await;
    // 400: one attempt, failed, no retry.
    assert_eq!(log.0.len(), 1);
    assert_eq!(
        (log.0[0]["state"].clone(), log.0[0]["attempts"].clone()),
        (json!("failed"), json!(1))
    );
    assert_eq!(refusing.received().len(), 1);
    // Timeouts: retried up to retry_count, then failed.
    assert_eq!(
        (log.1[0]["state"].clone(), log.1[0]["attempts"].clone()),
        (json!("failed"), json!(2))
    );
    assert!(
        log.1[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{}",
        log.1[0]
    );
    // Unsigned endpoints get no signature headers; unsubscribed events never arrive.
    assert!(
        refusing.received()[0]
            .header("x-webhook-signature")
            .is_none()
    );
    assert!(
        failures
            .received()
            .iter()
            .all(|r| r.json()["event"] == "message.failed")
    );
    assert_eq!(failures.received().len(), 1);
}

#[tokio::test]
async fn test_event_is_signed_and_delete_cancels_pending_deliveries() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    let (receiver, url) = Receiver::start().await;
    let hook = register(
        &app,
        &s.api_key,
        json!({"name": "t", "url": url, "secret": SECRET}),
    )
    .await;
    let _worker = app
        .start_worker(app.worker_config("http://127.0.0.1:9"))
        .await;
    let (status, body) = app
        .post(
            &format!("/api/v1/webhooks/{hook}/test"),
            Some(&s.api_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let got = wait_received(&receiver, 1, Duration::from_secs(15)).await;
    assert_eq!(got[0].json()["event"], "webhook.test");
    assert_eq!(got[0].header("webhook-id"), body["delivery_id"].as_str());
    assert!(got[0].body_signature_ok(SECRET) && got[0].standard_signature_ok(SECRET));
    assert!(!got[0].body_signature_ok("another-secret"));

    // A receiver that keeps failing: deleting the endpoint cancels what is left.
    receiver.script(&[500; 10]);
    app.post(
        &format!("/api/v1/webhooks/{hook}/test"),
        Some(&s.api_key),
        None,
    )
    .await;
    wait_received(&receiver, 2, Duration::from_secs(15)).await;
    let (status, deleted) = app
        .delete(&format!("/api/v1/webhooks/{hook}"), Some(&s.api_key))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["cancelled_deliveries"], 1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), 2, "no attempt after the delete");
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'cancelled'")
            .await,
        1
    );
}
