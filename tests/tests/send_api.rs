//! `POST /campaigns/{id}/send`: prechecks, the draft-only rule, concurrency, the
//! credit reservation, and sending while Redis is down.

use std::time::Duration;

use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::json;
use waplify_tests::procs::RedisServer;
use waplify_tests::{Fake, FakeConfig, seed, spawn_app};

#[tokio::test]
async fn send_accepts_a_draft_reserves_credits_and_pushes_one_dispatch_job() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 80).await;
    let id = app.create_campaign(&s.api_key, 3).await;
    let (status, body) = app.send(&s.api_key, &id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "accepted");
    assert_eq!(
        body["message"],
        "Campaign send queued and will run in background"
    );
    assert_eq!(body["campaign_id"], id.as_str());
    let task_id = body["task_id"].as_str().unwrap().to_owned();
    assert_eq!(task_id.len(), 26, "a ULID: {task_id}");

    let (_, got) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    assert_eq!(got["campaign_status"], "queued");
    assert_eq!(got["task_id"], task_id.as_str());
    assert_eq!(got["credits_reserved"], 3);
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT balance FROM accounts WHERE id = '{}'",
            s.account_id
        ))
        .await,
        7
    );
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'reserve' AND amount = -3")
            .await,
        1
    );

    // The job is in Redis under the returned task id, findable by the ops scripts' Lua.
    let info = app
        .queues
        .task(&task_id)
        .await
        .unwrap()
        .expect("task in Redis");
    assert_eq!(info.queue, "dispatch");
    assert_eq!(info.args["campaign_id"], id.as_str());
    let stored: bool = app
        .queues
        .conn()
        .hexists(format!("{}:dispatch:data", app.prefix), &task_id)
        .await
        .unwrap();
    assert!(stored, "the job is stored under the test's prefix");

    let (status, body) = app.send(&s.api_key, &id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "conflict");
    assert_eq!(
        body["message"],
        "Campaign is queued; only a draft campaign can be changed or sent"
    );
}

#[tokio::test]
async fn concurrent_sends_of_one_draft_accept_exactly_once() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 80).await;
    let id = app.create_campaign(&s.api_key, 5).await;
    let sends = (0..8).map(|_| app.send(&s.api_key, &id));
    let results = futures::future::join_all(sends).await;
    let accepted = results
        .iter()
        .filter(|(st, _)| *st == StatusCode::ACCEPTED)
        .count();
    let conflicts = results
        .iter()
        .filter(|(st, _)| *st == StatusCode::CONFLICT)
        .count();
    assert_eq!((accepted, conflicts), (1, 7), "{results:?}");
    let mut conn = app.queues.conn();
    let jobs: u64 = conn
        .hlen(format!("{}:dispatch:data", app.prefix))
        .await
        .unwrap();
    assert_eq!(jobs, 1, "exactly one dispatch job");
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'reserve'")
            .await,
        1
    );
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT balance FROM accounts WHERE id = '{}'",
            s.account_id
        ))
        .await,
        995
    );
}

#[tokio::test]
async fn prechecks_refuse_with_their_reasons_and_change_nothing() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 80).await;
    let db = &app.tdb.db;

    // Insufficient credits.
    let big = app.create_campaign(&s.api_key, 11).await;
    let before = app.row_counts().await;
    let (status, body) = app.send(&s.api_key, &big).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["message"],
        "Campaign cannot be sent: insufficient wallet credits (need 11, have 10)"
    );
    assert_eq!(app.row_counts().await, before);

    let id = app.create_campaign(&s.api_key, 1).await;
    let refused = |reason: &'static str| {
        let (app, key, id) = (&app, s.api_key.clone(), id.clone());
        async move {
            let (status, body) = app.send(&key, &id).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(
                body["message"],
                format!("Campaign cannot be sent: {reason}")
            );
        }
    };
    let sql = |statement: &'static str| sea_orm::ConnectionTrait::execute_unprepared(db, statement);

    // Template no longer approved.
    let template_id = app_template_id(&app).await;
    waplify_shared::admin::template_set_status(db, &template_id, "PAUSED")
        .await
        .unwrap();
    refused("template is not APPROVED").await;
    waplify_shared::admin::template_set_status(db, &template_id, "APPROVED")
        .await
        .unwrap();

    // Media now required by the template but not on the campaign.
    sql("UPDATE templates SET header_format = 'IMAGE'")
        .await
        .unwrap();
    refused("media is missing").await;
    sql("UPDATE templates SET header_format = 'NONE'")
        .await
        .unwrap();

    // Number deactivated.
    waplify_shared::admin::number_set_status(db, &s.number_id, "inactive")
        .await
        .unwrap();
    refused("WhatsApp account is inactive").await;
    waplify_shared::admin::number_set_status(db, &s.number_id, "active")
        .await
        .unwrap();

    let (_, got) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    assert_eq!(
        got["campaign_status"], "draft",
        "refused sends leave the draft alone"
    );
    let (status, body) = app.send(&s.api_key, &id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

async fn app_template_id(app: &waplify_tests::TestApp) -> String {
    app.tdb
        .scalar("SELECT id FROM templates WHERE name = 'welcome'")
        .await
}

#[tokio::test]
async fn only_drafts_can_be_sent_or_extended() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let (status, created) = app
        .post(
            "/api/v1/campaigns",
            Some(&s.api_key),
            Some(json!({
                "name": "later", "template_name": "welcome", "body_data": {"1": "x"},
                "contacts": [{"phone": "15550000001"}], "scheduled_at": "2099-01-01T00:00:00Z",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let scheduled = created["campaign_id"].as_str().unwrap();
    let (status, body) = app.send(&s.api_key, scheduled).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["message"],
        "Campaign is scheduled to send at 2099-01-01T00:00:00Z; only a draft campaign can be changed or sent"
    );
    let (status, body) = app
        .post(
            &format!("/api/v1/campaigns/{scheduled}/contacts"),
            Some(&s.api_key),
            Some(json!({"contacts": [{"phone": "15550000002"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn adding_contacts_deduplicates_against_the_campaign() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let id = app.create_campaign(&s.api_key, 3).await;
    let path = format!("/api/v1/campaigns/{id}/contacts");
    let (status, body) = app
        .post(
            &path,
            Some(&s.api_key),
            Some(json!({"contacts": [
                {"phone": waplify_tests::app::phone(0)},
                {"phone": "+1 555 999 0000", "name": "New"},
                {"phone": "15559990000"},
                {"phone": "bogus"},
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["added"], 1);
    assert_eq!(body["duplicates"], 2);
    assert_eq!(body["invalid_phones"], json!(["bogus"]));
    assert_eq!(body["total_contacts"], 4);
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM messages WHERE campaign_id = '{id}'"
        ))
        .await,
        4
    );
    let before = app.row_counts().await;
    let (status, body) = app
        .post(
            &path,
            Some(&s.api_key),
            Some(json!({"contacts": [{"phone": "x"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["message"],
        "No valid contacts could be resolved from the provided phone numbers"
    );
    let (status, _) = app
        .post(&path, Some(&s.api_key), Some(json!({"contacts": []})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.row_counts().await, before);
    // The send pays for every recipient, including the appended one.
    let (status, _) = app.send(&s.api_key, &id).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        app.scalar_i64("SELECT credits_reserved FROM campaigns")
            .await,
        4
    );
}

#[tokio::test]
async fn send_while_redis_is_down_succeeds_and_the_reconciler_pushes_the_same_task() {
    let mut redis = RedisServer::start();
    let app = waplify_tests::app::spawn_app_with(&redis.url()).await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let id = app.create_campaign(&s.api_key, 5).await;
    redis.stop();
    let (status, body) = app.send(&s.api_key, &id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let task_id = body["task_id"].as_str().unwrap().to_owned();
    let (_, got) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    assert_eq!(got["campaign_status"], "queued");

    redis.restart();
    let fake = Fake::new(FakeConfig::default());
    let (fake_url, _server) = fake.serve("127.0.0.1:0").await.unwrap();
    let worker = app.start_worker(app.worker_config(&fake_url)).await;
    waplify_tests::eventually(
        Duration::from_secs(20),
        "the dispatch job under the original task id",
        || async { app.queues.task(&task_id).await.ok().flatten() },
    )
    .await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(30))
        .await;
    assert_eq!(stats["sent_count"], 5);
    assert_eq!(fake.counters().unique_recipients, 5);
    worker.shutdown().await;
}
