//! `retry_failed_messages` at its edges: only a recipient's latest call decides whether
//! the default pick takes it (an earlier 503 does not make a later permanent failure
//! retryable), and a scheduled campaign that could not pay when its time came is
//! charged for its retry at the price of a message, not sent for nothing.

use chrono::{SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::json;
use waplify_shared::admin;
use waplify_tests::app::phone;
use waplify_tests::retry::{WAIT, credits, fake, retry, worker};
use waplify_tests::{FakeConfig, seed, spawn_app};

#[tokio::test]
async fn a_later_permanent_failure_is_not_retried_by_default_after_an_earlier_503() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let (fake, url) = fake(FakeConfig {
        transient_numbers: vec![phone(0)],
        ..Default::default()
    })
    .await;
    let w = worker(&app, &url).await;
    let id = app.create_campaign(&s.api_key, 3).await;
    app.send(&s.api_key, &id).await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(stats["failed_count"], 1, "{stats}");

    // Retried by default (it ran out of attempts on 503s); this time it fails for good.
    fake.set_config(FakeConfig {
        fail_numbers: vec![phone(0)],
        ..Default::default()
    });
    let (status, body) = retry(&app, &s.api_key, &id, None).await;
    assert_eq!(
        (status, body["count"].as_u64()),
        (StatusCode::ACCEPTED, Some(1)),
        "{body}"
    );
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(stats["failed_count"], 1, "{stats}");

    // Its latest call is the permanent failure: the default pick leaves it.
    let calls = fake.calls().values().sum::<u32>();
    let (status, body) = retry(&app, &s.api_key, &id, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("No failed recipients to retry"),
        "{body}"
    );
    assert_eq!(fake.calls().values().sum::<u32>(), calls);
    app.tdb.assert_counts_consistent().await;
    w.shutdown().await;
}

#[tokio::test]
async fn a_scheduled_campaign_that_could_not_pay_is_charged_for_its_retry() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 2, 1000).await;
    let (fake, url) = fake(FakeConfig::default()).await;
    let at = (Utc::now() + chrono::Duration::minutes(5)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let contacts: Vec<_> = (0..3).map(|i| json!({ "phone": phone(i) })).collect();
    let (status, body) = app
        .post(
            "/api/v1/campaigns",
            Some(&s.api_key),
            Some(
                json!({"name": "Later", "template_name": "welcome", "body_data": {"1": "Ada"},
                "contacts": contacts, "scheduled_at": at}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["campaign_id"].as_str().unwrap().to_owned();
    let w = worker(&app, &url).await;
    app.clock.advance(chrono::Duration::minutes(6));
    // Three recipients, two credits: the scheduler's precheck fails it, nothing reserved.
    let stats = app.wait_for_status(&s.api_key, &id, "failed", WAIT).await;
    assert_eq!(stats["failed_count"], 3, "{stats}");
    assert_eq!(credits(&app, &s.account_id).await, (0, 0, 2, 0));

    // Its recipients are retried by default, and cost what a message costs.
    let (status, body) = retry(&app, &s.api_key, &id, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["message"],
        "Campaign cannot be sent: insufficient wallet credits (need 3, have 2)"
    );
    admin::credits_add(&app.tdb.db, &s.account_id, 8)
        .await
        .unwrap();
    let (status, body) = retry(&app, &s.api_key, &id, None).await;
    assert_eq!(
        (status, body["count"].as_u64()),
        (StatusCode::ACCEPTED, Some(3)),
        "{body}"
    );
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(stats["sent_count"], 3, "{stats}");
    assert_eq!(fake.counters().accepted, 3);
    // Reserved 3 at one credit each, nothing refunded, the balance 10 - 3.
    assert_eq!(credits(&app, &s.account_id).await, (3, 0, 7, 1));
    app.tdb.assert_counts_consistent().await;
    w.shutdown().await;
}
