//! A provider call whose outcome is unknown (a timeout after the request went out, a
//! 2xx without a readable message id) may have been accepted. The message is held for
//! its status callback instead of being sent again at once: a callback settles it with
//! one call made; without one it is sent again only after the hold; and on its last
//! allowed attempt it is failed, never called a time too many, once the hold passed
//! without a callback (a call cut short by a dying worker waits the same hold).

use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use waplify_shared::db::entities::provider_call;
use waplify_shared::status::ProviderOutcome;
use waplify_tests::app::{APP_SECRET, phone};
use waplify_tests::fake_callbacks::CallbackConfig;
use waplify_tests::procs::free_port;
use waplify_tests::whatsapp::{notification, post_raw, sign};
use waplify_tests::{Fake, FakeConfig, TestApp, eventually, seed, spawn_app};

/// The message id of `phone` in `campaign`.
async fn message_of(app: &TestApp, campaign: &str, phone: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM messages WHERE campaign_id = '{campaign}' AND phone LIKE '%{phone}'"
    ))
    .await
}

#[tokio::test]
async fn an_unreadable_acceptance_is_settled_by_its_callback_and_never_sent_again() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let fake = Fake::new(FakeConfig {
        unreadable_first_numbers: vec![phone(0), phone(1)],
        callbacks: CallbackConfig {
            url: Some(format!("{}/api/v1/whatsapp/webhook", app.base)),
            app_secret: APP_SECRET.into(),
            // Well after the worker recorded the unknown outcome, even on a loaded machine.
            delay_ms: 1500,
            delivered_rate: 1.0,
            ..Default::default()
        },
        ..Default::default()
    });
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let port = free_port();
    let mut cfg = app.worker_config(&url);
    cfg.metrics_bind = Some(format!("127.0.0.1:{port}"));
    // The default hold (60 s) is far longer than the test: only a callback can settle
    // the two held messages before it ends.
    assert_eq!(cfg.unknown_hold, Duration::from_secs(60));
    let worker = app.start_worker(cfg).await;

    let id = app.create_campaign(&s.api_key, 10).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["sent_count"], 10, "{stats}");
    let calls = fake.calls();
    for p in [phone(0), phone(1)] {
        let message = message_of(&app, &id, &p).await;
        assert_eq!(calls.get(&message), Some(&1), "{p}: {calls:?}");
        let history = app
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM message_events WHERE message_id = '{message}' \
                 AND to_status = 'pending' AND detail LIKE '%outcome unknown%'"
            ))
            .await;
        assert_eq!(history, 1, "{p} was held once");
    }
    let c = fake.counters();
    assert_eq!((c.accepted, c.duplicates), (10, 0), "{c:?}");
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM provider_calls WHERE outcome = 'unknown'")
            .await,
        2
    );
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"waplify_provider_calls_total{outcome="unknown",code="none"} 2"#),
        "{text}"
    );
    worker.shutdown().await;
}

#[tokio::test]
async fn a_timed_out_call_is_sent_again_only_after_the_hold() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let fake = Fake::new(FakeConfig {
        stall_first_numbers: vec![phone(0)],
        stall_ms: 6000,
        ..Default::default()
    });
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let mut cfg = app.worker_config(&url);
    cfg.provider_timeout = Duration::from_secs(2);
    cfg.unknown_hold = Duration::from_secs(4);
    let worker = app.start_worker(cfg).await;

    let id = app.create_campaign(&s.api_key, 5).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["sent_count"], 5, "{stats}");
    let message = message_of(&app, &id, &phone(0)).await;
    assert_eq!(fake.calls().get(&message), Some(&2));
    // The calls' records, in order: the unknown one, then the acceptance no sooner than
    // the hold allows (a retry's backoff here is 0.5 s; a claim has 1 s of slack).
    let calls = provider_call::Entity::find()
        .filter(provider_call::Column::MessageId.eq(message.as_str()))
        .order_by_asc(provider_call::Column::Attempt)
        .all(&app.tdb.db)
        .await
        .unwrap();
    let outcomes: Vec<ProviderOutcome> = calls.iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes, [ProviderOutcome::Unknown, ProviderOutcome::Sent]);
    let gap = (calls[1].at - calls[0].at).num_milliseconds();
    assert!(gap >= 3000, "sent again {gap} ms after the unknown outcome");
    worker.shutdown().await;
}

#[tokio::test]
async fn an_unknown_outcome_on_the_last_attempt_is_failed_without_another_call() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let fake = Fake::new(FakeConfig {
        unreadable_first_numbers: vec![phone(0)],
        ..Default::default()
    });
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let mut cfg = app.worker_config(&url);
    cfg.max_attempts = 1;
    cfg.unknown_hold = Duration::from_secs(1);
    let worker = app.start_worker(cfg).await;

    let id = app.create_campaign(&s.api_key, 3).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(
        (stats["sent_count"].clone(), stats["failed_count"].clone()),
        (2.into(), 1.into()),
        "{stats}"
    );
    let message = message_of(&app, &id, &phone(0)).await;
    assert_eq!(fake.calls().get(&message), Some(&1));
    let reason = eventually(Duration::from_secs(5), "the failure reason", || async {
        let r = app
            .scalar_text(&format!(
                "SELECT COALESCE(error_message, '') FROM messages WHERE id = '{message}'"
            ))
            .await;
        (!r.is_empty()).then_some(r)
    })
    .await;
    assert!(reason.contains("no status callback settled it"), "{reason}");
    worker.shutdown().await;
}

#[tokio::test]
async fn a_last_attempt_cut_short_waits_the_hold_for_its_callback() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let fake = Fake::new(FakeConfig {
        latency_ms: 3000,
        ..Default::default()
    });
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let mut cfg = app.worker_config(&url);
    cfg.max_attempts = 1;
    cfg.unknown_hold = Duration::from_secs(30);
    let worker = app.start_worker(cfg).await;
    let id = app.create_campaign(&s.api_key, 1).await;
    assert_eq!(app.send(&s.api_key, &id).await.0, StatusCode::ACCEPTED);
    eventually(Duration::from_secs(30), "the call out", || async {
        (fake.counters().requests >= 1).then_some(())
    })
    .await;
    let message = message_of(&app, &id, &phone(0)).await;
    // Its worker is taken to have died mid-call: the lease ends, the claim is handed back.
    app.execute(&format!(
        "UPDATE messages SET lease_until = '2000-01-01 00:00:00+00:00' WHERE id = '{message}'"
    ))
    .await;
    let pending =
        format!("SELECT COUNT(*) FROM messages WHERE id = '{message}' AND status = 'pending'");
    eventually(Duration::from_secs(20), "handed back", || async {
        (app.scalar_i64(&pending).await == 1).then_some(())
    })
    .await;
    // Its last attempt is used up, but WhatsApp did take it: the callback comes during
    // the hold and settles it.
    let body = notification(
        vec![
            json!({"id": "wamid.cut-short", "status": "sent", "timestamp": "1700000000",
            "recipient_id": phone(0), "biz_opaque_callback_data": message}),
        ],
        vec![],
    );
    let (status, _) = post_raw(&app, &body, Some(&sign(APP_SECRET, &body))).await;
    assert_eq!(status, StatusCode::OK);
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(30))
        .await;
    assert_eq!(
        (stats["sent_count"].clone(), stats["failed_count"].clone()),
        (1.into(), 0.into()),
        "{stats}"
    );
    assert_eq!(fake.calls().get(&message), Some(&1));
    worker.shutdown().await;
}
