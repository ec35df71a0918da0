//! Test messages beyond the first send: at most 10 per campaign per hour (the app's
//! clock moves the hour), also for requests made at once; an `Idempotency-Key` sends
//! one; a test message whose job Redis lost is still sent, once, by the reconciler;
//! status callbacks and replies move a test message without counting it.

use reqwest::StatusCode;
use serde_json::json;
use waplify_tests::app::phone;
use waplify_tests::idempotency::post;
use waplify_tests::test_sends::test_send;
use waplify_tests::{Fake, FakeConfig, seed, spawn_app};

#[tokio::test]
async fn at_most_ten_test_sends_per_campaign_per_hour_even_at_once() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    // No worker: the jobs wait in Redis, which the limit does not care about.
    let id = app.create_campaign(&s.api_key, 1).await;
    for i in 0..10 {
        let (status, body) = test_send(&app, &s.api_key, &id, json!({"phone": phone(i)})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{i}: {body}");
    }
    let path = format!("/api/v1/campaigns/{id}/test");
    let limited = post(
        &app.client,
        &path,
        &s.api_key,
        None,
        Some(&json!({"phone": phone(10)})),
    )
    .await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    assert_eq!(limited.json()["error"], "rate_limit_exceeded");
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    assert_eq!(
        app.balance(&s.account_id).await,
        90,
        "the 11th is not charged"
    );
    // An hour later (the app's clock) there is room again.
    app.clock.advance(chrono::Duration::minutes(61));
    let (status, body) = test_send(&app, &s.api_key, &id, json!({"phone": phone(10)})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    // Twelve at once on a fresh campaign: the campaign row's lock lets ten through.
    let other = app.create_campaign(&s.api_key, 1).await;
    let tries = (0..12).map(|i| test_send(&app, &s.api_key, &other, json!({"phone": phone(i)})));
    let answers = futures::future::join_all(tries).await;
    let accepted = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    let limited = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((accepted, limited), (10, 2), "{answers:?}");
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM messages WHERE campaign_id = '{other}' AND test"
        ))
        .await,
        10
    );
    assert_eq!(app.balance(&s.account_id).await, 79);
    assert_eq!(app.ledger_sum(&s.account_id).await, 79);
}

#[tokio::test]
async fn an_idempotency_key_sends_one_test_message() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let id = app.create_campaign(&s.api_key, 1).await;
    let path = format!("/api/v1/campaigns/{id}/test");
    let body = json!({"phone": phone(3), "body_data": {"1": "Grace"}});
    let first = post(&app.client, &path, &s.api_key, Some(b"test-1"), Some(&body)).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    let again = post(&app.client, &path, &s.api_key, Some(b"test-1"), Some(&body)).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert!(again.replayed() && !first.replayed());
    assert_eq!(again.text, first.text);
    let changed = json!({"phone": phone(4)});
    let reused = post(
        &app.client,
        &path,
        &s.api_key,
        Some(b"test-1"),
        Some(&changed),
    )
    .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM messages WHERE test")
            .await,
        1
    );
    assert_eq!(app.balance(&s.account_id).await, 99);
}

#[tokio::test]
async fn a_test_message_whose_job_redis_lost_is_sent_by_the_reconciler() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let id = app.create_campaign(&s.api_key, 1).await;
    let (status, body) = test_send(&app, &s.api_key, &id, json!({"phone": phone(5)})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let mid = body["message_id"].as_str().unwrap().to_owned();
    // Its job is gone, and it fell due a while ago.
    let mut conn = app.queues.conn();
    let keys: Vec<String> = redis::AsyncCommands::keys(&mut conn, format!("{}:test:*", app.prefix))
        .await
        .unwrap();
    assert!(!keys.is_empty());
    let _: () = redis::AsyncCommands::del(&mut conn, keys).await.unwrap();
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    use waplify_shared::db::entities::message;
    let due = chrono::Utc::now() - chrono::Duration::minutes(1);
    message::Entity::update_many()
        .col_expr(message::Column::NextAttemptAt, Expr::value(due))
        .filter(message::Column::Id.eq(waplify_shared::ids::MessageId::parse(&mid).unwrap()))
        .exec(&app.tdb.db)
        .await
        .unwrap();
    let fake = Fake::new(FakeConfig::default());
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let worker = app.start_worker(app.worker_config(&url)).await;
    waplify_tests::eventually(
        std::time::Duration::from_secs(30),
        "the test message sent",
        || async {
            let n = app
                .scalar_i64(&format!(
                    "SELECT COUNT(*) FROM messages WHERE id = '{mid}' AND status = 'sent'"
                ))
                .await;
            (n == 1).then_some(())
        },
    )
    .await;
    // A few more passes push nothing that sends it again.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(fake.calls().get(&mid), Some(&1));
    worker.shutdown().await;
}

#[tokio::test]
async fn status_callbacks_move_a_test_message_but_not_the_campaigns_counts() {
    use waplify_tests::whatsapp::{all_applied, notification, post_raw, sign, status_object};
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 1000).await;
    let fake = Fake::new(FakeConfig::default());
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = app.create_campaign(&s.api_key, 2).await;
    let (status, body) = test_send(&app, &s.api_key, &id, json!({"phone": phone(1)})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let mid = body["message_id"].as_str().unwrap().to_owned();
    let sent = format!("SELECT COUNT(*) FROM messages WHERE id = '{mid}' AND status = 'sent'");
    waplify_tests::eventually(std::time::Duration::from_secs(30), "sent", || async {
        (app.scalar_i64(&sent).await == 1).then_some(())
    })
    .await;
    let wamid = app
        .scalar_text(&format!("SELECT wamid FROM messages WHERE id = '{mid}'"))
        .await;
    let reply = json!({"from": "15550000000", "id": "wamid.in1", "timestamp": "1700000100",
        "type": "text", "text": {"body": "looks good"}, "context": {"from": "15550000000", "id": wamid}});
    let statuses = vec![
        status_object(&wamid, "delivered"),
        status_object(&wamid, "read"),
    ];
    for body in [
        notification(statuses, vec![]),
        notification(vec![], vec![reply]),
    ] {
        let signature = sign(waplify_tests::app::APP_SECRET, &body);
        assert_eq!(
            post_raw(&app, &body, Some(&signature)).await.0,
            StatusCode::OK
        );
    }
    all_applied(&app).await;
    assert_eq!(app.scalar_i64(&format!("SELECT COUNT(*) FROM messages WHERE id = '{mid}' AND status = 'read' AND delivered_at IS NOT NULL AND read_at IS NOT NULL AND replied_at IS NOT NULL")).await, 1);
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM message_events WHERE message_id = '{mid}'"
        ))
        .await,
        4
    );
    let stats = app.stats(&s.api_key, &id).await;
    for count in [
        "sent_count",
        "delivered_count",
        "read_count",
        "replied_count",
    ] {
        assert_eq!(stats[count], 0, "{count}: {stats}");
    }
    app.tdb.assert_counts_consistent().await;
    worker.shutdown().await;
}
