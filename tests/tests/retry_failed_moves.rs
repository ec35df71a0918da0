//! `retry_failed_messages` hands the moves to the worker: the request charges and
//! queues, and the dispatch job moves the chosen recipients back to `pending` before
//! it starts the campaign, so a retry paused before that and then resumed still sends
//! every one of them. A retried recipient's sends name their round, and a late
//! callback for an earlier round settles nothing.

use std::collections::HashMap;

use chrono::Utc;
use reqwest::StatusCode;
use waplify_shared::status::MessageStatus;
use waplify_shared::transition::{self, Report, Senders, Settled};
use waplify_tests::app::phone;
use waplify_tests::retry::{WAIT, credits, fake, ids_of, retry, worker};
use waplify_tests::{FakeConfig, TestApp, seed, spawn_app};

#[tokio::test]
async fn a_retry_is_charged_at_once_and_its_recipients_moved_by_the_worker_across_a_pause() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let transient: Vec<String> = (0..4).map(phone).collect();
    let (fake, url) = fake(FakeConfig {
        transient_numbers: transient.clone(),
        ..Default::default()
    })
    .await;
    let w = worker(&app, &url).await;
    let id = app.create_campaign(&s.api_key, 10).await;
    app.send(&s.api_key, &id).await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(stats["failed_count"], 4, "{stats}");
    assert_eq!(credits(&app, &s.account_id).await, (10, 4, 94, 2));
    w.shutdown().await;

    // No worker runs: the request alone charges and queues.
    fake.set_config(FakeConfig::default());
    let (status, body) = retry(&app, &s.api_key, &id, None).await;
    assert_eq!(
        (status, body["count"].as_u64()),
        (StatusCode::ACCEPTED, Some(4)),
        "{body}"
    );
    assert_eq!(credits(&app, &s.account_id).await, (10, 0, 90, 3));
    let failed = "SELECT COUNT(*) FROM messages WHERE status = 'failed'";
    assert_eq!(
        app.scalar_i64(failed).await,
        4,
        "moved by the worker, not the request"
    );
    assert_eq!(
        app.scalar_text("SELECT retry_pick FROM campaigns").await,
        r#""default""#
    );

    // Paused before the worker moved anyone, then resumed: it goes back to `queued`
    // (not `running`, although it ran before), so dispatch moves its recipients.
    let pause = format!("/api/v1/campaigns/{id}/pause");
    let (status, body) = app.post(&pause, Some(&s.api_key), None).await;
    assert_eq!(
        (status, body["campaign_status"].as_str()),
        (StatusCode::OK, Some("paused")),
        "{body}"
    );
    let resume = format!("/api/v1/campaigns/{id}/resume");
    let (status, body) = app.post(&resume, Some(&s.api_key), None).await;
    assert_eq!(
        (status, body["campaign_status"].as_str()),
        (StatusCode::OK, Some("queued")),
        "{body}"
    );

    let w = worker(&app, &url).await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", WAIT)
        .await;
    assert_eq!(
        (stats["sent_count"].as_i64(), stats["failed_count"].as_i64()),
        (Some(10), Some(0)),
        "{stats}"
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM campaigns WHERE retry_pick IS NULL")
            .await,
        1,
        "the pick is cleared once the campaign starts"
    );
    assert_sent_in_round_one(&app, &fake.bodies(), &transient).await;
    assert_eq!(credits(&app, &s.account_id).await, (10, 0, 90, 3));
    app.tdb.assert_counts_consistent().await;
    w.shutdown().await;
}

/// Each retried recipient was sent again naming round 1, with one history row for its
/// move back to `pending`.
async fn assert_sent_in_round_one(
    app: &TestApp,
    bodies: &HashMap<String, serde_json::Value>,
    transient: &[String],
) {
    for retried in ids_of(app, transient).await {
        assert_eq!(
            bodies[&retried]["biz_opaque_callback_data"],
            format!("{retried}:1"),
            "a retried send names its round"
        );
        let history = app
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM message_events WHERE message_id = '{retried}' \
                 AND from_status = 'failed' AND to_status = 'pending' AND source = 'operator'"
            ))
            .await;
        assert_eq!(history, 1, "one history row for the move back");
    }
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM messages WHERE send_round = 1")
            .await,
        4
    );
}

#[tokio::test]
async fn a_late_callback_for_an_earlier_send_round_settles_nothing() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    app.create_campaign(&s.api_key, 1).await;
    let message = app.scalar_text("SELECT id FROM messages").await;
    let to = app.scalar_text("SELECT phone FROM messages").await;
    // Sent again by request: pending, its first send's WhatsApp id forgotten.
    app.execute("UPDATE messages SET status = 'pending', send_round = 1, wamid = NULL")
        .await;
    let report = |round: i32| Report {
        wamid: format!("wamid.round{round}"),
        to: MessageStatus::Delivered,
        at: Utc::now(),
        message_id: Some(message.parse().unwrap()),
        round,
        number: Some(waplify_tests::seed::SEEDED_NUMBER.to_owned()),
        recipient: Some(to.clone()),
        error_code: None,
        error_message: None,
    };
    let apply = |r: Report| {
        let db = app.tdb.db.clone();
        async move {
            transition::reported(&db, &[r], &mut Senders::default(), Utc::now())
                .await
                .unwrap()
                .settled
        }
    };
    assert_eq!(apply(report(0)).await, vec![Settled::Unknown]);
    assert_eq!(
        app.scalar_text("SELECT status FROM messages").await,
        "pending"
    );
    let settled = apply(report(1)).await;
    assert!(
        matches!(
            settled[..],
            [Settled::Moved {
                from: MessageStatus::Pending,
                ..
            }]
        ),
        "{settled:?}"
    );
    assert_eq!(
        app.scalar_text("SELECT status FROM messages").await,
        "delivered"
    );
    assert_eq!(
        app.scalar_text("SELECT wamid FROM messages").await,
        "wamid.round1"
    );
}
