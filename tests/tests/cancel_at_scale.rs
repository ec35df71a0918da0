//! Cancelling a campaign larger than one transaction should hold: the request cancels
//! the first `CANCEL_AT_ONCE` unsent recipients and refunds them, and the reconciler
//! cancels the rest a chunk per transaction, then settles and refunds them, each
//! recipient once.

use std::time::Duration;

use reqwest::StatusCode;
use waplify_shared::transition::CANCEL_AT_ONCE;
use waplify_tests::retry::{credits, fake, worker};
use waplify_tests::{FakeConfig, eventually, seed, spawn_app};

#[tokio::test]
async fn a_cancel_past_one_transaction_is_finished_by_the_reconciler() {
    let app = spawn_app().await;
    let total = CANCEL_AT_ONCE as usize + 1500;
    let s = seed(&app.tdb.db, 2 * total as i64, 1000).await;
    let id = app.create_campaign(&s.api_key, total).await;
    // No worker runs: the campaign stays queued, every recipient pending.
    app.send(&s.api_key, &id).await;
    let total = total as i64;
    assert_eq!(credits(&app, &s.account_id).await, (total, 0, total, 1));

    let cancel = format!("/api/v1/campaigns/{id}/cancel");
    let (status, body) = app.post(&cancel, Some(&s.api_key), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["campaign_status"], "cancelled");
    let count = |status: &'static str| {
        let app = &app;
        async move {
            app.scalar_i64(&format!(
                "SELECT COUNT(*) FROM messages WHERE status = '{status}'"
            ))
            .await
        }
    };
    let at_once = CANCEL_AT_ONCE as i64;
    assert_eq!(count("cancelled").await, at_once);
    assert_eq!(count("pending").await, total - at_once);
    assert_eq!(
        credits(&app, &s.account_id).await,
        (total, at_once, 2 * total - (total - at_once), 2),
        "the cancelled ones refunded at once"
    );

    let (_fake, url) = fake(FakeConfig::default()).await;
    let w = worker(&app, &url).await;
    eventually(
        Duration::from_secs(120),
        "the rest cancelled and settled",
        || async {
            (app.scalar_i64("SELECT COUNT(*) FROM campaigns WHERE settled_at IS NOT NULL")
                .await
                == 1)
                .then_some(())
        },
    )
    .await;
    assert_eq!(count("cancelled").await, total);
    assert_eq!(count("pending").await, 0);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM provider_calls").await,
        0,
        "nothing sent"
    );
    let history = app
        .scalar_i64(
            "SELECT COUNT(*) FROM message_events WHERE to_status = 'cancelled' \
             AND source = 'reconciler'",
        )
        .await;
    assert_eq!(
        history,
        total - at_once,
        "one history row each, by the reconciler"
    );
    let (reserved, refunded, balance, _) = credits(&app, &s.account_id).await;
    assert_eq!((reserved, refunded, balance), (total, total, 2 * total));
    app.tdb.assert_counts_consistent().await;
    w.shutdown().await;
}
