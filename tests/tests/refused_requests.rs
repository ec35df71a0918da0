//! Requests the API refuses, each answered with its reason and leaving nothing
//! stored: campaign creations (templates, variables, contacts, schedule, number and
//! field validation) and webhook endpoints (target checks and field validation).

use reqwest::StatusCode;
use serde_json::{Value, json};
use waplify_shared::webhooks::target::AllowedNetworks;
use waplify_tests::app::spawn_app_with_networks;
use waplify_tests::seed::template;
use waplify_tests::{TestApp, seed, spawn_app};

async fn assert_error(
    status: StatusCode,
    body: &Value,
    expected: StatusCode,
    code: &str,
    message: &str,
) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert_eq!(body["message"], message, "{body}");
    assert!(
        body["request_id"].as_str().is_some_and(|s| s.len() == 36),
        "{body}"
    );
    assert!(body["timestamp"].as_str().is_some(), "{body}");
}

#[tokio::test]
async fn rejected_creations_say_why_and_change_nothing() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 100, 80).await;
    let acc = s.account_id.clone();
    template(&app.tdb.db, &acc, "pending_one", "PENDING", "NONE", 0, None).await;
    template(&app.tdb.db, &acc, "three_vars", "APPROVED", "NONE", 3, None).await;
    template(
        &app.tdb.db,
        &acc,
        "with_image",
        "APPROVED",
        "IMAGE",
        0,
        None,
    )
    .await;
    let before = app.row_counts().await;
    let one = json!([{"phone": "15550000001"}]);

    refusals_say_why(&app, &s.api_key, &one).await;
    invalid_fields_are_bad_requests(&app, &s.api_key, &one).await;
    assert_eq!(
        app.row_counts().await,
        before,
        "rejected requests must not write"
    );
}

/// Templates, variables, contacts, schedule and number: each refusal with its status,
/// code and exact message.
async fn refusals_say_why(app: &TestApp, key: &str, one: &Value) {
    let cases: Vec<(Value, StatusCode, &str, String)> = vec![
        (
            json!({"name": "x", "template_name": "nope", "contacts": one}),
            StatusCode::NOT_FOUND,
            "not_found",
            "Template 'nope' not found or does not belong to your account".into(),
        ),
        (
            json!({"name": "x", "template_name": "pending_one", "contacts": one}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Template 'pending_one' is not approved. Status: PENDING".into(),
        ),
        (
            json!({"name": "x", "template_name": "three_vars", "body_data": {"1": "a"}, "contacts": one}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Missing body variables in 'body_data': 2, 3".into(),
        ),
        (
            json!({"name": "x", "template_name": "welcome", "contacts": one}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Missing body variables in 'body_data': 1".into(),
        ),
        (
            json!({"name": "x", "template_name": "with_image", "contacts": one}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "media_url is required for this template".into(),
        ),
        (
            json!({"name": "x", "template_name": "welcome", "body_data": {"1": "a"}, "contacts": [{"phone": "abc"}, {"phone": "12"}]}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "No valid contacts could be resolved from the provided phone numbers".into(),
        ),
        (
            json!({"name": "x", "template_name": "welcome", "body_data": {"1": "a"}, "contacts": one, "scheduled_at": "2001-01-01T00:00:00Z"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "scheduled_at must be in the future".into(),
        ),
        (
            json!({"name": "x", "template_name": "welcome", "body_data": {"1": "a"}, "contacts": one, "scheduled_timezone": "Mars/Olympus"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "scheduled_timezone 'Mars/Olympus' is not an IANA time zone name".into(),
        ),
        (
            json!({"name": "x", "template_name": "welcome", "body_data": {"1": "a"}, "contacts": one, "waba_phone_id": "nothex"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Invalid waba_phone_id".into(),
        ),
        (
            json!({"name": "x", "template_name": "welcome", "body_data": {"1": "a"}, "contacts": one, "waba_phone_id": "0123456789abcdef01234567"}),
            StatusCode::NOT_FOUND,
            "not_found",
            "WhatsApp number '0123456789abcdef01234567' not found or does not belong to your account".into(),
        ),
    ];
    for (req, status, code, message) in cases {
        let (got_status, got) = app
            .post("/api/v1/campaigns", Some(key), Some(req.clone()))
            .await;
        assert_error(got_status, &got, status, code, &message).await;
    }
}

/// Field validation: lengths, counts, types, unknown fields.
async fn invalid_fields_are_bad_requests(app: &TestApp, key: &str, one: &Value) {
    let too_many: Vec<Value> = (0..10_001)
        .map(|i| json!({"phone": format!("1555{i:07}")}))
        .collect();
    let long_name = "n".repeat(256);
    let invalid_bodies = vec![
        json!({"template_name": "welcome", "contacts": one}),
        json!({"name": "", "template_name": "welcome", "contacts": one}),
        json!({"name": long_name, "template_name": "welcome", "contacts": one}),
        json!({"name": "x", "description": "d".repeat(1001), "template_name": "welcome", "contacts": one}),
        json!({"name": "x", "template_name": "welcome", "contacts": []}),
        json!({"name": "x", "template_name": "welcome", "contacts": too_many}),
        json!({"name": "x", "template_name": "welcome", "contacts": [{"phone": 15550000001u64}]}),
        json!({"name": 5, "template_name": "welcome", "contacts": one}),
        json!({"name": "x", "template_name": "welcome", "contacts": one, "body_data": {"1": 2}}),
        json!({"name": "x", "template_name": "welcome", "contacts": one, "surprise": true}),
        json!({"name": "x", "template_name": "welcome", "contacts": one, "media_url": "ftp://host/a.png"}),
        json!({"name": "x", "template_name": "welcome", "contacts": one, "media_url": "https://host/a b.png"}),
        json!({"name": "x", "template_name": "welcome", "contacts": one, "scheduled_at": "tomorrow"}),
        json!(["not", "an", "object"]),
    ];
    for req in invalid_bodies {
        let (status, got) = app
            .post("/api/v1/campaigns", Some(key), Some(req.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{req} -> {got}");
        assert_eq!(got["error"], "bad_request", "{got}");
        assert!(
            got["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{got}"
        );
    }
}

#[tokio::test]
async fn bad_endpoints_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let s = seed(&app.tdb.db, 10, 10).await;
    let key = Some(s.api_key.as_str());
    let base = json!({"name": "x", "url": "https://example.com/h"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, expected, message_part) in [
        (
            with("url", json!("ftp://example.com/h")),
            400,
            "Invalid url",
        ),
        (
            with("url", json!("https://example.com:0/h")),
            403,
            "must not use port 0",
        ),
        (with("url", json!("not a url")), 400, "Invalid url"),
        (with("url", json!("http://[fd00::1]/h")), 400, "Invalid url"),
        (with("url", json!("http://a:99999/h")), 400, "Invalid url"),
        (with("url", json!("http://10.0.0.7/h")), 403, "private"),
        (with("url", json!("http://192.168.1.1/h")), 403, "private"),
        (
            with("url", json!("http://169.254.169.254/latest/meta-data")),
            403,
            "link-local",
        ),
        (
            with("url", json!("http://0.0.0.0:8080/h")),
            403,
            "non-routable",
        ),
        (with("retry_count", json!(11)), 400, ""),
        (with("retry_count", json!(-1)), 400, ""),
        (with("timeout_seconds", json!(0)), 400, ""),
        (with("timeout_seconds", json!(31)), 400, ""),
        (with("events", json!([])), 400, ""),
        (with("events", json!(["message.clicked"])), 400, ""),
        (with("secret", json!("short")), 400, ""),
        (with("surprise", json!(1)), 400, ""),
        (json!({"url": "https://example.com/h"}), 400, ""),
    ] {
        let (status, resp) = app.post("/api/v1/webhooks", key, Some(body.clone())).await;
        assert_eq!(status.as_u16(), expected, "{body} -> {resp}");
        let code = if expected == 403 {
            "forbidden"
        } else {
            "bad_request"
        };
        assert_eq!(resp["error"], code);
        assert!(
            resp["message"].as_str().unwrap().contains(message_part),
            "{resp}"
        );
    }
    assert_eq!(
        app.scalar_i64("SELECT COUNT(*) FROM webhook_endpoints")
            .await,
        0
    );
    loopback_is_refused_with_the_production_default().await;
}

/// With the production default, loopback is refused too.
async fn loopback_is_refused_with_the_production_default() {
    let strict = spawn_app_with_networks(AllowedNetworks::default()).await;
    let s = seed(&strict.tdb.db, 10, 10).await;
    for url in [
        "http://127.0.0.1:9/h",
        "http://localhost/h",
        "http://127.1.2.3/h",
        "http://a.localhost/h",
    ] {
        let (status, resp) = strict
            .post(
                "/api/v1/webhooks",
                Some(&s.api_key),
                Some(json!({"name": "x", "url": url})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{url}: {resp}");
        assert!(
            resp["message"].as_str().unwrap().contains("loopback"),
            "{resp}"
        );
    }
    assert_eq!(
        strict
            .scalar_i64("SELECT COUNT(*) FROM webhook_endpoints")
            .await,
        0
    );
}
