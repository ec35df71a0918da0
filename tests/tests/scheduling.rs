//! Scheduled campaigns send themselves at `scheduled_at`: through the same prechecks
//! and reservation as `send_campaign`, once however many workers look, after restarts
//! and a Redis wipe, and `failed` with the reason when a precheck fails at that time.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::json;
use waplify_tests::app::phone;
use waplify_tests::receiver::{Receiver, wait_received};
use waplify_tests::{Fake, FakeConfig, Seeded, TestApp, seed, spawn_app};

async fn fake() -> (Fake, String) {
    let fake = Fake::new(FakeConfig::default());
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    (fake, url)
}

/// A campaign of `n` recipients scheduled `secs` seconds from now.
async fn schedule(app: &TestApp, s: &Seeded, n: usize, secs: i64) -> String {
    let at =
        (Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let contacts: Vec<_> = (0..n).map(|i| json!({ "phone": phone(i) })).collect();
    let (status, body) = app
        .post(
            "/api/v1/campaigns",
            Some(&s.api_key),
            Some(json!({
                "name": "Scheduled", "template_name": "welcome", "body_data": {"1": "Ada"},
                "contacts": contacts, "scheduled_at": at,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status_value"], "scheduled");
    body["campaign_id"].as_str().unwrap().to_owned()
}

async fn reservations(app: &TestApp, campaign_id: &str) -> i64 {
    app.scalar_i64(&format!(
        "SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'reserve' AND campaign_id = '{campaign_id}'"
    ))
    .await
}

#[tokio::test]
async fn a_scheduled_campaign_sends_itself_once_with_three_workers() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let (fake, url) = fake().await;
    let ids = [
        schedule(&app, &s, 20, 2).await,
        schedule(&app, &s, 20, 3).await,
    ];
    let (status, body) = app.send(&s.api_key, &ids[0]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Campaign is scheduled to send at 20"),
        "{body}"
    );
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(app.start_worker(app.worker_config(&url)).await);
    }
    for id in &ids {
        let stats = app
            .wait_for_status(&s.api_key, id, "completed", Duration::from_secs(60))
            .await;
        assert_eq!(stats["sent_count"], 20, "{stats}");
        assert_eq!(reservations(&app, id).await, 1);
        let (_, got) = app
            .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
            .await;
        assert!(got["task_id"].is_string(), "{got}");
        assert!(got["queued_at"].is_string(), "{got}");
        assert!(got.get("failure_reason").is_none(), "{got}");
    }
    let c = fake.counters();
    assert_eq!((c.unique_recipients, c.duplicates), (20, 0));
    assert_eq!(c.accepted, 40);
    assert_eq!(app.balance(&s.account_id).await, 1000 - 40);
    for w in workers {
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_schedule_survives_worker_restarts_and_a_redis_wipe() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let (fake, url) = fake().await;
    let worker = app.start_worker(app.worker_config(&url)).await;
    let id = schedule(&app, &s, 10, 4).await;
    worker.shutdown().await;
    // Nothing of the schedule lives in Redis: wiping every key under the prefix
    // before the time changes nothing.
    let mut conn = app.queues.conn();
    let keys: Vec<String> = conn.keys(format!("{}:*", app.prefix)).await.unwrap();
    if !keys.is_empty() {
        let _: () = conn.del(&keys).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, got) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    assert_eq!(got["campaign_status"], "scheduled", "no worker yet: {got}");
    let worker = app.start_worker(app.worker_config(&url)).await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["sent_count"], 10, "{stats}");
    assert_eq!(reservations(&app, &id).await, 1);
    assert_eq!(fake.counters().unique_recipients, 10);
    worker.shutdown().await;
}

#[tokio::test]
async fn a_failing_precheck_at_the_scheduled_time_fails_the_campaign_with_the_reason() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    let (fake, url) = fake().await;
    let (receiver, hook_url) = Receiver::start().await;
    let (status, body) = app
        .post(
            "/api/v1/webhooks",
            Some(&s.api_key),
            Some(json!({"name": "Ops", "url": hook_url, "events": ["campaign.failed", "message.failed"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = schedule(&app, &s, 5, 2).await;
    let template_id = app
        .scalar_text("SELECT id FROM templates WHERE name = 'welcome'")
        .await;
    waplify_shared::admin::template_set_status(&app.tdb.db, &template_id, "PAUSED")
        .await
        .unwrap();
    let worker = app.start_worker(app.worker_config(&url)).await;
    let stats = app
        .wait_for_status(&s.api_key, &id, "failed", Duration::from_secs(30))
        .await;
    assert_eq!(stats["sent_count"], 0, "{stats}");
    let got =
        waplify_tests::eventually(Duration::from_secs(30), "the campaign settled", || async {
            let (_, got) = app
                .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
                .await;
            got["completed_at"].is_string().then_some(got)
        })
        .await;
    let reason = "Campaign cannot be sent: template is not APPROVED";
    assert_eq!(got["error_message"], reason);
    assert_eq!(got["failure_reason"], reason);
    assert_eq!(app.stats(&s.api_key, &id).await["failure_reason"], reason);
    assert_eq!(reservations(&app, &id).await, 0);
    assert_eq!(app.balance(&s.account_id).await, 1000);
    assert_eq!(fake.counters().requests, 0);
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT COUNT(*) FROM messages WHERE campaign_id = '{id}' AND status = 'failed'"
        ))
        .await,
        5
    );
    // One campaign.failed with the reason, and one message.failed per recipient.
    let got = wait_received(&receiver, 6, Duration::from_secs(30)).await;
    let failed: Vec<_> = got
        .iter()
        .map(|r| r.json())
        .filter(|e| e["event"] == "campaign.failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["campaign"]["failure_reason"], reason);
    assert_eq!(failed[0]["campaign"]["previous_status"], "scheduled");
    worker.shutdown().await;
}

/// The scheduler reads due campaigns, then queues each: a campaign made a draft again,
/// or moved later, in between is not queued from the stale read.
#[tokio::test]
async fn a_schedule_changed_after_the_scheduler_read_it_is_not_queued() {
    use waplify_shared::db::entities::campaign;
    use waplify_shared::ids::CampaignId;
    use waplify_shared::sea_orm::EntityTrait;
    use waplify_shared::sending::{self, Refused};

    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 1000).await;
    for change in [
        json!({"scheduled_at": null}),
        json!({"scheduled_at": "2031-01-01T00:00:00Z"}),
    ] {
        let id = schedule(&app, &s, 3, 60).await;
        let read = campaign::Entity::find_by_id(CampaignId::parse(&id).unwrap())
            .one(&app.tdb.db)
            .await
            .unwrap()
            .unwrap();
        let (status, body) = app
            .patch(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key), change)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let queued = sending::queue(&app.tdb.db, &read, 1, Utc::now())
            .await
            .unwrap();
        assert_eq!(queued, Err(Refused::Moved), "{body}");
        assert_eq!(reservations(&app, &id).await, 0);
    }
    assert_eq!(app.balance(&s.account_id).await, 1000);
}
