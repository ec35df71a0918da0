//! A status that cannot be applied sinks nothing else, and its callback is given up
//! after a bounded number of runs, kept for operators, and armed again once the cause
//! is fixed.

use std::time::Duration;

use serde_json::json;
use waplify_shared::admin;
use waplify_tests::app::APP_SECRET;
use waplify_tests::client::phone;
use waplify_tests::whatsapp::{notification, post_raw, sign, status_object};
use waplify_tests::{Fake, FakeConfig, TestApp, TestDb, eventually, seed, spawn_app};

/// Makes every update of the message with this wamid fail, as input the database
/// refuses would, on either database.
async fn poison(app: &TestApp, wamid: &str) {
    if TestDb::is_postgres() {
        app.execute(&format!(
            "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN \
             IF OLD.wamid = '{wamid}' THEN RAISE EXCEPTION 'poison status refused'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql"
        ))
        .await;
        app.execute(
            "CREATE TRIGGER refuse_poison BEFORE UPDATE ON messages \
             FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
        )
        .await;
    } else {
        app.execute(&format!(
            "CREATE TRIGGER refuse_poison BEFORE UPDATE ON messages \
             WHEN OLD.wamid = '{wamid}' BEGIN SELECT RAISE(ABORT, 'poison status refused'); END"
        ))
        .await;
    }
}

async fn status_of(app: &TestApp, wamid: &str) -> String {
    app.scalar_text(&format!(
        "SELECT status FROM messages WHERE wamid = '{wamid}'"
    ))
    .await
}

/// One signed body: `delivered` for each message, a status whose id holds NUL, and a
/// reply quoting the third message.
async fn post_body(app: &TestApp, [w0, w1, w2]: [&str; 3]) {
    let mut nul = status_object("wamid.a\u{0}b", "delivered");
    nul["recipient_id"] = json!(phone(0));
    let reply = json!({"from": phone(2), "id": "wamid.in2", "timestamp": "1700000100",
        "type": "text", "text": {"body": "ok"}, "context": {"from": "15550000000", "id": w2}});
    let statuses = vec![
        status_object(w0, "delivered"),
        status_object(w1, "delivered"),
        status_object(w2, "delivered"),
        nul,
    ];
    let body = notification(statuses, vec![reply]);
    let (status, _) = post_raw(app, &body, Some(&sign(APP_SECRET, &body))).await;
    assert_eq!(status, reqwest::StatusCode::OK);
}

#[tokio::test]
async fn a_status_that_cannot_be_applied_sinks_nothing_and_is_given_up_then_retried() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let fake = Fake::new(FakeConfig::default());
    let (fake_url, _t) = fake.serve("127.0.0.1:0").await.unwrap();
    let mut cfg = app.worker_config(&fake_url);
    cfg.callback_attempts = 2;
    let _worker = app.start_worker(cfg).await;
    let campaign = app.create_campaign(&s.api_key, 3).await;
    app.send(&s.api_key, &campaign).await;
    app.wait_for_status(&s.api_key, &campaign, "completed", Duration::from_secs(30))
        .await;
    let wamid = |i: usize| {
        let app = &app;
        let campaign = campaign.clone();
        async move {
            app.scalar_text(&format!(
                "SELECT wamid FROM messages WHERE campaign_id = '{campaign}' AND phone = '{}'",
                phone(i)
            ))
            .await
        }
    };
    let (w0, w1, w2) = (wamid(0).await, wamid(1).await, wamid(2).await);
    poison(&app, &w1).await;

    post_body(&app, [&w0, &w1, &w2]).await;

    // Given up after two runs (the first job, then the reconciler's), kept with why.
    let dead = eventually(Duration::from_secs(60), "the callback given up", || async {
        let dead = admin::callbacks_dead(&app.tdb.db, 10).await.unwrap();
        (dead.total == 1).then_some(dead)
    })
    .await;
    let row = &dead.callbacks[0];
    assert_eq!(row.attempts, 2, "{row:?}");
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains("poison status refused")),
        "{row:?}"
    );
    assert!(
        row.summary
            .as_deref()
            .is_some_and(|s| s.contains("failed: 1")),
        "{row:?}"
    );
    // Everything else in the body landed: the good statuses and the reply.
    assert_eq!(status_of(&app, &w0).await, "delivered");
    assert_eq!(status_of(&app, &w2).await, "delivered");
    assert_eq!(status_of(&app, &w1).await, "sent");
    let stats = app.stats(&s.api_key, &campaign).await;
    assert_eq!(stats["replied_count"], 1, "{stats}");
    assert_eq!(stats["delivered_count"], 2, "{stats}");

    // Fixed, and armed again: the reconciler applies it (in its next round).
    app.execute(if TestDb::is_postgres() {
        "DROP TRIGGER refuse_poison ON messages"
    } else {
        "DROP TRIGGER refuse_poison"
    })
    .await;
    let id = row.callback_id.clone();
    assert_eq!(
        admin::callbacks_retry(&app.tdb.db, Some(&id))
            .await
            .unwrap()
            .rearmed,
        1
    );
    eventually(Duration::from_secs(120), "the callback applied", || async {
        (status_of(&app, &w1).await == "delivered").then_some(())
    })
    .await;
    assert_eq!(
        admin::callbacks_dead(&app.tdb.db, 10).await.unwrap().total,
        0
    );
    let stats = app.stats(&s.api_key, &campaign).await;
    assert_eq!(stats["delivered_count"], 3, "{stats}");
    assert_eq!(stats["replied_count"], 1, "{stats}");
    app.tdb.assert_counts_consistent().await;
}
