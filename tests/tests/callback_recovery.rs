//! WhatsApp callbacks that settle what a failure left behind: a message stuck in
//! `sending` by a worker killed after WhatsApp accepted it, settled by its callback and
//! never sent again; and a stored callback whose job Redis lost, applied by the
//! reconciler; and a failure WhatsApp reports after settlement, refunded once.

use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use waplify_shared::db::entities::message;
use waplify_tests::app::APP_SECRET;
use waplify_tests::whatsapp::{all_applied, fixtures, notification, post_raw, sign};
use waplify_tests::{Fake, FakeConfig, eventually, seed, spawn_app};

#[tokio::test]
async fn a_callback_settles_a_message_stuck_in_sending_so_it_is_not_resent() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    let fake = Fake::new(FakeConfig::default());
    let (fake_url, _t) = fake.serve("127.0.0.1:0").await.unwrap();
    let campaign = app.create_campaign(&s.api_key, 2).await;
    let (status, _) = app.send(&s.api_key, &campaign).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let stuck = app
        .scalar_text(&format!(
            "SELECT id FROM messages WHERE campaign_id = '{campaign}' ORDER BY phone LIMIT 1"
        ))
        .await;
    // What a worker killed right after WhatsApp accepted leaves behind: `sending`, a
    // claim that expires in a few seconds, and no wamid.
    let lease = chrono::Utc::now() + chrono::Duration::seconds(4);
    message::Entity::update_many()
        .col_expr(message::Column::Status, Expr::value("sending"))
        .col_expr(message::Column::Claim, Expr::value("dead-worker"))
        .col_expr(message::Column::Attempts, Expr::value(1))
        .col_expr(message::Column::LeaseUntil, Expr::value(lease))
        .filter(message::Column::Id.eq(&stuck))
        .exec(&app.tdb.db)
        .await
        .unwrap();
    app.execute(&format!(
        "INSERT INTO message_counts (campaign_id, shard, status, n) \
         VALUES ('{campaign}', 99, 'pending', -1), ('{campaign}', 99, 'sending', 1)"
    ))
    .await;
    let body = notification(
        vec![
            json!({"id": "wamid.recovered", "status": "delivered", "timestamp": "1700000000",
            "recipient_id": "15550000000", "biz_opaque_callback_data": stuck}),
        ],
        vec![],
    );
    let (status, _) = post_raw(&app, &body, Some(&sign(APP_SECRET, &body))).await;
    assert_eq!(status, StatusCode::OK);
    let _worker = app.start_worker(app.worker_config(&fake_url)).await;
    app.wait_for_status(&s.api_key, &campaign, "completed", Duration::from_secs(30))
        .await;
    // Past the lease and a few reconcile passes: still never sent again.
    let wait = (lease - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(2);
    tokio::time::sleep(wait).await;
    assert!(!fake.calls().contains_key(&stuck), "{:?}", fake.calls());
    assert_eq!(fake.counters().accepted, 1);
    assert_eq!(
        app.scalar_text(&format!("SELECT status FROM messages WHERE id = '{stuck}'"))
            .await,
        "delivered"
    );
    assert_eq!(
        app.scalar_text(&format!("SELECT wamid FROM messages WHERE id = '{stuck}'"))
            .await,
        "wamid.recovered"
    );
    let history = app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM message_events WHERE message_id = '{stuck}' AND \
             ((from_status = 'sending' AND to_status = 'sent') OR (from_status = 'sent' AND to_status = 'delivered'))"
        ))
        .await;
    assert_eq!(history, 2);
    let stats = app.stats(&s.api_key, &campaign).await;
    assert_eq!(
        (
            stats["sent_count"].clone(),
            stats["delivered_count"].clone()
        ),
        (json!(2), json!(1))
    );
}

#[tokio::test]
async fn a_stored_callback_whose_job_was_lost_is_applied_by_the_reconciler() {
    let app = spawn_app().await;
    let body = std::fs::read(fixtures().join("status/pywa_status_read.json")).unwrap();
    let (status, _) = post_raw(&app, &body, Some(&sign(APP_SECRET, &body))).await;
    assert_eq!(status, StatusCode::OK);
    // Redis loses the job (a flush, a failover): only the SQL row is left.
    let mut conn = app.queues.conn();
    let keys: Vec<String> =
        redis::AsyncCommands::keys(&mut conn, format!("{}:callback:*", app.prefix))
            .await
            .unwrap();
    assert!(!keys.is_empty(), "the API queued a job");
    let _: () = redis::AsyncCommands::del(&mut conn, keys).await.unwrap();
    let _worker = app
        .start_worker(app.worker_config("http://127.0.0.1:9"))
        .await;
    all_applied(&app).await;
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM whatsapp_callbacks WHERE processed_at IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn a_failure_reported_after_settlement_is_refunded_once() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    let fake = Fake::new(FakeConfig::default());
    let (fake_url, _t) = fake.serve("127.0.0.1:0").await.unwrap();
    let _worker = app.start_worker(app.worker_config(&fake_url)).await;
    let campaign = app.create_campaign(&s.api_key, 3).await;
    assert_eq!(
        app.send(&s.api_key, &campaign).await.0,
        StatusCode::ACCEPTED
    );
    app.wait_for_status(&s.api_key, &campaign, "completed", Duration::from_secs(30))
        .await;
    let settled = format!(
        "SELECT COUNT(*) FROM campaigns WHERE id = '{campaign}' AND settled_at IS NOT NULL"
    );
    eventually(Duration::from_secs(10), "settlement", || async {
        (app.scalar_i64(&settled).await == 1).then_some(())
    })
    .await;
    assert_eq!(app.balance(&s.account_id).await, 97);
    // WhatsApp accepted one of them, then could not deliver it; the status comes (twice)
    // after the campaign was settled.
    let wamid = app
        .scalar_text(&format!(
            "SELECT wamid FROM messages WHERE campaign_id = '{campaign}' ORDER BY phone LIMIT 1"
        ))
        .await;
    let failed = json!({"id": wamid, "status": "failed", "timestamp": "1700000000",
        "recipient_id": "15550000000",
        "errors": [{"code": 131049, "title": "Not delivered to maintain healthy ecosystem engagement"}]});
    for _ in 0..2 {
        let body = notification(vec![failed.clone()], vec![]);
        let (status, _) = post_raw(&app, &body, Some(&sign(APP_SECRET, &body))).await;
        assert_eq!(status, StatusCode::OK);
    }
    all_applied(&app).await;
    eventually(Duration::from_secs(10), "the late refund", || async {
        (app.balance(&s.account_id).await == 98).then_some(())
    })
    .await;
    let refunded = app
        .scalar_i64(&format!(
            "SELECT credits_refunded FROM campaigns WHERE id = '{campaign}'"
        ))
        .await;
    assert_eq!(refunded, 1);
    assert_eq!(
        app.ledger_sum(&s.account_id).await,
        98,
        "the ledger adds up to the balance"
    );
    let stats = app.stats(&s.api_key, &campaign).await;
    assert_eq!(stats["failed_count"], 1, "{stats}");
}
