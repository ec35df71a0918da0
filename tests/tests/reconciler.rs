//! The reconciler puts back work whose job Redis lost, without piling up jobs while a
//! backlog still holds them: a stored callback gets one job per round however often the
//! reconciler looks, and a webhook delivery whose job vanished gets a new one within
//! seconds when the webhook queue is empty (after a longer grace otherwise).
//!
//! A reconciler with no worker beside it: nothing takes the jobs it queues.

use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;
use waplify_shared::db::entities::webhook_delivery;
use waplify_shared::events::EventKind;
use waplify_shared::ids::{DeliveryId, WebhookId};
use waplify_shared::jobs::{DeliverWebhook, QueueKind};
use waplify_shared::status::DeliveryState;
use waplify_tests::whatsapp::stored_callback;
use waplify_tests::{TestApp, seed, spawn_app};
use waplify_worker::runtime::context::Ctx;
use waplify_worker::runtime::reconcile;

fn reconciler(app: &TestApp) -> Ctx {
    Ctx::new(
        app.tdb.db.clone(),
        app.queues.clone(),
        app.worker_config("http://127.0.0.1:9"),
    )
}

#[tokio::test]
async fn a_callback_backlog_is_not_queued_again_while_its_jobs_wait() {
    let app = spawn_app().await;
    // Three stored callbacks, none applied, past the reconciler's grace.
    for _ in 0..3 {
        stored_callback(
            &app.tdb.db,
            chrono::Utc::now() - chrono::Duration::minutes(1),
        )
        .await;
    }
    let ctx = reconciler(&app);
    assert_eq!(reconcile::pass(&ctx).await.unwrap().callbacks_pushed, 3);
    assert_eq!(app.queues.waiting(QueueKind::Callback).await.unwrap(), 3);
    // Still waiting: the next passes add nothing (the same task ids).
    for _ in 0..3 {
        reconcile::pass(&ctx).await.unwrap();
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

#[tokio::test]
async fn a_delivery_whose_job_vanished_gets_a_new_one_soon_when_nothing_waits() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 100).await;
    let body =
        json!({"name": "CRM", "url": "https://example.com/hooks", "secret": "0123456789abcdef"});
    let (status, created) = app
        .post("/api/v1/webhooks", Some(&s.api_key), Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let endpoint = WebhookId::parse(created["webhook_id"].as_str().unwrap()).unwrap();
    // Queued half a minute ago by a relay, and its job is nowhere.
    let orphan = |token: &str| webhook_delivery::ActiveModel {
        id: Set(DeliveryId::generate()),
        endpoint_id: Set(endpoint.clone()),
        event: Set(EventKind::MessageSent),
        payload: Set("{}".into()),
        state: Set(DeliveryState::Pending),
        attempts: Set(0),
        next_attempt_at: Set(chrono::Utc::now() - chrono::Duration::seconds(30)),
        job_id: Set(Some(token.to_owned())),
        lease_until: Set(None),
        last_http_status: Set(None),
        last_error: Set(None),
        message_id: Set(None),
        campaign_id: Set(None),
        created_at: Set(chrono::Utc::now() - chrono::Duration::seconds(30)),
        finished_at: Set(None),
    };
    let first = orphan("lost-1").insert(&app.tdb.db).await.unwrap();
    let ctx = reconciler(&app);
    assert_eq!(app.queues.waiting(QueueKind::Webhook).await.unwrap(), 0);
    assert_eq!(reconcile::pass(&ctx).await.unwrap().deliveries_released, 1);
    let row = webhook_delivery::Entity::find_by_id(first.id)
        .one(&app.tdb.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.job_id, None, "handed back to the relay");
    // With jobs waiting in the queue, a 30-second-old one may be behind them: left alone.
    let waiting = DeliverWebhook {
        delivery_id: DeliveryId::generate(),
        job_id: "someone-else".into(),
    };
    app.queues.push_many(vec![waiting]).await.unwrap();
    orphan("lost-2").insert(&app.tdb.db).await.unwrap();
    assert_eq!(reconcile::pass(&ctx).await.unwrap().deliveries_released, 0);
}
