//! `Idempotency-Key` on the POSTs that create or start something: a retry gets the first
//! answer and the operation runs once; the key is per account, for 24 hours, refused
//! for another request (422) and while the first still runs (409). (Races with a first
//! request held by a lock: `idempotency_races.rs`.)

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_tests::idempotency::{Answer, age, post, rows};
use waplify_tests::{TestApp, seed, spawn_app};

const CAMPAIGNS: &str = "/api/v1/campaigns";

fn campaign(name: &str) -> Value {
    json!({
        "name": name,
        "template_name": "welcome",
        "body_data": {"1": "Ada"},
        "contacts": [{"phone": "15550000001"}, {"phone": "15550000002"}],
    })
}

async fn create(app: &TestApp, api_key: &str, idem: Option<&str>, body: &Value) -> Answer {
    post(app, CAMPAIGNS, api_key, idem.map(str::as_bytes), Some(body)).await
}

async fn campaigns(app: &TestApp) -> i64 {
    app.scalar_i64("SELECT COUNT(*) FROM campaigns").await
}

#[tokio::test]
async fn a_retry_gets_the_first_answer_and_the_campaign_is_created_once() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let first = create(&app, &s.api_key, Some("order-42"), &campaign("Spring")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert!(!first.replayed());
    // The same request written differently (key order) is the same request.
    let reordered = json!({
        "contacts": [{"phone": "15550000001"}, {"phone": "15550000002"}],
        "body_data": {"1": "Ada"},
        "template_name": "welcome",
        "name": "Spring",
    });
    let retry = create(&app, &s.api_key, Some("order-42"), &reordered).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert_eq!(retry.text, first.text, "the same body, byte for byte");
    assert!(retry.replayed(), "{:?}", retry.headers);
    assert_eq!(retry.header("content-type"), first.header("content-type"));
    assert!(retry.header("x-request-id").is_some());
    assert_ne!(retry.header("x-request-id"), first.header("x-request-id"));
    assert!(
        retry.header("x-ratelimit-remaining").is_some(),
        "still counted"
    );
    assert_eq!(campaigns(&app).await, 1);
    assert_eq!(rows(&app.tdb.db).await, 1);
}

#[tokio::test]
async fn a_body_with_a_map_is_the_same_request_on_every_retry() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    // A map of several variables (the template has one, so the answer is a stored
    // 400): the server's map keeps no order of its own from one request to the next.
    let mut body = campaign("Maps");
    body["body_data"] = json!({"1": "Ada", "2": "b", "3": "c", "4": "d", "5": "e"});
    let first = create(&app, &s.api_key, Some("maps-1"), &body).await;
    assert_eq!(first.status, StatusCode::BAD_REQUEST, "{}", first.text);
    for _ in 0..5 {
        let retry = create(&app, &s.api_key, Some("maps-1"), &body).await;
        assert!(retry.replayed(), "{} {}", retry.status, retry.text);
        assert_eq!(retry.text, first.text);
    }
}

#[tokio::test]
async fn send_with_a_key_reserves_credits_once() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 80).await;
    let id = app.create_campaign(&s.api_key, 3).await;
    let path = format!("{CAMPAIGNS}/{id}/send");
    let first = post(&app, &path, &s.api_key, Some(b"send-1"), None).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.text);
    let retry = post(&app, &path, &s.api_key, Some(b"send-1"), None).await;
    assert_eq!(retry.status, StatusCode::ACCEPTED, "{}", retry.text);
    assert!(retry.replayed());
    assert_eq!(retry.json()["task_id"], first.json()["task_id"]);
    assert_eq!(app.balance(&s.account_id).await, 7);
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'reserve'")
            .await,
        1
    );
    // Without the key, the operation runs and answers as it always did.
    let again = post(&app, &path, &s.api_key, None, None).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert!(!again.replayed());
}

#[tokio::test]
async fn the_key_used_for_another_request_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let first = create(&app, &s.api_key, Some("k1"), &campaign("Spring")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let id = first.json()["campaign_id"].as_str().unwrap().to_owned();
    let before = app.row_counts().await;
    let other_body = create(&app, &s.api_key, Some("k1"), &campaign("Autumn")).await;
    let other_op = post(
        &app,
        &format!("{CAMPAIGNS}/{id}/send"),
        &s.api_key,
        Some(b"k1"),
        None,
    )
    .await;
    for refused in [other_body, other_op] {
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.text
        );
        let body = refused.json();
        assert_eq!(body["error"], "idempotency_key_reused");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key")
        );
        assert!(body["request_id"].is_string() && body["timestamp"].is_string());
        assert!(!refused.replayed());
    }
    assert_eq!(app.row_counts().await, before);
    let retry = create(&app, &s.api_key, Some("k1"), &campaign("Spring")).await;
    assert_eq!((retry.status, retry.text), (first.status, first.text));
}

#[tokio::test]
async fn another_account_uses_the_same_key_independently() {
    let app = spawn_app().await;
    let a = seed(&app.tdb.db, 100, 80).await;
    let b = seed(&app.tdb.db, 100, 80).await;
    let of_a = create(&app, &a.api_key, Some("shared"), &campaign("A")).await;
    let of_b = create(&app, &b.api_key, Some("shared"), &campaign("B")).await;
    assert_eq!(of_b.status, StatusCode::OK, "{}", of_b.text);
    assert!(!of_b.replayed(), "B's request ran: {}", of_b.text);
    assert_ne!(of_b.json()["campaign_id"], of_a.json()["campaign_id"]);
    let retry_a = create(&app, &a.api_key, Some("shared"), &campaign("A")).await;
    assert!(retry_a.replayed());
    assert_eq!(retry_a.text, of_a.text);
    assert_eq!(campaigns(&app).await, 2);
}

#[tokio::test]
async fn a_malformed_key_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let before = app.row_counts().await;
    let long = "k".repeat(256);
    for bad in [long.as_bytes(), b"", "clé".as_bytes(), b"a\tb"] {
        let refused = post(&app, CAMPAIGNS, &s.api_key, Some(bad), Some(&campaign("X"))).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{bad:?}: {}",
            refused.text
        );
        let body = refused.json();
        assert_eq!(body["error"], "bad_request");
        assert_eq!(
            body["message"],
            "Invalid Idempotency-Key: give one key of 1 to 255 printable ASCII characters"
        );
    }
    // Two keys in one request are as bad as a malformed one.
    let two = app
        .client
        .http
        .post(app.url(CAMPAIGNS))
        .bearer_auth(&s.api_key)
        .header("Idempotency-Key", "a")
        .header("Idempotency-Key", "b")
        .json(&campaign("X"))
        .send()
        .await
        .unwrap();
    assert_eq!(two.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.row_counts().await, before);
    let longest = "k".repeat(255);
    let fine = create(&app, &s.api_key, Some(&longest), &campaign("X")).await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.text);
}

#[tokio::test]
async fn without_a_key_every_request_runs() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    for _ in 0..2 {
        let made = create(&app, &s.api_key, None, &campaign("Spring")).await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.text);
        assert!(!made.replayed());
    }
    assert_eq!(campaigns(&app).await, 2);
    assert_eq!(rows(&app.tdb.db).await, 0);
}

#[tokio::test]
async fn a_refusal_is_stored_and_replayed_too() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let id = app.create_campaign(&s.api_key, 2).await;
    let pause = format!("{CAMPAIGNS}/{id}/pause");
    let first = post(&app, &pause, &s.api_key, Some(b"p"), None).await;
    assert_eq!(
        first.status,
        StatusCode::CONFLICT,
        "a draft cannot be paused"
    );
    assert_eq!(first.json()["error"], "conflict");
    let retry = post(&app, &pause, &s.api_key, Some(b"p"), None).await;
    assert_eq!((retry.status, &retry.text), (first.status, &first.text));
    assert!(retry.replayed());
}

#[tokio::test]
async fn an_answer_older_than_24_hours_is_not_replayed_and_is_purged() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let first = create(&app, &s.api_key, Some("daily"), &campaign("Spring")).await;
    let db = &app.tdb.db;
    age(db, &s.account_id, "daily", Duration::hours(23)).await;
    let within = create(&app, &s.api_key, Some("daily"), &campaign("Spring")).await;
    assert!(within.replayed(), "23 hours old: still replayed");
    age(
        db,
        &s.account_id,
        "daily",
        Duration::hours(24) + Duration::seconds(1),
    )
    .await;
    // Past 24 hours the key is free again, even for another request.
    let later = create(&app, &s.api_key, Some("daily"), &campaign("Autumn")).await;
    assert_eq!(later.status, StatusCode::OK, "{}", later.text);
    assert!(!later.replayed());
    assert_ne!(later.json()["campaign_id"], first.json()["campaign_id"]);
    assert_eq!(campaigns(&app).await, 2);

    let now = chrono::Utc::now();
    let purge = waplify_shared::idempotency::purge;
    assert_eq!(purge(db, now).await.unwrap(), 0, "a fresh row stays");
    age(
        db,
        &s.account_id,
        "daily",
        Duration::hours(24) + Duration::seconds(1),
    )
    .await;
    assert_eq!(purge(db, chrono::Utc::now()).await.unwrap(), 1);
    assert_eq!(rows(db).await, 0);
}
