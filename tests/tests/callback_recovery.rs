//! WhatsApp callbacks that settle what a failure left behind: a message stuck in
//! `sending` by a worker killed after WhatsApp accepted it, settled by its callback and
//! never sent again; and a stored callback whose job Redis lost, applied by the
//! reconciler, but not queued again while a backlog of its jobs still waits.

use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use waplify_shared::db::entities::{message, whatsapp_callback};
use waplify_shared::ids::CallbackId;
use waplify_shared::jobs::QueueKind;
use waplify_tests::app::APP_SECRET;
use waplify_tests::whatsapp::{all_applied, fixtures, notification, post_raw, sign};
use waplify_tests::{Fake, FakeConfig, seed, spawn_app};
use waplify_worker::runtime::context::Ctx;
use waplify_worker::runtime::reconcile;

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
async fn a_callback_backlog_is_not_queued_again_while_its_jobs_wait() {
    let app = spawn_app().await;
    // Three stored callbacks, none applied, past the reconciler's grace.
    for _ in 0..3 {
        whatsapp_callback::ActiveModel {
            id: Set(CallbackId::generate()),
            received_at: Set(chrono::Utc::now() - chrono::Duration::minutes(1)),
            body: Set("{}".into()),
            processed_at: Set(None),
            summary: Set(None),
        }
        .insert(&app.tdb.db)
        .await
        .unwrap();
    }
    // A reconciler with no worker beside it: nothing takes the jobs it queues.
    let ctx = Ctx::new(
        app.tdb.db.clone(),
        app.queues.clone(),
        app.worker_config("http://127.0.0.1:9"),
    );
    assert_eq!(reconcile::pass(&ctx).await.unwrap().callbacks_pushed, 3);
    assert_eq!(app.queues.waiting(QueueKind::Callback).await.unwrap(), 3);
    // Still waiting: the next passes add nothing.
    for _ in 0..3 {
        assert_eq!(reconcile::pass(&ctx).await.unwrap().callbacks_pushed, 0);
    }
    assert_eq!(app.queues.waiting(QueueKind::Callback).await.unwrap(), 3);
    // The jobs are lost: the next pass queues the callbacks again.
    let mut conn = app.queues.conn();
    let keys: Vec<String> =
        redis::AsyncCommands::keys(&mut conn, format!("{}:callback:*", app.prefix))
            .await
            .unwrap();
    let _: () = redis::AsyncCommands::del(&mut conn, keys).await.unwrap();
    assert_eq!(reconcile::pass(&ctx).await.unwrap().callbacks_pushed, 3);
}
