//! Creating, listing and reading campaigns over real HTTP, with their documented errors
//! (refused creations are in `refused_requests.rs`).

use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_tests::times::assert_api_times;
use waplify_tests::{seed, spawn_app};

fn body(contacts: Value) -> Value {
    json!({
        "name": "Spring sale",
        "description": "For the newsletter list",
        "template_name": "welcome",
        "body_data": {"1": "Ada"},
        "contacts": contacts,
    })
}

#[tokio::test]
async fn creates_a_draft_with_normalised_deduplicated_contacts() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let (status, b) = app
        .post(
            "/api/v1/campaigns",
            Some(&s.api_key),
            Some(body(json!([
                {"phone": "+1 555-000-0001", "name": "Ada"},
                {"phone": "15550000001", "name": "Ada again"},
                {"phone": "447700 900123"},
                {"phone": "not a phone"},
                {"phone": "0123456789"},
            ]))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "success");
    assert_eq!(b["message"], "Campaign created successfully");
    assert_eq!(b["status_value"], "draft");
    assert_eq!(b["total_contacts"], 2);
    assert_eq!(b["invalid_phones"], json!(["not a phone", "0123456789"]));
    let id = b["campaign_id"].as_str().unwrap();
    assert_eq!(id.len(), 24);

    let (status, got) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["campaign_status"], "draft");
    assert_eq!(got["template_name"], "welcome");
    assert_eq!(got["body_data"], json!({"1": "Ada"}));
    assert_eq!(got["total_contacts"], 2);
    assert!(
        got.get("task_id").is_none(),
        "absent optional fields are omitted: {got}"
    );

    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM messages").await, 2);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM contacts").await, 2);
    assert_eq!(
        app.scalar_i64(
            "SELECT COUNT(*) FROM contacts WHERE phone = '15550000001' AND name = 'Ada'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn contacts_are_shared_across_campaigns_of_an_account() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    for _ in 0..2 {
        let (status, b) = app
            .post(
                "/api/v1/campaigns",
                Some(&s.api_key),
                Some(body(json!([{"phone": "15550000001"}]))),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{b}");
    }
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM contacts").await, 1);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM messages").await, 2);
}

#[tokio::test]
async fn scheduled_campaigns_are_stored_as_scheduled() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let mut b = body(json!([{"phone": "15550000001"}]));
    b["scheduled_at"] = json!("2099-01-01T09:00:00+01:00");
    b["scheduled_timezone"] = json!("Europe/Berlin");
    let (status, created) = app
        .post("/api/v1/campaigns", Some(&s.api_key), Some(b))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["status_value"], "scheduled");
    let id = created["campaign_id"].as_str().unwrap();
    let (_, got) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    assert_eq!(got["campaign_status"], "scheduled");
    assert_eq!(got["scheduled_timezone"], "Europe/Berlin");
    assert_eq!(got["scheduled_at"], "2099-01-01T08:00:00.000Z", "{got}");
    assert!(assert_api_times(&got) >= 2, "{got}");
}

#[tokio::test]
async fn lists_with_pagination_and_status_filter() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(app.create_campaign(&s.api_key, 1).await);
    }
    let (status, page) = app
        .get("/api/v1/campaigns?page=1&limit=2", Some(&s.api_key))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 3);
    assert_eq!(page["page"], 1);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        page["items"][0]["campaign_id"],
        ids[2].as_str(),
        "newest first"
    );
    let (_, page2) = app
        .get("/api/v1/campaigns?page=2&limit=2", Some(&s.api_key))
        .await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_eq!(page2["items"][0]["campaign_id"], ids[0].as_str());
    let (_, drafts) = app
        .get("/api/v1/campaigns?status=draft", Some(&s.api_key))
        .await;
    assert_eq!(drafts["total"], 3);
    let (_, running) = app
        .get("/api/v1/campaigns?status=running", Some(&s.api_key))
        .await;
    assert_eq!(running["total"], 0);
    for bad in [
        "limit=0",
        "limit=101",
        "page=0",
        "status=halted",
        "limit=abc",
    ] {
        let (status, got) = app
            .get(&format!("/api/v1/campaigns?{bad}"), Some(&s.api_key))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {got}");
        assert_eq!(got["error"], "bad_request");
    }
}

#[tokio::test]
async fn authentication_and_account_isolation() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let other = seed(&app.tdb.db, 100, 80).await;
    let id = app.create_campaign(&s.api_key, 1).await;
    let paths = [
        format!("/api/v1/campaigns/{id}"),
        format!("/api/v1/campaigns/{id}/stats"),
        "/api/v1/campaigns".to_string(),
    ];
    let unauthorized = json!({"error": "unauthorized", "message": "Invalid or expired API key"});
    let malformed = "wapl_short".to_string();
    let unknown = waplify_shared::apikey::ApiKey::generate()
        .expose()
        .to_owned();
    for path in &paths {
        for key in [None, Some(malformed.as_str()), Some(unknown.as_str())] {
            let (status, b) = app.get(path, key).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} {key:?}: {b}");
            assert_eq!(b["error"], unauthorized["error"]);
            assert_eq!(b["message"], unauthorized["message"]);
        }
    }
    // Another account's campaign is indistinguishable from a missing one.
    let (status, b) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&other.api_key))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(b["message"], "Campaign not found");
    let (status, b) = app.send(&other.api_key, &id).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{b}");
    let (_, listed) = app.get("/api/v1/campaigns", Some(&other.api_key)).await;
    assert_eq!(listed["total"], 0);

    // A revoked key stops working at once.
    let prefix = &s.api_key[..waplify_shared::apikey::PREFIX_LEN];
    waplify_shared::admin::key_revoke(&app.tdb.db, prefix)
        .await
        .expect("revoke");
    let (status, b) = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&s.api_key))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{b}");
}

#[tokio::test]
async fn malformed_and_unknown_campaign_ids() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    for path in [
        "/api/v1/campaigns/abc",
        "/api/v1/campaigns/ABCDEF0123456789ABCDEF01/stats",
        "/api/v1/campaigns/0123456789abcdef0123456/stats",
    ] {
        let (status, b) = app.get(path, Some(&s.api_key)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {b}");
        assert_eq!(b["message"], "Invalid campaign_id");
    }
    let (status, b) = app
        .post("/api/v1/campaigns/xyz/send", Some(&s.api_key), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["message"], "Invalid campaign_id");
    let (status, b) = app
        .get(
            "/api/v1/campaigns/0123456789abcdef01234567/stats",
            Some(&s.api_key),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(b["message"], "Campaign not found");
}
