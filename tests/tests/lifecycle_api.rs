//! The lifecycle operations over HTTP: changing a draft or scheduled campaign, local
//! schedule times and sending windows (checked across hours with the app's movable
//! clock), and the 400/404/409 answers of every new operation, tenant by tenant.

use std::time::Duration;

use chrono::{SecondsFormat, Timelike, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_tests::app::phone;
use waplify_tests::{Fake, FakeConfig, Seeded, TestApp, seed, spawn_app};

async fn create(app: &TestApp, s: &Seeded, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({
        "name": "Lifecycle", "template_name": "welcome", "body_data": {"1": "Ada"},
        "contacts": (0..5).map(|i| json!({"phone": phone(i)})).collect::<Vec<_>>(),
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post("/api/v1/campaigns", Some(&s.api_key), Some(body))
        .await
}

fn instant(v: &Value) -> chrono::DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

fn hours_ahead(h: i64) -> String {
    (Utc::now() + chrono::Duration::hours(h)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn a_draft_is_scheduled_changed_and_made_a_draft_again() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 100).await;
    let (_, created) = create(&app, &s, json!({})).await;
    let id = created["campaign_id"].as_str().unwrap();
    let path = format!("/api/v1/campaigns/{id}");

    let (status, body) = app
        .patch(&path, Some(&s.api_key), json!({
            "name": "Renamed", "scheduled_at": "2031-03-30T02:30:00",
            "scheduled_timezone": "Europe/Berlin",
            "send_window": {"start": "09:00", "end": "18:00", "timezone": "America/Sao_Paulo", "days": ["mon", "fri"]},
        }))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "Berlin skips 02:30 that night: {body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not exist in Europe/Berlin"),
        "{body}"
    );
    assert_eq!(
        app.get(&path, Some(&s.api_key)).await.1["name"],
        "Lifecycle",
        "nothing changed"
    );

    let (status, body) = app
        .patch(&path, Some(&s.api_key), json!({
            "name": "Renamed", "scheduled_at": "2031-10-26T02:30:00",
            "scheduled_timezone": "Europe/Berlin",
            "send_window": {"start": "09:00", "end": "18:00", "timezone": "America/Sao_Paulo", "days": ["fri", "mon"]},
        }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["campaign_status"], "scheduled");
    assert_eq!(body["name"], "Renamed");
    // 02:30 happens twice in Berlin that night: the earlier one, still summer time.
    assert_eq!(
        instant(&body["scheduled_at"]),
        instant(&json!("2031-10-26T00:30:00Z"))
    );
    assert_eq!(body["scheduled_timezone"], "Europe/Berlin");
    assert_eq!(body["send_window"]["days"], json!(["mon", "fri"]));

    let (status, body) = app.send(&s.api_key, id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Campaign is scheduled to send at 2031-10-26T00:30:00Z"),
        "{body}"
    );

    let (status, body) = app
        .patch(
            &path,
            Some(&s.api_key),
            json!({"scheduled_at": null, "send_window": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["campaign_status"], "draft");
    assert!(
        body.get("scheduled_at").is_none() && body.get("send_window").is_none(),
        "{body}"
    );
    let history = app
        .scalar_i64(&format!(
            "SELECT COUNT(*) FROM campaign_events WHERE campaign_id = '{id}'"
        ))
        .await;
    assert_eq!(history, 2, "draft -> scheduled -> draft");
}

#[tokio::test]
async fn bad_changes_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 100).await;
    let (_, created) = create(&app, &s, json!({})).await;
    let id = created["campaign_id"].as_str().unwrap();
    let path = format!("/api/v1/campaigns/{id}");

    for (body, says) in [
        (
            json!({"scheduled_at": "2020-01-01T00:00:00Z"}),
            "scheduled_at must be in the future",
        ),
        (
            json!({"scheduled_at": hours_ahead(1), "scheduled_timezone": "Mars/Base"}),
            "is not an IANA time zone name",
        ),
        (
            json!({"send_window": {"start": "09:00", "end": "09:00"}}),
            "send_window never opens",
        ),
        (
            json!({"send_window": {"start": "09:00", "end": "18:00", "days": []}}),
            "send_window never opens",
        ),
        (
            json!({"send_window": {"start": "25:00", "end": "18:00"}}),
            "send_window.start",
        ),
    ] {
        let (status, got) = app.patch(&path, Some(&s.api_key), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {got}");
        assert!(
            got["message"].as_str().unwrap().contains(says),
            "{body}: {got}"
        );
    }
    let (status, got) = create(
        &app,
        &s,
        json!({"send_window": {"start": "10:00", "end": "10:00"}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");

    let (_, got) = app.get(&path, Some(&s.api_key)).await;
    assert_eq!(got["campaign_status"], "draft", "{got}");
    assert!(got.get("send_window").is_none(), "{got}");
}

#[tokio::test]
async fn wrong_states_get_409_and_other_tenants_404() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 100).await;
    let other = seed(&app.tdb.db, 1000, 100).await;
    let (_, created) = create(&app, &s, json!({})).await;
    let id = created["campaign_id"].as_str().unwrap();
    let path = format!("/api/v1/campaigns/{id}");
    for action in ["cancel", "pause", "resume"] {
        let (status, got) = app.control(&s.api_key, "not-an-id", action).await;
        assert_eq!(
            (status, got["message"].as_str()),
            (StatusCode::BAD_REQUEST, Some("Invalid campaign_id"))
        );
        let (status, got) = app.control(&other.api_key, id, action).await;
        assert_eq!(
            (status, got["message"].as_str()),
            (StatusCode::NOT_FOUND, Some("Campaign not found"))
        );
    }
    let (status, _) = app
        .patch(&path, Some(&other.api_key), json!({"name": "Theirs"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, got) = app.control(&s.api_key, id, "pause").await;
    assert_eq!(status, StatusCode::CONFLICT, "{got}");
    assert_eq!(
        got["message"],
        "Campaign is draft; only a queued or running campaign can be paused"
    );
    let (status, got) = app.control(&s.api_key, id, "resume").await;
    assert_eq!(
        (status, got["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("Campaign is draft; only a paused campaign can be resumed")
        )
    );
    assert_eq!(
        app.control(&s.api_key, id, "cancel").await.0,
        StatusCode::OK
    );
    let (status, got) = app
        .patch(&path, Some(&s.api_key), json!({"name": "Late"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{got}");
    assert_eq!(
        got["message"],
        "Campaign is cancelled; only a draft or scheduled campaign can be changed"
    );
    let stats = app.stats(&s.api_key, id).await;
    assert_eq!(
        (
            stats["cancelled_count"].as_i64(),
            stats["success_count"].as_i64()
        ),
        (Some(5), Some(0))
    );
}

#[tokio::test]
async fn a_local_schedule_fires_and_a_window_holds_the_campaign_until_it_opens() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 1000, 100).await;
    let fake = Fake::new(FakeConfig::default());
    let (url, _task) = fake.serve("127.0.0.1:0").await.unwrap();
    let tz = chrono_tz::America::Sao_Paulo;
    let local = (Utc::now() + chrono::Duration::hours(3)).with_timezone(&tz);
    // Opens five hours from now (São Paulo time), for an hour, every day.
    let opens = (Utc::now() + chrono::Duration::hours(5)).with_timezone(&tz);
    let window = json!({
        "start": opens.format("%H:%M").to_string(),
        "end": (opens + chrono::Duration::hours(1)).format("%H:%M").to_string(),
        "timezone": "America/Sao_Paulo",
    });
    let (status, created) = create(
        &app,
        &s,
        json!({
            "scheduled_at": local.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "scheduled_timezone": "America/Sao_Paulo", "send_window": window,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["campaign_id"].as_str().unwrap();
    let (_, got) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    let utc_at = local.with_timezone(&Utc).with_nanosecond(0).unwrap();
    assert_eq!(instant(&got["scheduled_at"]), utc_at, "{got}");
    let worker = app.start_worker(app.worker_config(&url)).await;

    app.clock
        .advance(chrono::Duration::hours(3) + chrono::Duration::seconds(5));
    app.wait_for_status(&s.api_key, id, "running", Duration::from_secs(30))
        .await;
    let stats = app.stats(&s.api_key, id).await;
    assert_eq!(stats["waiting_for_window"], true, "{stats}");
    let next: chrono::DateTime<Utc> = stats["next_window_at"].as_str().unwrap().parse().unwrap();
    assert!(next > app.clock.now(), "{stats}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        fake.counters().requests,
        0,
        "nothing is sent outside the window"
    );

    app.clock.advance(chrono::Duration::hours(2));
    let stats = app
        .wait_for_status(&s.api_key, id, "completed", Duration::from_secs(60))
        .await;
    assert_eq!(stats["sent_count"], 5, "{stats}");
    assert_eq!(stats["waiting_for_window"], false);
    assert_eq!(fake.counters().unique_recipients, 5);
    worker.shutdown().await;
}
