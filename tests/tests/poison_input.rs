//! Input PostgreSQL or serde would take differently from what the client meant: NUL
//! in a string (PostgreSQL refuses it, SQLite stores it) and a key given twice (serde
//! keeps the last). Both are a 400 naming the field, and store nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_tests::{seed, spawn_app};

#[tokio::test]
async fn nul_characters_are_refused_with_the_field_named_on_every_database() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let key = Some(s.api_key.as_str());
    let campaign = app.create_campaign(&s.api_key, 1).await;
    let before = app.row_counts().await;
    let nul = "a\u{0}b";
    let one = json!([{"phone": "15550000001"}]);
    let base = json!({"name": "x", "template_name": "welcome", "contacts": one});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (
            "/api/v1/campaigns".to_owned(),
            with("name", json!(nul)),
            "name",
        ),
        (
            "/api/v1/campaigns".into(),
            with("description", json!(nul)),
            "description",
        ),
        (
            "/api/v1/campaigns".into(),
            with("template_name", json!(nul)),
            "template_name",
        ),
        (
            "/api/v1/campaigns".into(),
            with("contacts", json!([{"phone": "15550000001", "name": nul}])),
            "name",
        ),
        (
            "/api/v1/campaigns".into(),
            with("body_data", json!({"1": nul})),
            "body_data",
        ),
        (
            format!("/api/v1/campaigns/{campaign}/contacts"),
            json!({"contacts": [{"phone": "15550000002", "name": nul}]}),
            "name",
        ),
        (
            "/api/v1/webhooks".into(),
            json!({"name": nul, "url": "https://example.com/h"}),
            "name",
        ),
        (
            "/api/v1/webhooks".into(),
            json!({"name": "x", "url": "https://example.com/h", "secret": nul}),
            "secret",
        ),
    ];
    for (path, body, field) in cases {
        let (status, got) = app.post(&path, key, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body} -> {got}");
        assert_eq!(got["error"], "bad_request", "{got}");
        let message = got["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(field) && message.contains("NUL"),
            "{path} {body} -> {message}"
        );
    }
    assert_eq!(
        app.row_counts().await,
        before,
        "refused requests must not write"
    );
}

#[tokio::test]
async fn a_key_given_twice_is_refused_with_its_name() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let campaign = app.create_campaign(&s.api_key, 1).await;
    let before = app.row_counts().await;
    // A key given twice: serde would keep the last one silently.
    for (path, raw, key_named) in [
        (
            "/api/v1/campaigns".to_owned(),
            r#"{"name":"x","name":"y","template_name":"welcome","contacts":[{"phone":"15550000001"}]}"#,
            "`name`",
        ),
        (
            format!("/api/v1/campaigns/{campaign}/contacts"),
            r#"{"contacts":[{"phone":"15550000002","phone":"15550000003"}]}"#,
            "`phone` appears more than once in `contacts[0]`",
        ),
    ] {
        let resp = app
            .http
            .post(app.url(&path))
            .bearer_auth(&s.api_key)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let (status, got) = waplify_tests::client::read(resp).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw} -> {got}");
        assert_eq!(got["error"], "bad_request", "{got}");
        let message = got["message"].as_str().unwrap_or_default();
        assert!(message.contains(key_named), "{raw} -> {message}");
    }
    assert_eq!(
        app.row_counts().await,
        before,
        "refused requests must not write"
    );
}
